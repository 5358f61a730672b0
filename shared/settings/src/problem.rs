//! Every problem found while loading, gathered so they are reported together.

use std::fmt;

/// One thing wrong with the settings: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path (`connections.sandbox.page_size`), or the file or
    /// environment variable the problem comes from.
    pub key: String,
    /// What is wrong, in lowercase; never contains a secret value.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The settings could not be loaded; the service should print every problem
/// and exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    problems: Vec<Problem>,
}

impl SettingsError {
    /// Every problem found, in the order they were met.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "invalid settings ({count} {noun}):")?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsError {}

/// Collects problems while the settings are read.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// The value when nothing went wrong, otherwise every problem found.
    pub(crate) fn into_result<T>(self, value: Option<T>) -> Result<T, SettingsError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(SettingsError { problems: self.0 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_one_problem_per_line() {
        let mut problems = Problems::default();
        problems.push("broker.prefetch", "must be between 1 and 65535");
        problems.push("connections.x.base_url", "is required");

        let error = problems.into_result(Some(())).unwrap_err();

        assert_eq!(
            error.to_string(),
            "invalid settings (2 problems):\n  broker.prefetch: must be between 1 and 65535\n  connections.x.base_url: is required"
        );
    }

    #[test]
    fn a_value_with_no_problems_is_returned() {
        assert_eq!(Problems::default().into_result(Some(7)), Ok(7));
    }
}
