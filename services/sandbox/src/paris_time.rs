//! Paris local time (CET in winter, CEST in summer), which both French
//! upstreams show: summer time runs from the last Sunday of March to the last
//! Sunday of October, switching at 01:00 UTC.

use chrono::{
    DateTime, Datelike as _, Duration, FixedOffset, NaiveDate, NaiveDateTime, Offset as _, Utc,
};

const WINTER_SECONDS: i32 = 3600;
const SUMMER_SECONDS: i32 = 7200;

/// The Paris offset from UTC at this instant.
pub(crate) fn offset_at(instant: DateTime<Utc>) -> FixedOffset {
    let year = instant.year();
    let switch = |month| {
        last_sunday(year, month)
            .and_hms_opt(1, 0, 0)
            .map(|naive| naive.and_utc())
    };
    let summer = match (switch(3), switch(10)) {
        (Some(start), Some(end)) => instant >= start && instant < end,
        _ => false,
    };
    let seconds = if summer {
        SUMMER_SECONDS
    } else {
        WINTER_SECONDS
    };
    FixedOffset::east_opt(seconds).unwrap_or_else(|| Utc.fix())
}

/// The instant as a Paris wall-clock time.
pub(crate) fn at(instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    instant.with_timezone(&offset_at(instant))
}

/// A Paris wall-clock time with its offset; a time in the hour skipped or
/// repeated at a switch gets the offset in force an hour earlier.
pub(crate) fn from_local(local: NaiveDateTime) -> DateTime<FixedOffset> {
    let winter_guess = (local - Duration::seconds(i64::from(WINTER_SECONDS))).and_utc();
    let offset = offset_at(winter_guess);
    let utc = local - Duration::seconds(i64::from(offset.local_minus_utc()));
    utc.and_utc().with_timezone(&offset)
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last_day = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or_default();
    last_day - Duration::days(i64::from(last_day.weekday().num_days_from_sunday()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn winter_and_summer_offsets_follow_the_eu_rule() {
        let winter = Utc.with_ymd_and_hms(2026, 12, 1, 19, 0, 0).unwrap();
        assert_eq!(at(winter).to_rfc3339(), "2026-12-01T20:00:00+01:00");
        let summer = Utc.with_ymd_and_hms(2026, 7, 14, 20, 0, 0).unwrap();
        assert_eq!(at(summer).to_rfc3339(), "2026-07-14T22:00:00+02:00");
        let before_switch = Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 59).unwrap();
        let after_switch = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        assert_eq!(offset_at(before_switch).local_minus_utc(), 3600);
        assert_eq!(offset_at(after_switch).local_minus_utc(), 7200);
    }

    #[test]
    fn local_evening_times_keep_their_wall_clock() {
        let local = NaiveDate::from_ymd_opt(2026, 6, 20)
            .unwrap()
            .and_hms_opt(20, 30, 0)
            .unwrap();
        assert_eq!(from_local(local).to_rfc3339(), "2026-06-20T20:30:00+02:00");
    }
}
