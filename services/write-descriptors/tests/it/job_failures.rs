//! A descriptor job that cannot report truthfully fails once, with `job.failed`,
//! and never publishes `descriptors.written`: its state was lost, or one of its
//! chunks failed for good without a result.

use std::collections::HashSet;
use std::time::Duration;

use contract::{Event, EventEnvelope, FailureReason, JobId};
use sandbox::{FaultConfig, SandboxConfig};

use crate::harness::{EVENT_GAP, TestApp, put, spawn_app};

/// The job's events up to its `job.failed` and a few seconds more: exactly one
/// `job.failed` with `reason`, no `descriptors.written`. Returns the events.
async fn assert_failed_once(
    app: &mut TestApp,
    job: JobId,
    reason: FailureReason,
) -> Vec<EventEnvelope> {
    let mut events = app
        .events
        .until(EVENT_GAP, |event| matches!(event, Event::JobFailed(_)))
        .await;
    while let Some(event) = app.events.try_next(Duration::from_secs(3)).await {
        events.push(event);
    }
    let mut failures = HashSet::new();
    for envelope in &events {
        assert_eq!(envelope.job_id, Some(job));
        match &envelope.event {
            Event::JobFailed(failed) => {
                assert_eq!(failed.reason, reason, "{}", failed.message);
                assert_eq!(failed.command_kind, "apidae.chunk");
                failures.insert(envelope.message_id);
            }
            Event::CommandFailed(failed) => assert_eq!(failed.reason, reason),
            Event::DescriptorsWritten(_) => panic!("a failed job reported its writes"),
            Event::ChunkWritten(_) => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(failures.len(), 1, "one job.failed");
    events
}

#[tokio::test]
async fn a_write_whose_state_is_lost_fails_once_and_never_reports() {
    let config = SandboxConfig {
        latency: Duration::from_millis(100),
        ..SandboxConfig::default()
    };
    let mut app = spawn_app(
        config,
        &[
            ("ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__PAGE_SIZE", "10"),
            ("ESTAFETTE__BROKER__PREFETCH", "1"),
        ],
    )
    .await;
    let objects = app.known_objects(200);
    let command = put(&objects, "1_ChampPrive");
    let job = command.meta.job_id;
    app.publish(&command).await;
    app.events
        .until(EVENT_GAP, |event| matches!(event, Event::ChunkWritten(_)))
        .await;

    assert!(testkit::lose_job_state(&app.prefix, job).await > 0);

    assert_failed_once(&mut app, job, FailureReason::JobStateLost).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_chunk_out_of_attempts_fails_its_job_and_the_other_chunks_stop() {
    let config = SandboxConfig {
        faults: FaultConfig {
            server_error_rate: 1.0,
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    };
    let mut app = spawn_app(
        config,
        &[
            ("ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__PAGE_SIZE", "10"),
            ("ESTAFETTE__WORKER__MAX_ATTEMPTS", "2"),
            ("ESTAFETTE__BROKER__PREFETCH", "1"),
        ],
    )
    .await;
    let objects = app.known_objects(100);
    let command = put(&objects, "1_ChampPrive");
    let job = command.meta.job_id;
    app.publish(&command).await;

    let events = assert_failed_once(&mut app, job, FailureReason::RetriesExhausted).await;

    let chunks_written = events
        .iter()
        .filter(|envelope| matches!(envelope.event, Event::ChunkWritten(_)))
        .count();
    assert_eq!(chunks_written, 0, "no chunk was written");
    // One chunk at a time: every chunk's first attempt, then the first second
    // attempt fails the job, and the other second attempts find it failed. Without
    // that, each of the 10 chunks would make both its attempts.
    let requests = app.sandbox.stats().total;
    assert!(
        requests < 2 * 10,
        "the chunks left after the job failed were not tried again: {requests} requests"
    );
    app.shutdown().await;
}
