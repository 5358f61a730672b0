//! A chunk the worker dead-lettered, replayed from the dead letters once the job is
//! over: the worker repeats its recorded report and never calls Apidae again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker::dead_letter_queue::{DeadLetter, Replayed, Selector};
use contract::{
    ApidaePut, Command, CommandBody, Descriptor, Event, EventEnvelope, MessageId,
    ObjectDescriptors, WorkerKind,
};
use sandbox::{ApidaeConfig, ApidaeProject, SandboxConfig, TechnicalNames};

use crate::harness::{CONNECTION, EVENT_GAP, TestApp, ids, spawn_app, written};

/// Longest wait for the worker's copy to reach the dead letters.
const DEAD_LETTER_WITHIN: Duration = Duration::from_secs(20);

/// The dead letters, once there are some.
async fn dead_letters(app: &TestApp) -> Vec<DeadLetter> {
    let deadline = tokio::time::Instant::now() + DEAD_LETTER_WITHIN;
    loop {
        let letters = testkit::dead_letter_list(&app.broker).await;
        if !letters.is_empty() {
            return letters;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing was dead-lettered within {DEAD_LETTER_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Events already on their way, up to the first half-second of quiet.
async fn stragglers(app: &mut TestApp) -> Vec<EventEnvelope> {
    let mut events = Vec::new();
    while let Some(event) = app.events.try_next(Duration::from_millis(500)).await {
        events.push(event);
    }
    events
}

/// Thirty objects in chunks of ten; the second chunk writes a descriptor the project
/// does not own, so Apidae refuses it and the worker dead-letters that chunk.
fn write_with_a_forbidden_chunk(objects: &[u64]) -> Command {
    let objects = objects
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
        .collect();
    Command::start_job(CONNECTION, CommandBody::ApidaePut(ApidaePut { objects }))
}

#[tokio::test]
async fn a_replayed_dead_chunk_repeats_its_events_and_writes_nothing() {
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
    let command = write_with_a_forbidden_chunk(&objects);
    let mut first = app.run(&command).await;
    first.extend(stragglers(&mut app).await);
    assert_eq!(written(&first).failed_chunks, 1);
    let chunk_id = MessageId::for_job(command.meta.job_id, "chunk/1").to_string();
    let letters = dead_letters(&app).await;
    let [letter] = letters.as_slice() else {
        panic!("one dead letter expected, got {letters:?}")
    };
    assert_eq!(letter.id, chunk_id);
    assert_eq!(letter.kind, "apidae.chunk");
    assert_eq!(letter.reason, "upstream_forbidden");
    assert_eq!(letter.routing_key, WorkerKind::WriteDescriptors.as_str());
    let work_queue = app
        .broker
        .topology()
        .work_queue(WorkerKind::WriteDescriptors);
    assert_eq!(letter.queue.as_deref(), Some(work_queue.as_str()));
    assert_eq!(letter.attempts, 1);
    assert!(letter.dead_lettered_at.is_some());
    let calls = app.sandbox.apidae().write_calls();
    let stored = app.sandbox.apidae().stored();

    let replayed = app
        .broker
        .replay_dead_letters(&Selector::Id(chunk_id.clone()))
        .await
        .expect("replayed");
    let mut replay = app
        .events
        .until(
            EVENT_GAP,
            |event| matches!(event, Event::ChunkWritten(chunk) if chunk.result.chunk == 1),
        )
        .await;
    replay.extend(stragglers(&mut app).await);

    assert_eq!(
        replayed,
        Replayed {
            replayed: 1,
            not_commands: 0
        }
    );
    assert!(ids(&replay).is_subset(&ids(&first)), "new ids on replay");
    for event in &replay {
        assert!(first.contains(event), "the replay published {event:?} anew");
    }
    assert!(
        replay.iter().any(|envelope| matches!(
            &envelope.event,
            Event::CommandFailed(failed) if failed.command_id.map(|id| id.to_string()) == Some(chunk_id.clone())
        )),
        "the chunk's failure is reported again: {replay:?}"
    );
    assert_eq!(
        app.sandbox.apidae().write_calls(),
        calls,
        "no call on replay"
    );
    assert_eq!(app.sandbox.apidae().stored(), stored);
    // Refused for good, the chunk is dead-lettered again, as at its first attempt.
    let again = dead_letters(&app).await;
    let [again] = again.as_slice() else {
        panic!("one dead letter expected, got {again:?}")
    };
    assert_eq!(again.id, chunk_id);
    assert_eq!(again.reason, "upstream_forbidden");
    assert_eq!(again.attempts, 1);
    assert_eq!(again.body, letter.body);
    app.shutdown().await;
}
