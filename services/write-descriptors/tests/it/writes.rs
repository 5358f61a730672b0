//! Writes and removals of any size, faults, replays and bad input, checked against the
//! sandbox's stored descriptors rather than our own events.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker::{Outgoing, Target};
use contract::{
    ApidaePut, Command, CommandBody, Descriptor, Event, FailureReason, ObjectDescriptors,
    WorkerKind,
};
use sandbox::{
    ApidaeChange, ApidaeConfig, ApidaeFault, ApidaeProject, SandboxConfig, ScheduledChange,
    TechnicalNames,
};

use crate::harness::{CONNECTION, TestApp, delete, ids, put, spawn_app, written};

/// What the sandbox should hold for `ids` after `put(ids, name)`.
fn stored_by_put(
    ids: &[u64],
    names: &[&str],
) -> BTreeMap<u64, BTreeMap<String, BTreeMap<String, String>>> {
    ids.iter()
        .map(|&id| {
            let texts = BTreeMap::from([
                ("libelleEn".to_owned(), format!("Text {id}")),
                ("libelleFr".to_owned(), format!("Texte {id}")),
            ]);
            let descriptors = names
                .iter()
                .map(|name| ((*name).to_owned(), texts.clone()))
                .collect();
            (id, descriptors)
        })
        .collect()
}

async fn default_app() -> TestApp {
    spawn_app(SandboxConfig::default(), &[]).await
}

#[tokio::test]
async fn seven_hundred_thirty_objects_take_fifteen_calls_and_are_stored_exactly() {
    let mut app = default_app().await;
    let objects = app.known_objects(730);

    let events = app.run(&put(&objects, "1_ChampPrive")).await;

    let written = written(&events);
    assert_eq!(written.objects, 730);
    assert_eq!(written.updated, 730);
    assert_eq!(written.not_reported, 0);
    assert_eq!(written.failed_chunks, 0);
    assert_eq!(written.chunks.len(), 15);
    let sizes: Vec<usize> = written
        .chunks
        .iter()
        .map(|chunk| chunk.updated.len())
        .collect();
    let mut expected_sizes = vec![50; 14];
    expected_sizes.push(30);
    assert_eq!(sizes, expected_sizes);
    assert_eq!(app.sandbox.apidae().write_calls(), 15);
    assert_eq!(
        app.sandbox.apidae().token_calls(),
        1,
        "one token for the whole job"
    );
    assert_eq!(
        app.sandbox.apidae().stored(),
        stored_by_put(&objects, &["1_ChampPrive"])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn fifty_objects_make_one_call_and_fifty_one_make_two() {
    let mut app = default_app().await;
    let objects = app.known_objects(101);

    app.run(&put(&objects[..50], "a")).await;
    assert_eq!(app.sandbox.apidae().write_calls(), 1);
    app.run(&put(&objects[50..], "a")).await;
    assert_eq!(app.sandbox.apidae().write_calls(), 3);
    assert_eq!(
        app.sandbox.apidae().stored(),
        stored_by_put(&objects, &["a"])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_objects_are_reported_as_not_written() {
    let mut app = default_app().await;
    let mut objects = app.known_objects(3);
    // The sandbox knows no object below 100,000.
    objects.extend([7, 8]);

    let written = written(&app.run(&put(&objects, "a")).await);

    assert_eq!(written.updated, 3);
    assert_eq!(written.not_reported, 2);
    assert_eq!(written.chunks[0].not_reported, vec![7, 8]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_removal_takes_away_exactly_the_named_descriptors() {
    let mut app = default_app().await;
    let objects = app.known_objects(70);
    app.run(&put(&objects, "a")).await;
    app.run(&put(&objects, "b")).await;

    let written = written(&app.run(&delete(&objects[..60], &["a"])).await);

    assert_eq!(written.updated, 60);
    let mut expected = stored_by_put(&objects[..60], &["b"]);
    expected.extend(stored_by_put(&objects[60..], &["a", "b"]));
    assert_eq!(app.sandbox.apidae().stored(), expected);
    app.shutdown().await;
}

#[tokio::test]
async fn a_chunk_that_meets_a_server_error_is_retried_and_the_state_is_still_exact() {
    let config = SandboxConfig {
        apidae: ApidaeConfig {
            scheduled_changes: vec![ScheduledChange::new(
                1,
                ApidaeChange::FailNextWrites {
                    fault: ApidaeFault::HtmlUnavailable,
                    count: 1,
                },
            )],
            ..ApidaeConfig::default()
        },
        ..SandboxConfig::default()
    };
    let mut app = spawn_app(config, &[]).await;
    let objects = app.known_objects(120);

    let written = written(&app.run(&put(&objects, "a")).await);

    assert_eq!(written.updated, 120);
    assert_eq!(written.failed_chunks, 0);
    // The failed call wrote nothing and is not counted: each chunk was written once.
    assert_eq!(app.sandbox.apidae().write_calls(), 3);
    assert_eq!(
        app.sandbox.apidae().stored(),
        stored_by_put(&objects, &["a"])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_forbidden_chunk_fails_alone() {
    let project = ApidaeProject {
        technical_names: TechnicalNames::Only(BTreeSet::from(["ok".to_owned()])),
        ..ApidaeProject::sandbox()
    };
    let config = SandboxConfig {
        apidae: ApidaeConfig {
            clients: vec![project],
            ..ApidaeConfig::default()
        },
        ..SandboxConfig::default()
    };
    let mut app = spawn_app(
        config,
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__PAGE_SIZE", "10")],
    )
    .await;
    let objects = app.known_objects(30);
    // The second chunk of ten writes a descriptor the project does not own.
    let command = Command::start_job(
        CONNECTION,
        CommandBody::ApidaePut(ApidaePut {
            objects: objects
                .iter()
                .enumerate()
                .map(|(index, &id)| ObjectDescriptors {
                    id,
                    descriptors: vec![Descriptor {
                        technical_name: if (10..20).contains(&index) {
                            "secret"
                        } else {
                            "ok"
                        }
                        .to_owned(),
                        texts: BTreeMap::from([("fr".to_owned(), format!("Texte {id}"))]),
                    }],
                })
                .collect(),
        }),
    );

    let events = app.run(&command).await;

    let written = written(&events);
    assert_eq!(written.failed_chunks, 1);
    assert_eq!(written.updated, 20);
    let failure = written.chunks[1].failure.as_ref().expect("chunk 1 failed");
    assert_eq!(failure.reason, FailureReason::UpstreamForbidden);
    assert_eq!(failure.code.as_deref(), Some("ECRITURE_FORBIDDEN"));
    assert!(written.chunks[0].failure.is_none() && written.chunks[2].failure.is_none());
    let failed: Vec<_> = events
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::CommandFailed(failed) => Some(failed),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "only the forbidden chunk failed");
    assert_eq!(failed[0].command_kind.as_deref(), Some("apidae.chunk"));
    let stored = app.sandbox.apidae().stored();
    assert_eq!(stored.len(), 20);
    assert!(
        stored
            .values()
            .all(|descriptors| descriptors.contains_key("ok"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let config = SandboxConfig {
        apidae: ApidaeConfig {
            scheduled_changes: vec![ScheduledChange::new(1, ApidaeChange::ExpireTokens)],
            ..ApidaeConfig::default()
        },
        ..SandboxConfig::default()
    };
    let mut app = spawn_app(config, &[]).await;
    let objects = app.known_objects(150);

    let written = written(&app.run(&put(&objects, "a")).await);

    assert_eq!(written.updated, 150);
    assert_eq!(app.sandbox.apidae().token_calls(), 2);
    assert_eq!(
        app.sandbox.apidae().stored(),
        stored_by_put(&objects, &["a"])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_replayed_command_repeats_its_events_and_changes_nothing() {
    let mut app = default_app().await;
    let objects = app.known_objects(120);
    let command = put(&objects, "a");
    let mut first = app.run(&command).await;
    first.extend(app.events.try_next(Duration::from_millis(500)).await);
    let calls = app.sandbox.apidae().write_calls();
    let stored = app.sandbox.apidae().stored();

    let mut replay = app.run(&command).await;
    replay.extend(app.events.try_next(Duration::from_millis(500)).await);

    assert_eq!(ids(&replay), ids(&first));
    for event in &replay {
        assert!(first.contains(event), "the replay published {event:?} anew");
    }
    assert_eq!(
        app.sandbox.apidae().write_calls(),
        calls,
        "no call on replay"
    );
    assert_eq!(app.sandbox.apidae().stored(), stored);
    app.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let mut app = default_app().await;
    let object = |id: serde_json::Value, name: &str, text: &str| {
        serde_json::json!({"id": id, "descriptors": [
            {"technical_name": name, "texts": {"fr": text}}]})
    };
    let cases = [
        ("an empty batch", serde_json::json!([]), "no object"),
        (
            "a text id",
            serde_json::json!([object("abc".into(), "a", "x")]),
            "objects[0].id",
        ),
        (
            "a fractional id",
            serde_json::json!([object(1.5.into(), "a", "x")]),
            "objects[0].id",
        ),
        (
            "a missing name",
            serde_json::json!([object(100_000.into(), " ", "x")]),
            "technical name is missing",
        ),
        (
            "an empty text",
            serde_json::json!([object(100_000.into(), "a", "")]),
            "empty `fr` text",
        ),
        (
            "an object twice",
            serde_json::json!([
                object(100_000.into(), "a", "x"),
                object(100_000.into(), "b", "y")
            ]),
            "appears twice",
        ),
    ];
    for (case, objects, expected) in cases {
        let valid = put(&[100_000], "a");
        let mut envelope: serde_json::Value =
            serde_json::from_slice(&valid.to_json()).expect("json");
        envelope["body"] = serde_json::json!({ "objects": objects });
        let body = serde_json::to_vec(&envelope).expect("json");
        app.broker
            .publisher()
            .publish(&Outgoing {
                target: Target::Command(WorkerKind::WriteDescriptors),
                message_id: valid.meta.message_id,
                kind: "apidae.put",
                body,
                headers: Vec::new(),
                job_end: None,
            })
            .await
            .expect("confirmed");
        let event = app.events.next(crate::harness::EVENT_GAP).await.event;
        let Event::CommandFailed(failed) = event else {
            panic!("{case}: expected command.failed, got {event:?}")
        };
        assert_eq!(failed.reason, FailureReason::InvalidBody, "{case}");
        assert!(
            failed.message.contains(expected),
            "{case}: {}",
            failed.message
        );
    }
    assert_eq!(app.sandbox.apidae().write_calls(), 0);
    assert_eq!(app.sandbox.apidae().token_calls(), 0);
    app.shutdown().await;
}
