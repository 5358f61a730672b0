//! Following a job by its events, with a progress bar or silently.

use std::time::{Duration, Instant};

use anyhow::Context;
use broker::Broker;
use contract::{Command, CommandFailed, Event, EventEnvelope, JobFailed, JobId};
use indicatif::{ProgressBar, ProgressStyle};

/// The longest wait for the next event of a running job: longer than the longest
/// retry hold (a rate-limit reset or a transient backoff, about a minute each).
const EVENT_TIMEOUT: Duration = Duration::from_secs(600);

/// What one event of the followed job means to the follower.
pub(crate) enum Step<T> {
    /// Nothing to show.
    Wait,
    /// Show this as the job's progress.
    Progress(String),
    /// The job ended with this outcome.
    Finished(T),
}

/// Publishes a command that starts a job, then hands each of the job's events, with
/// the time since publishing, to `step` until it returns an outcome or an error.
pub(crate) async fn publish_and_follow<T>(
    broker: &Broker,
    command: &Command,
    quiet: bool,
    mut step: impl FnMut(Event, Duration) -> anyhow::Result<Step<T>>,
) -> anyhow::Result<T> {
    let job_id = command.meta.job_id;
    let mut events = broker.subscribe_events("#").await?;
    broker
        .publish_command(command)
        .await
        .context("publishing the command")?;
    if !quiet {
        eprintln!("published job {job_id}");
    }
    let started = Instant::now();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .context("progress template")?,
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let worker = command.body.worker().as_str();
    loop {
        let message = tokio::time::timeout(EVENT_TIMEOUT, events.next())
            .await
            .with_context(|| {
                format!(
                    "no news of job {job_id} for {EVENT_TIMEOUT:?}; is a {worker} worker running?"
                )
            })?
            .context("the broker connection closed")?;
        // Other jobs' events, and event types this build does not know, are not ours.
        let Ok(envelope) = serde_json::from_slice::<EventEnvelope>(&message.body) else {
            continue;
        };
        if envelope.job_id != Some(job_id) {
            continue;
        }
        match step(envelope.event, started.elapsed()) {
            Ok(Step::Wait) => {}
            Ok(Step::Progress(message)) => bar.set_message(message),
            Ok(Step::Finished(outcome)) => {
                bar.finish_and_clear();
                return Ok(outcome);
            }
            Err(error) => {
                bar.finish_and_clear();
                return Err(error);
            }
        }
    }
}

/// Why following ends when the job's command failed for good.
pub(crate) fn command_failed(job_id: JobId, failed: &CommandFailed) -> anyhow::Error {
    anyhow::anyhow!(
        "job {job_id} failed ({}): {}",
        failed.reason.as_str(),
        failed.message
    )
}

/// Why following ends when one of the job's pages or chunks failed for good, which
/// fails the whole job: it will never complete, and what it published so far is
/// only part of what was asked.
pub(crate) fn job_failed(job_id: JobId, failed: &JobFailed) -> anyhow::Error {
    anyhow::anyhow!(
        "job {job_id} failed ({}) at its {} command: {}. What it published so far is \
         incomplete",
        failed.reason.as_str(),
        failed.command_kind,
        failed.message
    )
}
