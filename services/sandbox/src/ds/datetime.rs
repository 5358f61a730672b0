//! The `ISO8601DateTime` scalar: output in the server's time zone
//! (Europe/Paris) at second precision, input as ISO 8601 with or without an
//! offset, or as a bare date.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone,
    Utc, Weekday,
};

/// Formats an instant the way the API does, e.g. `2025-03-04T10:11:12+01:00`.
pub(crate) fn format_iso8601(at: DateTime<Utc>) -> String {
    at.with_timezone(&paris_offset(at))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads an `ISO8601DateTime` input; `None` when it is not a valid date.
/// Without an offset, the time is read as Paris time; a bare date means
/// midnight in Paris.
pub(crate) fn parse_iso8601(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
        })?;
    Some(from_paris_local(local))
}

/// Central European Time, with summer time from the last Sunday of March to
/// the last Sunday of October, switching at 01:00 UTC.
fn paris_offset(at: DateTime<Utc>) -> FixedOffset {
    let year = at.year();
    let summer_starts = last_sunday(year, 3).and_hms_opt(1, 0, 0);
    let summer_ends = last_sunday(year, 10).and_hms_opt(1, 0, 0);
    let naive = at.naive_utc();
    let in_summer = matches!((summer_starts, summer_ends), (Some(start), Some(end)) if naive >= start && naive < end);
    let hours = if in_summer { 2 } else { 1 };
    FixedOffset::east_opt(hours * 3600).expect("one or two hours is a valid offset")
}

fn from_paris_local(local: NaiveDateTime) -> DateTime<Utc> {
    let winter = Utc.from_utc_datetime(&(local - Duration::hours(1)));
    let offset = paris_offset(winter);
    Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(offset.local_minus_utc()))))
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next_month_first = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("the first of a month exists");
    let last_day = next_month_first.pred_opt().expect("a month has a last day");
    let back = last_day.weekday().days_since(Weekday::Sun);
    last_day - Duration::days(i64::from(back))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test instants are valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn instants_are_shown_in_paris_time_with_summer_time() {
        let cases = [
            ("2025-01-15T12:00:00.987Z", "2025-01-15T13:00:00+01:00"),
            ("2025-07-15T12:00:00Z", "2025-07-15T14:00:00+02:00"),
            ("2025-03-30T00:59:59Z", "2025-03-30T01:59:59+01:00"),
            ("2025-03-30T01:00:00Z", "2025-03-30T03:00:00+02:00"),
            ("2025-10-26T00:59:59Z", "2025-10-26T02:59:59+02:00"),
            ("2025-10-26T01:00:00Z", "2025-10-26T02:00:00+01:00"),
        ];
        for (instant, shown) in cases {
            assert_eq!(format_iso8601(utc(instant)), shown, "{instant}");
        }
    }

    #[test]
    fn inputs_are_read_with_or_without_offset() {
        let cases = [
            ("2025-06-01T10:00:00Z", "2025-06-01T10:00:00Z"),
            ("2025-06-01T10:00:00+02:00", "2025-06-01T08:00:00Z"),
            ("2025-06-01T10:00:00.5-01:00", "2025-06-01T11:00:00.5Z"),
            ("2025-06-01T10:00:00", "2025-06-01T08:00:00Z"),
            ("2025-01-01", "2024-12-31T23:00:00Z"),
        ];
        for (input, instant) in cases {
            assert_eq!(parse_iso8601(input), Some(utc(instant)), "{input}");
        }
    }

    #[test]
    fn nonsense_is_not_a_date() {
        for input in ["", "yesterday", "2025-13-01", "2025-01-01T25:00:00Z"] {
            assert_eq!(parse_iso8601(input), None, "{input}");
        }
    }
}
