//! The write-descriptors worker: turns an Apidae descriptor command of any size into
//! calls of at most 50 objects, each a chunk command of its own, and reports exactly
//! what the API wrote.
//!
//! `main.rs` only wires; tests call the same [`run`].

mod chunks;
mod connections;
mod handler;

use std::sync::Arc;

use broker::{Broker, BrokerError, ConsumerOptions};
use contract::WorkerKind;
use job_state::JobStore;
use settings::Settings;
use tokio_util::sync::CancellationToken;

pub use connections::SetupError;
pub use handler::WriteDescriptors;

/// Why the worker stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A configured Apidae connection cannot be turned into a client.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The broker refused the topology or the connection was lost.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// Declares the worker's topology and consumes its queue until `shutdown` is cancelled,
/// then drains in-flight chunks within the configured grace. Chunk results are kept in
/// `store` until the job's last chunk reports them all.
pub async fn run(
    settings: &Settings,
    broker: &Broker,
    store: &JobStore,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let handler = Arc::new(WriteDescriptors::new(
        settings,
        store.clone(),
        broker.publisher(),
    )?);
    broker.declare(&[WorkerKind::WriteDescriptors]).await?;
    let options = ConsumerOptions {
        worker: WorkerKind::WriteDescriptors,
        prefetch: settings.broker.prefetch,
        drain_grace: settings.worker.drain_grace,
    };
    broker::run_consumer(broker, options, handler, shutdown).await?;
    Ok(())
}
