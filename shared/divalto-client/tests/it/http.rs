//! Request shapes, token handling and failure classification over real loopback
//! connections.

use crate::harness::{
    PASSWORD, Script, client, endpoint, issue_token, ok_json, open_gate, postal_codes, rejection,
    serve_page, spawn_reads, spawn_upstream, ten, token,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use divalto_client::{DivaltoClient, RecordQuery, WhereClause};
use rate_gate::RateGate;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

/// How long a test watches a call that a gate holds for an hour: it has not gone by
/// then, however slow the machine.
const HELD: Duration = Duration::from_millis(300);

/// Fails the test when `text` shows the password or any token of the first logins.
fn assert_no_secret(text: &str) {
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!text.contains("eyJ0eXAi"), "{text}");
}

fn permanent_reason(error: &UpstreamError) -> Option<PermanentReason> {
    match error {
        UpstreamError::Permanent { reason, .. } => Some(*reason),
        _ => None,
    }
}

fn transient_reason(error: &UpstreamError) -> Option<TransientReason> {
    match error {
        UpstreamError::Transient { reason, .. } => Some(*reason),
        _ => None,
    }
}

#[tokio::test]
async fn login_then_read_send_the_documented_bodies() {
    let (base_url, seen) = spawn_upstream(Script::default()).await;
    let client = client(&format!("{base_url}/"));
    let query = RecordQuery {
        dhoq: "gtrstab.dhoq".into(),
        recordsql: "MODEREGLEMENT".into(),
        fields: vec!["DOS".into(), "REGL".into(), "LIB".into()],
        orderby: Some("Par_Code".into()),
        where_clause: Some(WhereClause {
            name: "Par_Dossier".into(),
            parameters: "dos=998".into(),
        }),
    };

    let page = client
        .records_page(&query, 20, ten())
        .await
        .expect("a page");

    assert_eq!(page.table.as_deref(), Some("T057"));
    assert_eq!(page.infos, None);
    assert_eq!(page.records.len(), 2);
    assert_eq!(page.records[0].get("ID"), Some("21"));
    assert_eq!(page.records[1].get("VIL"), Some("BROU"));
    assert_eq!(page.records[1].get("RANK"), Some("2"));

    let logins = seen.logins.lock().expect("an unpoisoned log").clone();
    assert_eq!(
        logins,
        [json!({
            "domain": "C123456.divalto.com",
            "user": "apiuser",
            "password": PASSWORD,
            "env": "ERP213",
            "infos": ""
        })]
    );
    let reads = seen.reads();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        reads[0].body,
        json!({
            "dhoq": "gtrstab.dhoq",
            "recordsql": "MODEREGLEMENT",
            "access_token": token(1),
            "parameters": "",
            "fields": "DOS;REGL;LIB",
            "where": "Par_Dossier",
            "where_parameters": "dos=998",
            "offset": 20,
            "count": 10,
            "orderby": "Par_Code",
            "having": "",
            "having_parameters": "",
            "infos": ""
        })
    );
}

#[tokio::test]
async fn the_token_is_reused_across_calls_and_clones() {
    let (base_url, seen) = spawn_upstream(Script::default()).await;
    let client = client(&base_url);
    let clone = client.clone();

    client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect("a page");
    clone
        .records_page(&postal_codes(), 10, ten())
        .await
        .expect("a page");
    client
        .records_page(&postal_codes(), 20, ten())
        .await
        .expect("a page");

    assert_eq!(seen.login_count(), 1);
    assert_eq!(seen.read_tokens(), [token(1), token(1), token(1)]);
}

#[tokio::test]
async fn an_old_token_is_renewed_before_its_lifetime_ends() {
    let (base_url, seen) = spawn_upstream(Script::default()).await;
    let mut settings = endpoint(&base_url);
    settings.token_lifetime = Duration::from_millis(200);
    let client = DivaltoClient::new(settings, open_gate()).expect("a usable endpoint");

    client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect("a page");
    tokio::time::sleep(Duration::from_millis(190)).await;
    client
        .records_page(&postal_codes(), 10, ten())
        .await
        .expect("a page");

    assert_eq!(seen.login_count(), 2);
    assert_eq!(seen.read_tokens(), [token(1), token(2)]);
}

#[tokio::test]
async fn a_rejected_token_is_renewed_once_and_the_page_retried() {
    let script = Script {
        auth: Box::new(issue_token),
        execute: Box::new(|body| {
            if body["access_token"] == token(1) {
                rejection(-1, "token expiré")
            } else {
                serve_page(body)
            }
        }),
        ..Script::default()
    };
    let (base_url, seen) = spawn_upstream(script).await;
    let client = client(&base_url);

    let page = client
        .records_page(&postal_codes(), 30, ten())
        .await
        .expect("a page after one new login");

    assert_eq!(page.records[0].get("ID"), Some("31"));
    assert_eq!(seen.login_count(), 2);
    assert_eq!(seen.read_tokens(), [token(1), token(2)]);
    let offsets: Vec<_> = seen
        .reads()
        .iter()
        .map(|r| r.body["offset"].clone())
        .collect();
    assert_eq!(offsets, [json!(30), json!(30)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_rejected_on_the_same_token_log_in_again_only_once() {
    let script = Script {
        auth: Box::new(issue_token),
        execute: Box::new(|body| {
            if body["access_token"] == token(1) {
                rejection(7, "session invalide")
            } else {
                serve_page(body)
            }
        }),
        ..Script::default()
    };
    let (base_url, seen) = spawn_upstream(script).await;
    let client = client(&base_url);

    let mut tasks = Vec::new();
    for page in 0..6_u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.records_page(&postal_codes(), page * 10, ten()).await
        }));
    }
    for task in tasks {
        task.await.expect("the task ends").expect("a page");
    }

    assert_eq!(seen.login_count(), 2);
}

#[tokio::test]
async fn a_second_rejection_after_a_new_login_is_refused_with_its_error_number() {
    let script = Script {
        auth: Box::new(issue_token),
        execute: Box::new(|_| rejection(12, "clause where inconnue")),
        ..Script::default()
    };
    let (base_url, seen) = spawn_upstream(script).await;
    let client = client(&base_url);

    let error = client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("rejected twice");

    assert_eq!(
        error,
        UpstreamError::Permanent {
            reason: PermanentReason::Refused,
            code: Some("12".into()),
            message: "clause where inconnue".into(),
        }
    );
    assert_eq!(seen.login_count(), 2);
    assert_eq!(seen.reads().len(), 2);
}

#[tokio::test]
async fn error_54_is_forbidden_at_once() {
    let script = Script {
        auth: Box::new(issue_token),
        execute: Box::new(|_| rejection(54, "erreur : dhoq '' non autorisé")),
        ..Script::default()
    };
    let (base_url, seen) = spawn_upstream(script).await;
    let client = client(&base_url);

    let error = client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("not authorised");

    let UpstreamError::Permanent {
        reason,
        code,
        message,
    } = &error
    else {
        panic!("error 54 is permanent: {error:?}");
    };
    assert_eq!(*reason, PermanentReason::Forbidden);
    assert_eq!(code.as_deref(), Some("54"));
    assert!(message.contains("non autorisé"), "{message}");
    assert_eq!(seen.login_count(), 1);
    assert_eq!(seen.reads().len(), 1);
}

#[tokio::test]
async fn a_refused_login_is_permanent_and_keeps_the_server_text() {
    let script = Script {
        auth: Box::new(|_| {
            ok_json(
                json!({"error": 3, "access_token": "", "txterror": "utilisateur ou mot de passe invalide", "infos": ""}),
            )
        }),
        execute: Box::new(serve_page),
        ..Script::default()
    };
    let (base_url, seen) = spawn_upstream(script).await;
    let client = client(&base_url);

    let error = client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("refused");

    assert_eq!(
        permanent_reason(&error),
        Some(PermanentReason::Unauthorized)
    );
    let text = error.to_string();
    assert!(
        text.contains("utilisateur ou mot de passe invalide"),
        "{text}"
    );
    assert_no_secret(&text);
    assert_no_secret(&format!("{error:?}"));
    assert_eq!(seen.reads().len(), 0);
}

#[tokio::test]
async fn a_login_refusal_echoing_the_password_does_not_leak_it() {
    let script = Script {
        auth: Box::new(|_| {
            ok_json(json!({"error": 1, "txterr": format!("mot de passe {PASSWORD} invalide")}))
        }),
        execute: Box::new(serve_page),
        ..Script::default()
    };
    let (base_url, _seen) = spawn_upstream(script).await;

    let error = client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("refused");

    assert_no_secret(&format!("{error} {error:?}"));
}

#[tokio::test]
async fn a_503_is_transient_on_reads_and_logins() {
    let script = Script {
        auth: Box::new(issue_token),
        execute: Box::new(|_| (StatusCode::SERVICE_UNAVAILABLE, "maintenance".into())),
        ..Script::default()
    };
    let (base_url, seen) = spawn_upstream(script).await;
    let error = client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("unavailable");
    assert_eq!(transient_reason(&error), Some(TransientReason::ServerError));
    assert!(error.is_retryable());
    assert_eq!(
        seen.login_count(),
        1,
        "a 503 is not a reason to log in again"
    );

    let script = Script {
        auth: Box::new(|_| (StatusCode::SERVICE_UNAVAILABLE, String::new())),
        execute: Box::new(serve_page),
        ..Script::default()
    };
    let (base_url, _seen) = spawn_upstream(script).await;
    let error = client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("unavailable");
    assert_eq!(transient_reason(&error), Some(TransientReason::ServerError));
}

#[tokio::test]
async fn a_200_that_is_not_the_documented_json_is_an_invalid_response() {
    let script = Script {
        auth: Box::new(issue_token),
        execute: Box::new(|body| {
            let token = body["access_token"].as_str().unwrap_or("").to_owned();
            (
                StatusCode::OK,
                format!("<html>proxy page for {token}</html>"),
            )
        }),
        ..Script::default()
    };
    let (base_url, _seen) = spawn_upstream(script).await;

    let error = client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("not json");

    assert_eq!(
        permanent_reason(&error),
        Some(PermanentReason::InvalidResponse)
    );
    let text = error.to_string();
    assert!(text.contains("<html>proxy page for"), "{text}");
    assert_no_secret(&text);
}

#[tokio::test]
async fn a_wrong_base_url_is_a_configuration_error() {
    let (base_url, _seen) = spawn_upstream(Script::default()).await;
    let error = client(&format!("{base_url}/wrong"))
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("404");
    assert_eq!(
        permanent_reason(&error),
        Some(PermanentReason::Configuration)
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_and_a_closed_port_fails_to_connect() {
    let script = Script {
        login_delay: Duration::from_secs(5),
        ..Script::default()
    };
    let (base_url, _seen) = spawn_upstream(script).await;
    let mut settings = endpoint(&base_url);
    settings.timeout = Duration::from_millis(100);
    let client = DivaltoClient::new(settings, open_gate()).expect("a usable endpoint");
    let error = client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("too slow");
    assert_eq!(transient_reason(&error), Some(TransientReason::Timeout));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("a bound address");
    drop(listener);
    let error = crate::harness::client(&format!("http://{address}"))
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("nothing listens");
    assert_eq!(transient_reason(&error), Some(TransientReason::Connection));
}

#[tokio::test]
async fn every_http_call_waits_on_the_gate() {
    let (base_url, seen) = spawn_upstream(Script::default()).await;
    let client = DivaltoClient::new(
        endpoint(&base_url),
        RateGate::back_to_back(2, Duration::from_secs(3600)),
    )
    .expect("a client");

    // The login and the read take both requests of the hour.
    client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect("a page");
    let next = tokio::time::timeout(HELD, client.records_page(&postal_codes(), 10, ten())).await;

    assert!(next.is_err(), "the third request of the hour is held");
    assert_eq!(seen.reads().len(), 1);
}

/// An upstream whose first read is answered 429 with `headers`, the others with a
/// page; it counts the reads.
async fn throttling_upstream(
    headers: Vec<(&'static str, &'static str)>,
) -> (String, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let counter = reads.clone();
    let execute = post(move || {
        let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
        let headers = headers.clone();
        async move {
            if first {
                let mut response = (StatusCode::TOO_MANY_REQUESTS, "busy").into_response();
                for (name, value) in headers {
                    response
                        .headers_mut()
                        .insert(name, HeaderValue::from_static(value));
                }
                return response;
            }
            serve_page(&json!({})).into_response()
        }
    });
    (spawn_reads(execute).await, reads)
}

#[tokio::test]
async fn a_throttled_read_pauses_the_gate_for_its_retry_after() {
    let (base_url, reads) = throttling_upstream(vec![("retry-after", "3600")]).await;
    let client = crate::harness::client(&base_url);

    let throttled = client.records_page(&postal_codes(), 0, ten()).await;
    let next = tokio::time::timeout(HELD, client.records_page(&postal_codes(), 0, ten())).await;

    assert!(
        matches!(
            throttled,
            Err(UpstreamError::RateLimited { reset_at: Some(_) })
        ),
        "{throttled:?}"
    );
    assert!(next.is_err(), "the next read waits for the retry-after");
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_throttled_read_without_retry_after_pauses_the_gate_for_one_window() {
    let (base_url, reads) = throttling_upstream(Vec::new()).await;
    let client = DivaltoClient::new(
        endpoint(&base_url),
        RateGate::back_to_back(1_000, Duration::from_secs(3600)),
    )
    .expect("a client");

    let throttled = client.records_page(&postal_codes(), 0, ten()).await;
    let next = tokio::time::timeout(HELD, client.records_page(&postal_codes(), 0, ten())).await;

    assert_eq!(
        throttled,
        Err(UpstreamError::RateLimited { reset_at: None })
    );
    assert!(
        next.is_err(),
        "the next read waits for the window of the limit"
    );
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_429_names_the_instant_of_its_retry_after() {
    let (base_url, _reads) = throttling_upstream(vec![("retry-after", "7")]).await;
    let client = crate::harness::client(&base_url);

    let before = Utc::now();
    let throttled = client.records_page(&postal_codes(), 0, ten()).await;
    let after = Utc::now();

    let Err(UpstreamError::RateLimited {
        reset_at: Some(reset_at),
    }) = throttled
    else {
        panic!("a 429 with a retry-after is rate limited: {throttled:?}");
    };
    let seven = chrono::TimeDelta::seconds(7);
    assert!(
        before + seven <= reset_at && reset_at <= after + seven,
        "{reset_at} is not 7 s after the call ({before} to {after})"
    );
}

#[tokio::test]
async fn a_redirect_is_permanent_and_names_its_target() {
    let base_url = spawn_reads(post(|| async {
        (
            StatusCode::FOUND,
            [("location", "https://example.test/login")],
            "",
        )
    }))
    .await;

    let error = crate::harness::client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect_err("a redirect");

    assert_eq!(permanent_reason(&error), Some(PermanentReason::Redirect));
    assert!(
        error.to_string().contains("https://example.test/login"),
        "{error}"
    );
}

#[tokio::test]
async fn debug_output_shows_no_password_nor_token() {
    let (base_url, _seen) = spawn_upstream(Script::default()).await;
    let settings = endpoint(&base_url);
    assert_no_secret(&format!("{settings:?}"));
    let client = DivaltoClient::new(settings, open_gate()).expect("a client");
    client
        .records_page(&postal_codes(), 0, ten())
        .await
        .expect("a page");

    let shown = format!("{client:?}");
    assert_no_secret(&shown);
    assert!(shown.contains("apiuser"), "{shown}");
}

#[test]
fn unusable_settings_are_refused() {
    let mut settings = endpoint("http://127.0.0.1:1/DhsDivaltoServiceDivaApiRest");
    settings.token_lifetime = Duration::ZERO;
    let error = DivaltoClient::new(settings, open_gate()).expect_err("zero lifetime");
    assert_eq!(
        permanent_reason(&error),
        Some(PermanentReason::Configuration)
    );

    let mut settings = endpoint("http://127.0.0.1:1/DhsDivaltoServiceDivaApiRest");
    settings.user = " ".into();
    let error = DivaltoClient::new(settings, open_gate()).expect_err("no user");
    assert_eq!(
        permanent_reason(&error),
        Some(PermanentReason::Configuration)
    );

    let mut settings = endpoint("http://127.0.0.1:1/DhsDivaltoServiceDivaApiRest");
    settings.timeout = Duration::ZERO;
    let error = DivaltoClient::new(settings, open_gate()).expect_err("zero timeout");
    assert_eq!(
        permanent_reason(&error),
        Some(PermanentReason::Configuration)
    );
}
