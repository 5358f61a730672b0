//! One topology under a fresh prefix, its event log, and workers consuming its queue,
//! each on its own broker connection as separate processes would be.

use std::time::Duration;

use broker::{Broker, Outgoing};
use contract::{Command, EventEnvelope, JobId};
use job_state::JobStore;
use settings::{ExposeSecret as _, Settings};
use testkit::EventLog;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;
use crate::worker::Worker;

/// How long the benchmark's job state stays in Redis.
const STATE_TTL: Duration = Duration::from_secs(600);
/// How long the workers get to drain once asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// A topology, its events, and the workers on it.
pub(crate) struct Lane {
    broker: Broker,
    events: EventLog,
    shutdown: CancellationToken,
    workers: Vec<JoinHandle<Result<(), BenchError>>>,
}

impl Lane {
    /// Declares a topology under a new prefix, subscribes to its events and starts
    /// `workers` instances of `W`, each with its own broker and Redis connection;
    /// with none, the queue of `W` waits for a worker of another process.
    pub(crate) async fn open<W: Worker>(
        settings: &Settings,
        workers: usize,
    ) -> Result<Lane, BenchError> {
        let prefix = testkit::unique_prefix();
        let url = settings.broker.url.expose_secret();
        let broker = Broker::connect(url, testkit::test_topology(&prefix)).await?;
        broker.declare(&[W::KIND]).await?;
        let events = EventLog::subscribe(&broker).await;
        let shutdown = CancellationToken::new();
        let mut lane = Lane {
            broker,
            events,
            shutdown,
            workers: Vec::with_capacity(workers),
        };
        for _ in 0..workers {
            let worker_broker = Broker::connect(url, testkit::test_topology(&prefix)).await?;
            let store = JobStore::connect(&settings.state.url, &prefix, STATE_TTL).await?;
            let settings = settings.clone();
            let shutdown = lane.shutdown.clone();
            lane.workers.push(tokio::spawn(async move {
                let ran = W::run(&settings, &worker_broker, &store, shutdown).await;
                worker_broker.close(Duration::from_secs(1)).await;
                ran
            }));
        }
        Ok(lane)
    }

    /// Publishes `commands` and waits for the broker's confirms; fails if a worker has
    /// already stopped, since nothing would then be measured.
    pub(crate) async fn publish(&mut self, commands: &[Command]) -> Result<(), BenchError> {
        if let Some(stopped) = self.workers.iter().position(JoinHandle::is_finished) {
            let worker = self.workers.swap_remove(stopped);
            return Err(match worker.await {
                Ok(Err(error)) => error,
                Ok(Ok(())) => BenchError::WorkerStop("it returned without being asked".into()),
                Err(error) => BenchError::WorkerStop(error.to_string()),
            });
        }
        let outgoing: Vec<Outgoing> = commands
            .iter()
            .map(|command| Outgoing::command(command, Vec::new()))
            .collect();
        self.broker.publisher().publish_all(&outgoing).await?;
        Ok(())
    }

    /// The prefix of the lane's exchanges and queues, for a worker started outside
    /// the benchmark's process.
    pub(crate) fn prefix(&self) -> &str {
        self.broker.topology().prefix()
    }

    /// Every event published under the lane's prefix since it opened.
    pub(crate) fn events(&mut self) -> &mut EventLog {
        &mut self.events
    }

    /// The event that ended `job` (its `sync.completed`, `descriptors.written`,
    /// `command.failed` or `job.failed`), skipping
    /// the ends of any other job; each event must come within `gap` of the one before.
    pub(crate) async fn end_of(&mut self, job: JobId, gap: Duration) -> EventEnvelope {
        loop {
            let events = self.events.until_job_ends(gap).await;
            if let Some(end) = events
                .into_iter()
                .last()
                .filter(|end| end.job_id == Some(job))
            {
                return end;
            }
        }
    }

    /// Asks the workers to drain and waits until every one has stopped.
    pub(crate) async fn close(self) -> Result<(), BenchError> {
        self.shutdown.cancel();
        let mut outcome = Ok(());
        for worker in self.workers {
            let stopped = match tokio::time::timeout(STOP_GRACE, worker).await {
                Err(_) => Err(BenchError::WorkerStop(format!(
                    "still running after {STOP_GRACE:?}"
                ))),
                Ok(Err(error)) => Err(BenchError::WorkerStop(error.to_string())),
                Ok(Ok(ran)) => ran,
            };
            outcome = outcome.and(stopped);
        }
        self.broker.close(Duration::from_secs(1)).await;
        outcome
    }
}
