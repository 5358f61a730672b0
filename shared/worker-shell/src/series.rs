//! What a worker's metrics are about: the series it knows when it starts (its
//! connections, its job kinds and every way they can end), and the job marks of a
//! handled command, read from the command and the events its outcome publishes.

use broker::Outcome;
use contract::{
    Command, Consistency, FailureReason, JOB_DONE, JOB_UNCHECKED, JobEnd, SyncEnd, WorkerKind,
};
use settings::{Api, Settings};
use strum::VariantArray as _;
use worker_metrics::{JobMark, KnownSeries, UNCONFIGURED_CONNECTION};

/// The API a job kind calls.
fn job_api(kind: &str) -> Option<Api> {
    match kind {
        "ds.sync" | "ds.status" => Some(Api::Ds),
        "divalto.sync" => Some(Api::Divalto),
        "amienscope.sync" => Some(Api::Amienscope),
        "apidae.put" | "apidae.delete" => Some(Api::Apidae),
        _ => None,
    }
}

/// The `end` and `consistency` label pairs a job of `kind` can complete with.
fn completions(kind: &str) -> Vec<(&'static str, &'static str)> {
    let ends = SyncEnd::VARIANTS.iter().map(|end| end.into());
    match kind {
        "ds.sync" => ends.map(|end| (end, JOB_UNCHECKED)).collect(),
        "divalto.sync" | "amienscope.sync" => ends
            .flat_map(|end| {
                Consistency::VARIANTS
                    .iter()
                    .map(move |consistency| (end, consistency.into()))
            })
            .collect(),
        _ => vec![(JOB_DONE, JOB_UNCHECKED)],
    }
}

/// Every series `worker` may count under `settings`: its connections are those
/// whose API one of its job kinds calls.
pub(crate) fn known_series(worker: WorkerKind, settings: &Settings) -> KnownSeries {
    let reasons: Vec<&'static str> = FailureReason::VARIANTS
        .iter()
        .map(|reason| reason.as_str())
        .collect();
    let mut known = KnownSeries {
        dead_letter_reasons: reasons.clone(),
        ..KnownSeries::default()
    };
    for (name, connection) in settings.connections.iter() {
        let api = connection.api();
        let connection = name.as_str().to_owned();
        let kinds: Vec<&'static str> = worker
            .job_kinds()
            .iter()
            .copied()
            .filter(|kind| job_api(kind) == Some(api))
            .collect();
        if kinds.is_empty() {
            continue;
        }
        known.connections.push(connection.clone());
        if worker == WorkerKind::FetchPage {
            known.paged_connections.push(connection.clone());
        }
        if api.logs_in() {
            known.token_connections.push(connection.clone());
        }
        for kind in kinds {
            known.jobs.push(JobMark::Started {
                kind,
                connection: connection.clone(),
            });
            for (end, consistency) in completions(kind) {
                known.jobs.push(JobMark::Completed {
                    kind,
                    connection: connection.clone(),
                    end,
                    consistency,
                });
            }
            for &reason in &reasons {
                known.jobs.push(JobMark::Failed {
                    kind,
                    connection: connection.clone(),
                    reason,
                });
            }
        }
    }
    // A command naming no configured connection starts a job that fails at once.
    for &kind in worker.job_kinds() {
        let connection = || UNCONFIGURED_CONNECTION.to_owned();
        known.jobs.push(JobMark::Started {
            kind,
            connection: connection(),
        });
        for &reason in &reasons {
            known.jobs.push(JobMark::Failed {
                kind,
                connection: connection(),
                reason,
            });
        }
    }
    known
}

/// The job a command belongs to, as its marks name it.
pub(crate) struct JobOf {
    kind: &'static str,
    connection: String,
    is_step: bool,
}

impl JobOf {
    pub(crate) fn of(command: &Command) -> Self {
        JobOf {
            kind: command.body.job_kind(),
            connection: command.meta.connection.clone(),
            is_step: command.body.is_job_step(),
        }
    }

    /// What handling the command did to its job, as `outcome` tells: a start command
    /// started it; a completion or failure event the outcome publishes ended it.
    pub(crate) fn marks(&self, outcome: &Outcome) -> Vec<JobMark> {
        let started = (!self.is_step).then(|| JobMark::Started {
            kind: self.kind,
            connection: self.connection.clone(),
        });
        let ended = outcome
            .publish
            .iter()
            .filter_map(|outgoing| outgoing.job_end)
            .map(|end| match end {
                JobEnd::Completed { end, consistency } => self.completed(end, consistency),
                JobEnd::Failed(reason) => self.failed(reason),
            });
        started.into_iter().chain(ended).collect()
    }

    fn completed(&self, end: &'static str, consistency: &'static str) -> JobMark {
        JobMark::Completed {
            kind: self.kind,
            connection: self.connection.clone(),
            end,
            consistency,
        }
    }

    fn failed(&self, reason: FailureReason) -> JobMark {
        JobMark::Failed {
            kind: self.kind,
            connection: self.connection.clone(),
            reason: reason.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_of_every_worker_calls_an_api() {
        for worker in WorkerKind::VARIANTS {
            for kind in worker.job_kinds() {
                assert!(job_api(kind).is_some(), "{kind}");
            }
        }
    }

    #[test]
    fn syncs_end_their_own_ways_and_other_jobs_are_done() {
        assert_eq!(completions("ds.sync").len(), SyncEnd::VARIANTS.len());
        assert!(completions("divalto.sync").contains(&("page_limit", "drift_detected")));
        assert_eq!(completions("apidae.put"), [(JOB_DONE, JOB_UNCHECKED)]);
    }
}
