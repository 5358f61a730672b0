//! Calls to a loopback server: bodies within the limit, past it, cut short, never
//! ending; a redirect and a 429.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use futures_util::stream;
use rate_gate::RateGate;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use upstream_http::{Answer, PermanentReason, TransientReason, Upstream, UpstreamError};

const LIMIT: usize = 1024;

/// Serves `router` on a fresh loopback port and returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// A body of `chunks` chunks of 100 bytes, sent without a `Content-Length`.
fn chunked(chunks: usize) -> Body {
    let chunk = Bytes::from(vec![b'x'; 100]);
    Body::from_stream(stream::iter(
        std::iter::repeat_n(chunk, chunks).map(Ok::<_, Infallible>),
    ))
}

/// A body that sends a space every 20 ms and never ends.
fn drip() -> Body {
    Body::from_stream(stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
    }))
}

async fn fetch(url: &str, timeout: Duration) -> Result<Answer, UpstreamError> {
    let gate = RateGate::back_to_back(100, Duration::from_secs(1));
    let upstream = Upstream::new(timeout, gate, LIMIT).expect("a client");
    upstream.send("/", |http| Ok(http.get(url))).await
}

fn is_permanent(result: &Result<Answer, UpstreamError>, expected: PermanentReason) -> bool {
    matches!(result, Err(UpstreamError::Permanent { reason, .. }) if *reason == expected)
}

fn is_transient(result: &Result<Answer, UpstreamError>, expected: TransientReason) -> bool {
    matches!(result, Err(UpstreamError::Transient { reason, .. }) if *reason == expected)
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read_whole() {
    let url = serve(Router::new().route("/", get(|| async { vec![b'a'; LIMIT] }))).await;

    let answer = fetch(&url, Duration::from_secs(10)).await.expect("a body");

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, vec![b'a'; LIMIT]);
}

#[tokio::test]
async fn a_body_announced_larger_than_the_limit_is_refused() {
    let url = serve(Router::new().route("/", get(|| async { vec![b'a'; LIMIT + 1] }))).await;

    let result = fetch(&url, Duration::from_secs(10)).await;

    assert!(
        is_permanent(&result, PermanentReason::InvalidResponse),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_body_that_grows_past_the_limit_is_cut_off() {
    let url = serve(Router::new().route("/", get(|| async { chunked(10_000) }))).await;

    let result = fetch(&url, Duration::from_secs(10)).await;

    assert!(
        is_permanent(&result, PermanentReason::InvalidResponse),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_body_that_never_ends_fails_with_the_request_timeout() {
    let url = serve(Router::new().route("/", get(|| async { drip() }))).await;

    let result = fetch(&url, Duration::from_millis(300)).await;

    assert!(
        is_transient(&result, TransientReason::Timeout),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_body_cut_before_its_announced_length_is_a_transport_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a connection");
        let mut request = [0; 1024];
        let _ = socket.read(&mut request).await;
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n";
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.write_all(br#"{"data": {"page": [1, 2"#).await;
    });

    let result = fetch(&format!("http://{address}/"), Duration::from_secs(10)).await;

    assert!(
        is_transient(&result, TransientReason::Connection),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_connection_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let address = listener.local_addr().expect("a bound address");
    drop(listener);

    let result = fetch(&format!("http://{address}/"), Duration::from_secs(10)).await;

    assert!(
        is_transient(&result, TransientReason::Connection),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_names_its_target() {
    let redirect = || async {
        let mut headers = HeaderMap::new();
        headers.insert(
            "location",
            "https://elsewhere.test/".parse().expect("a header"),
        );
        (StatusCode::FOUND, headers)
    };
    let url = serve(Router::new().route("/", get(redirect))).await;

    let answer = fetch(&url, Duration::from_secs(10))
        .await
        .expect("an answer");

    assert_eq!(answer.status, StatusCode::FOUND);
    let error = answer.redirect();
    assert!(
        matches!(&error, UpstreamError::Permanent { reason: PermanentReason::Redirect, code: Some(code), message }
            if code == "302" && message.contains("https://elsewhere.test/")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_429_answer_names_when_the_window_resets() {
    let throttled = || async {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "1".parse().expect("a header"));
        (StatusCode::TOO_MANY_REQUESTS, headers, "slow down")
    };
    let url = serve(Router::new().route("/", get(throttled))).await;
    let before = chrono::Utc::now();

    let answer = fetch(&url, Duration::from_secs(10))
        .await
        .expect("an answer");

    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let reset_at = answer.reset_at(before).expect("a reset instant");
    assert_eq!((reset_at - before).num_seconds(), 1);
}

#[tokio::test]
async fn a_zero_timeout_is_a_configuration_error() {
    let gate = RateGate::back_to_back(1, Duration::from_secs(1));
    let result = Upstream::new(Duration::ZERO, gate, LIMIT);
    assert!(
        matches!(
            result,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::Configuration,
                ..
            })
        ),
        "{result:?}"
    );
}
