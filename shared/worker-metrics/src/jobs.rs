//! The life of jobs: started, completed, failed, per kind and connection.
//!
//! The connection is a label value a message names, so it is bounded: once
//! [`crate::register_known`] has named the worker's connections, a mark naming any
//! other counts under [`UNCONFIGURED_CONNECTION`], and a forged command cannot add
//! series.

use crate::labels::{JobCompletedLabels, JobFailedLabels, JobLabels};
use crate::registry::{Metrics, installed};

/// The `connection` of a job whose command names no configured connection.
pub const UNCONFIGURED_CONNECTION: &str = "unconfigured";

/// One step in a job's life, counted once the delivery that took it is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobMark {
    /// A start command (`ds.sync`, `apidae.put`, `ds.status`, …) was settled: acked
    /// or dead-lettered, not sent to wait for another try.
    Started {
        /// The start command's kind.
        kind: &'static str,
        /// The connection it names.
        connection: String,
    },
    /// The job published its completion (`sync.completed`, `descriptors.written`,
    /// `status.sent`).
    Completed {
        /// The start command's kind.
        kind: &'static str,
        /// The connection it names.
        connection: String,
        /// How it ended: a sync's `end`, `done` for other jobs.
        end: &'static str,
        /// An offset sync's `consistency`; `unchecked` for jobs that have no drift guard.
        consistency: &'static str,
    },
    /// The job published its failure (`job.failed`, or `command.failed` of its start
    /// command).
    Failed {
        /// The start command's kind.
        kind: &'static str,
        /// The connection it names.
        connection: String,
        /// The closed-set failure reason.
        reason: &'static str,
    },
}

impl JobMark {
    /// Counts this mark; a no-op until the registry is installed.
    pub fn record(&self) {
        if let Some(metrics) = installed() {
            self.add(metrics, 1);
        }
    }

    /// Makes this mark's series exist, at 0 if it was never counted.
    pub(crate) fn register(&self, metrics: &Metrics) {
        self.add(metrics, 0);
    }

    fn add(&self, metrics: &Metrics, by: u64) {
        let bounded = |connection: &String| {
            if metrics.is_known_connection(connection) {
                connection.clone()
            } else {
                UNCONFIGURED_CONNECTION.to_owned()
            }
        };
        match self {
            JobMark::Started { kind, connection } => {
                let labels = JobLabels {
                    kind,
                    connection: bounded(connection),
                };
                metrics.jobs_started.get_or_create(&labels).inc_by(by);
            }
            JobMark::Completed {
                kind,
                connection,
                end,
                consistency,
            } => {
                let labels = JobCompletedLabels {
                    kind,
                    connection: bounded(connection),
                    end,
                    consistency,
                };
                metrics.jobs_completed.get_or_create(&labels).inc_by(by);
            }
            JobMark::Failed {
                kind,
                connection,
                reason,
            } => {
                let labels = JobFailedLabels {
                    kind,
                    connection: bounded(connection),
                    reason,
                };
                metrics.jobs_failed.get_or_create(&labels).inc_by(by);
            }
        }
    }
}
