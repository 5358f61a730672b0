//! Run commands built from a schedule, and run ends read from events.

use chrono::TimeZone;
use contract::{CommandBody, MessageId};

use super::*;

const SCHEDULES: &str = r#"
[schedules.dossiers]
kind = "ds.sync"
connection = "sandbox"
every_seconds = 60
body = { demarche = 4242, state = "accepte" }

[schedules.articles]
kind = "divalto.sync"
connection = "sandbox_divalto"
every_seconds = 60
since = { where = "Modified_Since", parameter = "since", format = "%d/%m/%Y %H:%M:%S" }
body = { query = { dhoq = "gtrsart.dhoq", recordsql = "Article", id_field = "ART_ID" } }

[schedules.events]
kind = "amienscope.sync"
connection = "sandbox_amienscope"
every_seconds = 60
body = { category = 3 }
"#;

fn schedule(name: &str) -> settings::Schedule {
    let settings = testkit::settings_from_toml(SCHEDULES);
    settings.schedules.get(name).unwrap().clone()
}

fn resume_point() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 30, 5).unwrap()
}

#[test]
fn a_run_starts_from_the_resume_point_or_reads_everything() {
    let dossiers = schedule("dossiers");
    let CommandBody::DsSync(sync) = run_command(&dossiers, Some(resume_point())).body else {
        panic!("a ds.sync schedule publishes ds.sync");
    };
    assert_eq!(sync.updated_since, Some(resume_point()));
    assert_eq!(sync.demarche.get(), 4242);
    let CommandBody::DsSync(sync) = run_command(&dossiers, None).body else {
        panic!("a ds.sync schedule publishes ds.sync");
    };
    assert_eq!(sync.updated_since, None);

    let CommandBody::AmienscopeSync(sync) =
        run_command(&schedule("events"), Some(resume_point())).body
    else {
        panic!("an amienscope.sync schedule publishes amienscope.sync");
    };
    assert_eq!(
        (sync.updated_since, sync.category),
        (Some(resume_point()), Some(3))
    );

    let articles = schedule("articles");
    let CommandBody::DivaltoSync(sync) = run_command(&articles, Some(resume_point())).body else {
        panic!("a divalto.sync schedule publishes divalto.sync");
    };
    let clause = sync.query.where_clause.unwrap();
    assert_eq!(clause.name, "Modified_Since");
    assert_eq!(clause.parameters, "since=07/12/2026 09:30:05");
    let CommandBody::DivaltoSync(sync) = run_command(&articles, None).body else {
        panic!("a divalto.sync schedule publishes divalto.sync");
    };
    assert_eq!(sync.query.where_clause, None);
}

#[test]
fn every_run_is_a_new_job_whose_command_the_contract_accepts() {
    let dossiers = schedule("dossiers");
    let first = run_command(&dossiers, None);
    let second = run_command(&dossiers, None);

    assert_ne!(first.meta.job_id, second.meta.job_id);
    assert_eq!(first.meta.connection, "sandbox");
    assert_eq!(Command::from_json(&first.to_json()), Ok(first));
}

fn event(job: JobId, json: serde_json::Value) -> EventEnvelope {
    let mut envelope = serde_json::json!({
        "version": 1,
        "job_id": job,
        "message_id": MessageId::for_job(job, "test"),
    });
    envelope
        .as_object_mut()
        .unwrap()
        .extend(json.as_object().unwrap().clone());
    serde_json::from_value(envelope).unwrap()
}

fn ds_completed(job: JobId, end: &str) -> EventEnvelope {
    event(
        job,
        serde_json::json!({
            "type": "sync.completed", "connection": "sandbox", "demarche": 4242,
            "deleted_records": 1, "pending_deleted_records": 0, "pages": 3, "records": 250,
            "elapsed_ms": 40, "resume_point": "2026-12-07T09:30:05Z", "end": end,
        }),
    )
}

#[test]
fn a_whole_listing_completes_and_moves_the_resume_point() {
    let job = JobId::new_random();

    assert_eq!(
        run_end(&ds_completed(job, "exhausted")),
        Some(RunEnd {
            job,
            outcome: Outcome::Completed,
            records: 250,
            reason: None,
            resume_point: Some(resume_point()),
        })
    );
}

#[test]
fn a_sync_cut_short_is_incomplete_and_keeps_the_resume_point() {
    let job = JobId::new_random();
    let end = run_end(&ds_completed(job, "stalled_cursor")).unwrap();

    assert_eq!(end.outcome, Outcome::Incomplete);
    assert_eq!(end.resume_point, None);
    assert_eq!(
        end.reason.as_deref(),
        Some("the sync stopped early (stalled_cursor)")
    );
}

#[test]
fn a_failed_job_or_a_refused_start_fails_the_run_and_other_failures_do_not() {
    let job = JobId::new_random();
    let job_failed = event(
        job,
        serde_json::json!({
            "type": "job.failed", "connection": "sandbox", "command_kind": "ds.page",
            "command_id": MessageId::for_job(job, "page-3"), "reason": "job_state_lost",
            "message": "the job's state is gone",
        }),
    );
    let refused = |command_id: MessageId| {
        event(
            job,
            serde_json::json!({
                "type": "command.failed", "command_kind": "ds.sync",
                "command_id": command_id, "reason": "unknown_connection",
                "message": "no connection named nowhere",
            }),
        )
    };

    let end = run_end(&job_failed).unwrap();
    assert_eq!((end.outcome, end.resume_point), (Outcome::Failed, None));
    assert_eq!(
        end.reason.as_deref(),
        Some("job_state_lost: the job's state is gone")
    );
    let end = run_end(&refused(MessageId::job_start(job))).unwrap();
    assert_eq!(end.outcome, Outcome::Failed);
    assert_eq!(run_end(&refused(MessageId::for_job(job, "page-3"))), None);
}
