//! Request shape, signing and HTTP failure handling, over real loopback connections.

use crate::harness::{
    EMAIL, PATIENT, PRIVATE_KEY, PUBLIC_KEY, Reply, client, endpoint, expected_default_signature,
    open_gate, recording_upstream, seen, since_2015, spawn_upstream,
};
use amienscope_client::{
    AmienscopeClient, DatetimeFormat, EventStatus, Limit, SignatureEncoding, SignatureHash,
    SigningRecipe, UpdatesListing,
};
use axum::Router;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use rate_gate::RateGate;
use serde_json::json;
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

/// How long a test watches a call that a gate holds for an hour: it has not gone by
/// then, however slow the machine.
const HELD: Duration = Duration::from_millis(300);

fn two_events() -> Reply {
    Reply::json(json!([
        {"id": 1234, "event_status_id": 2, "event_status_label": "Publié", "visit_count": 57},
        {"id": 1235, "event_status_id": 5, "event_status_label": "Supprimé"}
    ]))
}

fn limit(n: u32) -> Limit {
    Limit::new(n).expect("a valid limit")
}

#[tokio::test]
async fn a_page_is_a_signed_get_with_the_four_headers() {
    let (base_url, log) = recording_upstream(two_events()).await;
    let before = Utc::now().timestamp();

    let records = client(&base_url)
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await
        .expect("a page");

    let after = Utc::now().timestamp();
    assert_eq!(
        records
            .iter()
            .map(|record| (
                record.id.as_str(),
                record.status,
                record.is_tombstone(&[1, 5, 6])
            ))
            .collect::<Vec<_>>(),
        [
            ("1234", EventStatus::Published, false),
            ("1235", EventStatus::Deleted, true)
        ]
    );
    assert_eq!(records[0].fields["visit_count"], 57);
    let seen = seen(&log);
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/get/updates/1444428000/0,50");
    assert_eq!(request.query, None);
    assert_eq!(request.public_key.as_deref(), Some(PUBLIC_KEY));
    assert_eq!(request.email.as_deref(), Some(EMAIL));
    let datetime = request.datetime.as_deref().expect("an x-datetime header");
    let sent_at: i64 = datetime.parse().expect("unix seconds by default");
    assert!((before..=after).contains(&sent_at), "{datetime}");
    assert_eq!(
        request.signature.as_deref(),
        Some(expected_default_signature(&request.path, datetime).as_str())
    );
}

#[tokio::test]
async fn a_category_goes_between_since_and_the_pagination_segment() {
    let (base_url, log) = recording_upstream(two_events()).await;
    let concerts = UpdatesListing {
        since: 1_444_428_000,
        category: Some(4),
    };

    client(&base_url)
        .updates_page(&concerts, 20, limit(10))
        .await
        .expect("a page");

    let request = &seen(&log)[0];
    assert_eq!(request.path, "/get/updates/1444428000/4/20,10");
    let datetime = request.datetime.as_deref().expect("an x-datetime header");
    assert_eq!(
        request.signature.as_deref(),
        Some(expected_default_signature("/get/updates/1444428000/4/20,10", datetime).as_str())
    );
}

#[tokio::test]
async fn a_base_path_prefix_is_sent_and_signed() {
    let (base_url, log) = recording_upstream(two_events()).await;

    for base in [
        format!("{base_url}/amienscope"),
        format!("{base_url}/amienscope/"),
    ] {
        client(&base)
            .updates_page(&since_2015(), 50, Limit::MAX)
            .await
            .expect("a page");
    }

    let seen = seen(&log);
    assert_eq!(seen.len(), 2);
    for request in seen {
        assert_eq!(request.path, "/amienscope/get/updates/1444428000/50,50");
        let datetime = request.datetime.as_deref().expect("an x-datetime header");
        assert_eq!(
            request.signature.as_deref(),
            Some(
                expected_default_signature("/amienscope/get/updates/1444428000/50,50", datetime)
                    .as_str()
            )
        );
    }
}

#[tokio::test]
async fn another_recipe_changes_the_datetime_and_the_signature() {
    let (base_url, log) = recording_upstream(two_events()).await;
    let mut endpoint = endpoint(&base_url, PATIENT);
    endpoint.signing = SigningRecipe {
        template: "{method} {path} {datetime}".to_owned(),
        hash: SignatureHash::Sha1,
        encoding: SignatureEncoding::Base64,
        datetime: DatetimeFormat::Rfc3339,
    };

    AmienscopeClient::new(endpoint, open_gate())
        .expect("a usable endpoint")
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await
        .expect("a page");

    let request = &seen(&log)[0];
    let datetime = request.datetime.as_deref().expect("an x-datetime header");
    let sent_at = DateTime::parse_from_rfc3339(datetime).expect("an rfc 3339 datetime");
    assert!(
        (Utc::now() - sent_at.with_timezone(&Utc))
            .num_seconds()
            .abs()
            <= 5
    );
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(PRIVATE_KEY.as_bytes()).expect("hmac takes any key");
    mac.update(format!("GET /get/updates/1444428000/0,50 {datetime}").as_bytes());
    assert_eq!(
        request.signature.as_deref(),
        Some(BASE64.encode(mac.finalize().into_bytes()).as_str())
    );
}

#[tokio::test]
async fn wrapped_empty_and_no_content_answers_are_read() {
    let cases = [
        (
            Reply::json(json!({"events": [{"id": "a1", "event_status_id": "3"}], "total": 1})),
            vec![("a1".to_owned(), EventStatus::Cancelled)],
        ),
        (Reply::json(json!(null)), vec![]),
        (Reply::status(StatusCode::OK, ""), vec![]),
        (Reply::status(StatusCode::NO_CONTENT, ""), vec![]),
    ];
    for (reply, expected) in cases {
        let (base_url, _log) = recording_upstream(reply).await;
        let records = client(&base_url)
            .updates_page(&since_2015(), 0, Limit::MAX)
            .await
            .expect("a page");
        let got: Vec<(String, EventStatus)> = records
            .into_iter()
            .map(|record| (record.id, record.status))
            .collect();
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn a_non_json_success_is_a_permanent_invalid_response() {
    let (base_url, _log) =
        recording_upstream(Reply::status(StatusCode::OK, "<html>maintenance</html>")).await;

    let result = client(&base_url)
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await;

    let Err(UpstreamError::Permanent {
        reason: PermanentReason::InvalidResponse,
        code: Some(code),
        message,
    }) = result
    else {
        panic!("html is not a page: {result:?}");
    };
    assert_eq!(code, "200");
    assert!(message.contains("<html>maintenance</html>"), "{message}");
}

#[tokio::test]
async fn a_429_is_rate_limited_until_the_retry_after_it_names() {
    let reply =
        Reply::status(StatusCode::TOO_MANY_REQUESTS, "slow down").with_header("retry-after", "17");
    let (base_url, _log) = recording_upstream(reply).await;
    let before = Utc::now();

    let result = client(&base_url)
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await;

    let after = Utc::now();
    let Err(UpstreamError::RateLimited {
        reset_at: Some(reset_at),
    }) = result
    else {
        panic!("a 429 is rate limited: {result:?}");
    };
    let wait = TimeDelta::seconds(17);
    assert!(
        (before + wait..=after + wait).contains(&reset_at),
        "{reset_at}"
    );
}

#[tokio::test]
async fn a_503_is_a_transient_server_error() {
    let (base_url, _log) = recording_upstream(Reply::status(
        StatusCode::SERVICE_UNAVAILABLE,
        "maintenance",
    ))
    .await;

    let result = client(&base_url)
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await;

    let Err(UpstreamError::Transient {
        reason: TransientReason::ServerError,
        detail,
    }) = result
    else {
        panic!("a 503 is transient: {result:?}");
    };
    assert!(detail.contains("503"), "{detail}");
    assert!(detail.contains("maintenance"), "{detail}");
}

#[tokio::test]
async fn a_401_is_a_permanent_refusal_that_never_shows_the_private_key() {
    let reply = Reply::status(
        StatusCode::UNAUTHORIZED,
        json!({"error": "Invalid signature"}).to_string(),
    );
    let (base_url, _log) = recording_upstream(reply).await;
    let endpoint = endpoint(&base_url, PATIENT);
    let client = AmienscopeClient::new(endpoint.clone(), open_gate()).expect("a usable endpoint");

    let error = client
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await
        .expect_err("a 401");

    let UpstreamError::Permanent {
        reason: PermanentReason::Unauthorized,
        code: Some(code),
        message,
    } = &error
    else {
        panic!("a 401 is permanent: {error:?}");
    };
    assert_eq!(code, "401");
    assert!(message.contains("Invalid signature"), "{message}");
    for shown in [
        format!("{endpoint:?}"),
        format!("{client:?}"),
        format!("{error:?}"),
        error.to_string(),
    ] {
        assert!(!shown.contains(PRIVATE_KEY), "{shown}");
    }
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_transient_timeout() {
    let router = Router::new().fallback(std::future::pending::<StatusCode>);
    let base_url = spawn_upstream(router).await;
    let client =
        AmienscopeClient::new(endpoint(&base_url, Duration::from_millis(200)), open_gate())
            .expect("a usable endpoint");

    let result = client.updates_page(&since_2015(), 0, Limit::MAX).await;

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

    let result = client(&format!("http://{address}"))
        .updates_page(&since_2015(), 0, Limit::MAX)
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
    let (base_url, log) = recording_upstream(two_events()).await;
    let client = AmienscopeClient::new(
        endpoint(&base_url, PATIENT),
        RateGate::back_to_back(1, Duration::from_secs(3600)),
    )
    .expect("a client");

    client
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await
        .expect("a page");
    let next = tokio::time::timeout(HELD, client.updates_page(&since_2015(), 0, Limit::MAX)).await;

    assert!(next.is_err(), "the second call of the hour is held");
    assert_eq!(seen(&log).len(), 1);
}

#[tokio::test]
async fn a_429_pauses_the_gate_for_its_retry_after() {
    let reply = Reply::status(StatusCode::TOO_MANY_REQUESTS, "slow down")
        .with_header("retry-after", "3600");
    let (base_url, log) = recording_upstream(reply).await;
    let client = client(&base_url);

    let throttled = client.updates_page(&since_2015(), 0, Limit::MAX).await;
    let next = tokio::time::timeout(HELD, client.updates_page(&since_2015(), 0, Limit::MAX)).await;

    assert!(
        matches!(
            throttled,
            Err(UpstreamError::RateLimited { reset_at: Some(_) })
        ),
        "{throttled:?}"
    );
    assert!(next.is_err(), "the next call waits for the retry-after");
    assert_eq!(seen(&log).len(), 1);
}

#[tokio::test]
async fn a_429_without_retry_after_pauses_the_gate_for_one_window() {
    let reply = Reply::status(StatusCode::TOO_MANY_REQUESTS, "slow down");
    let (base_url, log) = recording_upstream(reply).await;
    let client = AmienscopeClient::new(
        endpoint(&base_url, PATIENT),
        RateGate::back_to_back(1_000, Duration::from_secs(3600)),
    )
    .expect("a client");

    let throttled = client.updates_page(&since_2015(), 0, Limit::MAX).await;
    let next = tokio::time::timeout(HELD, client.updates_page(&since_2015(), 0, Limit::MAX)).await;

    assert_eq!(
        throttled,
        Err(UpstreamError::RateLimited { reset_at: None })
    );
    assert!(
        next.is_err(),
        "the next call waits for the window of the limit"
    );
    assert_eq!(seen(&log).len(), 1);
}

#[tokio::test]
async fn a_negative_since_is_refused_before_any_request() {
    let (base_url, log) = recording_upstream(two_events()).await;
    let listing = UpdatesListing {
        since: -1,
        category: None,
    };

    let result = client(&base_url)
        .updates_page(&listing, 0, Limit::MAX)
        .await;

    assert!(
        matches!(
            result,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::BadRequest,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(seen(&log).is_empty());
}

#[tokio::test]
async fn unusable_settings_are_configuration_errors_without_the_key() {
    let base = "http://127.0.0.1:9";
    let mut unknown_placeholder = endpoint(base, PATIENT);
    unknown_placeholder.signing.template = "{method}\n{body}".to_owned();
    let mut empty_key = endpoint(base, PATIENT);
    empty_key.private_key = String::new().into();
    let mut email_with_newline = endpoint(base, PATIENT);
    email_with_newline.email = "a@example.org\nx-evil: 1".to_owned();
    let mut empty_public_key = endpoint(base, PATIENT);
    empty_public_key.public_key = String::new();
    let mut empty_id_field = endpoint(base, PATIENT);
    empty_id_field.id_field = String::new();
    let no_timeout = endpoint(base, Duration::ZERO);

    for endpoint in [
        unknown_placeholder,
        empty_key,
        email_with_newline,
        empty_public_key,
        empty_id_field,
        no_timeout,
    ] {
        let error =
            AmienscopeClient::new(endpoint.clone(), open_gate()).expect_err("an unusable endpoint");
        assert!(
            matches!(
                &error,
                UpstreamError::Permanent {
                    reason: PermanentReason::Configuration,
                    ..
                }
            ),
            "{endpoint:?}: {error:?}"
        );
        assert!(!format!("{error:?}").contains(PRIVATE_KEY));
    }
}
