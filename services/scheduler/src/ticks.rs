//! The ticks: the lease, the due runs, their publishing, and the schedules' metrics.

use chrono::{DateTime, Utc};
use contract::Command;
use schedule::{
    Claim, Claimed, Outcome, RunEnd, Running, ScheduleState, ScheduleStore, StoreError, definition,
    due_time, run_command,
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
            max_run: settings.scheduler.max_run,
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
    /// How long a run may go without an end.
    max_run: std::time::Duration,
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
            if let Some(running) = &state.running {
                self.look_after(name, running, now).await?;
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
        let definition = definition(schedule);
        let resume_point = state.resume_point_for(&definition);
        if resume_point.is_none() && state.resume_point.is_some() {
            tracing::info!(
                schedule = name,
                "the schedule reads something else than its resume point was reached for: a full sync"
            );
        }
        let command = run_command(schedule, resume_point);
        let claim = Claim {
            holder: Some(holder),
            due: Some(due),
            command: &command,
            since: resume_point,
            generation: state.generation,
            definition: &definition,
        };
        let claimed = self.store.claim(name, &claim).await?;
        let since = resume_point.map(|at| at.to_rfc3339()).unwrap_or_default();
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

    /// Publishes the run in flight if it is not yet, and gives it up as failed once it
    /// has gone `max_run` without an end.
    async fn look_after(
        &self,
        name: &str,
        running: &Running,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let age = (now - running.claimed_at).to_std().unwrap_or_default();
        if age > self.max_run {
            let reason = format!(
                "no end within max_run_seconds ({} s); the job may still be going",
                self.max_run.as_secs()
            );
            return self.give_up(name, running, reason).await;
        }
        if running.published {
            return Ok(());
        }
        match Command::from_json(running.command.as_bytes()) {
            Ok(command) => self.publish(name, &command).await,
            Err(rejection) => {
                let reason = format!("its stored command cannot be read: {rejection}");
                self.give_up(name, running, reason).await
            }
        }
    }

    /// Records the run in flight as failed for `reason`, its resume point kept.
    async fn give_up(
        &self,
        name: &str,
        running: &Running,
        reason: String,
    ) -> Result<(), StoreError> {
        tracing::warn!(schedule = name, job_id = %running.job.0, reason, "run given up");
        let end = RunEnd {
            job: running.job,
            outcome: Outcome::Failed,
            records: 0,
            reason: Some(reason),
            resume_point: None,
        };
        self.store.finish_run(name, &end).await.map(drop)
    }

    /// Publishes a claimed run's command and notes it published; a failure leaves it
    /// claimed, to publish again at the next tick.
    async fn publish(&self, name: &str, command: &Command) -> Result<(), StoreError> {
        match self.broker.publish_command(command).await {
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
