//! Injected failures by plan, and the request log.

use reqwest::StatusCode;
use sandbox::{FaultConfig, FaultPlan, SandboxConfig};
use serde_json::json;

use crate::harness::{TOKEN, spawn_sandbox};

const QUERY: &str = "{ demarche(number: 1717) { number } }";

fn planned(plan: FaultPlan) -> SandboxConfig {
    SandboxConfig {
        faults: FaultConfig {
            plan,
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn planned_requests_get_a_500_with_an_exception_id_and_the_others_succeed() {
    let app = spawn_sandbox(planned(FaultPlan {
        server_errors: [2].into(),
        ..FaultPlan::default()
    }))
    .await;

    let statuses = [
        app.query(TOKEN, QUERY, json!({})).await,
        app.query(TOKEN, QUERY, json!({})).await,
        app.query(TOKEN, QUERY, json!({})).await,
    ];

    assert_eq!(statuses[0].status, StatusCode::OK);
    assert_eq!(statuses[1].status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(statuses[2].status, StatusCode::OK);
    let error = &statuses[1].json()["errors"][0];
    assert_eq!(error["message"], "Internal Server Error");
    assert_eq!(error["extensions"]["code"], "internal_server_error");
    let exception_id = error["extensions"]["exception_id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(exception_id).is_ok(),
        "{exception_id}"
    );
    let stats = app.sandbox.stats();
    assert_eq!(stats.total, 3);
    assert_eq!(stats.with_status(200), 2);
    assert_eq!(stats.with_status(500), 1);
}

#[tokio::test]
async fn a_planned_429_looks_like_the_rate_limit() {
    let app = spawn_sandbox(planned(FaultPlan {
        rate_limited: [1].into(),
        ..FaultPlan::default()
    }))
    .await;

    let answer = app.query(TOKEN, QUERY, json!({})).await;

    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.headers["ratelimit-remaining"], "0");
    assert!(answer.headers.contains_key("ratelimit-reset"));
    assert!(answer.headers.get("retry-after").is_none());
}

#[tokio::test]
async fn a_planned_drop_closes_the_connection_without_an_answer() {
    let app = spawn_sandbox(planned(FaultPlan {
        dropped_connections: [1].into(),
        ..FaultPlan::default()
    }))
    .await;
    let body = json!({ "query": QUERY }).to_string();

    let dropped = app
        .post_raw(Some("Bearer sandbox-token"), body.clone())
        .await;
    let next = app.post_raw(Some("Bearer sandbox-token"), body).await;

    assert!(dropped.is_err(), "the first request got an answer");
    assert_eq!(
        next.expect("the second request is answered").status,
        StatusCode::OK
    );
    let stats = app.sandbox.stats();
    assert_eq!(stats.dropped_connections, 1);
    assert_eq!(stats.arrivals.len(), 2);
}

#[tokio::test]
async fn a_stopped_sandbox_refuses_connections() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let url = app.sandbox.base_url();

    app.sandbox.shutdown().await;

    let refused = reqwest::Client::new()
        .post(format!("{url}/api/v2/graphql"))
        .send()
        .await;
    assert!(refused.is_err());
}
