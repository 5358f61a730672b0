//! A run's command, and how its job's events end it.

use chrono::{DateTime, Utc};
use contract::{
    Command, CommandBody, Consistency, DivaltoWhere, Event, EventEnvelope, JobId, MessageId,
    SyncEnd, SyncSubject,
};
use settings::Schedule;
use sha2::{Digest, Sha256};

/// The start command of a new run of `schedule`, starting from `resume_point`: the
/// `updated_since` of a démarche or Amienscope sync, the schedule's `since` clause of
/// a Divalto sync. Without a resume point the run is a full sync.
pub fn run_command(schedule: &Schedule, resume_point: Option<DateTime<Utc>>) -> Command {
    let mut body = schedule.body.clone();
    match &mut body {
        CommandBody::DsSync(sync) => sync.updated_since = resume_point,
        CommandBody::AmienscopeSync(sync) => sync.updated_since = resume_point,
        CommandBody::DivaltoSync(sync) => {
            if let (Some(since), Some(resume_point)) = (&schedule.divalto_since, resume_point) {
                sync.query.where_clause = Some(DivaltoWhere {
                    name: since.where_name.clone(),
                    parameters: format!(
                        "{}={}",
                        since.parameter,
                        resume_point.format(&since.format)
                    ),
                });
            }
        }
        // The settings accept only the three sync kinds for a schedule.
        _ => {}
    }
    Command::start_job(schedule.connection.as_str(), body)
}

/// The fingerprint of what `schedule` reads: its kind, connection, body and Divalto
/// `since` clause (not its timing). A resume point reached under one definition says
/// nothing of another, so it is stored with this and used only by the same.
pub fn definition(schedule: &Schedule) -> String {
    let body = serde_json::to_string(&schedule.body).expect("a command body always serialises");
    let since = schedule
        .divalto_since
        .as_ref()
        .map(|since| {
            format!(
                "{}\n{}\n{}",
                since.where_name, since.parameter, since.format
            )
        })
        .unwrap_or_default();
    let text = format!(
        "{}\n{}\n{body}\n{since}",
        schedule.kind(),
        schedule.connection
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The sync read its whole listing: its resume point becomes the schedule's.
    Completed,
    /// The sync completed without reading its whole listing (it stopped on a loop
    /// guard, or the listing moved while it was read): the resume point stays.
    Incomplete,
    /// The job failed, or its start command was refused: the resume point stays.
    Failed,
}

impl Outcome {
    /// Every outcome, as the metrics label them.
    pub const ALL: [Outcome; 3] = [Outcome::Completed, Outcome::Incomplete, Outcome::Failed];

    /// The outcome's name in the store, the metrics and `estafette schedules list`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Incomplete => "incomplete",
            Outcome::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// The end of a run, read from one of its job's events.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    /// The run's job.
    pub job: JobId,
    /// How it ended.
    pub outcome: Outcome,
    /// Records the sync published (0 for a failure).
    pub records: u64,
    /// Why it did not complete, for people.
    pub reason: Option<String>,
    /// The schedule's next resume point: only for [`Outcome::Completed`].
    pub resume_point: Option<DateTime<Utc>>,
}

/// The end of a job that `event` tells, if it tells one: its `sync.completed`, its
/// `job.failed`, or the `command.failed` of its start command. Any other
/// `command.failed` naming the job (a page retried elsewhere, a forged command) does
/// not end it.
pub fn run_end(event: &EventEnvelope) -> Option<RunEnd> {
    let job = event.job_id?;
    let failed = |reason: String| RunEnd {
        job,
        outcome: Outcome::Failed,
        records: 0,
        reason: Some(reason),
        resume_point: None,
    };
    match &event.event {
        Event::SyncCompleted(completed) => {
            let drifted = matches!(
                &completed.subject,
                SyncSubject::Offset {
                    consistency: Consistency::DriftDetected,
                    ..
                }
            );
            let whole = completed.end == SyncEnd::Exhausted && !drifted;
            let end: &str = completed.end.into();
            Some(RunEnd {
                job,
                outcome: if whole {
                    Outcome::Completed
                } else {
                    Outcome::Incomplete
                },
                records: completed.records,
                reason: match (whole, drifted) {
                    (true, _) => None,
                    (false, true) => {
                        Some("the listing moved while it was read (drift_detected)".into())
                    }
                    (false, false) => Some(format!("the sync stopped early ({end})")),
                },
                resume_point: whole.then_some(completed.resume_point),
            })
        }
        Event::JobFailed(failure) => Some(failed(format!(
            "{}: {}",
            failure.reason.as_str(),
            failure.message
        ))),
        Event::CommandFailed(failure) if failure.command_id == Some(MessageId::job_start(job)) => {
            Some(failed(format!(
                "{}: {}",
                failure.reason.as_str(),
                failure.message
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
