//! Reads typed values out of a merged TOML table, recording a problem for
//! every missing, malformed or unknown key instead of stopping at the first.
//!
//! Numbers may also arrive as strings: that is the form environment
//! overrides take, and the reader knows which type each key expects.

use std::fmt::Display;
use std::time::Duration;

use toml::{Table, Value};

use crate::problem::Problems;

/// The not-yet-read keys of one table, with the dotted path that leads to it.
#[derive(Debug)]
pub(crate) struct Fields {
    path: String,
    table: Table,
}

impl Fields {
    /// The top of the settings tree.
    pub(crate) fn root(table: Table) -> Self {
        Self {
            path: String::new(),
            table,
        }
    }

    /// The table found at `path`, or a problem when `value` is not a table.
    pub(crate) fn of(path: String, value: Value, problems: &mut Problems) -> Option<Self> {
        match value {
            Value::Table(table) => Some(Self { path, table }),
            other => {
                problems.push(
                    path,
                    format!("expected a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// The dotted path of `name` inside this table.
    pub(crate) fn key(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// Removes and returns the raw value of `name`, if present.
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        self.table.remove(name)
    }

    /// The nested table `name`, which must be present.
    pub(crate) fn section(&mut self, name: &str, problems: &mut Problems) -> Option<Self> {
        match self.take(name) {
            Some(value) => Self::of(self.key(name), value, problems),
            None => {
                problems.push(self.key(name), "is required");
                None
            }
        }
    }

    /// The value of `name`, which must be present and pass `read`.
    pub(crate) fn required<T>(
        &mut self,
        name: &str,
        problems: &mut Problems,
        read: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.take(name) {
            Some(value) => self.checked(name, read(value), problems),
            None => {
                problems.push(self.key(name), "is required");
                None
            }
        }
    }

    /// The value of `name` when present and valid; `None` when absent, or
    /// when invalid, in which case a problem has been recorded.
    pub(crate) fn optional<T>(
        &mut self,
        name: &str,
        problems: &mut Problems,
        read: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.take(name)?;
        self.checked(name, read(value), problems)
    }

    /// The value `read` produced, or `None` with its problem recorded
    /// against `name`.
    pub(crate) fn checked<T>(
        &self,
        name: &str,
        read: Result<T, String>,
        problems: &mut Problems,
    ) -> Option<T> {
        read.map_err(|message| problems.push(self.key(name), message))
            .ok()
    }

    /// The keys not read yet with their values, for tables keyed by name.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (String, Value)> {
        self.table.into_iter()
    }

    /// Reports every key that was never read: a typo must not pass silently.
    pub(crate) fn finish(self, problems: &mut Problems) {
        for name in self.table.keys() {
            problems.push(self.key(name), "unknown key");
        }
    }
}

/// A string value.
pub(crate) fn text(value: Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(expected("a string", &other)),
    }
}

/// A string value that is not empty.
pub(crate) fn non_empty_text(value: Value) -> Result<String, String> {
    let text = text(value)?;
    if text.is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(text)
    }
}

/// A whole number, written as a TOML integer or as a string holding one.
pub(crate) fn whole_number(value: Value) -> Result<i64, String> {
    match value {
        Value::Integer(number) => Ok(number),
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("expected a whole number, found {text:?}")),
        other => Err(expected("a whole number", &other)),
    }
}

/// `number` as a `T` between `min` and `max` inclusive.
pub(crate) fn in_range<T>(number: i64, min: T, max: T) -> Result<T, String>
where
    T: TryFrom<i64> + PartialOrd + Display + Copy,
{
    T::try_from(number)
        .ok()
        .filter(|value| (min..=max).contains(value))
        .ok_or_else(|| format!("must be between {min} and {max}, found {number}"))
}

/// A duration written as a number of seconds, whole or fractional, zero or more.
pub(crate) fn seconds(value: Value) -> Result<Duration, String> {
    let seconds = match value {
        Value::Integer(number) => number as f64,
        Value::Float(number) => number,
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("expected a number of seconds, found {text:?}"))?,
        other => return Err(expected("a number of seconds", &other)),
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("must be a non-negative number of seconds, found {seconds}"))
}

/// Like [`seconds`], but zero is refused.
pub(crate) fn positive_seconds(value: Value) -> Result<Duration, String> {
    let duration = seconds(value)?;
    if duration.is_zero() {
        Err("must be more than zero seconds".to_owned())
    } else {
        Ok(duration)
    }
}

/// Names the expected type and the type found, never the value, which may be
/// a secret.
fn expected(what: &str, found: &Value) -> String {
    format!("expected {what}, found {}", found.type_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_read_from_integers_and_from_strings() {
        assert_eq!(whole_number(Value::Integer(32)), Ok(32));
        assert_eq!(whole_number(Value::String(" 32 ".into())), Ok(32));
        assert_eq!(
            whole_number(Value::String("many".into())),
            Err("expected a whole number, found \"many\"".to_owned())
        );
        assert_eq!(
            whole_number(Value::Boolean(true)),
            Err("expected a whole number, found boolean".to_owned())
        );
    }

    #[test]
    fn in_range_refuses_numbers_outside_the_bounds_or_the_type() {
        assert_eq!(in_range(5, 1u16, 10), Ok(5));
        assert!(in_range(0, 1u16, 10).is_err());
        assert!(in_range(11, 1u16, 10).is_err());
        assert!(in_range(-1, 0u16, u16::MAX).is_err());
        assert!(in_range(70_000, 0u16, u16::MAX).is_err());
    }

    #[test]
    fn seconds_accept_whole_fractional_and_string_forms() {
        assert_eq!(seconds(Value::Integer(2)), Ok(Duration::from_secs(2)));
        assert_eq!(seconds(Value::Float(0.25)), Ok(Duration::from_millis(250)));
        assert_eq!(
            seconds(Value::String("1.5".into())),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(seconds(Value::Integer(0)), Ok(Duration::ZERO));
    }

    #[test]
    fn seconds_refuse_negative_and_non_numeric_values() {
        assert!(seconds(Value::Integer(-1)).is_err());
        assert!(seconds(Value::Float(f64::NAN)).is_err());
        assert!(seconds(Value::String("soon".into())).is_err());
        assert!(positive_seconds(Value::Integer(0)).is_err());
    }

    #[test]
    fn non_empty_text_refuses_the_empty_string() {
        assert_eq!(non_empty_text(Value::String("a".into())), Ok("a".into()));
        assert_eq!(
            non_empty_text(Value::String(String::new())),
            Err("must not be empty".to_owned())
        );
    }

    #[test]
    fn type_mismatches_never_repeat_the_value() {
        let message = text(Value::Integer(123_456)).unwrap_err();
        assert_eq!(message, "expected a string, found integer");
    }

    #[test]
    fn unread_keys_are_reported_as_unknown() {
        let table: Table = "known = 1\nknwon = 2".parse().unwrap();
        let mut problems = Problems::default();
        let mut fields = Fields::of("section".into(), Value::Table(table), &mut problems).unwrap();

        fields.required("known", &mut problems, whole_number);
        fields.finish(&mut problems);

        let error = problems.into_result(Some(())).unwrap_err();
        assert_eq!(error.problems().len(), 1);
        assert_eq!(
            error.problems()[0].to_string(),
            "section.knwon: unknown key"
        );
    }
}
