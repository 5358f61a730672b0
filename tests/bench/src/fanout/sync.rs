//! One timed sync: publishes it on a lane and waits for its end.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use contract::{
    Command, CommandBody, Consistency, DivaltoQuery, DivaltoSync, Event, SyncCompleted, SyncSubject,
};

use crate::error::BenchError;
use crate::lane::Lane;
use crate::summary::{Run, RunOutcome};

use super::bench::{CONNECTION, TABLE};

/// Longest pause between two events of a running sync before the benchmark gives up.
const EVENT_GAP: Duration = Duration::from_secs(60);

/// The figures a `sync.completed` reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    /// `elapsed_ms`: from the start of the sync to its last page, on the worker's clock.
    pub(crate) job_elapsed: Duration,
    /// Pages published.
    pub(crate) pages: u32,
}

/// Publishes a sync of the whole article table with `window` pages in flight and
/// waits for its `sync.completed` or `command.failed`; `rows` is what a complete sync
/// reads.
pub(crate) async fn sync(
    lane: &mut Lane,
    window: u32,
    rows: u64,
) -> Result<Run<Completion>, BenchError> {
    let command = sync_command(window);
    let job = command.meta.job_id;
    let started = Instant::now();
    lane.publish(std::slice::from_ref(&command)).await?;
    let end = lane.end_of(job, EVENT_GAP).await;
    let wall = started.elapsed();
    Ok(Run {
        wall,
        outcome: judge(&end.event, rows),
    })
}

/// A Divalto sync of the article table, every field, `window` pages in flight.
fn sync_command(window: u32) -> Command {
    Command::start_job(
        CONNECTION,
        CommandBody::DivaltoSync(DivaltoSync {
            query: DivaltoQuery {
                dhoq: TABLE.dhoq().into(),
                recordsql: TABLE.recordsql().into(),
                id_field: TABLE.id_field().into(),
                fields: Vec::new(),
                orderby: None,
                where_clause: None,
            },
            window: NonZeroU32::new(window),
        }),
    )
}

/// A completion that read `rows` records with exact consistency, or why not.
fn judge(end: &Event, rows: u64) -> RunOutcome<Completion> {
    let completed = match end {
        Event::SyncCompleted(completed) => completed,
        Event::CommandFailed(failed) => {
            return RunOutcome::Failed(format!("command.failed: {:?}", failed.reason));
        }
        _ => return RunOutcome::Failed("ended without a completion".into()),
    };
    match consistency(completed) {
        Some(Consistency::Exact) if completed.records == rows => {
            RunOutcome::Completed(Completion {
                job_elapsed: Duration::from_millis(completed.elapsed_ms),
                pages: completed.pages,
            })
        }
        Some(Consistency::Exact) => {
            RunOutcome::Failed(format!("{} records for {rows} rows", completed.records))
        }
        Some(Consistency::DriftDetected) => RunOutcome::Failed("drift detected".into()),
        None => RunOutcome::Failed("not an offset completion".into()),
    }
}

/// The consistency an offset sync reported; none for another kind of sync.
fn consistency(completed: &SyncCompleted) -> Option<Consistency> {
    match &completed.subject {
        SyncSubject::Offset { consistency, .. } => Some(*consistency),
        _ => None,
    }
}
