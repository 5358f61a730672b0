//! Request shape and HTTP failure handling, over real loopback connections.

use crate::harness::{TOKEN, client, endpoint, first_page, open_gate, spawn_upstream};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, post};
use chrono::DateTime;
use ds_client::{Cursor, DeletedDossiersPageRequest, Deletions, DsClient};
use rate_gate::RateGate;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

const GRAPHQL: &str = "/api/v2/graphql";
const PATIENT: Duration = Duration::from_secs(10);
/// How long a test watches a call that a gate holds for an hour: it has not gone by
/// then, however slow the machine.
const HELD: Duration = Duration::from_millis(300);

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn record(
    State(log): State<Log>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let deleted_listing = body["operationName"] == "DeletedDossiersPage";
    log.lock().expect("an unpoisoned log").push(Seen {
        authorization: text(header::AUTHORIZATION),
        content_type: text(header::CONTENT_TYPE),
        body,
    });
    let nodes = if deleted_listing {
        json!([
            {"id": "RG9zc2llci0z", "number": 3, "state": "en_construction", "reason": "user_request", "dateSupression": "2024-02-01T10:00:00+01:00"}
        ])
    } else {
        json!([
            {"id": "RG9zc2llci0x", "number": 1, "dateDerniereModification": "2024-01-01T10:00:00+01:00", "state": "accepte"},
            {"id": "RG9zc2llci0y", "number": 2, "dateDerniereModification": "2024-01-01T11:00:00+01:00", "state": "refuse"}
        ])
    };
    Json(json!({"data": {"demarche": {"connection": {
        "pageInfo": {"hasNextPage": true, "endCursor": "bmV4dA=="},
        "nodes": nodes,
    }}}}))
}

async fn recording_upstream() -> (String, Log) {
    let log = Log::default();
    let router = Router::new()
        .route(GRAPHQL, post(record))
        .with_state(log.clone());
    (spawn_upstream(router).await, log)
}

#[tokio::test]
async fn a_page_is_posted_as_graphql_json_with_a_bearer_token() {
    let (base_url, log) = recording_upstream().await;
    let client = client(&format!("{base_url}/"), PATIENT, open_gate());

    let page = client.dossiers_page(&first_page()).await.expect("a page");

    assert_eq!(
        page.nodes.iter().map(|d| d.number).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(page.end_cursor, Some(Cursor::new("bmV4dA==")));
    assert!(page.has_next_page);
    let seen = log.lock().expect("an unpoisoned log").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(seen[0].body["operationName"], "DossiersPage");
    assert_eq!(
        seen[0].body["variables"],
        json!({"demarche": 4242, "first": 100})
    );
    let query = seen[0].body["query"].as_str().expect("a query string");
    assert!(query.contains("query DossiersPage("), "{query}");
}

#[tokio::test]
async fn a_deleted_dossiers_page_runs_its_own_operation() {
    let (base_url, log) = recording_upstream().await;
    let client = client(&base_url, PATIENT, open_gate());
    let request = DeletedDossiersPageRequest {
        deletions: Deletions::Deleted,
        demarche: first_page().demarche,
        first: first_page().first,
        after: Some(Cursor::new("YWZ0ZXI=")),
        deleted_since: None,
    };

    let page = client
        .deleted_dossiers_page(&request)
        .await
        .expect("a page");

    assert_eq!(page.nodes.len(), 1);
    assert_eq!(page.nodes[0].number, 3);
    assert_eq!(
        page.nodes[0].deleted_at,
        DateTime::from_timestamp(1_706_778_000, 0).expect("a valid instant")
    );
    let seen = log.lock().expect("an unpoisoned log").clone();
    assert_eq!(seen[0].body["operationName"], "DeletedDossiersPage");
    assert_eq!(
        seen[0].body["variables"],
        json!({"demarche": 4242, "first": 100, "after": "YWZ0ZXI="})
    );
}

#[tokio::test]
async fn a_pending_deleted_dossiers_page_runs_its_own_operation() {
    let (base_url, log) = recording_upstream().await;
    let client = client(&base_url, PATIENT, open_gate());
    let request = DeletedDossiersPageRequest {
        deletions: Deletions::PendingDeleted,
        demarche: first_page().demarche,
        first: first_page().first,
        after: None,
        deleted_since: None,
    };

    // The recording upstream answers with a dossiers page; only the request matters here.
    let _ = client.deleted_dossiers_page(&request).await;

    let seen = log.lock().expect("an unpoisoned log").clone();
    assert_eq!(seen[0].body["operationName"], "PendingDeletedDossiersPage");
    let query = seen[0].body["query"].as_str().expect("a query string");
    assert!(query.contains("pendingDeletedDossiers("), "{query}");
}

#[tokio::test]
async fn a_redirect_is_a_permanent_error_and_is_not_followed() {
    let followed = Arc::new(AtomicUsize::new(0));
    let counter = followed.clone();
    let router = Router::new()
        .route(GRAPHQL, post(|| async { Redirect::permanent("/moved") }))
        .route(
            "/moved",
            any(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { StatusCode::OK }
            }),
        );
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url, PATIENT, open_gate())
        .dossiers_page(&first_page())
        .await;

    assert!(
        matches!(
            result,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::Redirect,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(followed.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_throttled_answer_reports_when_the_window_resets() {
    let router = Router::new().route(
        GRAPHQL,
        post(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("ratelimit-remaining", "0"),
                    ("ratelimit-reset", "1767225660"),
                ],
                "Calm down, cowboy! You're making too many requests.",
            )
                .into_response()
        }),
    );
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url, PATIENT, open_gate())
        .dossiers_page(&first_page())
        .await;

    assert_eq!(
        result.map(|page| page.nodes.len()),
        Err(UpstreamError::RateLimited {
            reset_at: DateTime::from_timestamp(1_767_225_660, 0)
        })
    );
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_transient_timeout() {
    let router = Router::new().route(GRAPHQL, post(std::future::pending::<StatusCode>));
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url, Duration::from_millis(200), open_gate())
        .dossiers_page(&first_page())
        .await;

    assert!(
        matches!(
            result,
            Err(UpstreamError::Transient {
                reason: TransientReason::Timeout,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_transient_connection_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("a bound address");
    drop(listener);

    let result = client(&format!("http://{address}"), PATIENT, open_gate())
        .dossiers_page(&first_page())
        .await;

    assert!(
        matches!(
            result,
            Err(UpstreamError::Transient {
                reason: TransientReason::Connection,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn every_call_waits_on_the_gate() {
    let (base_url, log) = recording_upstream().await;
    let client = client(
        &base_url,
        PATIENT,
        RateGate::back_to_back(1, Duration::from_secs(3600)),
    );

    client.dossiers_page(&first_page()).await.expect("a page");
    let second = tokio::time::timeout(HELD, client.dossiers_page(&first_page())).await;

    assert!(second.is_err(), "the second call of the hour is held");
    assert_eq!(log.lock().expect("an unpoisoned log").len(), 1);
}

/// An upstream that answers its first request 429 with `headers`, the others with an
/// empty page, and counts them all.
async fn throttling_upstream(headers: Vec<(&'static str, String)>) -> (String, Arc<AtomicUsize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let router = Router::new().route(
        GRAPHQL,
        post(move || {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            let headers = headers.clone();
            async move {
                if first {
                    let mut response = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
                    for (name, value) in headers {
                        let value = value.parse().expect("a header value");
                        response.headers_mut().insert(name, value);
                    }
                    return response;
                }
                Json(json!({"data": {"demarche": {"connection": {
                    "pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": []
                }}}}))
                .into_response()
            }
        }),
    );
    (spawn_upstream(router).await, received)
}

#[tokio::test]
async fn a_throttled_answer_pauses_the_gate_until_the_window_resets() {
    let reset = chrono::Utc::now().timestamp() + 3600;
    let (base_url, received) =
        throttling_upstream(vec![("ratelimit-reset", reset.to_string())]).await;
    let client = client(&base_url, PATIENT, open_gate());

    let throttled = client.dossiers_page(&first_page()).await;
    let next = tokio::time::timeout(HELD, client.dossiers_page(&first_page())).await;

    assert!(
        matches!(
            throttled,
            Err(UpstreamError::RateLimited { reset_at: Some(_) })
        ),
        "{throttled:?}"
    );
    assert!(next.is_err(), "the next call waits for the reset");
    assert_eq!(received.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_throttled_answer_without_a_reset_pauses_the_gate_for_one_window() {
    let (base_url, received) = throttling_upstream(Vec::new()).await;
    let client = client(
        &base_url,
        PATIENT,
        RateGate::back_to_back(1_000, Duration::from_secs(3600)),
    );

    let throttled = client.dossiers_page(&first_page()).await;
    let next = tokio::time::timeout(HELD, client.dossiers_page(&first_page())).await;

    assert_eq!(
        throttled.map(|page| page.nodes.len()),
        Err(UpstreamError::RateLimited { reset_at: None })
    );
    assert!(
        next.is_err(),
        "the next call waits for the window of the limit"
    );
    assert_eq!(received.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_token_never_shows_in_debug_output_or_errors() {
    let router = Router::new().route(
        GRAPHQL,
        post(|| async {
            (
                StatusCode::FORBIDDEN,
                Json(json!({"errors": [{"message": "Without a token, only persisted queries are allowed", "extensions": {"code": "forbidden"}}], "data": null})),
            )
        }),
    );
    let base_url = spawn_upstream(router).await;
    let endpoint = endpoint(&base_url, PATIENT);
    let client = DsClient::new(endpoint.clone(), open_gate()).expect("a usable endpoint");

    let error = client
        .dossiers_page(&first_page())
        .await
        .expect_err("a 403");

    assert!(matches!(
        &error,
        UpstreamError::Permanent { reason: PermanentReason::Forbidden, code: Some(code), .. } if code == "forbidden"
    ));
    for shown in [
        format!("{endpoint:?}"),
        format!("{client:?}"),
        format!("{error:?}"),
        error.to_string(),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}

#[tokio::test]
async fn a_token_that_cannot_be_a_header_is_refused_without_echoing_it() {
    let mut endpoint = endpoint("http://127.0.0.1:9", PATIENT);
    endpoint.token = "line\nbreak-secret".to_owned().into();

    let error = DsClient::new(endpoint, open_gate()).expect_err("an unusable token");

    assert!(matches!(
        &error,
        UpstreamError::Permanent {
            reason: PermanentReason::Configuration,
            ..
        }
    ));
    assert!(!format!("{error:?}").contains("break-secret"));
}
