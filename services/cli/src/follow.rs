//! Following a job by its events, with a progress bar or silently.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use broker::{Broker, Outgoing, Subscription};
use contract::{Command, Event, EventEnvelope, JobId, SyncCompleted};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// The longest wait for the next event of a running job: longer than the longest
/// retry hold (a rate-limit reset or a transient backoff, about a minute each).
const EVENT_TIMEOUT: Duration = Duration::from_secs(600);

/// What a finished sync reports, printed as text or JSON.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub(crate) job_id: JobId,
    pub(crate) pages: u32,
    pub(crate) dossiers: u64,
    pub(crate) deleted_dossiers: u64,
    pub(crate) pending_deleted_dossiers: u64,
    pub(crate) elapsed_ms: u64,
    pub(crate) pages_per_second: f64,
    pub(crate) resume_point: String,
    pub(crate) end: contract::SyncEnd,
}

impl Summary {
    fn from_completion(job_id: JobId, completed: &SyncCompleted, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
        Summary {
            job_id,
            pages: completed.pages,
            dossiers: completed.records,
            deleted_dossiers: completed.deleted_records,
            pending_deleted_dossiers: completed.pending_deleted_records,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            pages_per_second: (f64::from(completed.pages) / seconds * 10.0).round() / 10.0,
            resume_point: completed.resume_point.to_rfc3339(),
            end: completed.end,
        }
    }

    /// Prints the summary, as one JSON object when `json` is set.
    pub(crate) fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string(self)?);
        } else {
            println!(
                "sync completed: {} dossiers, {} deleted and {} deleted by their user in {} pages, {:.1} s ({} pages/s); next time pass --since {}",
                self.dossiers,
                self.deleted_dossiers,
                self.pending_deleted_dossiers,
                self.pages,
                self.elapsed_ms as f64 / 1000.0,
                self.pages_per_second,
                self.resume_point,
            );
        }
        Ok(())
    }
}

/// Publishes a command that starts a job, then follows the job to its end.
pub(crate) async fn publish_and_follow(
    broker: &Broker,
    command: &Command,
    quiet: bool,
) -> anyhow::Result<Summary> {
    let mut events = broker.subscribe_events("#").await?;
    broker
        .publisher()
        .publish(&Outgoing::command(command, Vec::new()))
        .await
        .context("publishing the command")?;
    if !quiet {
        eprintln!("published job {}", command.meta.job_id);
    }
    follow_job(&mut events, command.meta.job_id, quiet).await
}

/// Reads events until the job completes or fails; shows progress unless `quiet`.
async fn follow_job(
    events: &mut Subscription,
    job_id: JobId,
    quiet: bool,
) -> anyhow::Result<Summary> {
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
    let (mut pages, mut dossiers) = (0u32, 0u64);
    loop {
        let message = tokio::time::timeout(EVENT_TIMEOUT, events.next())
            .await
            .with_context(|| {
                format!(
                    "no news of job {job_id} for {EVENT_TIMEOUT:?}; is a fetch-page worker running?"
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
        match envelope.event {
            Event::PageFetched(page) => {
                pages += 1;
                dossiers += u64::from(page.record_count);
                let rate = f64::from(pages) / started.elapsed().as_secs_f64().max(f64::EPSILON);
                bar.set_message(format!(
                    "{pages} pages, {dossiers} records, {rate:.1} pages/s"
                ));
            }
            Event::SyncCompleted(completed) => {
                bar.finish_and_clear();
                return Ok(Summary::from_completion(
                    job_id,
                    &completed,
                    started.elapsed(),
                ));
            }
            Event::CommandFailed(failed) => {
                bar.finish_and_clear();
                bail!(
                    "job {job_id} failed ({}): {}",
                    failed.reason.as_str(),
                    failed.message
                );
            }
        }
    }
}
