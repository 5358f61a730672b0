//! The fetch-page worker: reads one page of a paginated upstream listing per command,
//! publishes it, and fans out the command for the next page.
//!
//! `main.rs` only wires settings, telemetry and signals; tests call the same [`run`].

mod ds_sync;
mod handler;
mod offset_reader;
mod offset_sync;
mod upstreams;

use broker::Broker;
use contract::WorkerKind;
use job_state::JobStore;
use settings::Settings;
use tokio_util::sync::CancellationToken;

pub use handler::FetchPage;
pub use upstreams::UpstreamSetupError;

/// Why the worker stopped before it was asked to.
pub type RunError = worker_shell::RunError<UpstreamSetupError>;

/// Declares the worker's topology and consumes its queue until `shutdown` is cancelled,
/// then drains in-flight messages within the configured grace. Offset syncs keep their
/// progress in `store`, shared by every replica.
pub async fn run(
    settings: &Settings,
    broker: &Broker,
    store: &JobStore,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let handler = FetchPage::new(settings, store.clone()).map_err(RunError::Setup)?;
    worker_shell::consume(settings, broker, WorkerKind::FetchPage, handler, shutdown).await?;
    Ok(())
}
