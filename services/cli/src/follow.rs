//! Following a job by its events, with a progress bar or silently; `estafette follow`
//! takes up a job someone else (or an earlier run) published.
//!
//! The events come through the job's follow queue (`Broker::follow_job`), declared
//! before the command is published. It outlives the follower's connection and a
//! broker restart: when the connection is lost, the follower reconnects and reads on
//! where it stopped, so no event of the job is missed. Once the job has ended, the
//! queue is deleted.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use broker::{Broker, FOLLOW_QUEUE_EXPIRES, Subscription};
use clap::Args;
use contract::{
    Command, CommandFailed, DescriptorsWritten, Event, EventEnvelope, JobFailed, JobId, StatusSent,
};
use indicatif::{ProgressBar, ProgressStyle};
use settings::Settings;

use crate::sync_summary::{self, Summary};

/// The longest wait for the next event of a running job: longer than the longest
/// retry hold (a rate-limit reset or a transient backoff, about a minute each).
const EVENT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a follower tries to reach the broker again after losing it.
const RECONNECT_WITHIN: Duration = Duration::from_secs(300);

/// What one event of the followed job means to the follower.
pub(crate) enum Step<T> {
    /// Nothing to show.
    Wait,
    /// Show this as the job's progress.
    Progress(String),
    /// The job ended with this outcome.
    Finished(T),
}

impl<T> Step<T> {
    fn map<U>(self, finished: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Step::Wait => Step::Wait,
            Step::Progress(message) => Step::Progress(message),
            Step::Finished(outcome) => Step::Finished(finished(outcome)),
        }
    }
}

/// Publishes a command that starts a job, then hands each of the job's events, with
/// the time since publishing, to `step` until it returns an outcome or an error.
pub(crate) async fn publish_and_follow<T>(
    broker: &Broker,
    command: &Command,
    quiet: bool,
    step: impl FnMut(Event, Duration) -> anyhow::Result<Step<T>>,
) -> anyhow::Result<T> {
    let job_id = command.meta.job_id;
    let events = broker.follow_job(job_id, true).await?;
    broker
        .publish_command(command)
        .await
        .context("publishing the command")?;
    // Said on standard error even with --json: whoever loses this follower needs
    // the id to take the job up again.
    eprintln!("published job {job_id} (`estafette follow {job_id}` follows it again)");
    let waiting_for = format!("is a {} worker running?", command.body.worker().as_str());
    follow(broker, job_id, events, quiet, &waiting_for, step).await
}

/// Hands each event of `job_id`, from `events` on, to `step` until it returns an
/// outcome or an error; then forgets the job's follow queue. A lost connection is
/// taken up again; only a timeout leaves the queue for another follower.
pub(crate) async fn follow<T>(
    broker: &Broker,
    job_id: JobId,
    mut events: Subscription,
    quiet: bool,
    waiting_for: &str,
    mut step: impl FnMut(Event, Duration) -> anyhow::Result<Step<T>>,
) -> anyhow::Result<T> {
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
    let ended = loop {
        let next = tokio::time::timeout(EVENT_TIMEOUT, events.next())
            .await
            .with_context(|| {
                format!("no news of job {job_id} for {EVENT_TIMEOUT:?}; {waiting_for}")
            })?;
        let Some(message) = next else {
            bar.set_message("lost the broker; reconnecting");
            broker
                .reconnect(RECONNECT_WITHIN)
                .await
                .context("the broker connection closed and could not be opened again")?;
            events = broker.follow_job(job_id, true).await?;
            continue;
        };
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
            Ok(Step::Finished(outcome)) => break Ok(outcome),
            Err(error) => break Err(error),
        }
    };
    bar.finish_and_clear();
    drop(events);
    broker.forget_follow(job_id).await;
    ended
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

#[derive(Args)]
pub(crate) struct FollowArgs {
    /// The job's id, as `estafette sync|write|status` printed it.
    job: uuid::Uuid,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// How a followed job of any kind ended.
enum Ended {
    Sync(Summary),
    Written(DescriptorsWritten),
    Sent(StatusSent),
}

/// `estafette follow JOB`: takes up a job whose follow queue still exists (its
/// publisher is following it, or stopped less than [`FOLLOW_QUEUE_EXPIRES`] ago),
/// reads the events it holds and those to come, and prints the job's outcome as the
/// command that published it would have.
pub(crate) async fn run(args: FollowArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_process_env()?;
    let broker = crate::target::connect(&settings).await?;
    let job_id = JobId(args.job);
    let events = broker.follow_job(job_id, false).await.with_context(|| {
        format!(
            "job {job_id} has no follow queue: nobody published it with `estafette`, it \
             ended and was followed to its end, or nobody followed it for {} min",
            FOLLOW_QUEUE_EXPIRES.as_secs() / 60
        )
    })?;
    let mut sync = sync_summary::sync_step(job_id);
    let mut chunks = crate::write::chunk_step(job_id);
    let step = |event: Event, elapsed: Duration| match event {
        Event::PageFetched(_) | Event::SyncCompleted(_) => {
            Ok(sync(event, elapsed)?.map(Ended::Sync))
        }
        Event::ChunkWritten(_) | Event::DescriptorsWritten(_) => {
            Ok(chunks(event, elapsed)?.map(Ended::Written))
        }
        Event::StatusSent(sent) => Ok(Step::Finished(Ended::Sent(sent))),
        Event::CommandFailed(failed) if !failed.is_job_step() => {
            Err(command_failed(job_id, &failed))
        }
        Event::JobFailed(failed) => Err(job_failed(job_id, &failed)),
        _ => Ok(Step::Wait),
    };
    let waiting_for = "is a worker running?";
    match follow(&broker, job_id, events, args.json, waiting_for, step).await? {
        Ended::Sync(summary) => {
            summary.print(args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Ended::Written(written) => crate::write::print(job_id, &written, args.json),
        Ended::Sent(sent) => crate::status::print(job_id, sent, args.json),
    }
}
