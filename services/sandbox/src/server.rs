//! The HTTP server: an accept loop over hyper that can close a connection
//! without answering, and a layer that logs and delays every request.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::stats::{Outcome, RequestLog};

/// The position of a request in arrival order, starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestOrdinal(pub(crate) u64);

/// A handler returns this to have the connection closed with no response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

impl IntoResponse for DropConnection {
    fn into_response(self) -> Response {
        let mut response = Response::default();
        response.extensions_mut().insert(self);
        response
    }
}

/// What the observing layer needs: the log and the latency to add.
pub(crate) struct Observer {
    pub(crate) log: Arc<RequestLog>,
    pub(crate) latency: Duration,
}

/// Numbers the request, counts it in flight and by its content, waits the configured
/// latency, and records how it ended.
pub(crate) async fn observe(
    State(observer): State<Arc<Observer>>,
    request: Request,
    next: Next,
) -> Response {
    let ordinal = observer.log.arrive();
    let _in_flight = observer.log.enter();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        observer.log.finish(Outcome::Dropped);
        return DropConnection.into_response();
    };
    observer
        .log
        .count_content(parts.method.as_str(), parts.uri.path(), &body);
    let mut request = Request::from_parts(parts, axum::body::Body::from(body));
    request.extensions_mut().insert(RequestOrdinal(ordinal));
    if !observer.latency.is_zero() {
        tokio::time::sleep(observer.latency).await;
    }
    let response = next.run(request).await;
    let outcome = if response.extensions().get::<DropConnection>().is_some() {
        Outcome::Dropped
    } else {
        Outcome::Answered(response.status().as_u16())
    };
    observer.log.finish(outcome);
    response
}

#[derive(Debug, thiserror::Error)]
#[error("connection closed without a response, as configured")]
struct ConnectionDropped;

/// Accepts connections until `shutdown` is cancelled, then aborts the open ones.
pub(crate) async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(request)
                .await
                .unwrap_or_else(|never| match never {});
            if response.extensions().get::<DropConnection>().is_some() {
                Err(ConnectionDropped)
            } else {
                Ok(response)
            }
        }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    if let Err(error) = connection.await {
        tracing::debug!(%error, "connection ended with an error");
    }
}
