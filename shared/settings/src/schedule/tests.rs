//! Schedules and the scheduler section: what is accepted and every problem reported.

use std::collections::BTreeMap;

use chrono::TimeZone;
use contract::CommandBody;

use super::*;
use crate::Settings;
use crate::test_file::TempFile;

/// The settings with `file` as their file, or every problem; `name` keeps the file
/// apart from other tests'.
fn load(name: &str, file: &str) -> Result<Settings, Vec<String>> {
    let file = TempFile::new(name, file);
    Settings::load(Some(&file.0), BTreeMap::new())
        .map_err(|error| error.problems().iter().map(ToString::to_string).collect())
}

#[test]
fn the_defaults_have_no_schedule_and_a_ten_second_lease() {
    let settings = load("schedule-defaults", "").unwrap();

    assert!(settings.schedules.is_empty());
    assert_eq!(settings.scheduler.lease, Duration::from_secs(10));
    assert_eq!(settings.scheduler.tick, Duration::from_secs(1));
    assert_eq!(settings.scheduler.max_run, Duration::from_secs(86_400));
}

#[test]
fn a_schedule_of_each_kind_is_read_with_its_body() {
    let settings = load(
        "schedule-kinds",
        r#"
        [schedules.dossiers]
        kind = "ds.sync"
        connection = "sandbox"
        every_seconds = 60
        body = { demarche = 4242, state = "en_instruction" }

        [schedules.articles]
        kind = "divalto.sync"
        connection = "sandbox_divalto"
        cron = "*/15 * * * *"
        since = { where = "Modified_Since", parameter = "since", format = "%d/%m/%Y %H:%M" }
        body = { query = { dhoq = "gtrsart.dhoq", recordsql = "Article", id_field = "ART_ID" }, window = 2 }

        [schedules.events]
        kind = "amienscope.sync"
        connection = "sandbox_amienscope"
        every_seconds = "900"
        body = { category = 3 }
        "#,
    )
    .unwrap();

    let dossiers = settings.schedules.get("dossiers").unwrap();
    assert_eq!(dossiers.kind(), "ds.sync");
    assert_eq!(dossiers.connection.as_str(), "sandbox");
    let CommandBody::DsSync(sync) = &dossiers.body else {
        panic!("expected a ds.sync body, found {:?}", dossiers.body);
    };
    assert_eq!(sync.demarche.get(), 4242);
    assert_eq!(sync.updated_since, None);
    let articles = settings.schedules.get("articles").unwrap();
    assert_eq!(articles.kind(), "divalto.sync");
    assert_eq!(
        articles.divalto_since,
        Some(DivaltoSince {
            where_name: "Modified_Since".into(),
            parameter: "since".into(),
            format: "%d/%m/%Y %H:%M".into(),
        })
    );
    let events = settings.schedules.get("events").unwrap();
    assert!(matches!(events.timing, Timing::Every(period) if period == Duration::from_secs(900)));
    assert_eq!(
        settings
            .schedules
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["articles", "dossiers", "events"]
    );
}

#[test]
fn an_interval_is_due_at_its_multiples_and_a_cron_at_its_times() {
    let instant = Utc.with_ymd_and_hms(2026, 12, 7, 10, 14, 59).unwrap();

    let every = Timing::Every(Duration::from_secs(60));
    assert_eq!(
        every.next_after(instant),
        Some(Utc.with_ymd_and_hms(2026, 12, 7, 10, 15, 0).unwrap())
    );
    let on_the_minute = Utc.with_ymd_and_hms(2026, 12, 7, 10, 15, 0).unwrap();
    assert_eq!(
        every.next_after(on_the_minute),
        Some(Utc.with_ymd_and_hms(2026, 12, 7, 10, 16, 0).unwrap())
    );
    let cron = Timing::Cron(Box::new(croner::Cron::from_str("*/15 * * * *").unwrap()));
    assert_eq!(
        cron.next_after(instant),
        Some(Utc.with_ymd_and_hms(2026, 12, 7, 10, 15, 0).unwrap())
    );
    assert_eq!(
        cron.next_after(on_the_minute),
        Some(Utc.with_ymd_and_hms(2026, 12, 7, 10, 30, 0).unwrap())
    );
}

#[test]
fn every_problem_of_a_schedule_is_reported_with_the_rest() {
    let problems = load(
        "schedule-problems",
        r#"
        [scheduler]
        tick_seconds = 5

        [schedules.Bad-Name]
        kind = "ds.page"
        connection = "sandbox"
        every_seconds = 60
        body = {}

        [schedules.wrong_api]
        kind = "ds.sync"
        connection = "sandbox_divalto"
        every_seconds = 1.5
        body = { demarche = 1 }

        [schedules.nowhere]
        kind = "amienscope.sync"
        connection = "nowhere"
        cron = "every tuesday"
        since = { where = "W", parameter = "p" }
        body = { updated_since = "2026-01-01T00:00:00Z" }

        [schedules.never]
        kind = "ds.sync"
        connection = "sandbox"
        cron = "0 0 30 2 *"
        body = { demarche = 1 }

        [schedules.no_time]
        kind = "ds.sync"
        connection = "sandbox"
        body = { demarche = 0 }
        colour = "blue"
        "#,
    )
    .unwrap_err();

    assert_eq!(
        problems,
        [
            "scheduler.tick_seconds: must be under a third of lease_seconds",
            "schedules.Bad-Name: schedule names are 1 to 64 characters of a-z, 0-9, _ and -",
            "schedules.Bad-Name.kind: must be ds.sync, divalto.sync or amienscope.sync, found \"ds.page\"",
            "schedules.never.cron: names no time that will come",
            "schedules.no_time.every_seconds: or cron is required",
            "schedules.no_time.body: invalid body: demarche: invalid value: integer `0`, expected a nonzero u32",
            "schedules.no_time.colour: unknown key",
            "schedules.nowhere.connection: names no configured connection",
            "schedules.nowhere.cron: is not a cron expression: Invalid pattern: Pattern must have between 5 and 7 fields.",
            "schedules.nowhere.since: is only for divalto.sync schedules",
            "schedules.nowhere.body: must not set updated_since: every run starts from the schedule's resume point",
            "schedules.wrong_api.connection: is a divalto connection; ds.sync reads a ds one",
            "schedules.wrong_api.every_seconds: must be a whole number of seconds",
        ]
    );
}

#[test]
fn a_divalto_since_clause_and_a_where_in_the_body_clash() {
    let problems = load(
        "schedule-clash",
        r#"
        [schedules.articles]
        kind = "divalto.sync"
        connection = "sandbox_divalto"
        every_seconds = 60
        since = { where = "Modified_Since", parameter = "since", format = "%Q" }
        body = { query = { dhoq = "d", recordsql = "r", id_field = "ID", where = { name = "X" } } }
        "#,
    )
    .unwrap_err();

    assert_eq!(
        problems,
        [
            "schedules.articles.since.format: is not a chrono date format",
            "schedules.articles.body: must not set query.where: the schedule's since clause fills it",
        ]
    );
}
