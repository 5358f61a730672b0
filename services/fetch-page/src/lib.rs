//! The fetch-page worker: reads one page of a paginated upstream listing per command,
//! publishes it, and fans out the command for the next page.
//!
//! `main.rs` only wires settings, telemetry and signals; tests call the same [`run`].

mod ds_sync;
mod handler;
mod offset_reader;
mod offset_sync;
mod upstreams;

use std::sync::Arc;

use broker::{Broker, BrokerError, ConsumerOptions};
use contract::WorkerKind;
use job_state::JobStore;
use settings::Settings;
use tokio_util::sync::CancellationToken;

pub use handler::FetchPage;
pub use upstreams::UpstreamSetupError;

/// Why the worker stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A configured connection cannot be turned into a client.
    #[error(transparent)]
    Upstream(#[from] UpstreamSetupError),
    /// The broker refused the topology or the connection was lost.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// Declares the worker's topology and consumes its queue until `shutdown` is cancelled,
/// then drains in-flight messages within the configured grace. Offset syncs keep their
/// progress in `store`, shared by every replica.
pub async fn run(
    settings: &Settings,
    broker: &Broker,
    store: &JobStore,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let handler = Arc::new(FetchPage::new(settings, store.clone(), broker.publisher())?);
    broker.declare(&[WorkerKind::FetchPage]).await?;
    let options = ConsumerOptions {
        worker: WorkerKind::FetchPage,
        prefetch: settings.broker.prefetch,
        drain_grace: settings.worker.drain_grace,
    };
    broker::run_consumer(broker, options, handler, shutdown).await?;
    Ok(())
}
