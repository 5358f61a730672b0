//! A faithful local stand-in for the upstream APIs, with seeded data, latency and fault injection:
//! demarches-simplifiees GraphQL at `/api/v2/graphql`, Divalto RecordSql under `/divalto`, and
//! Amienscope updates under `/amienscope`, plus Apidae private-descriptor writes under `/apidae`.

pub mod amienscope;
pub mod apidae;
mod auth;
pub mod divalto;
pub mod ds;
mod faults;
mod paris_time;
mod rate_limit;
mod rng;
mod schedule;
mod server;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use amienscope::{
    AmienscopeAccount, AmienscopeChange, AmienscopeConfig, AmienscopeHandle, Event, EventStatus,
};
pub use apidae::{
    ApidaeChange, ApidaeConfig, ApidaeFault, ApidaeFaultPlan, ApidaeHandle, ApidaeProject,
    KnownObjects, TechnicalNames,
};
pub use auth::{DemarcheScope, TokenConfig, TokenStatus};
pub use divalto::{
    DivaltoAccount, DivaltoChange, DivaltoConfig, DivaltoHandle, DivaltoRecord, DivaltoTable,
};
pub use ds::dataset::Dataset;
pub use ds::{DsConfig, EndOfList};
pub use faults::{FaultConfig, FaultPlan};
pub use rate_limit::RateLimitConfig;
pub use schedule::ScheduledChange;
pub use stats::RequestStats;

/// Everything the sandbox can be told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SandboxConfig {
    /// The demarches-simplifiees stand-in.
    pub ds: DsConfig,
    /// The Divalto RecordSql stand-in, under `/divalto`.
    pub divalto: DivaltoConfig,
    /// The Amienscope updates stand-in, under `/amienscope`.
    pub amienscope: AmienscopeConfig,
    /// The Apidae private-descriptor write stand-in, under `/apidae`.
    pub apidae: ApidaeConfig,
    /// Delay added to every request of every API before it is handled.
    pub latency: Duration,
    /// Failures to inject into every API, by plan or by rate; request
    /// ordinals count the requests of all APIs together.
    pub faults: FaultConfig,
}

/// A running sandbox server.
#[derive(Debug)]
pub struct Sandbox {
    address: SocketAddr,
    dataset: Arc<ds::LiveDataset>,
    divalto: DivaltoHandle,
    amienscope: AmienscopeHandle,
    apidae: ApidaeHandle,
    log: Arc<stats::RequestLog>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Binds `addr` (port 0 picks a free port) and serves until [`Sandbox::shutdown`].
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(addr).await?;
        let address = listener.local_addr()?;
        let dataset = Arc::new(ds::LiveDataset::new(Dataset::seeded()));
        let log = Arc::new(stats::RequestLog::new());
        let (divalto_service, divalto) =
            divalto::DivaltoService::new(config.divalto, config.faults.clone());
        let (amienscope_service, amienscope) =
            amienscope::AmienscopeService::new(config.amienscope, config.faults.clone());
        let (apidae_service, apidae) =
            apidae::ApidaeService::new(config.apidae, config.faults.clone());
        let ds_service = ds::DsService::new(config.ds, Arc::clone(&dataset), config.faults);
        let observer = server::Observer {
            log: Arc::clone(&log),
            latency: config.latency,
        };
        let router = ds::router(Arc::new(ds_service))
            .merge(divalto::router(Arc::new(divalto_service)))
            .merge(amienscope::router(Arc::new(amienscope_service)))
            .merge(apidae::router(Arc::new(apidae_service)))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(observer),
                server::observe,
            ));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server::serve(listener, router, shutdown.clone()));
        Ok(Sandbox {
            address,
            dataset,
            divalto,
            amienscope,
            apidae,
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

    /// A copy of the data the server serves, as mutations have left it so far.
    pub fn dataset(&self) -> Dataset {
        self.dataset.snapshot()
    }

    /// Deletes the visible dossier with this number now, as an instructeur would: the
    /// next `deletedDossiers` listing names it. False when no visible dossier has it.
    pub fn delete_dossier(&self, number: i64) -> bool {
        self.dataset
            .write()
            .delete_dossier(number, chrono::Utc::now())
    }

    /// The user of the visible dossier with this number edits it now: the next
    /// `dossiers(updatedSince:)` listing from before now names it. False when no
    /// visible dossier has it.
    pub fn touch_dossier(&self, number: i64) -> bool {
        self.dataset
            .write()
            .touch_dossier(number, chrono::Utc::now())
    }

    /// Reads and changes the Divalto tables and tokens.
    pub fn divalto(&self) -> &DivaltoHandle {
        &self.divalto
    }

    /// Reads and changes the Amienscope events.
    pub fn amienscope(&self) -> &AmienscopeHandle {
        &self.amienscope
    }

    /// Reads the Apidae descriptors and changes the Apidae tokens and objects.
    pub fn apidae(&self) -> &ApidaeHandle {
        &self.apidae
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the sandbox server task failed");
        }
    }
}
