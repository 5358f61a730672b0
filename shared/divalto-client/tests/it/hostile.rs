//! Hostile answers end in a bounded error: too large, cut short, never ending, or not
//! JSON at all.

use crate::harness::{client, endpoint, open_gate, postal_codes, spawn_reads, ten};
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::routing::post;
use divalto_client::{DivaltoClient, MAX_ANSWER_BYTES, RecordPage};
use futures_util::stream;
use std::convert::Infallible;
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

const MEBIBYTE: usize = 1024 * 1024;

fn is_invalid_response(result: &Result<RecordPage, UpstreamError>) -> bool {
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
    let base_url = spawn_reads(post(move || async move {
        let chunk = Bytes::from(vec![b' '; MEBIBYTE]);
        Body::from_stream(stream::iter(
            std::iter::repeat_n(chunk, chunks).map(Ok::<_, Infallible>),
        ))
    }))
    .await;

    let result = client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn a_truncated_json_answer_is_an_invalid_response() {
    let base_url = spawn_reads(post(|| async {
        (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error": 0, "txterr": "", "nbrecord": 2, "records": [{"record": {"ID": "1"#,
        )
    }))
    .await;

    let result = client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn an_answer_that_never_ends_times_out_as_transient() {
    let base_url = spawn_reads(post(|| async {
        Body::from_stream(stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
        }))
    }))
    .await;
    let mut settings = endpoint(&base_url);
    settings.timeout = Duration::from_millis(300);

    let result = DivaltoClient::new(settings, open_gate())
        .expect("a client")
        .records_page(&postal_codes(), 0, ten())
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
async fn a_long_html_page_is_an_invalid_response_quoted_in_short() {
    let page = format!("<html><body>{}</body></html>", "maintenance ".repeat(1000));
    let base_url = spawn_reads(post(move || {
        let page = page.clone();
        async move { ([(header::CONTENT_TYPE, "text/html")], page) }
    }))
    .await;

    let result = client(&base_url)
        .records_page(&postal_codes(), 0, ten())
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
    let message = result.expect_err("an error").to_string();
    assert!(message.len() < 1000, "{message}");
}
