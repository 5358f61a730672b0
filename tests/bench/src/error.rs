//! Why a suite stopped before it could print its table.

/// A failure that leaves nothing to measure; a run that ends badly is a failed run
/// instead, reported in the table.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    /// The sandbox could not bind its port.
    #[error("the sandbox did not start: {0}")]
    Sandbox(#[source] std::io::Error),
    /// The sandbox knows fewer objects than the plan writes.
    #[error("the sandbox knows {known} objects, {wanted} were asked for")]
    TooFewObjects {
        /// Objects the plan writes.
        wanted: usize,
        /// Objects the sandbox knows.
        known: usize,
    },
    /// The settings built for the benchmark were refused.
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    /// RabbitMQ could not be reached or refused the topology or a publish.
    #[error("broker (AMQP_URL): {0}")]
    Broker(#[from] broker::BrokerError),
    /// Redis could not be reached.
    #[error("job store (REDIS_URL): {0}")]
    Store(#[from] job_state::StoreError),
    /// A fetch-page worker stopped by itself.
    #[error("the fetch-page worker stopped: {0}")]
    FetchPage(#[from] fetch_page::RunError),
    /// A write-descriptors worker stopped by itself.
    #[error("the write-descriptors worker stopped: {0}")]
    WriteDescriptors(#[from] write_descriptors::RunError),
    /// The raw lapin chain of the floor suite could not be set up or run.
    #[error("raw chain (AMQP_URL): {0}")]
    Lapin(#[from] lapin::Error),
    /// A chain of hops stopped before its last hop.
    #[error("the hop chain broke: {0}")]
    ChainBroken(String),
    /// The fetch-page process could not be started, watched or stopped.
    #[error("the fetch-page process: {0}")]
    Process(#[source] std::io::Error),
    /// A worker task panicked, returned unasked, or did not drain in time.
    #[error("a worker did not stop cleanly: {0}")]
    WorkerStop(String),
}
