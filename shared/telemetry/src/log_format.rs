//! Which log line format the environment asks for.

use crate::TelemetryError;

/// Variables naming the log format, the first set one winning: our own
/// name, then the generic one.
const LOG_FORMAT_VARS: [&str; 2] = ["ESTAFETTE_LOG_FORMAT", "LOG_FORMAT"];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines, the default.
    Text,
    /// One JSON object per line, with the current span and the span list.
    Json,
}

impl LogFormat {
    /// The format named by `ESTAFETTE_LOG_FORMAT`, else by `LOG_FORMAT`, else text.
    pub(crate) fn from_env() -> Result<Self, TelemetryError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, TelemetryError> {
        let chosen = LOG_FORMAT_VARS
            .iter()
            .find_map(|variable| lookup(variable).map(|value| (*variable, value)));
        match chosen {
            None => Ok(LogFormat::Text),
            Some((variable, value)) => match value.as_str() {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err(TelemetryError::LogFormat { variable, value }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_with(vars: &[(&str, &str)]) -> Result<LogFormat, TelemetryError> {
        LogFormat::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn text_is_the_default() {
        assert_eq!(format_with(&[]).ok(), Some(LogFormat::Text));
    }

    #[test]
    fn either_variable_selects_json() {
        assert_eq!(
            format_with(&[("LOG_FORMAT", "json")]).ok(),
            Some(LogFormat::Json)
        );
        assert_eq!(
            format_with(&[("ESTAFETTE_LOG_FORMAT", "json")]).ok(),
            Some(LogFormat::Json)
        );
    }

    #[test]
    fn the_estafette_variable_wins_over_the_generic_one() {
        assert_eq!(
            format_with(&[("LOG_FORMAT", "json"), ("ESTAFETTE_LOG_FORMAT", "text")]).ok(),
            Some(LogFormat::Text)
        );
        assert_eq!(
            format_with(&[("LOG_FORMAT", "text"), ("ESTAFETTE_LOG_FORMAT", "json")]).ok(),
            Some(LogFormat::Json)
        );
    }

    #[test]
    fn an_unknown_format_names_its_variable() {
        let error = format_with(&[("LOG_FORMAT", "logfmt")]).expect_err("unknown format");
        assert_eq!(
            error.to_string(),
            "LOG_FORMAT must be text or json, found \"logfmt\""
        );
    }
}
