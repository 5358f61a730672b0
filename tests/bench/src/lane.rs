//! One topology with one worker on it: publishes a sync and waits for its end.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use broker::{Broker, Outgoing};
use contract::{
    Command, CommandBody, Consistency, DivaltoQuery, DivaltoSync, Event, EventEnvelope, JobId,
    SyncCompleted, SyncSubject, WorkerKind,
};
use job_state::JobStore;
use settings::{ExposeSecret as _, Settings};
use testkit::EventLog;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;
use crate::rig::{CONNECTION, TABLE};

/// Longest pause between two events of a running sync before the benchmark gives up.
const EVENT_GAP: Duration = Duration::from_secs(60);
/// How long the benchmark's job state stays in Redis.
const STATE_TTL: Duration = Duration::from_secs(600);
/// How long the worker gets to drain once asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// What one timed sync gave.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// From publishing the command to receiving its end, on the benchmark's clock.
    pub(crate) wall: Duration,
    /// How the sync ended.
    pub(crate) outcome: RunOutcome,
}

/// How a timed sync ended.
#[derive(Debug, Clone)]
pub(crate) enum RunOutcome {
    /// Every row arrived and the listing held still.
    Completed(Completion),
    /// Anything else, said in a few words.
    Failed(String),
}

/// The figures a `sync.completed` reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    /// `elapsed_ms`: from the start of the sync to its last page, on the worker's clock.
    pub(crate) job_elapsed: Duration,
    /// Pages published.
    pub(crate) pages: u32,
}

/// A fresh topology prefix, its event log, and one worker consuming its queue.
pub(crate) struct Lane {
    broker: Broker,
    events: EventLog,
    shutdown: CancellationToken,
    worker: JoinHandle<Result<(), fetch_page::RunError>>,
}

impl Lane {
    /// Declares a topology under a new prefix, subscribes to its events and starts a
    /// worker on its own connection.
    pub(crate) async fn open(settings: &Settings) -> Result<Lane, BenchError> {
        let prefix = testkit::unique_prefix();
        let url = settings.broker.url.expose_secret();
        let broker = Broker::connect(url, testkit::test_topology(&prefix)).await?;
        broker.declare(&[WorkerKind::FetchPage]).await?;
        let events = EventLog::subscribe(&broker).await;
        let worker_broker = Broker::connect(url, testkit::test_topology(&prefix)).await?;
        let store = JobStore::connect(&settings.state.url, &prefix, STATE_TTL).await?;
        let shutdown = CancellationToken::new();
        let worker = tokio::spawn({
            let settings = settings.clone();
            let shutdown = shutdown.clone();
            async move {
                let ran = fetch_page::run(&settings, &worker_broker, &store, shutdown).await;
                worker_broker.close(Duration::from_secs(1)).await;
                ran
            }
        });
        Ok(Lane {
            broker,
            events,
            shutdown,
            worker,
        })
    }

    /// Publishes a sync of the whole article table with `window` pages in flight and
    /// waits for its `sync.completed` or `command.failed`; `rows` is what a complete
    /// sync reads.
    pub(crate) async fn sync(&mut self, window: u32, rows: u64) -> Result<Run, BenchError> {
        if self.worker.is_finished() {
            return Err(self.stopped_worker().await);
        }
        let command = sync_command(window);
        let job = command.meta.job_id;
        let started = Instant::now();
        self.broker
            .publisher()
            .publish(&Outgoing::command(&command, Vec::new()))
            .await?;
        let end = self.end_of(job).await;
        let wall = started.elapsed();
        Ok(Run {
            wall,
            outcome: judge(&end.event, rows),
        })
    }

    /// Asks the worker to drain and waits until it has stopped.
    pub(crate) async fn close(self) -> Result<(), BenchError> {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(STOP_GRACE, self.worker)
            .await
            .map_err(|_| BenchError::WorkerStop(format!("still running after {STOP_GRACE:?}")))?
            .map_err(|error| BenchError::WorkerStop(error.to_string()))?;
        self.broker.close(Duration::from_secs(1)).await;
        Ok(stopped?)
    }

    /// The event that ended `job`, skipping the ends of any other job.
    async fn end_of(&mut self, job: JobId) -> EventEnvelope {
        loop {
            let events = self.events.until_job_ends(EVENT_GAP).await;
            if let Some(end) = events
                .into_iter()
                .last()
                .filter(|end| end.job_id == Some(job))
            {
                return end;
            }
        }
    }

    /// Why a worker that should still be running is not.
    async fn stopped_worker(&mut self) -> BenchError {
        match (&mut self.worker).await {
            Ok(Err(error)) => BenchError::Worker(error),
            Ok(Ok(())) => BenchError::WorkerStop("it returned without being asked".into()),
            Err(error) => BenchError::WorkerStop(error.to_string()),
        }
    }
}

/// A Divalto sync of the article table, every field, `window` pages in flight.
fn sync_command(window: u32) -> Command {
    Command::start_job(
        CONNECTION,
        CommandBody::DivaltoSync(DivaltoSync {
            query: DivaltoQuery {
                dhoq: TABLE.dhoq().into(),
                recordsql: TABLE.recordsql().into(),
                id_field: TABLE.id_field().into(),
                fields: Vec::new(),
                orderby: None,
                where_clause: None,
            },
            window: NonZeroU32::new(window),
        }),
    )
}

/// A completion that read `rows` records with exact consistency, or why not.
fn judge(end: &Event, rows: u64) -> RunOutcome {
    let completed = match end {
        Event::SyncCompleted(completed) => completed,
        Event::CommandFailed(failed) => {
            return RunOutcome::Failed(format!("command.failed: {:?}", failed.reason));
        }
        _ => return RunOutcome::Failed("ended without a completion".into()),
    };
    match consistency(completed) {
        Some(Consistency::Exact) if completed.records == rows => {
            RunOutcome::Completed(Completion {
                job_elapsed: Duration::from_millis(completed.elapsed_ms),
                pages: completed.pages,
            })
        }
        Some(Consistency::Exact) => {
            RunOutcome::Failed(format!("{} records for {rows} rows", completed.records))
        }
        Some(Consistency::DriftDetected) => RunOutcome::Failed("drift detected".into()),
        None => RunOutcome::Failed("not an offset completion".into()),
    }
}

/// The consistency an offset sync reported; none for another kind of sync.
fn consistency(completed: &SyncCompleted) -> Option<Consistency> {
    match &completed.subject {
        SyncSubject::Offset { consistency, .. } => Some(*consistency),
        _ => None,
    }
}
