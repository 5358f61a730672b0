//! What a worker's metrics are about: the series it knows when it starts (its
//! connections, its job kinds and every way they can end), and the job marks of a
//! handled command, read from the command and the events its outcome publishes.

use broker::{Outcome, Target};
use contract::{
    Command, Consistency, Event, EventEnvelope, FailureReason, SyncEnd, SyncSubject, WorkerKind,
};
use settings::{Api, Settings};
use strum::VariantArray as _;
use worker_metrics::{JobMark, KnownSeries, UNCONFIGURED_CONNECTION};

/// The `end` of a job that is not a sync: it did what it was asked.
const DONE: &str = "done";
/// The `consistency` of a job that has no drift guard.
const UNCHECKED: &str = "unchecked";

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
        "ds.sync" => ends.map(|end| (end, UNCHECKED)).collect(),
        "divalto.sync" | "amienscope.sync" => ends
            .flat_map(|end| {
                Consistency::VARIANTS
                    .iter()
                    .map(move |consistency| (end, consistency.into()))
            })
            .collect(),
        _ => vec![(DONE, UNCHECKED)],
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
        let mut marks = Vec::new();
        if !self.is_step {
            marks.push(JobMark::Started {
                kind: self.kind,
                connection: self.connection.clone(),
            });
        }
        let ends = outcome.publish.iter().filter(|outgoing| {
            matches!(
                outgoing.target,
                Target::Event(
                    "sync.completed"
                        | "descriptors.written"
                        | "status.sent"
                        | "job.failed"
                        | "command.failed"
                )
            )
        });
        for outgoing in ends {
            // The worker's own event, serialised a moment ago: it reads back.
            let Ok(envelope) = serde_json::from_slice::<EventEnvelope>(&outgoing.body) else {
                continue;
            };
            let mark = match envelope.event {
                Event::SyncCompleted(sync) => {
                    let consistency = match sync.subject {
                        SyncSubject::Offset { consistency, .. } => consistency.into(),
                        SyncSubject::Ds { .. } => UNCHECKED,
                    };
                    self.completed(sync.end.into(), consistency)
                }
                Event::DescriptorsWritten(_) | Event::StatusSent(_) => {
                    self.completed(DONE, UNCHECKED)
                }
                Event::JobFailed(job) => self.failed(job.reason),
                // A step's failure is its job's only through `job.failed`.
                Event::CommandFailed(start) if !self.is_step => self.failed(start.reason),
                _ => continue,
            };
            marks.push(mark);
        }
        marks
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
        assert_eq!(completions("apidae.put"), [(DONE, UNCHECKED)]);
    }
}
