//! Hostile answers end in a bounded error: too large, cut short, never ending, or not
//! JSON at all.

use crate::harness::{
    Reply, client, endpoint, open_gate, recording_upstream, since_2015, spawn_upstream,
};
use amienscope_client::{AmienscopeClient, EventRecord, Limit, MAX_ANSWER_BYTES};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use futures_util::stream;
use std::convert::Infallible;
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

const MEBIBYTE: usize = 1024 * 1024;

fn is_invalid_response(result: &Result<Vec<EventRecord>, UpstreamError>) -> bool {
    matches!(
        result,
        Err(UpstreamError::Permanent {
            reason: PermanentReason::InvalidResponse,
            ..
        })
    )
}

#[tokio::test]
async fn an_answer_larger_than_the_limit_is_cut_off_as_an_invalid_response() {
    // One mebibyte chunks, without a Content-Length: the size shows only as it comes.
    let chunks = MAX_ANSWER_BYTES / MEBIBYTE + 1;
    let router = Router::new().fallback(move || async move {
        let chunk = Bytes::from(vec![b' '; MEBIBYTE]);
        Body::from_stream(stream::iter(
            std::iter::repeat_n(chunk, chunks).map(Ok::<_, Infallible>),
        ))
    });
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url)
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn a_truncated_json_answer_is_an_invalid_response() {
    let reply = Reply::status(
        StatusCode::OK,
        r#"[{"id": 1234, "event_status_id": 2, "event_status_lab"#,
    )
    .with_header("content-type", "application/json");
    let (base_url, _log) = recording_upstream(reply).await;

    let result = client(&base_url)
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn an_answer_that_never_ends_times_out_as_transient() {
    let router = Router::new().fallback(|| async {
        Body::from_stream(stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
        }))
    });
    let base_url = spawn_upstream(router).await;
    let client =
        AmienscopeClient::new(endpoint(&base_url, Duration::from_millis(300)), open_gate())
            .expect("a client");

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
async fn a_long_html_page_is_an_invalid_response_quoted_in_short() {
    let page = format!("<html><body>{}</body></html>", "maintenance ".repeat(1000));
    let reply = Reply::status(StatusCode::OK, page).with_header("content-type", "text/html");
    let (base_url, _log) = recording_upstream(reply).await;

    let result = client(&base_url)
        .updates_page(&since_2015(), 0, Limit::MAX)
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
    let message = result.expect_err("an error").to_string();
    assert!(message.len() < 1000, "{message}");
}
