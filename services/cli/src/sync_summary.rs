//! What a finished sync reports, and how a running sync's events become progress.

use std::time::Duration;

use contract::{Consistency, DriftCounts, Event, JobId, SyncCompleted, SyncSubject};
use serde::Serialize;

use crate::follow::{self, Step};

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
        page_size: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        server_cap: Option<u32>,
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
                page_size,
                server_cap,
                ..
            } => Counts::Records {
                api: source.api(),
                records: completed.records,
                tombstones: *tombstones,
                consistency: *consistency,
                drift: *drift,
                page_size: *page_size,
                server_cap: *server_cap,
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
                server_cap,
                ..
            } => format!(
                "{records} records ({tombstones} tombstones), read consistently{}",
                capped(*server_cap)
            ),
            Counts::Records {
                records,
                tombstones,
                drift,
                server_cap,
                ..
            } => format!(
                "{records} records ({tombstones} tombstones); the listing moved while it was read \
                 ({} duplicate records, {} shifted page boundaries, {} non-empty pages past the end, \
                 {} oversized and {} repeated pages, {} stretches unread){}",
                drift.duplicate_records,
                drift.shifted_boundaries,
                drift.pages_past_end,
                drift.oversized_pages,
                drift.repeated_pages,
                drift.unread_gaps,
                capped(*server_cap)
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

/// Follows a sync: pages and records so far, then its [`Summary`]; a failure ends it.
pub(crate) fn sync_step(
    job_id: JobId,
) -> impl FnMut(Event, Duration) -> anyhow::Result<Step<Summary>> {
    let (mut pages, mut records) = (0u32, 0u64);
    move |event, elapsed| match event {
        Event::PageFetched(page) => {
            pages += 1;
            records += u64::from(page.record_count);
            let rate = f64::from(pages) / elapsed.as_secs_f64().max(f64::EPSILON);
            Ok(Step::Progress(format!(
                "{pages} pages, {records} records, {rate:.1} pages/s"
            )))
        }
        Event::SyncCompleted(completed) => Ok(Step::Finished(Summary::from_completion(
            job_id, &completed, elapsed,
        ))),
        // A page's failure fails the job: `job.failed` follows and says so.
        Event::CommandFailed(failed) if !failed.is_job_step() => {
            Err(follow::command_failed(job_id, &failed))
        }
        Event::JobFailed(failed) => Err(follow::job_failed(job_id, &failed)),
        _ => Ok(Step::Wait),
    }
}

/// What the summary says of a record cap the sync found.
fn capped(server_cap: Option<u32>) -> String {
    server_cap.map_or(String::new(), |cap| {
        format!(" in pages of {cap}, the server's record cap")
    })
}
