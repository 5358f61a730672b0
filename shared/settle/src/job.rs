//! A failure of one step of a fanned-out job (a page or chunk command) is a failure of
//! the job: the job is marked failed in the job store, so that its other steps finish
//! without doing anything and it never completes, and `job.failed` reports it once.

use broker::{Outcome, Outgoing};
use contract::{Command, Event, EventEnvelope, JobFailed, MessageId};
use job_state::JobStore;
use settings::WorkerSettings;

use crate::command_error::CommandError;
use crate::failure::{Decision, Failure, dead_letter, decide};

/// The outcome of a handled command: `result` when it succeeded; when it failed, the
/// failure settled like [`crate::settle`] does. When the command is a step of a
/// fanned-out job (`ds.page`, `offset.page`, `apidae.chunk`), a failure for good also
/// fails the job: [`JobStore::fail`] marks it, and the outcome publishes `job.failed`
/// (id `job.failed` of the job) with the step's reason beside its `command.failed`.
/// A step that fails a job another step failed first is acked without a report: the
/// job's failure was reported once, and the step would do nothing if replayed.
///
/// When the store cannot be reached to mark the job, the step is retried like any
/// transient failure, so the job is never reported failed while its other steps may
/// still complete it. On the last attempt it is dead-lettered and `job.failed` is
/// published unmarked, rather than leaving the job open without a word.
pub async fn settle_in_job(
    command: &Command,
    result: Result<Outcome, CommandError>,
    worker: &WorkerSettings,
    attempt: u32,
    store: &JobStore,
) -> Outcome {
    let error = match result {
        Ok(outcome) => return outcome,
        Err(error) => error,
    };
    let failure = match decide(command, error, worker, attempt) {
        Decision::Retry { after } => return Outcome::retry(after),
        Decision::Fail(failure) if command.body.is_job_step() => failure,
        Decision::Fail(failure) => return dead_letter(failure),
    };
    let first = match store
        .fail(command.meta.job_id, failure.reason().as_str())
        .await
    {
        Ok(first) => first,
        Err(error) if attempt < worker.max_attempts => {
            tracing::warn!(%error, "cannot mark the job failed yet");
            return crate::settle(command, error.into(), worker, attempt);
        }
        Err(error) => {
            tracing::error!(%error, "the job could not be marked failed; reporting its failure anyway");
            true
        }
    };
    if !first {
        // Another step failed the job first and reported it; this one's failure
        // changes nothing, and a replay of it would find the job failed.
        tracing::info!(
            reason = failure.reason().as_str(),
            "the job had already failed; this step ends with it"
        );
        return Outcome::ack(Vec::new());
    }
    let job_failed = job_failed(command, &failure);
    let mut outcome = dead_letter(failure);
    outcome.publish.push(job_failed);
    outcome
}

fn job_failed(command: &Command, failure: &Failure) -> Outgoing {
    let job = command.meta.job_id;
    tracing::warn!(job_id = %job, reason = failure.reason().as_str(), "job failed");
    let event = Event::JobFailed(JobFailed {
        connection: command.meta.connection.clone(),
        command_kind: command.body.kind().to_owned(),
        command_id: command.meta.message_id,
        reason: failure.reason(),
        message: failure.message().to_owned(),
    });
    let envelope = EventEnvelope::new(Some(job), MessageId::for_job(job, "job.failed"), event);
    Outgoing::event(&envelope, telemetry::propagation::inject_current())
}
