//! A faithful local stand-in for the upstream APIs, with seeded data, latency and fault injection.

mod auth;
pub mod ds;
mod faults;
mod rate_limit;
mod rng;
mod server;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use auth::{DemarcheScope, TokenConfig, TokenStatus};
pub use ds::dataset::Dataset;
pub use ds::{DsConfig, EndOfList};
pub use faults::{FaultConfig, FaultPlan};
pub use rate_limit::RateLimitConfig;
pub use stats::RequestStats;

/// Everything the sandbox can be told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SandboxConfig {
    /// The demarches-simplifiees stand-in.
    pub ds: DsConfig,
    /// Delay added to every request before it is handled.
    pub latency: Duration,
    /// Failures to inject, by plan or by rate.
    pub faults: FaultConfig,
}

/// A running sandbox server.
#[derive(Debug)]
pub struct Sandbox {
    address: SocketAddr,
    dataset: Arc<Dataset>,
    log: Arc<stats::RequestLog>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Binds `addr` (port 0 picks a free port) and serves until [`Sandbox::shutdown`].
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(addr).await?;
        let address = listener.local_addr()?;
        let dataset = Arc::new(Dataset::seeded());
        let log = Arc::new(stats::RequestLog::new());
        let ds_service = ds::DsService::new(config.ds, Arc::clone(&dataset), config.faults);
        let observer = server::Observer {
            log: Arc::clone(&log),
            latency: config.latency,
        };
        let router = ds::router(Arc::new(ds_service)).layer(axum::middleware::from_fn_with_state(
            Arc::new(observer),
            server::observe,
        ));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server::serve(listener, router, shutdown.clone()));
        Ok(Sandbox {
            address,
            dataset,
            log,
            shutdown,
            task,
        })
    }

    /// The server's root URL without a trailing slash, e.g. `http://127.0.0.1:34567`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// A snapshot of the request counters and arrival times.
    pub fn stats(&self) -> RequestStats {
        self.log.snapshot()
    }

    /// The data the server serves.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the sandbox server task failed");
        }
    }
}
