//! Bodies from a loopback server: within the limit, past it, cut short, never ending.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::get;
use futures_util::stream;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use upstream_body::{BodyError, read};

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

async fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, BodyError> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("a client");
    let response = client.get(url).send().await.expect("an answer's head");
    read(response, LIMIT).await
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read_whole() {
    let url = serve(Router::new().route("/", get(|| async { vec![b'a'; LIMIT] }))).await;

    let body = fetch(&url, Duration::from_secs(10)).await.expect("a body");

    assert_eq!(body, vec![b'a'; LIMIT]);
}

#[tokio::test]
async fn a_body_announced_larger_than_the_limit_is_refused() {
    let url = serve(Router::new().route("/", get(|| async { vec![b'a'; LIMIT + 1] }))).await;

    let result = fetch(&url, Duration::from_secs(10)).await;

    assert!(
        matches!(result, Err(BodyError::TooLarge { limit: LIMIT })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_body_that_grows_past_the_limit_is_cut_off() {
    let url = serve(Router::new().route("/", get(|| async { chunked(10_000) }))).await;

    let result = fetch(&url, Duration::from_secs(10)).await;

    assert!(
        matches!(result, Err(BodyError::TooLarge { limit: LIMIT })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_body_that_never_ends_fails_with_the_request_timeout() {
    let url = serve(Router::new().route("/", get(|| async { drip() }))).await;

    let result = fetch(&url, Duration::from_millis(300)).await;

    assert!(
        matches!(&result, Err(BodyError::Transport(error)) if error.is_timeout()),
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

    assert!(matches!(result, Err(BodyError::Transport(_))), "{result:?}");
}
