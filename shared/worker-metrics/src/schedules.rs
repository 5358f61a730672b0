//! The scheduler's series: what every replica reads of each schedule in the shared
//! store at each tick, the runs it published, and whether it holds the lease.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::registry::installed;

/// Series of one schedule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ScheduleLabels {
    schedule: String,
}

/// One schedule's last outcome, one series per possible outcome.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ScheduleOutcomeLabels {
    schedule: String,
    outcome: &'static str,
}

type SecondsGauge = Gauge<f64, AtomicU64>;

/// The scheduler's families.
#[derive(Debug, Default)]
pub(crate) struct ScheduleFamilies {
    interval: Family<ScheduleLabels, SecondsGauge>,
    tracked_since: Family<ScheduleLabels, SecondsGauge>,
    last_success: Family<ScheduleLabels, SecondsGauge>,
    last_outcome: Family<ScheduleOutcomeLabels, Gauge>,
    running: Family<ScheduleLabels, Gauge>,
    skips: Family<ScheduleLabels, Gauge>,
    published: Family<ScheduleLabels, Counter>,
    lease_held: Gauge,
}

impl ScheduleFamilies {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "schedule_interval",
            "Time between two due runs of the schedule (for a cron schedule, between its next two)",
            Unit::Seconds,
            self.interval.clone(),
        );
        registry.register_with_unit(
            "schedule_tracked_since_timestamp",
            "When a scheduler first saw the schedule (Unix time)",
            Unit::Seconds,
            self.tracked_since.clone(),
        );
        registry.register_with_unit(
            "schedule_last_success_timestamp",
            "When a run of the schedule last completed, having read its whole listing (Unix time); absent until one has",
            Unit::Seconds,
            self.last_success.clone(),
        );
        registry.register(
            "schedule_last_outcome",
            "1 for the outcome of the schedule's last finished run (completed, incomplete or failed), 0 for the others",
            self.last_outcome.clone(),
        );
        registry.register(
            "schedule_running",
            "1 while a run of the schedule is in flight",
            self.running.clone(),
        );
        registry.register(
            "schedule_skips",
            "Due runs of the schedule skipped because its previous run was still in flight, as the shared store counts them",
            self.skips.clone(),
        );
        registry.register(
            "schedule_runs_published",
            "Runs of the schedule this replica published",
            self.published.clone(),
        );
        registry.register(
            "scheduler_lease_held",
            "1 while this replica holds the lease that lets it publish runs",
            self.lease_held.clone(),
        );
    }
}

/// What the shared store says of one schedule, as a replica read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSnapshot<'s> {
    /// The schedule's name.
    pub schedule: &'s str,
    /// Seconds between two due runs.
    pub interval_seconds: f64,
    /// When it was first seen (Unix seconds).
    pub tracked_since: Option<f64>,
    /// When a run last completed (Unix seconds).
    pub last_success: Option<f64>,
    /// The last finished run's outcome, among `outcomes`.
    pub last_outcome: Option<&'static str>,
    /// Every outcome a run can have.
    pub outcomes: &'s [&'static str],
    /// Whether a run is in flight.
    pub running: bool,
    /// Due runs skipped so far.
    pub skips: u64,
}

/// Sets the schedule's series to what `snapshot` says.
pub fn schedule_observed(snapshot: &ScheduleSnapshot<'_>) {
    let Some(metrics) = installed() else {
        return;
    };
    let families = &metrics.schedules;
    let labels = ScheduleLabels {
        schedule: snapshot.schedule.to_owned(),
    };
    families
        .interval
        .get_or_create(&labels)
        .set(snapshot.interval_seconds);
    if let Some(since) = snapshot.tracked_since {
        families.tracked_since.get_or_create(&labels).set(since);
    }
    if let Some(success) = snapshot.last_success {
        families.last_success.get_or_create(&labels).set(success);
    }
    for &outcome in snapshot.outcomes {
        let value = i64::from(snapshot.last_outcome == Some(outcome));
        families
            .last_outcome
            .get_or_create(&ScheduleOutcomeLabels {
                schedule: snapshot.schedule.to_owned(),
                outcome,
            })
            .set(value);
    }
    families
        .running
        .get_or_create(&labels)
        .set(i64::from(snapshot.running));
    families
        .skips
        .get_or_create(&labels)
        .set(i64::try_from(snapshot.skips).unwrap_or(i64::MAX));
    drop(families.published.get_or_create(&labels));
}

/// Counts a run of `schedule` this replica published.
pub fn schedule_run_published(schedule: &str) {
    if let Some(metrics) = installed() {
        metrics
            .schedules
            .published
            .get_or_create(&ScheduleLabels {
                schedule: schedule.to_owned(),
            })
            .inc();
    }
}

/// Sets whether this replica holds the scheduler's lease.
pub fn scheduler_lease_held(held: bool) {
    if let Some(metrics) = installed() {
        metrics.schedules.lease_held.set(i64::from(held));
    }
}
