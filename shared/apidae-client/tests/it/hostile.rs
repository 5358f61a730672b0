//! Hostile answers end in a bounded error: too large, cut short, never ending, or not
//! JSON at all.

use crate::harness::{Reply, Script, upstream, upstream_writing};
use apidae_client::{Descriptor, MAX_ANSWER_BYTES, ObjectDescriptors, PutBatch, WriteReport};
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::routing::put;
use futures_util::stream;
use std::convert::Infallible;
use std::time::Duration;
use upstream_http::{PermanentReason, TransientReason, UpstreamError};

const MEBIBYTE: usize = 1024 * 1024;

fn one_object() -> PutBatch {
    PutBatch::new(vec![ObjectDescriptors {
        id: 7,
        descriptors: vec![Descriptor {
            technical_name: "1_ChampPrive".into(),
            texts: [("fr".into(), "Gîte".into())].into(),
        }],
    }])
    .expect("a valid batch")
}

fn is_invalid_response(result: &Result<WriteReport, UpstreamError>) -> bool {
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
    let upstream = upstream_writing(put(move || async move {
        let chunk = Bytes::from(vec![b' '; MEBIBYTE]);
        Body::from_stream(stream::iter(
            std::iter::repeat_n(chunk, chunks).map(Ok::<_, Infallible>),
        ))
    }))
    .await;

    let result = upstream.client().put_descriptors(&one_object()).await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn a_truncated_json_answer_is_an_invalid_response() {
    let upstream = upstream(Script {
        write: Box::new(|_, _| {
            Reply::text(
                StatusCode::OK,
                "application/json;charset=UTF-8",
                r#"{"id": [7], "status": "MODIFICATION_DON"#,
            )
        }),
        ..Script::default()
    })
    .await;

    let result = upstream.client().put_descriptors(&one_object()).await;

    assert!(is_invalid_response(&result), "{result:?}");
}

#[tokio::test]
async fn an_answer_that_never_ends_times_out_as_transient() {
    let upstream = upstream_writing(put(|| async {
        Body::from_stream(stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
        }))
    }))
    .await;

    let result = upstream
        .client_with_timeout(Duration::from_millis(300))
        .put_descriptors(&one_object())
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
    let upstream = upstream(Script {
        write: Box::new(|_, _| {
            let page = format!("<html><body>{}</body></html>", "maintenance ".repeat(1000));
            Reply::text(StatusCode::OK, "text/html", &page)
        }),
        ..Script::default()
    })
    .await;

    let result = upstream.client().put_descriptors(&one_object()).await;

    assert!(is_invalid_response(&result), "{result:?}");
    let message = result.expect_err("an error").to_string();
    assert!(message.len() < 1000, "{message}");
}
