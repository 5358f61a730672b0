//! Upstream failures: permanent ones are reported once, transient ones lose nothing.

use std::time::Duration;

use contract::{Event, FailureReason};
use sandbox::{DsConfig, FaultConfig, FaultPlan, RateLimitConfig, SandboxConfig};

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
        app.sandbox.stats().total,
        1,
        "a permanent failure is not retried"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn injected_server_errors_rate_limits_and_dropped_connections_lose_no_page() {
    let plan = FaultPlan {
        server_errors: [2, 10].into(),
        rate_limited: [5].into(),
        dropped_connections: [9].into(),
    };
    let faults = FaultConfig {
        plan,
        ..Default::default()
    };
    // A short window keeps the injected 429's RateLimit-Reset close.
    let rate_limit = RateLimitConfig {
        limit: 400,
        window: Duration::from_secs(2),
    };
    let ds = DsConfig {
        rate_limit,
        ..Default::default()
    };
    let config = SandboxConfig {
        ds,
        faults,
        ..Default::default()
    };
    let mut app = spawn_app(config).await;

    app.publish(&sync_command(None)).await;
    let events = app.events.until_job_ends(EVENT_GAP).await;

    SyncReport::from_events(&events).assert_complete_exactly_once();
    let stats = app.sandbox.stats();
    assert_eq!(
        stats.with_status(500),
        2,
        "both planned server errors were served"
    );
    assert_eq!(
        stats.with_status(429),
        1,
        "the planned rate limit was served"
    );
    assert_eq!(stats.dropped_connections, 1, "the planned drop happened");
    app.shutdown().await;
}
