//! Shutdown drains: a worker stopped mid-sync loses nothing; a new one finishes the job.

use std::time::Duration;

use contract::Event;
use sandbox::SandboxConfig;

use crate::harness::{EVENT_GAP, SyncReport, spawn_app, sync_command};

#[tokio::test]
async fn a_worker_stopped_mid_sync_loses_no_page_and_a_new_worker_completes_the_job() {
    let config = SandboxConfig {
        latency: Duration::from_millis(40),
        ..Default::default()
    };
    let mut app = spawn_app(config).await;

    app.publish(&sync_command(None)).await;
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e: &&contract::EventEnvelope| matches!(e.event, Event::PageFetched(_)))
        .count()
        < 5
    {
        events.push(app.events.next(EVENT_GAP).await);
    }
    app.stop_worker().await;
    while let Some(event) = app.events.try_next(Duration::from_millis(300)).await {
        events.push(event);
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.event, Event::SyncCompleted(_))),
        "stopped before the end"
    );
    app.start_worker().await;
    events.extend(app.events.until_job_ends(EVENT_GAP).await);

    SyncReport::from_events(&events).assert_complete_exactly_once();
    app.shutdown().await;
}
