//! How many offset pages of one sync may be in flight, and how many it may
//! read in all.

use std::num::NonZeroU32;

use toml::Value;

use crate::fields::{Fields, in_range, whole_number};
use crate::problem::Problems;

/// How a sync of an API read by offset pages (divalto, amienscope) spreads
/// its page requests: pages at successive offsets are requested side by
/// side, at most `window` at a time.
///
/// Settings keys `window` and `max_pages`, accepted only on connections
/// whose API is read by offset ([`crate::Api::pages_by_offset`]); a ds sync
/// follows a cursor one page after the other, so on a ds connection these
/// keys are unknown and its `fan_out` is [`FanOut::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    /// Pages requested at once: 1 to [`FanOut::MAX_WINDOW`], 4 by default.
    pub window: NonZeroU32,
    /// The most pages one sync reads, 100000 by default: a guard against an
    /// upstream that never answers with a short page.
    pub max_pages: NonZeroU32,
}

impl FanOut {
    /// The largest `window` accepted.
    pub const MAX_WINDOW: u32 = 1000;

    /// `window` when the settings name none.
    pub const DEFAULT_WINDOW: NonZeroU32 = NonZeroU32::new(4).expect("4 is not zero");

    /// `max_pages` when the settings name none.
    pub const DEFAULT_MAX_PAGES: NonZeroU32 = NonZeroU32::new(100_000).expect("100000 is not zero");

    /// The `window` and `max_pages` keys of `fields`, each defaulted when
    /// absent; a value out of bounds is a problem (and then the default
    /// stands in, as loading fails anyway).
    pub(crate) fn read(fields: &mut Fields, problems: &mut Problems) -> Self {
        let mut count = |name: &str, max: u32| {
            fields.optional(name, problems, |value: Value| {
                in_range(whole_number(value)?, 1, max).and_then(|count| {
                    NonZeroU32::try_from(count).map_err(|error| error.to_string())
                })
            })
        };
        Self {
            window: count("window", Self::MAX_WINDOW).unwrap_or(Self::DEFAULT_WINDOW),
            max_pages: count("max_pages", u32::MAX).unwrap_or(Self::DEFAULT_MAX_PAGES),
        }
    }
}

impl Default for FanOut {
    fn default() -> Self {
        Self {
            window: Self::DEFAULT_WINDOW,
            max_pages: Self::DEFAULT_MAX_PAGES,
        }
    }
}

#[cfg(test)]
mod tests {
    use toml::Table;

    use super::*;

    fn read_from(toml: &str) -> Result<FanOut, Vec<String>> {
        let table: Table = toml.parse().unwrap();
        let mut problems = Problems::default();
        let mut fields =
            Fields::of("connections.a".into(), Value::Table(table), &mut problems).unwrap();
        let fan_out = FanOut::read(&mut fields, &mut problems);
        fields.finish(&mut problems);
        problems
            .into_result(Some(fan_out))
            .map_err(|error| error.problems().iter().map(ToString::to_string).collect())
    }

    #[test]
    fn absent_keys_take_the_defaults() {
        let fan_out = read_from("").unwrap();

        assert_eq!(fan_out, FanOut::default());
        assert_eq!(fan_out.window.get(), 4);
        assert_eq!(fan_out.max_pages.get(), 100_000);
    }

    #[test]
    fn the_bounds_are_accepted() {
        let fan_out = read_from("window = 1000\nmax_pages = \"1\"").unwrap();

        assert_eq!(fan_out.window.get(), 1000);
        assert_eq!(fan_out.max_pages.get(), 1);
    }

    #[test]
    fn values_outside_the_bounds_are_problems() {
        assert_eq!(
            read_from("window = 0\nmax_pages = 0"),
            Err(vec![
                "connections.a.window: must be between 1 and 1000, found 0".into(),
                "connections.a.max_pages: must be between 1 and 4294967295, found 0".into(),
            ])
        );
        assert_eq!(
            read_from("window = 1001\nmax_pages = -3"),
            Err(vec![
                "connections.a.window: must be between 1 and 1000, found 1001".into(),
                "connections.a.max_pages: must be between 1 and 4294967295, found -3".into(),
            ])
        );
    }
}
