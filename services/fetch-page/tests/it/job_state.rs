//! What the job store makes true: a page of a démarche chain is read once, whatever
//! the broker redelivers, and a job whose state was lost fails once, as
//! `job_state_lost`, instead of completing from partial knowledge.

use std::{num::NonZeroU32, time::Duration};

use contract::{
    Command, CommandBody, CommandMeta, DsPage, Event, EventEnvelope, FailureReason, JobId, Listing,
    MessageId, SyncProgress,
};
use sandbox::SandboxConfig;

use crate::harness::{DEMARCHE, EVENT_GAP, SyncReport, spawn_app, spawn_app_with, sync_command};
use crate::offset::divalto_sync;

/// A `ds.page` command for `page` of `job`, as a redelivery of it would arrive: the
/// job store decides by job, start and page alone.
fn ds_page(job: JobId, started_at: chrono::DateTime<chrono::Utc>, page: u32) -> Command {
    Command {
        meta: CommandMeta {
            job_id: job,
            message_id: MessageId::for_job(job, &format!("page/{page}")),
            connection: "sandbox".to_owned(),
        },
        body: CommandBody::DsPage(DsPage {
            demarche: NonZeroU32::new(DEMARCHE).expect("non-zero"),
            updated_since: None,
            state: None,
            listing: Listing::PendingDeletedDossiers,
            page,
            after: None,
            started_at,
            progress: SyncProgress::default(),
            previous_page: None,
        }),
    }
}

#[tokio::test]
async fn redelivered_pages_of_a_finished_chain_are_not_read_again() {
    let mut app = spawn_app(SandboxConfig::default()).await;
    let command = sync_command(None);
    let job = command.meta.job_id;
    app.publish(&command).await;
    let events = app.events.until_job_ends(EVENT_GAP).await;
    let report = SyncReport::from_events(&events);
    report.assert_complete_exactly_once();
    let completed = events.last().expect("the completion").clone();
    let Event::SyncCompleted(summary) = &completed.event else {
        panic!("the sync completed")
    };
    let last_page = events
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::PageFetched(page) => Some(page.page),
            _ => None,
        })
        .max()
        .expect("pages were fetched");
    let reads = app.sandbox.stats().total;

    // Page 0 and the last page come back, as after a lost ack.
    app.publish(&ds_page(job, summary.resume_point, 0)).await;
    app.publish(&ds_page(job, summary.resume_point, last_page))
        .await;

    let repeated = app.events.next(EVENT_GAP).await;
    assert_eq!(
        repeated, completed,
        "the last page repeats its completion exactly, under the same id"
    );
    assert!(
        app.events.try_next(Duration::from_secs(2)).await.is_none(),
        "page 0 publishes nothing again"
    );
    assert_eq!(app.sandbox.stats().total, reads, "no page was read again");
    app.shutdown().await;
}

/// Runs `command` with the sandbox answering after `latency`, removes its job's state
/// from Redis once its first page is published, then collects its events until its
/// `job.failed`, and a little longer: it must fail once as `job_state_lost` and never
/// complete.
async fn assert_a_lost_state_fails_the_job_once(
    command: Command,
    latency: Duration,
    settings: &[(&str, &str)],
) {
    let config = SandboxConfig {
        latency,
        ..SandboxConfig::default()
    };
    let mut app = spawn_app_with(config, settings).await;
    let job = command.meta.job_id;
    app.publish(&command).await;
    app.events
        .until(EVENT_GAP, |event| matches!(event, Event::PageFetched(_)))
        .await;

    assert!(testkit::lose_job_state(&app.prefix, job).await > 0);

    let mut events: Vec<EventEnvelope> = app
        .events
        .until(EVENT_GAP, |event| matches!(event, Event::JobFailed(_)))
        .await;
    while let Some(event) = app.events.try_next(Duration::from_secs(3)).await {
        events.push(event);
    }
    let mut failures = std::collections::HashSet::new();
    for envelope in &events {
        assert_eq!(envelope.job_id, Some(job));
        match &envelope.event {
            Event::JobFailed(failed) => {
                assert_eq!(failed.reason, FailureReason::JobStateLost);
                assert!(
                    failed.message.contains("Start it again"),
                    "the message says what to do: {}",
                    failed.message
                );
                failures.insert(envelope.message_id);
            }
            Event::CommandFailed(failed) => {
                assert_eq!(failed.reason, FailureReason::JobStateLost, "{failed:?}");
            }
            Event::SyncCompleted(_) => panic!("a job whose state was lost completed"),
            Event::PageFetched(_) => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(failures.len(), 1, "one job.failed");
    app.shutdown().await;
}

#[tokio::test]
async fn a_demarche_sync_whose_state_is_lost_fails_once_and_never_completes() {
    assert_a_lost_state_fails_the_job_once(
        sync_command(None),
        Duration::from_millis(200),
        &[("ESTAFETTE__CONNECTIONS__SANDBOX__PAGE_SIZE", "20")],
    )
    .await;
}

#[tokio::test]
async fn an_offset_sync_whose_state_is_lost_fails_once_and_never_completes() {
    assert_a_lost_state_fails_the_job_once(
        divalto_sync(4),
        Duration::from_millis(100),
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "50")],
    )
    .await;
}
