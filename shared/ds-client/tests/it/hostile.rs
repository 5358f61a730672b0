//! Hostile answers end in a bounded error: too large, cut short, never ending, or not
//! JSON at all.

use crate::harness::{client, first_page, open_gate, spawn_upstream};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::routing::post;
use ds_client::MAX_ANSWER_BYTES;
use futures_util::stream;
use std::convert::Infallible;
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

const GRAPHQL: &str = "/api/v2/graphql";
const PATIENT: Duration = Duration::from_secs(10);
const MEBIBYTE: usize = 1024 * 1024;

fn is_invalid_response(
    result: &Result<ds_client::Page<ds_client::Dossier>, UpstreamError>,
) -> bool {
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
    let router = Router::new().route(
        GRAPHQL,
        post(move || async move {
            let chunk = Bytes::from(vec![b' '; MEBIBYTE]);
            Body::from_stream(stream::iter(
                std::iter::repeat_n(chunk, chunks).map(Ok::<_, Infallible>),
            ))
        }),
    );
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url, PATIENT, open_gate())
        .dossiers_page(&first_page())
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn a_truncated_json_answer_is_an_invalid_response() {
    let router = Router::new().route(
        GRAPHQL,
        post(|| async {
            (
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"data": {"demarche": {"connection": {"pageInfo": {"hasNext"#,
            )
        }),
    );
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url, PATIENT, open_gate())
        .dossiers_page(&first_page())
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn an_answer_that_never_ends_times_out_as_transient() {
    let router = Router::new().route(
        GRAPHQL,
        post(|| async {
            Body::from_stream(stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
            }))
        }),
    );
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url, Duration::from_millis(300), open_gate())
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
async fn a_long_html_page_is_an_invalid_response_quoted_in_short() {
    let page = format!("<html><body>{}</body></html>", "maintenance ".repeat(1000));
    let router = Router::new().route(
        GRAPHQL,
        post(move || {
            let page = page.clone();
            async move { ([(header::CONTENT_TYPE, "text/html")], page) }
        }),
    );
    let base_url = spawn_upstream(router).await;

    let result = client(&base_url, PATIENT, open_gate())
        .dossiers_page(&first_page())
        .await;

    assert!(is_invalid_response(&result), "{result:?}");
    let message = result.expect_err("an error").to_string();
    assert!(message.len() < 1000, "{message}");
}
