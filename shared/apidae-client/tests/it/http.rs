//! The client over real HTTP: tokens, request shape, refresh, and classification.

use crate::harness::{
    BASIC, Reply, SECRET, Script, accept_all, grant, invalid_token, open_gate, token, upstream,
};
use apidae_client::{
    ApidaeClient, ApidaeEndpoint, DeleteBatch, Descriptor, ObjectDescriptors, ObjectRemovals,
    PutBatch, WriteStatus,
};
use axum::http::{Method, StatusCode};
use chrono::{TimeDelta, Utc};
use rate_gate::RateGate;
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

/// How long a test watches a call that a gate holds for an hour: it has not gone by
/// then, however slow the machine.
const HELD: Duration = Duration::from_millis(300);

const TOMCAT_503: &str = "<!doctype html><html lang=\"en\"><head><title>HTTP Status 503 – \
    Service Unavailable</title></head><body><h1>HTTP Status 503 – Service Unavailable</h1>\
    <hr class=\"line\" /><p><b>Type</b> Status Report</p><hr class=\"line\" />\
    <h3>Apache Tomcat/9.0.83</h3></body></html>";

fn put_batch(ids: &[u64]) -> PutBatch {
    PutBatch::new(
        ids.iter()
            .map(|&id| ObjectDescriptors {
                id,
                descriptors: vec![Descriptor {
                    technical_name: "1_ChampPrive".into(),
                    texts: [
                        ("fr".into(), "Gîte été".into()),
                        ("en".into(), "Summer".into()),
                    ]
                    .into(),
                }],
            })
            .collect(),
    )
    .expect("a valid batch")
}

fn delete_batch(ids: &[u64]) -> DeleteBatch {
    DeleteBatch::new(
        ids.iter()
            .map(|&id| ObjectRemovals {
                id,
                technical_names: vec!["1_ChampPrive".into(), "2_ChampPrive".into()],
            })
            .collect(),
    )
    .expect("a valid batch")
}

fn reason(error: &UpstreamError) -> &'static str {
    match error {
        UpstreamError::Transient { reason, .. } => reason.as_str(),
        UpstreamError::RateLimited { .. } => "rate_limited",
        UpstreamError::Permanent { reason, .. } => reason.as_str(),
    }
}

fn assert_no_secret(error: &UpstreamError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("0b6e-tok"), "{shown}");
}

#[tokio::test]
async fn a_put_sends_the_documented_request_and_reports_the_answered_ids() {
    let upstream = upstream(Script {
        write: Box::new(|_, _| {
            Reply::json(
                StatusCode::OK,
                json!({"id": [111111], "status": "MODIFICATION_DONNEES_PRIVEES"}),
            )
        }),
        ..Script::default()
    })
    .await;
    let batch = put_batch(&[111111, 5]);
    let report = upstream
        .client()
        .put_descriptors(&batch)
        .await
        .expect("a success");
    assert_eq!(report.updated, vec![111111]);
    assert_eq!(report.status, WriteStatus::Modified);
    assert_eq!(report.ignored(&batch.ids()), vec![5]);

    let tokens = upstream.seen.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].method, Method::GET);
    assert_eq!(
        tokens[0].url,
        upstream.token_url(),
        "the configured token url is requested as it is"
    );
    assert_eq!(
        tokens[0].query.as_deref(),
        Some("grant_type=client_credentials")
    );
    assert_eq!(tokens[0].authorization.as_deref(), Some(BASIC));
    assert_eq!(tokens[0].accept.as_deref(), Some("application/json"));

    let writes = upstream.seen.writes();
    assert_eq!(writes.len(), 1);
    let write = &writes[0];
    assert_eq!(write.method, Method::PUT);
    assert_eq!(write.path, "/apidae/api/v002/donnees-privees/");
    assert_eq!(write.authorization, Some(format!("Bearer {}", token(1))));
    assert!(write.body.is_ascii());
    assert_eq!(
        write.payload(),
        json!({"objetsTouristiques": [
            {"id": 111111, "donneesPrivees": [{"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "Gîte été", "libelleEn": "Summer"}}]},
            {"id": 5, "donneesPrivees": [{"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "Gîte été", "libelleEn": "Summer"}}]}
        ]})
    );
}

#[tokio::test]
async fn a_delete_carries_its_body_and_expects_the_deletion_status() {
    let upstream = upstream(Script::default()).await;
    let report = upstream
        .client()
        .delete_descriptors(&delete_batch(&[111111]))
        .await
        .expect("a success");
    assert_eq!(report.status, WriteStatus::Deleted);
    assert_eq!(report.updated, vec![111111]);
    let write = &upstream.seen.writes()[0];
    assert_eq!(write.method, Method::DELETE);
    assert_eq!(write.path, "/apidae/api/v002/donnees-privees/");
    assert_eq!(
        write.payload(),
        json!({"objetsTouristiques": [{"id": 111111, "donneesPriveesASupprimer": ["1_ChampPrive", "2_ChampPrive"]}]})
    );
}

#[tokio::test]
async fn a_deletion_status_does_not_confirm_a_put() {
    let upstream = upstream(Script {
        write: Box::new(|_, _| {
            Reply::json(
                StatusCode::OK,
                json!({"id": [1], "status": "SUPPRESSION_DONNEES_PRIVEES"}),
            )
        }),
        ..Script::default()
    })
    .await;
    let error = upstream
        .client()
        .put_descriptors(&put_batch(&[1]))
        .await
        .expect_err("the wrong status");
    assert_eq!(reason(&error), "invalid_response");
}

#[tokio::test]
async fn the_token_is_cached_and_shared_by_clones() {
    let upstream = upstream(Script::default()).await;
    let client = upstream.client();
    let clone = client.clone();
    client
        .put_descriptors(&put_batch(&[1]))
        .await
        .expect("a success");
    clone
        .put_descriptors(&put_batch(&[2]))
        .await
        .expect("a success");
    client
        .delete_descriptors(&delete_batch(&[3]))
        .await
        .expect("a success");
    assert_eq!(upstream.seen.token_requests().len(), 1);
    assert_eq!(upstream.seen.write_tokens(), vec![token(1); 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_one_token_request() {
    let upstream = upstream(Script::default()).await;
    let client = upstream.client();
    let mut tasks = Vec::new();
    for id in 1..=6 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.put_descriptors(&put_batch(&[id])).await
        }));
    }
    for task in tasks {
        task.await.expect("the task ends").expect("a success");
    }
    assert_eq!(upstream.seen.token_requests().len(), 1);
}

#[tokio::test]
async fn a_token_near_its_end_is_renewed_before_use() {
    let upstream = upstream(Script {
        token: Box::new(|n| grant(n, 45)),
        ..Script::default()
    })
    .await;
    let client = upstream.client();
    client
        .put_descriptors(&put_batch(&[1]))
        .await
        .expect("a success");
    client
        .put_descriptors(&put_batch(&[2]))
        .await
        .expect("a success");
    assert_eq!(upstream.seen.write_tokens(), vec![token(1), token(2)]);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_call_sent_again() {
    let upstream = upstream(Script {
        write: Box::new(|n, write| {
            if n == 1 {
                invalid_token(&write.token())
            } else {
                accept_all(write)
            }
        }),
        ..Script::default()
    })
    .await;
    let report = upstream
        .client()
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect("a success after the refresh");
    assert_eq!(report.updated, vec![7]);
    assert_eq!(upstream.seen.token_requests().len(), 2);
    assert_eq!(upstream.seen.write_tokens(), vec![token(1), token(2)]);
}

#[tokio::test]
async fn an_invalid_token_body_on_a_200_also_triggers_the_refresh() {
    let upstream = upstream(Script {
        write: Box::new(|n, write| {
            if n == 1 {
                Reply::json(StatusCode::OK, json!({"error": "invalid_token"}))
            } else {
                accept_all(write)
            }
        }),
        ..Script::default()
    })
    .await;
    upstream
        .client()
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect("a success after the refresh");
    assert_eq!(upstream.seen.token_requests().len(), 2);
}

#[tokio::test]
async fn a_token_refused_right_after_a_refresh_is_permanent() {
    let upstream = upstream(Script {
        write: Box::new(|_, write| invalid_token(&write.token())),
        ..Script::default()
    })
    .await;
    let error = upstream
        .client()
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect_err("refused twice");
    assert_eq!(reason(&error), "unauthorized");
    assert_no_secret(&error);
    assert_eq!(upstream.seen.token_requests().len(), 2);
    assert_eq!(upstream.seen.writes().len(), 2);
}

#[tokio::test]
async fn refused_client_credentials_are_permanent_and_nothing_is_written() {
    let upstream = upstream(Script {
        token: Box::new(|_| {
            Reply::json(
                StatusCode::UNAUTHORIZED,
                json!({"error": "invalid_client", "error_description": "Bad client credentials"}),
            )
        }),
        ..Script::default()
    })
    .await;
    let error = upstream
        .client()
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect_err("refused");
    assert_eq!(reason(&error), "unauthorized");
    assert!(error.to_string().contains("invalid_client"), "{error}");
    assert_no_secret(&error);
    assert!(upstream.seen.writes().is_empty());
}

#[tokio::test]
async fn no_action_is_permanent_with_the_server_message_and_not_retried() {
    let message =
        "La liste des objets à modifier est trop importante. Max attendus : 50 - Reçus : 52";
    let upstream = upstream(Script {
        write: Box::new(move |_, _| {
            Reply::json(
                StatusCode::OK,
                json!({"status": "NO_ACTION", "message": message}),
            )
        }),
        ..Script::default()
    })
    .await;
    let error = upstream
        .client()
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect_err("no action");
    assert_eq!(
        error,
        UpstreamError::Permanent {
            reason: PermanentReason::NoAction,
            code: None,
            message: message.into()
        }
    );
    assert_eq!(upstream.seen.writes().len(), 1);
}

#[tokio::test]
async fn an_error_type_is_permanent_by_type() {
    let upstream = upstream(Script {
        write: Box::new(|_, _| {
            Reply::json(
                StatusCode::FORBIDDEN,
                json!({"errorType": "ECRITURE_FORBIDDEN", "message": "Droits insuffisants"}),
            )
        }),
        ..Script::default()
    })
    .await;
    let error = upstream
        .client()
        .delete_descriptors(&delete_batch(&[7]))
        .await
        .expect_err("forbidden");
    assert_eq!(
        error,
        UpstreamError::Permanent {
            reason: PermanentReason::Forbidden,
            code: Some("ECRITURE_FORBIDDEN".into()),
            message: "Droits insuffisants".into()
        }
    );
}

#[tokio::test]
async fn html_and_plain_text_503_pages_are_transient() {
    for reply in [
        Reply::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html;charset=utf-8",
            TOMCAT_503,
        ),
        Reply::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "Service Unavailable",
        ),
        Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "text/html", TOMCAT_503),
    ] {
        let upstream = upstream(Script {
            write: Box::new(move |_, _| reply.clone()),
            ..Script::default()
        })
        .await;
        let error = upstream
            .client()
            .put_descriptors(&put_batch(&[7]))
            .await
            .expect_err("a server error");
        assert!(
            matches!(
                error,
                UpstreamError::Transient {
                    reason: TransientReason::ServerError,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.is_retryable());
    }
}

#[tokio::test]
async fn a_non_json_200_is_an_invalid_response_with_an_excerpt() {
    let upstream = upstream(Script {
        write: Box::new(|_, _| {
            Reply::text(StatusCode::OK, "text/html", "<html>maintenance</html>")
        }),
        ..Script::default()
    })
    .await;
    let error = upstream
        .client()
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect_err("not json");
    assert_eq!(reason(&error), "invalid_response");
    assert!(
        error.to_string().contains("<html>maintenance</html>"),
        "{error}"
    );
}

#[tokio::test]
async fn a_429_is_rate_limited_with_its_retry_after() {
    let upstream = upstream(Script {
        write: Box::new(|_, _| Reply {
            retry_after: Some("3"),
            ..Reply::text(
                StatusCode::TOO_MANY_REQUESTS,
                "text/plain",
                "Too Many Requests",
            )
        }),
        ..Script::default()
    })
    .await;
    let before = Utc::now();
    let error = upstream
        .client()
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect_err("throttled");
    let after = Utc::now();
    let UpstreamError::RateLimited {
        reset_at: Some(reset_at),
    } = error
    else {
        panic!("rate limited until an instant: {error:?}");
    };
    let wait = TimeDelta::seconds(3);
    assert!(
        before + wait <= reset_at && reset_at <= after + wait,
        "{reset_at}"
    );
}

/// An upstream whose writes are all answered 429, with `retry_after` when given.
async fn throttling(retry_after: Option<&'static str>) -> crate::harness::Upstream {
    upstream(Script {
        write: Box::new(move |_, _| Reply {
            retry_after,
            ..Reply::text(
                StatusCode::TOO_MANY_REQUESTS,
                "text/plain",
                "Too Many Requests",
            )
        }),
        ..Script::default()
    })
    .await
}

#[tokio::test]
async fn a_429_pauses_the_gate_for_its_retry_after() {
    let upstream = throttling(Some("3600")).await;
    let client = upstream.client();

    let throttled = client.put_descriptors(&put_batch(&[7])).await;
    let next = tokio::time::timeout(HELD, client.put_descriptors(&put_batch(&[7]))).await;

    assert!(
        matches!(
            throttled,
            Err(UpstreamError::RateLimited { reset_at: Some(_) })
        ),
        "{throttled:?}"
    );
    assert!(next.is_err(), "the next write waits for the retry-after");
    assert_eq!(upstream.seen.writes().len(), 1);
}

#[tokio::test]
async fn a_429_without_retry_after_pauses_the_gate_for_one_window() {
    let upstream = throttling(None).await;
    let client = upstream.client_with(
        Duration::from_secs(5),
        RateGate::back_to_back(1_000, Duration::from_secs(3600)),
    );

    let throttled = client.put_descriptors(&put_batch(&[7])).await;
    let next = tokio::time::timeout(HELD, client.put_descriptors(&put_batch(&[7]))).await;

    assert_eq!(
        throttled,
        Err(UpstreamError::RateLimited { reset_at: None })
    );
    assert!(
        next.is_err(),
        "the next write waits for the window of the limit"
    );
    assert_eq!(upstream.seen.writes().len(), 1);
}

#[tokio::test]
async fn every_http_call_waits_on_the_gate() {
    let upstream = upstream(Script::default()).await;
    let client = upstream.client_with(
        Duration::from_secs(5),
        RateGate::back_to_back(2, Duration::from_secs(3600)),
    );

    // The token request and the write take both requests of the hour.
    client
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect("a write");
    let next = tokio::time::timeout(HELD, client.put_descriptors(&put_batch(&[8]))).await;

    assert!(next.is_err(), "the third request of the hour is held");
    assert_eq!(upstream.seen.writes().len(), 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_transient_timeout() {
    let upstream = upstream(Script {
        write_delay: Duration::from_secs(2),
        ..Script::default()
    })
    .await;
    let error = upstream
        .client_with_timeout(Duration::from_millis(300))
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect_err("too slow");
    assert_eq!(reason(&error), "timeout");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_connection_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let client = ApidaeClient::new(
        ApidaeEndpoint {
            base_url: format!("http://{address}/apidae")
                .parse()
                .expect("a base url"),
            token_url: format!("http://{address}/apidae/oauth/token")
                .parse()
                .expect("a token url"),
            client_id: "c".into(),
            client_secret: SecretString::from(SECRET),
            timeout: Duration::from_secs(2),
        },
        open_gate(),
    )
    .expect("a client");
    let error = client
        .put_descriptors(&put_batch(&[7]))
        .await
        .expect_err("nobody listens");
    assert_eq!(reason(&error), "connection");
    assert_no_secret(&error);
}
