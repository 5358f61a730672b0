//! The real `fetch-page` binary: killed mid-sync it loses nothing; SIGTERM drains it.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use contract::Event;
use sandbox::SandboxConfig;

use crate::harness::{EVENT_GAP, SyncReport, TestApp, spawn_app_without_worker, sync_command};

/// Starts the worker binary on the test's prefix and sandbox.
pub(crate) fn start_process(app: &TestApp) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fetch-page"))
        .env("AMQP_URL", testkit::amqp_url())
        .env("ESTAFETTE__BROKER__PREFIX", &app.prefix)
        .env(
            "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS",
            testkit::QUEUE_EXPIRES.as_secs().to_string(),
        )
        .env("REDIS_URL", testkit::redis_url())
        // Processes of parallel tests must not compete for the default metrics port.
        .env("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0")
        .env(
            "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL",
            app.sandbox.base_url(),
        )
        .env(
            "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__BASE_URL",
            format!("{}/amienscope", app.sandbox.base_url()),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the fetch-page binary starts")
}

async fn until_pages(app: &mut TestApp, pages: usize) -> Vec<contract::EventEnvelope> {
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e: &&contract::EventEnvelope| matches!(e.event, Event::PageFetched(_)))
        .count()
        < pages
    {
        events.push(app.events.next(EVENT_GAP).await);
    }
    events
}

/// A sandbox slow enough that a sync is still running when the first worker stops.
async fn spawn_slow_app() -> TestApp {
    let config = SandboxConfig {
        latency: Duration::from_millis(30),
        ..Default::default()
    };
    spawn_app_without_worker(config).await
}

/// Starts a second worker, collects the rest of the job, checks nothing is missing.
async fn finish_with_a_second_worker(mut app: TestApp, mut events: Vec<contract::EventEnvelope>) {
    let mut second = start_process(&app);
    events.extend(app.events.until_job_ends(EVENT_GAP).await);

    SyncReport::from_events(&events).assert_complete_exactly_once();
    second.kill().expect("stop the second worker");
    second.wait().expect("reaped");
    app.shutdown().await;
}

#[tokio::test]
async fn a_worker_process_killed_mid_sync_loses_no_page() {
    let mut app = spawn_slow_app().await;
    let mut first = start_process(&app);

    app.publish(&sync_command(None)).await;
    let events = until_pages(&mut app, 5).await;
    first.kill().expect("SIGKILL the worker");
    first.wait().expect("the killed worker is reaped");

    finish_with_a_second_worker(app, events).await;
}

#[tokio::test]
async fn sigterm_drains_in_flight_pages_and_exits_cleanly() {
    let mut app = spawn_slow_app().await;
    let mut first = start_process(&app);

    app.publish(&sync_command(None)).await;
    let events = until_pages(&mut app, 3).await;
    let signalled = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let status = tokio::task::spawn_blocking(move || first.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(
        status.success(),
        "SIGTERM ends the worker with status 0, got {status}"
    );

    finish_with_a_second_worker(app, events).await;
}

#[test]
fn help_is_printed_and_nothing_starts() {
    // An unreachable broker: a worker that started anyway would fail, not print help.
    let output = Command::new(env!("CARGO_BIN_EXE_fetch-page"))
        .arg("--help")
        .env("AMQP_URL", "amqp://127.0.0.1:1/%2f")
        .env("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0")
        .output()
        .expect("the fetch-page binary runs");

    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.starts_with("Usage: fetch-page"), "{help}");

    let refused = Command::new(env!("CARGO_BIN_EXE_fetch-page"))
        .arg("--window=8")
        .env("AMQP_URL", "amqp://127.0.0.1:1/%2f")
        .output()
        .expect("the fetch-page binary runs");
    assert_eq!(refused.status.code(), Some(64), "{refused:?}");
}

#[tokio::test]
async fn sigterm_stops_a_worker_whose_broker_never_answers() {
    // A "broker" that takes the connection and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let address = listener.local_addr().expect("a bound address");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fetch-page"))
        .env("AMQP_URL", format!("amqp://guest:guest@{address}/%2f"))
        .env("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the fetch-page binary starts");
    let (_silent, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .expect("the worker connects")
        .expect("a connection");

    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = wait_at_most(&mut child, Duration::from_secs(20));

    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_fresh_worker_lists_every_series_it_knows_at_zero() {
    // A broker that never answers: the worker serves /metrics while it waits.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let broker = silent.local_addr().expect("a bound address");
    let metrics = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fetch-page"))
        .env("AMQP_URL", format!("amqp://guest:guest@{broker}/%2f"))
        .env("ESTAFETTE__METRICS__LISTEN", metrics.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the fetch-page binary starts");
    let (_silent, _) = tokio::time::timeout(Duration::from_secs(30), silent.accept())
        .await
        .expect("the worker connects")
        .expect("a connection");

    let exposition = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("/metrics answers")
        .text()
        .await
        .expect("a text exposition");
    child.kill().expect("stop the worker");
    child.wait().expect("reaped");

    // The embedded defaults name four connections: fetch-page reads three of them.
    let worker = r#"worker="fetch-page""#;
    for series in [
        r#"estafette_pages_fetched_total{W,connection="sandbox"}"#,
        r#"estafette_records_fetched_total{W,connection="sandbox_divalto"}"#,
        r#"estafette_upstream_request_duration_seconds_count{W,connection="sandbox_amienscope",status_class="5xx"}"#,
        r#"estafette_upstream_request_duration_seconds_count{W,connection="sandbox",status_class="error"}"#,
        r#"estafette_rate_limit_pauses_total{W,connection="sandbox"}"#,
        r#"estafette_rate_limit_wait_seconds_count{W,connection="sandbox_divalto"}"#,
        r#"estafette_token_refreshes_total{W,connection="sandbox_divalto",outcome="obtained"}"#,
        r#"estafette_token_refreshes_total{W,connection="sandbox_divalto",outcome="failed"}"#,
        r#"estafette_dead_letters_total{W,reason="retries_exhausted"}"#,
        r#"estafette_dead_letters_total{W,reason="internal_command_from_outside"}"#,
        r#"estafette_messages_settled_total{W,outcome="dead_lettered"}"#,
        r#"estafette_jobs_started_total{W,kind="ds.sync",connection="sandbox"}"#,
        r#"estafette_jobs_completed_total{W,kind="divalto.sync",connection="sandbox_divalto",end="exhausted",consistency="drift_detected"}"#,
        r#"estafette_jobs_completed_total{W,kind="ds.sync",connection="sandbox",end="exhausted",consistency="unchecked"}"#,
        r#"estafette_jobs_failed_total{W,kind="amienscope.sync",connection="sandbox_amienscope",reason="upstream_error"}"#,
        r#"estafette_ready{W}"#,
    ] {
        let line = format!("{} 0", series.replace('W', worker));
        assert!(
            exposition.lines().any(|sample| sample == line),
            "{line} is missing from\n{exposition}"
        );
    }
    for elsewhere in [
        // Apidae is write-descriptors' API; Amienscope and DS log in for no token.
        r#"connection="sandbox_apidae""#,
        r#"estafette_token_refreshes_total{worker="fetch-page",connection="sandbox","#,
        r#"estafette_token_refreshes_total{worker="fetch-page",connection="sandbox_amienscope","#,
    ] {
        assert!(
            !exposition.contains(elsewhere),
            "{elsewhere} in\n{exposition}"
        );
    }
}

/// A loopback address whose port was free a moment ago.
fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}

/// The child's exit status once it exits, or `None` (after killing it) when it has
/// not within `limit`.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
