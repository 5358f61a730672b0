//! The write-descriptors worker: turns an Apidae descriptor command of any size into
//! calls of at most `apidae_client::MAX_OBJECTS` objects, each a chunk command of its
//! own, and reports exactly
//! what the API wrote.
//!
//! `main.rs` only wires; tests call the same [`run`].

mod chunks;
mod connections;
mod handler;

use broker::Broker;
use contract::WorkerKind;
use job_state::JobStore;
use settings::Settings;
use tokio_util::sync::CancellationToken;

pub use connections::SetupError;
pub use handler::WriteDescriptors;

/// Why the worker stopped before it was asked to.
pub type RunError = worker_shell::RunError<SetupError>;

/// Declares the worker's topology and consumes its queue until `shutdown` is cancelled,
/// then drains in-flight chunks within the configured grace. Chunk results are kept in
/// `store` until the job's last chunk reports them all.
pub async fn run(
    settings: &Settings,
    broker: &Broker,
    store: &JobStore,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let handler = WriteDescriptors::new(settings, store.clone()).map_err(RunError::Setup)?;
    worker_shell::consume(
        settings,
        broker,
        WorkerKind::WriteDescriptors,
        handler,
        shutdown,
    )
    .await?;
    Ok(())
}
