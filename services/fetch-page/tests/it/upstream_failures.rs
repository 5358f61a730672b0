//! Upstream failures: permanent ones are reported once, transient ones lose nothing.

use std::{num::NonZeroU32, time::Duration};

use contract::{Command, CommandBody, DsSync, Event, FailureReason};
use sandbox::{DsConfig, FaultConfig, FaultPlan, RateLimitConfig, SandboxConfig, TokenConfig};

use crate::harness::{
    DEMARCHE, EVENT_GAP, SyncReport, TestApp, spawn_app, spawn_app_with, sync_command,
};

/// A page that failed for good fails its job: `job.failed` follows its
/// `command.failed`, once, and no completion ever comes.
async fn assert_the_job_failed_with(app: &mut TestApp, reason: FailureReason) {
    let Event::JobFailed(failed) = app.events.next(EVENT_GAP).await.event else {
        panic!("expected job.failed after the page's command.failed")
    };
    assert_eq!(failed.reason, reason);
    assert_eq!(failed.command_kind, "ds.page");
    assert!(
        app.events.try_next(Duration::from_secs(2)).await.is_none(),
        "nothing follows a failed job"
    );
}

/// Syncs `demarche` with the connection's token replaced by `token` (when given) and
/// checks the job fails once, for good, with `reason` and the upstream's `code`.
async fn assert_permanent(token: Option<&str>, demarche: u32, reason: FailureReason, code: &str) {
    let extra: Vec<(&str, &str)> = token
        .map(|t| ("ESTAFETTE__CONNECTIONS__SANDBOX__TOKEN", t))
        .into_iter()
        .collect();
    let mut app = spawn_app_with(SandboxConfig::default(), &extra).await;
    let mut dead_letters = app.dead_letters().await;
    let body = CommandBody::DsSync(DsSync {
        demarche: NonZeroU32::new(demarche).expect("non-zero"),
        updated_since: None,
        state: None,
    });

    app.publish(&Command::start_job("sandbox", body)).await;
    let mut events = app.events.until_job_ends(EVENT_GAP).await;

    let Some(Event::CommandFailed(failed)) = events.pop().map(|e| e.event) else {
        panic!("expected command.failed")
    };
    assert_eq!(failed.reason, reason, "{}", failed.message);
    assert_eq!(failed.code.as_deref(), Some(code));
    assert_the_job_failed_with(&mut app, reason).await;
    if let Some(token) = token {
        assert!(
            !failed.message.contains(token),
            "the token never appears in events"
        );
    }
    let dead = testkit::next_dead_letter(&mut dead_letters, Duration::from_secs(10)).await;
    assert_eq!(
        dead.header(contract::DEAD_LETTER_REASON_HEADER),
        Some(reason.as_str())
    );
    assert_eq!(
        app.sandbox.stats().total,
        1,
        "a permanent failure is not retried"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_unknown_token_is_a_permanent_403_reported_once_and_never_retried() {
    assert_permanent(
        Some("not-a-real-token"),
        DEMARCHE,
        FailureReason::UpstreamForbidden,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_a_permanent_401() {
    assert_permanent(
        Some("expired-token"),
        DEMARCHE,
        FailureReason::UpstreamUnauthorized,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn a_demarche_hidden_from_the_token_is_a_permission_refusal_like_a_403() {
    let mut ds = DsConfig::default();
    ds.tokens
        .push(TokenConfig::limited_to("another-demarche-only", [1]));
    let config = SandboxConfig {
        ds,
        ..SandboxConfig::default()
    };
    let mut app = spawn_app_with(
        config,
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX__TOKEN",
            "another-demarche-only",
        )],
    )
    .await;
    app.publish(&sync_command(None)).await;
    let events = app.events.until_job_ends(EVENT_GAP).await;

    let Some(Event::CommandFailed(failed)) = events.last().map(|e| &e.event) else {
        panic!("expected command.failed")
    };
    assert_eq!(failed.reason, FailureReason::UpstreamForbidden);
    assert_eq!(failed.code.as_deref(), Some("unauthorized"));
    assert!(
        failed.message.contains("hidden due to permissions"),
        "{}",
        failed.message
    );
    assert_the_job_failed_with(&mut app, FailureReason::UpstreamForbidden).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_graphql_error_code_is_permanent_and_reported_with_its_code() {
    assert_permanent(None, 999_999, FailureReason::UpstreamError, "not_found").await;
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

#[tokio::test]
async fn a_page_failing_on_every_attempt_is_dead_lettered_as_retries_exhausted() {
    let faults = FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    };
    let config = SandboxConfig {
        faults,
        ..Default::default()
    };
    let mut app = spawn_app_with(config, &[("ESTAFETTE__WORKER__MAX_ATTEMPTS", "3")]).await;
    let mut dead_letters = app.dead_letters().await;

    let command = sync_command(None);
    app.publish(&command).await;
    let mut events = app.events.until_job_ends(EVENT_GAP).await;

    let Some(Event::CommandFailed(failed)) = events.pop().map(|e| e.event) else {
        panic!("expected command.failed")
    };
    assert_eq!(failed.reason, FailureReason::RetriesExhausted);
    assert_eq!(failed.command_kind.as_deref(), Some("ds.page"));
    assert!(
        failed.message.starts_with("3 attempts failed; the last: "),
        "{}",
        failed.message
    );
    assert_the_job_failed_with(&mut app, FailureReason::RetriesExhausted).await;
    let dead = testkit::next_dead_letter(&mut dead_letters, Duration::from_secs(10)).await;
    assert_eq!(
        dead.header(contract::DEAD_LETTER_REASON_HEADER),
        Some("retries_exhausted")
    );
    assert_eq!(dead.header(contract::ATTEMPT_HEADER), Some("3"));
    assert_eq!(
        dead.header(contract::DEAD_LETTER_QUEUE_HEADER),
        Some(format!("{}.fetch-page", app.prefix).as_str())
    );
    assert_eq!(
        app.sandbox.stats().with_status(500),
        3,
        "one request per attempt, no more"
    );
    app.shutdown().await;
}
