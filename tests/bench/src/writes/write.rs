//! One timed run: publishes its jobs on a lane and waits for every job's
//! `descriptors.written`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use contract::{Command, DescriptorsWritten, Event, JobId, MessageId};
use sandbox::Sandbox;

use crate::error::BenchError;
use crate::lane::Lane;
use crate::summary::{Run, RunOutcome};

/// Longest pause between two events of a running write before the benchmark gives up.
const EVENT_GAP: Duration = Duration::from_secs(60);

/// What a complete run reported and cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written {
    /// Chunks the `descriptors.written` events listed.
    pub(crate) chunks: usize,
    /// Write calls the sandbox answered during the run.
    pub(crate) calls: u64,
}

/// Publishes `jobs`, which write `objects` objects in all, and waits until each job
/// has reported its `descriptors.written`, or the start command of one has failed.
pub(crate) async fn write(
    lane: &mut Lane,
    sandbox: &Sandbox,
    jobs: &[Command],
    objects: usize,
) -> Result<Run<Written>, BenchError> {
    let calls_before = sandbox.apidae().write_calls();
    let started = Instant::now();
    lane.publish(jobs).await?;
    let ends = ends_of(lane, jobs).await;
    let wall = started.elapsed();
    let calls = sandbox.apidae().write_calls() - calls_before;
    let outcome = match ends {
        Ok(written) => judge(&written, objects, calls),
        Err(why) => RunOutcome::Failed(why),
    };
    Ok(Run { wall, outcome })
}

/// The `descriptors.written` of every job, skipping the events of any other job; or
/// why a job will never report one.
async fn ends_of(lane: &mut Lane, jobs: &[Command]) -> Result<Vec<DescriptorsWritten>, String> {
    let mut pending: HashSet<JobId> = jobs.iter().map(|job| job.meta.job_id).collect();
    let starts: HashSet<MessageId> = jobs.iter().map(|job| job.meta.message_id).collect();
    let mut written = Vec::with_capacity(jobs.len());
    while !pending.is_empty() {
        let events = lane
            .events()
            .until(EVENT_GAP, |event| {
                matches!(
                    event,
                    Event::DescriptorsWritten(_) | Event::CommandFailed(_)
                )
            })
            .await;
        let Some(end) = events.into_iter().last() else {
            continue;
        };
        match end.event {
            Event::DescriptorsWritten(report)
                if end.job_id.is_some_and(|job| pending.remove(&job)) =>
            {
                written.push(report);
            }
            Event::CommandFailed(failed)
                if failed.command_id.is_some_and(|id| starts.contains(&id)) =>
            {
                return Err(format!(
                    "command.failed: {:?}: {}",
                    failed.reason, failed.message
                ));
            }
            _ => {}
        }
    }
    Ok(written)
}

/// A run in which every object was updated and no chunk failed, or why not.
fn judge(written: &[DescriptorsWritten], objects: usize, calls: u64) -> RunOutcome<Written> {
    let updated: u64 = written.iter().map(|report| u64::from(report.updated)).sum();
    let failed_chunks: u64 = written
        .iter()
        .map(|report| u64::from(report.failed_chunks))
        .sum();
    if failed_chunks > 0 {
        return RunOutcome::Failed(format!("{failed_chunks} chunks failed"));
    }
    if updated != objects as u64 {
        return RunOutcome::Failed(format!("{updated} objects updated of {objects}"));
    }
    RunOutcome::Completed(Written {
        chunks: written.iter().map(|report| report.chunks.len()).sum(),
        calls,
    })
}

#[cfg(test)]
mod tests {
    use contract::{ChunkResult, DescriptorOperation};

    use super::*;

    fn report(objects: u32, updated: u32, failed_chunks: u32) -> DescriptorsWritten {
        let chunk = |index| ChunkResult {
            chunk: index,
            updated: Vec::new(),
            not_reported: Vec::new(),
            failure: None,
        };
        DescriptorsWritten {
            connection: "sandbox_apidae".into(),
            operation: DescriptorOperation::Put,
            objects,
            updated,
            not_reported: objects - updated,
            failed_chunks,
            chunks: (0..objects.div_ceil(50)).map(chunk).collect(),
        }
    }

    #[test]
    fn jobs_that_updated_every_object_complete_the_run() {
        let written = [report(2_500, 2_500, 0), report(2_500, 2_500, 0)];
        match judge(&written, 5_000, 100) {
            RunOutcome::Completed(done) => {
                assert_eq!(done.chunks, 100);
                assert_eq!(done.calls, 100);
            }
            RunOutcome::Failed(why) => panic!("{why}"),
        }
    }

    #[test]
    fn a_failed_chunk_or_a_missing_object_fails_the_run() {
        let failed = [report(2_500, 2_450, 1)];
        assert!(matches!(
            judge(&failed, 2_500, 50),
            RunOutcome::Failed(why) if why == "1 chunks failed"
        ));
        let short = [report(2_500, 2_499, 0)];
        assert!(matches!(
            judge(&short, 2_500, 50),
            RunOutcome::Failed(why) if why == "2499 objects updated of 2500"
        ));
    }
}
