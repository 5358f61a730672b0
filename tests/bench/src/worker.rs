//! The workers a lane can run: each the service's own `run`, as in its binary.

use std::future::Future;

use broker::Broker;
use contract::WorkerKind;
use job_state::JobStore;
use settings::Settings;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;

/// A worker service a lane starts in the benchmark's process.
pub(crate) trait Worker {
    /// The queue the worker consumes.
    const KIND: WorkerKind;

    /// Consumes the worker's queue until `shutdown` is cancelled, then drains.
    fn run<'a>(
        settings: &'a Settings,
        broker: &'a Broker,
        store: &'a JobStore,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), BenchError>> + Send + 'a;
}

/// The fetch-page worker, which reads offset pages.
pub(crate) struct FetchPage;

impl Worker for FetchPage {
    const KIND: WorkerKind = WorkerKind::FetchPage;

    async fn run(
        settings: &Settings,
        broker: &Broker,
        store: &JobStore,
        shutdown: CancellationToken,
    ) -> Result<(), BenchError> {
        Ok(fetch_page::run(settings, broker, store, shutdown).await?)
    }
}

/// The write-descriptors worker, which writes Apidae descriptors in chunks.
pub(crate) struct WriteDescriptors;

impl Worker for WriteDescriptors {
    const KIND: WorkerKind = WorkerKind::WriteDescriptors;

    async fn run(
        settings: &Settings,
        broker: &Broker,
        store: &JobStore,
        shutdown: CancellationToken,
    ) -> Result<(), BenchError> {
        Ok(write_descriptors::run(settings, broker, store, shutdown).await?)
    }
}
