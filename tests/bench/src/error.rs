//! Why the benchmark stopped before it could print its table.

/// A failure that leaves nothing to measure; a sync that ends badly is a failed run
/// instead, reported in the table.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    /// The sandbox could not bind its port.
    #[error("the sandbox did not start: {0}")]
    Sandbox(#[source] std::io::Error),
    /// The settings built for the benchmark were refused.
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    /// RabbitMQ could not be reached or refused the topology or a publish.
    #[error("broker (AMQP_URL): {0}")]
    Broker(#[from] broker::BrokerError),
    /// Redis could not be reached.
    #[error("job store (REDIS_URL): {0}")]
    Store(#[from] job_state::StoreError),
    /// The worker stopped by itself.
    #[error("the worker stopped: {0}")]
    Worker(#[from] fetch_page::RunError),
    /// The worker task panicked or did not drain in time.
    #[error("the worker did not stop cleanly: {0}")]
    WorkerStop(String),
}
