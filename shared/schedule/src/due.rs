//! Which due time a schedule acts on.

use chrono::{DateTime, Utc};
use settings::Timing;

/// The latest due time after `last` and at or before `now`, or `None` while the next
/// one has not come. After a long pause only the latest missed time is returned: a
/// scheduler catches up once, not once per missed time.
pub fn due_time(timing: &Timing, last: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut due = timing.next_after(last).filter(|due| *due <= now)?;
    if let Timing::Every(period) = timing {
        // The multiples of the period are known without walking them.
        let period = i64::try_from(period.as_secs()).ok()?;
        let latest = now.timestamp().div_euclid(period) * period;
        return DateTime::from_timestamp(latest, 0).filter(|latest| *latest >= due);
    }
    while let Some(next) = timing.next_after(due).filter(|next| *next <= now) {
        due = next;
    }
    Some(due)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, hour, minute, second)
            .unwrap()
    }

    #[test]
    fn nothing_is_due_before_the_next_time() {
        let every_minute = Timing::Every(Duration::from_secs(60));

        assert_eq!(due_time(&every_minute, at(10, 0, 0), at(10, 0, 59)), None);
        assert_eq!(
            due_time(&every_minute, at(10, 0, 0), at(10, 1, 0)),
            Some(at(10, 1, 0))
        );
    }

    #[test]
    fn after_downtime_only_the_latest_missed_time_is_due() {
        let every_minute = Timing::Every(Duration::from_secs(60));
        let quarter_hours = Timing::Cron(Box::new(croner::Cron::from_str("*/15 * * * *").unwrap()));

        assert_eq!(
            due_time(&every_minute, at(10, 0, 0), at(12, 30, 10)),
            Some(at(12, 30, 0))
        );
        assert_eq!(
            due_time(&quarter_hours, at(10, 0, 0), at(12, 31, 0)),
            Some(at(12, 30, 0))
        );
        assert_eq!(due_time(&quarter_hours, at(12, 30, 0), at(12, 31, 0)), None);
    }
}
