//! The ticks: the lease, the due runs, their publishing, and the schedules' metrics.

use chrono::{DateTime, Utc};
use contract::Command;
use schedule::{
    Claim, Claimed, Outcome, ScheduleState, ScheduleStore, StoreError, due_time, run_command,
};
use settings::{Schedule, Settings, Timing};
use tokio_util::sync::CancellationToken;
use worker_shell::metrics::{self, ScheduleSnapshot};

/// Every outcome, as the metrics label them.
const OUTCOMES: [&str; 3] = [
    Outcome::Completed.as_str(),
    Outcome::Incomplete.as_str(),
    Outcome::Failed.as_str(),
];

/// Ticks until `shutdown` is cancelled, then gives the lease back.
pub(crate) async fn run(
    settings: &Settings,
    broker: &broker::Broker,
    store: &ScheduleStore,
    replica: &str,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(settings.scheduler.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut holding = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let held = match store.hold_lease(replica, settings.scheduler.lease).await {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(%error, "cannot reach the lease; publishing nothing this tick");
                false
            }
        };
        if held != holding {
            if held {
                tracing::info!(replica, "took the lease: this replica publishes the runs");
            } else {
                tracing::info!(replica, "lost the lease");
            }
            holding = held;
        }
        metrics::scheduler_lease_held(held);
        let tick = Tick {
            broker,
            store,
            holder: held.then_some(replica),
        };
        for (name, schedule) in &settings.schedules {
            if let Err(error) = tick.schedule(name, schedule).await {
                tracing::warn!(schedule = name, %error, "schedule not handled this tick");
            }
        }
    }
    if holding && let Err(error) = store.release_lease(replica).await {
        tracing::warn!(%error, "the lease was not given back; it lapses");
    }
    metrics::scheduler_lease_held(false);
}

/// One tick of one replica.
struct Tick<'t> {
    broker: &'t broker::Broker,
    store: &'t ScheduleStore,
    /// This replica, when it holds the lease.
    holder: Option<&'t str>,
}

impl Tick<'_> {
    /// Claims the schedule's due run and publishes a claimed one (lease holder only),
    /// then sets its metrics from the store.
    async fn schedule(&self, name: &str, schedule: &Schedule) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut state = self.store.state(name).await?;
        if let Some(holder) = self.holder {
            let Some(tracked_since) = state.tracked_since else {
                self.store.track(name, now).await?;
                return Ok(());
            };
            let last = state.last_slot.unwrap_or(tracked_since);
            if let Some(due) = due_time(&schedule.timing, last, now) {
                self.claim(holder, name, schedule, &state, due).await?;
                state = self.store.state(name).await?;
            }
            if let Some(running) = state.running.as_ref().filter(|running| !running.published) {
                self.publish(name, &running.command).await?;
            }
        }
        observe(name, schedule, &state, now);
        Ok(())
    }

    async fn claim(
        &self,
        holder: &str,
        name: &str,
        schedule: &Schedule,
        state: &ScheduleState,
        due: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let command = run_command(schedule, state.resume_point);
        let claim = Claim {
            holder: Some(holder),
            due: Some(due),
            command: &command,
            since: state.resume_point,
        };
        let claimed = self.store.claim(name, &claim).await?;
        let since = state
            .resume_point
            .map(|at| at.to_rfc3339())
            .unwrap_or_default();
        match claimed {
            Claimed::Claimed => tracing::info!(
                schedule = name,
                job_id = %command.meta.job_id.0,
                due = %due,
                since,
                "run claimed"
            ),
            Claimed::Skipped => tracing::info!(
                schedule = name,
                due = %due,
                "skipped: still running"
            ),
            Claimed::ResumePointMoved => {
                tracing::info!(
                    schedule = name,
                    "the resume point moved; claiming at the next tick"
                );
            }
            Claimed::AlreadyHandled | Claimed::NotLeaseHolder | Claimed::StillRunning => {}
        }
        Ok(())
    }

    /// Publishes a claimed run's command and notes it published; a failure leaves it
    /// claimed, to publish again at the next tick.
    async fn publish(&self, name: &str, command: &str) -> Result<(), StoreError> {
        let command = match Command::from_json(command.as_bytes()) {
            Ok(command) => command,
            Err(rejection) => {
                tracing::error!(schedule = name, %rejection, "the claimed command cannot be read");
                return Ok(());
            }
        };
        match self.broker.publish_command(&command).await {
            Ok(()) => {
                self.store.mark_published(name, command.meta.job_id).await?;
                metrics::schedule_run_published(name);
                tracing::info!(schedule = name, job_id = %command.meta.job_id.0, "run published");
            }
            Err(error) => tracing::warn!(
                schedule = name,
                job_id = %command.meta.job_id.0,
                %error,
                "run not published; trying again at the next tick"
            ),
        }
        Ok(())
    }
}

/// Sets the schedule's metrics from what the store holds.
fn observe(name: &str, schedule: &Schedule, state: &ScheduleState, now: DateTime<Utc>) {
    let seconds = |at: DateTime<Utc>| at.timestamp_millis() as f64 / 1000.0;
    metrics::schedule_observed(&ScheduleSnapshot {
        schedule: name,
        interval_seconds: interval(&schedule.timing, now),
        tracked_since: state.tracked_since.map(seconds),
        last_success: state.last_success.map(seconds),
        last_outcome: state.last_run.as_ref().map(|run| run.outcome.as_str()),
        outcomes: &OUTCOMES,
        running: state.running.is_some(),
        skips: state.skips,
    });
}

/// Seconds between the schedule's next two due times after `now`.
fn interval(timing: &Timing, now: DateTime<Utc>) -> f64 {
    timing
        .next_after(now)
        .and_then(|next| Some((next, timing.next_after(next)?)))
        .map(|(next, after)| (after - next).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(0.0)
}
