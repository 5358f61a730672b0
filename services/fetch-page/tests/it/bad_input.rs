//! Bad input ends as a `command.failed` event plus a dead letter; the worker goes on.

use std::time::Duration;

use contract::{
    DEAD_LETTER_REASON_HEADER, Event, FailureReason, JobId, MAX_COMMAND_BYTES, MAX_QUERY_BYTES,
    MessageId,
};
use sandbox::SandboxConfig;
use serde_json::json;

use crate::harness::{EVENT_GAP, spawn_app, sync_command, sync_command_on};

const WAIT: Duration = Duration::from_secs(10);

fn envelope(change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
    let job_id = JobId::new_random();
    let mut value = json!({
        "version": 1,
        "kind": "ds.sync",
        "job_id": job_id,
        "message_id": MessageId::job_start(job_id),
        "connection": "sandbox",
        "body": { "demarche": 4242 },
    });
    change(value.as_object_mut().expect("object"));
    serde_json::to_vec(&value).expect("json")
}

#[tokio::test]
async fn every_kind_of_bad_input_is_reported_and_dead_lettered_and_the_worker_goes_on() {
    let mut app = spawn_app(SandboxConfig::default()).await;
    let mut dead_letters = app.dead_letters().await;
    let cases: Vec<(&str, Vec<u8>, FailureReason)> = vec![
        (
            "malformed json",
            b"{\"version\": 1, ".to_vec(),
            FailureReason::MalformedJson,
        ),
        (
            "huge message",
            vec![b'{'; MAX_COMMAND_BYTES + 10],
            FailureReason::TooLarge,
        ),
        (
            "unknown version",
            envelope(|e| {
                e.insert("version".into(), json!(7));
            }),
            FailureReason::UnsupportedVersion,
        ),
        (
            "unknown kind",
            envelope(|e| {
                e.insert("kind".into(), json!("ds.teleport"));
            }),
            FailureReason::UnknownKind,
        ),
        (
            "missing job id",
            envelope(|e| {
                e.remove("job_id");
            }),
            FailureReason::MissingField,
        ),
        (
            "missing démarche",
            envelope(|e| {
                e.insert("body".into(), json!({}));
            }),
            FailureReason::InvalidBody,
        ),
        (
            "negative démarche",
            envelope(|e| {
                e.insert("body".into(), json!({"demarche": -3}));
            }),
            FailureReason::InvalidBody,
        ),
        (
            "unknown connection",
            envelope(|e| {
                e.insert("connection".into(), json!("nowhere"));
            }),
            FailureReason::UnknownConnection,
        ),
        (
            "not json at all",
            vec![0xff, 0xfe, 0x00, 0x13, 0x37],
            FailureReason::MalformedJson,
        ),
        (
            "démarche of the wrong type",
            envelope(|e| {
                e.insert("body".into(), json!({"demarche": "all of them"}));
            }),
            FailureReason::InvalidBody,
        ),
        (
            "a body naming a url",
            envelope(|e| {
                e.insert(
                    "body".into(),
                    json!({"demarche": 4242, "base_url": "http://attacker.example"}),
                );
            }),
            FailureReason::InvalidBody,
        ),
        (
            "a window of a million pages",
            envelope(|e| {
                e.insert("kind".into(), json!("amienscope.sync"));
                e.insert("body".into(), json!({"window": 1_000_000}));
            }),
            FailureReason::InvalidBody,
        ),
        (
            "a query too large to be carried by every page",
            envelope(|e| {
                e.insert("kind".into(), json!("divalto.sync"));
                e.insert("connection".into(), json!("sandbox_divalto"));
                e.insert(
                    "body".into(),
                    json!({"query": {
                        "dhoq": "gtrsart.dhoq",
                        "recordsql": "Article",
                        "id_field": "ART_ID",
                        "where": {"name": "Par_Ref", "parameters": "x".repeat(MAX_QUERY_BYTES)},
                    }}),
                );
            }),
            FailureReason::InvalidBody,
        ),
        (
            "a page command from outside the workers",
            envelope(|e| {
                e.insert("kind".into(), json!("ds.page"));
                e.insert(
                    "body".into(),
                    json!({"demarche": 4242, "listing": "dossiers", "page": 3,
                           "started_at": "2026-03-09T08:00:00Z",
                           "progress": {"pages": 0, "records": 0, "deleted_records": 0}}),
                );
            }),
            FailureReason::InternalCommandFromOutside,
        ),
        (
            "a date that is not one",
            envelope(|e| {
                e.insert(
                    "body".into(),
                    json!({"demarche": 4242, "updated_since": "yesterday"}),
                );
            }),
            FailureReason::InvalidBody,
        ),
    ];

    for (case, body, reason) in &cases {
        app.publish_raw(body).await;
        let event = app.events.next(WAIT).await;
        let Event::CommandFailed(failed) = &event.event else {
            panic!("{case}: expected command.failed, got {event:?}")
        };
        assert_eq!(failed.reason, *reason, "{case}: {}", failed.message);
        assert!(
            !failed.message.is_empty(),
            "{case}: the reason is explained"
        );
        let dead = testkit::next_dead_letter(&mut dead_letters, WAIT).await;
        assert_eq!(
            dead.body, *body,
            "{case}: the dead letter keeps the original message"
        );
        assert_eq!(
            dead.header(DEAD_LETTER_REASON_HEADER),
            Some(reason.as_str()),
            "{case}"
        );
    }

    app.publish(&sync_command(None)).await;
    let events = app.events.until_job_ends(EVENT_GAP).await;
    assert!(matches!(
        events.last().map(|e| &e.event),
        Some(Event::SyncCompleted(_))
    ));
    app.shutdown().await;
}

#[tokio::test]
async fn a_command_for_an_unknown_connection_names_its_job_in_the_failure() {
    let mut app = spawn_app(SandboxConfig::default()).await;
    let command = sync_command_on("elsewhere", None);

    app.publish(&command).await;
    let event = app.events.next(WAIT).await;

    assert_eq!(event.job_id, Some(command.meta.job_id));
    assert_eq!(
        event.message_id,
        command.meta.message_id.caused_by("command.failed")
    );
    let Event::CommandFailed(failed) = event.event else {
        panic!("expected command.failed")
    };
    assert_eq!(failed.reason, FailureReason::UnknownConnection);
    assert_eq!(failed.command_id, Some(command.meta.message_id));
    app.shutdown().await;
}
