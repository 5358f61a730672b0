//! When an upstream's rate-limit window resets, read once for every API from the
//! headers of its 429 answer.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{HeaderMap, HeaderName, RETRY_AFTER};

/// The end of the rate-limit window. demarches-simplifiees sends absolute unix seconds
/// (its NOTES); the IETF draft that names the header sends seconds from now.
const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// A `RateLimit-Reset` at or past this many seconds is an instant (unix time, 2001 on);
/// below, a number of seconds from now. No window lasts 31 years.
const EPOCH_FORM_FROM: i64 = 1_000_000_000;

/// The instant the upstream's window resets, read at `now` from an answer's headers:
/// the later of `Retry-After` (seconds from now, or an HTTP date) and
/// `RateLimit-Reset` (unix seconds, or seconds from now when small); none when neither
/// is present and readable.
pub fn reset_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let header = |name: &HeaderName| headers.get(name)?.to_str().ok().map(str::trim);
    let retry_after = header(&RETRY_AFTER).and_then(|value| retry_after(value, now));
    let reset = header(&RATE_LIMIT_RESET)
        .and_then(|value| value.parse::<i64>().ok())
        .and_then(|seconds| rate_limit_reset(seconds, now));
    retry_after.max(reset)
}

/// How long from `now` until `at`; zero once it has passed.
pub fn wait_until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

fn retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(seconds) = value.parse::<u32>() {
        return now.checked_add_signed(TimeDelta::seconds(i64::from(seconds)));
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

fn rate_limit_reset(seconds: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if seconds >= EPOCH_FORM_FROM {
        DateTime::from_timestamp(seconds, 0)
    } else if seconds >= 0 {
        now.checked_add_signed(TimeDelta::seconds(seconds))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// 2026-01-01T00:00:00Z.
    const NOW: i64 = 1_767_225_600;

    fn at(seconds: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(seconds, 0)
    }

    type Headers = &'static [(&'static str, &'static str)];

    fn read(headers: Headers) -> Option<DateTime<Utc>> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        reset_at(&map, at(NOW).expect("an instant"))
    }

    #[test]
    fn every_documented_form_is_read() {
        let cases: [(Headers, Option<DateTime<Utc>>); 8] = [
            (&[], None),
            (&[("retry-after", "7")], at(NOW + 7)),
            (
                &[("retry-after", "Thu, 01 Jan 2026 00:00:30 GMT")],
                at(NOW + 30),
            ),
            (&[("ratelimit-reset", "1767225660")], at(NOW + 60)),
            (&[("ratelimit-reset", "12")], at(NOW + 12)),
            (
                &[("retry-after", "5"), ("ratelimit-reset", "1767225620")],
                at(NOW + 20),
            ),
            (&[("retry-after", "soon"), ("ratelimit-reset", "-4")], None),
            (&[("retry-after", " 3 ")], at(NOW + 3)),
        ];
        for (headers, expected) in cases {
            assert_eq!(read(headers), expected, "{headers:?}");
        }
    }

    #[test]
    fn a_past_instant_means_no_wait() {
        let now = at(NOW).expect("an instant");
        assert_eq!(
            wait_until(at(NOW - 5).expect("an instant"), now),
            Duration::ZERO
        );
        assert_eq!(
            wait_until(at(NOW + 5).expect("an instant"), now),
            Duration::from_secs(5)
        );
    }
}
