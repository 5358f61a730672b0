//! The HTTP endpoints: `GET /metrics`, `GET /livez` and `GET /readyz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::registry::{encode, set_ready};

/// The content type of the OpenMetrics text exposition.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether the worker can take work: connected to the broker and its topology
/// declared. Clones share the same flags.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    flags: Arc<Flags>,
}

#[derive(Debug, Default)]
struct Flags {
    broker_connected: AtomicBool,
    topology_declared: AtomicBool,
}

impl Readiness {
    /// Not ready: neither connected nor declared.
    pub fn new() -> Self {
        Self::default()
    }

    /// The broker connection was opened (`true`) or closed (`false`).
    pub fn set_broker_connected(&self, connected: bool) {
        self.flags
            .broker_connected
            .store(connected, Ordering::SeqCst);
    }

    /// The topology was declared and the queue is consumed (`true`), or the
    /// consumer stopped (`false`).
    pub fn set_topology_declared(&self, declared: bool) {
        self.flags
            .topology_declared
            .store(declared, Ordering::SeqCst);
    }

    /// Connected to the broker and the topology declared.
    pub fn is_ready(&self) -> bool {
        self.flags.broker_connected.load(Ordering::SeqCst)
            && self.flags.topology_declared.load(Ordering::SeqCst)
    }
}

/// The endpoints could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address is taken or not ours; fix the `metrics.listen` setting.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
}

/// The running endpoints; dropping it stops them.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// The address the endpoints answer on (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `listen` and serves, on a task of its own: `GET /metrics` (the
/// exposition of [`encode`], `estafette_ready` set from `readiness`), `GET /livez` (200 while the process runs) and
/// `GET /readyz` (200 when `readiness` says ready, else 503).
pub async fn serve(listen: SocketAddr, readiness: Readiness) -> Result<MetricsServer, ServeError> {
    let bind_error = |source| ServeError::Bind {
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(readiness);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics endpoint stopped");
        }
    });
    tracing::info!(%local_addr, "serving /metrics, /livez and /readyz");
    Ok(MetricsServer { local_addr, task })
}

async fn metrics(State(readiness): State<Readiness>) -> impl IntoResponse {
    set_ready(readiness.is_ready());
    ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], encode())
}

async fn livez() -> &'static str {
    "live\n"
}

async fn readyz(State(readiness): State<Readiness>) -> (StatusCode, &'static str) {
    if readiness.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
