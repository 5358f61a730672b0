//! The peak of requests in flight, seen across every API.

use std::time::Duration;

use sandbox::SandboxConfig;

use crate::harness::{TestSandbox, spawn_sandbox};

async fn authenticate(app: &TestSandbox) {
    let response = reqwest::Client::new()
        .post(format!("{}/divalto/api/v1/Authent/Auth", app.sandbox.base_url()))
        .body(r#"{"domain":"","user":"sandbox@sandbox.local","password":"sandbox-password","env":"SANDBOX","infos":""}"#)
        .send()
        .await
        .expect("the sandbox answers");
    assert!(response.status().is_success());
}

fn with_latency() -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_millis(200),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn overlapping_requests_raise_the_peak_in_flight() {
    let app = spawn_sandbox(with_latency()).await;

    tokio::join!(
        authenticate(&app),
        authenticate(&app),
        authenticate(&app),
        authenticate(&app)
    );

    let stats = app.sandbox.stats();
    assert_eq!(stats.total, 4);
    assert_eq!(stats.max_in_flight, 4);
}

#[tokio::test]
async fn requests_one_after_the_other_never_overlap() {
    let app = spawn_sandbox(with_latency()).await;

    for _ in 0..3 {
        authenticate(&app).await;
    }

    assert_eq!(app.sandbox.stats().max_in_flight, 1);
}
