//! Runs the memory plan: a sandbox whose article table holds the planned records, a
//! topology the benchmark declares, and for each run a fresh fetch-page process that
//! reads the whole table once, measured before it is stopped.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::BenchError;
use crate::fanout::{self, CONNECTION, TABLE};
use crate::lane::Lane;
use crate::rig::Rig;
use crate::summary::{Run, RunOutcome};
use crate::worker::FetchPage;

use super::child::{self, Worker, binary_path};

/// Records one sync reads.
pub(crate) const RECORDS: u64 = 10_000;
/// Pages of one sync in flight at once.
pub(crate) const WINDOW: u32 = 8;
/// Deliveries the worker may hold at once: the default of the settings.
pub(crate) const PREFETCH: u16 = 16;

/// The parameters of the memory suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Processes started, one sync each.
    pub(crate) runs: u32,
}

/// What the suite found.
#[derive(Debug)]
pub(crate) enum Report {
    /// The fetch-page binary is not next to the benchmark's executable.
    Skipped {
        /// Where it was looked for.
        binary: PathBuf,
    },
    /// Every run, in order.
    Measured {
        /// The binary that ran.
        binary: PathBuf,
        /// Rows of the article table: what each complete sync read.
        rows: u64,
        /// One entry per run.
        runs: Vec<Run<Peak>>,
    },
}

/// What one process held at most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peak {
    /// `VmHWM` once its sync completed, in KiB.
    pub(crate) kib: u64,
    /// Pages the sync published.
    pub(crate) pages: u32,
}

/// Finds the binary, starts a sandbox without latency, measures every run, and stops
/// the sandbox again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let binary = binary_path()?;
    if !child::ensure_built(&binary).await? {
        return Ok(Report::Skipped { binary });
    }
    let rig = Rig::start(Duration::ZERO).await?;
    fanout::resize_articles(rig.sandbox(), RECORDS);
    let rows = rig.sandbox().divalto().ids(TABLE).len() as u64;
    let measured = measure(plan, &rig, &binary, rows).await;
    rig.shutdown().await;
    Ok(Report::Measured {
        binary,
        rows,
        runs: measured?,
    })
}

async fn measure(
    plan: &Plan,
    rig: &Rig,
    binary: &std::path::Path,
    rows: u64,
) -> Result<Vec<Run<Peak>>, BenchError> {
    let keys = fanout::connection_keys(rig);
    let settings = rig.settings(PREFETCH, CONNECTION, &keys)?;
    let mut lane = Lane::open::<FetchPage>(&settings, 0).await?;
    let env = child::worker_env(rig.env(PREFETCH, CONNECTION, &keys), lane.prefix());
    let mut runs = Vec::with_capacity(plan.runs as usize);
    for index in 1..=plan.runs {
        let run = measure_one(&mut lane, binary, &env, rows).await?;
        eprintln!("memory run {index}/{}: {}", plan.runs, describe(&run));
        runs.push(run);
    }
    lane.close().await?;
    Ok(runs)
}

/// Starts a process, has it read the table once, reads its peak and stops it.
async fn measure_one(
    lane: &mut Lane,
    binary: &std::path::Path,
    env: &[(String, String)],
    rows: u64,
) -> Result<Run<Peak>, BenchError> {
    let mut worker = Worker::spawn(binary, env)?;
    let synced = tokio::select! {
        synced = fanout::sync(lane, WINDOW, rows) => synced?,
        exited = worker.exited() => {
            return Err(BenchError::WorkerStop(match exited {
                Ok(status) => format!("fetch-page exited before the sync ended: {status}"),
                Err(error) => error.to_string(),
            }));
        }
    };
    let kib = worker.peak_resident_kib()?;
    let status = worker.stop().await?;
    let outcome = match synced.outcome {
        RunOutcome::Completed(_) if !status.success() => {
            RunOutcome::Failed(format!("fetch-page ended with {status}"))
        }
        RunOutcome::Completed(completion) => RunOutcome::Completed(Peak {
            kib,
            pages: completion.pages,
        }),
        RunOutcome::Failed(why) => RunOutcome::Failed(why),
    };
    Ok(Run {
        wall: synced.wall,
        outcome,
    })
}

fn describe(run: &Run<Peak>) -> String {
    match &run.outcome {
        RunOutcome::Completed(peak) => format!("{}, VmHWM {} KiB", run.describe(), peak.kib),
        RunOutcome::Failed(_) => run.describe(),
    }
}
