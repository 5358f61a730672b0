//! Following a job by its events, with a progress bar or silently.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use broker::{Broker, Outgoing, Subscription};
use contract::{
    Command, Consistency, DriftCounts, Event, EventEnvelope, JobId, SyncCompleted, SyncSubject,
};
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
    #[serde(flatten)]
    pub(crate) counts: Counts,
    pub(crate) elapsed_ms: u64,
    pub(crate) pages_per_second: f64,
    pub(crate) resume_point: String,
    pub(crate) end: contract::SyncEnd,
}

/// The counts of a sync, by the kind of source it read.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Counts {
    /// A démarche: its dossiers and both kinds of deletions.
    Dossiers {
        dossiers: u64,
        deleted_dossiers: u64,
        pending_deleted_dossiers: u64,
    },
    /// An offset listing: its records and what the drift guards saw.
    Records {
        api: &'static str,
        records: u64,
        tombstones: u64,
        consistency: Consistency,
        drift: DriftCounts,
    },
}

impl Summary {
    fn from_completion(job_id: JobId, completed: &SyncCompleted, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
        let counts = match &completed.subject {
            SyncSubject::Ds {
                deleted_records,
                pending_deleted_records,
                ..
            } => Counts::Dossiers {
                dossiers: completed.records,
                deleted_dossiers: *deleted_records,
                pending_deleted_dossiers: *pending_deleted_records,
            },
            SyncSubject::Offset {
                source,
                tombstones,
                consistency,
                drift,
            } => Counts::Records {
                api: source.api(),
                records: completed.records,
                tombstones: *tombstones,
                consistency: *consistency,
                drift: *drift,
            },
        };
        Summary {
            job_id,
            pages: completed.pages,
            counts,
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
            return Ok(());
        }
        let counted = match &self.counts {
            Counts::Dossiers {
                dossiers,
                deleted_dossiers,
                pending_deleted_dossiers,
            } => format!(
                "{dossiers} dossiers, {deleted_dossiers} deleted and {pending_deleted_dossiers} deleted by their user"
            ),
            Counts::Records {
                records,
                tombstones,
                consistency: Consistency::Exact,
                ..
            } => format!("{records} records ({tombstones} tombstones), read consistently"),
            Counts::Records {
                records,
                tombstones,
                drift,
                ..
            } => format!(
                "{records} records ({tombstones} tombstones); the listing moved while it was read \
                 ({} duplicate records, {} shifted page boundaries, {} non-empty pages past the end, \
                 {} oversized and {} repeated pages)",
                drift.duplicate_records,
                drift.shifted_boundaries,
                drift.pages_past_end,
                drift.oversized_pages,
                drift.repeated_pages
            ),
        };
        let end = serde_json::to_value(self.end)?;
        println!(
            "sync completed ({}): {counted} in {} pages, {:.1} s ({} pages/s); resume point {}",
            end.as_str().unwrap_or_default(),
            self.pages,
            self.elapsed_ms as f64 / 1000.0,
            self.pages_per_second,
            self.resume_point,
        );
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
