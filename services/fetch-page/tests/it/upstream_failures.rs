//! Upstream failures: permanent ones are reported once, transient ones lose nothing.

use std::time::Duration;

use contract::{Event, FailureReason};
use sandbox::{FaultPlan, SandboxConfig};

use crate::harness::{EVENT_GAP, SyncReport, spawn_app, spawn_app_with, sync_command};

#[tokio::test]
async fn a_403_is_permanent_reported_once_and_never_retried() {
    let extra = [("ESTAFETTE__CONNECTIONS__SANDBOX__TOKEN", "not-a-real-token")];
    let mut app = spawn_app_with(SandboxConfig::default(), &extra).await;
    let mut dead_letters = app.dead_letters().await;

    app.publish(&sync_command(None)).await;
    let mut events = app.events.until_job_ends(EVENT_GAP).await;

    let Some(Event::CommandFailed(failed)) = events.pop().map(|e| e.event) else {
        panic!("expected command.failed")
    };
    assert_eq!(failed.reason, FailureReason::UpstreamForbidden);
    assert_eq!(failed.code.as_deref(), Some("forbidden"));
    assert!(
        !failed.message.contains("not-a-real-token"),
        "the token never appears in events"
    );
    testkit::next_dead_letter(&mut dead_letters, Duration::from_secs(10)).await;
    assert_eq!(
        app.sandbox.stats().total_requests(),
        1,
        "a permanent failure is not retried"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn injected_server_errors_rate_limits_and_dropped_connections_lose_no_page() {
    let faults = FaultPlan::at_requests()
        .server_error(2)
        .rate_limited(5)
        .dropped_connection(9)
        .server_error(10);
    let config = SandboxConfig {
        faults,
        ..Default::default()
    };
    let mut app = spawn_app(config).await;

    app.publish(&sync_command(None)).await;
    let events = app.events.until_job_ends(EVENT_GAP).await;

    let report = SyncReport::from_events(&events);
    assert_eq!(report.dossiers.len(), 2_350);
    assert!(report.duplicated_dossiers().is_empty());
    assert_eq!(report.completions.len(), 1);
    assert!(
        app.sandbox.stats().total_requests() >= 25 + 4,
        "the faults were served and retried"
    );
    app.shutdown().await;
}
