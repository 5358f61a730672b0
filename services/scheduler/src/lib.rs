//! The scheduler service: publishes each configured schedule's sync at its due times,
//! starting from the schedule's stored resume point, and records how each run ended.
//!
//! Every replica does two things:
//! - **At each tick** (`scheduler.tick_seconds`) it takes or renews the publishers'
//!   lease in Redis. The holder, and only it, claims each due run in the store (one
//!   Lua script: a due time is claimed once, never while a run is in flight; a due
//!   time that passes during a run is recorded as skipped) and publishes the claimed
//!   command. A run claimed and not yet confirmed by the broker (the holder died in
//!   between, or the broker was away) is published again at the next tick, under
//!   the same ids, which the workers treat as a redelivery. Every replica sets the
//!   schedules' metrics from the store.
//! - **It reads the run ends** off the durable quorum queue `<prefix>.scheduler`
//!   (bound to `sync.completed`, `job.failed` and `command.failed`), shared by every
//!   replica: each end is recorded in the store before the event is acknowledged, so
//!   none is lost to a crash, whichever replica holds the lease.
//!
//! A replica that dies holding the lease loses it at most `scheduler.lease_seconds`
//! after its last renewal; another takes it at its next tick. One that stops on
//! SIGTERM gives the lease back first.

mod ends;
mod ticks;

use broker::{Broker, BrokerError};
use contract::WorkerKind;
use job_state::JobStore;
use schedule::ScheduleStore;
use settings::Settings;
use tokio_util::sync::CancellationToken;

/// The name, after the prefix, of the durable queue every replica reads the run ends
/// from: `<prefix>.scheduler`.
pub const RUN_ENDS_QUEUE: &str = "scheduler";

/// Why the scheduler stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The broker refused the topology, or stayed unreachable.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// Runs the scheduler until `shutdown` is cancelled: the ticks and the reading of run
/// ends side by side (see the crate's documentation).
pub async fn run(
    settings: &Settings,
    broker: &Broker,
    store: &JobStore,
    shutdown: CancellationToken,
) -> Result<(), SchedulerError> {
    if settings.schedules.is_empty() {
        tracing::warn!("no schedule is configured: nothing will be published");
    }
    // The start commands go to fetch-page's queue, which must exist for a mandatory
    // publish to be routed, even before any fetch-page worker has started.
    broker.declare(&[WorkerKind::FetchPage]).await?;
    let schedules = ScheduleStore::with_connection(store.connection(), &settings.broker.prefix);
    let replica = uuid::Uuid::new_v4().to_string();
    tracing::info!(
        replica,
        schedules = settings.schedules.iter().count(),
        "scheduler started"
    );
    let ticking = ticks::run(settings, broker, &schedules, &replica, shutdown.clone());
    let reading = ends::run(settings, broker, &schedules, shutdown.clone());
    let ((), read) = tokio::join!(ticking, async {
        let read = reading.await;
        // Without the run ends, runs would stay in flight for ever: stop ticking too.
        shutdown.cancel();
        read
    });
    read.map_err(SchedulerError::from)
}
