//! Runs the memory plan: a sandbox whose article table holds the planned records, and
//! for each load and run a fresh worker process that does the load once, measured
//! before it is stopped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::BenchError;
use crate::fanout::{self, TABLE};
use crate::lane::Lane;
use crate::rig::Rig;
use crate::summary::{Run, RunOutcome};
use crate::worker::{FetchPage, WriteDescriptors};

use super::child::{self, Worker, binary_path};
use super::load::{Load, PREFETCH};

/// Records one sync reads.
pub(crate) const RECORDS: u64 = 10_000;
/// Longest pause between two events of a measured job.
const EVENT_GAP: Duration = Duration::from_secs(120);

/// The parameters of the memory suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Processes started for each load, one job each.
    pub(crate) runs: u32,
}

/// What the suite found for one load.
#[derive(Debug)]
pub(crate) enum LoadReport {
    /// The worker binary is not next to the benchmark's executable.
    Skipped {
        /// Where it was looked for.
        binary: PathBuf,
    },
    /// Every run, in order.
    Measured {
        /// One entry per run.
        runs: Vec<Run<Peak>>,
    },
}

/// What the suite found, load by load.
#[derive(Debug)]
pub(crate) struct Report {
    /// Rows of the article table: what each complete sync read.
    pub(crate) rows: u64,
    /// Each load with what it measured.
    pub(crate) loads: Vec<(Load, LoadReport)>,
}

/// What one process held at most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peak {
    /// `VmHWM` once its job completed, in KiB.
    pub(crate) kib: u64,
    /// Pages (a sync) or chunks (a write) the job reported.
    pub(crate) steps: u32,
}

/// Starts a sandbox without latency, measures every load, and stops the sandbox again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let rig = Rig::start(Duration::ZERO).await?;
    fanout::resize_articles(rig.sandbox(), RECORDS);
    let rows = rig.sandbox().divalto().ids(TABLE).len() as u64;
    let mut loads = Vec::with_capacity(Load::ALL.len());
    let mut outcome = Ok(());
    for load in Load::ALL {
        match measure_load(plan, &rig, load).await {
            Ok(report) => loads.push((load, report)),
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    rig.shutdown().await;
    outcome?;
    Ok(Report { rows, loads })
}

async fn measure_load(plan: &Plan, rig: &Rig, load: Load) -> Result<LoadReport, BenchError> {
    let binary = binary_path(load.binary())?;
    if !child::ensure_built(&binary).await? {
        return Ok(LoadReport::Skipped { binary });
    }
    let (connection, keys) = load.connection(rig);
    let settings = rig.settings(PREFETCH, connection, &keys)?;
    let mut lane = match load {
        Load::Pages | Load::LargestSync => Lane::open::<FetchPage>(&settings, 0).await?,
        Load::LargestWrite => Lane::open::<WriteDescriptors>(&settings, 0).await?,
    };
    let env = child::worker_env(rig.env(PREFETCH, connection, &keys), lane.prefix());
    let objects: Vec<u64> = rig.sandbox().apidae().known_objects().into_iter().collect();
    let mut runs = Vec::with_capacity(plan.runs as usize);
    for index in 1..=plan.runs {
        let run = measure_one(&mut lane, load, &binary, &env, &objects).await?;
        eprintln!(
            "memory, {} run {index}/{}: {}",
            load.binary(),
            plan.runs,
            describe(&run)
        );
        runs.push(run);
    }
    lane.close().await?;
    Ok(LoadReport::Measured { runs })
}

/// Starts a process, has it do the load once, reads its peak and stops it.
async fn measure_one(
    lane: &mut Lane,
    load: Load,
    binary: &std::path::Path,
    env: &[(String, String)],
    objects: &[u64],
) -> Result<Run<Peak>, BenchError> {
    let mut worker = Worker::spawn(binary, env)?;
    let command = load.command(objects);
    let job = command.meta.job_id;
    let started = Instant::now();
    lane.publish(std::slice::from_ref(&command)).await?;
    let end = tokio::select! {
        end = lane.end_of(job, EVENT_GAP) => end,
        exited = worker.exited() => {
            return Err(BenchError::WorkerStop(match exited {
                Ok(status) => format!("{} exited before its job ended: {status}", load.binary()),
                Err(error) => error.to_string(),
            }));
        }
    };
    let wall = started.elapsed();
    let kib = worker.peak_resident_kib()?;
    let status = worker.stop().await?;
    let outcome = match load.completed(&end.event) {
        Ok(_) if !status.success() => {
            RunOutcome::Failed(format!("{} ended with {status}", load.binary()))
        }
        Ok(steps) => RunOutcome::Completed(Peak { kib, steps }),
        Err(why) => RunOutcome::Failed(why),
    };
    Ok(Run { wall, outcome })
}

fn describe(run: &Run<Peak>) -> String {
    match &run.outcome {
        RunOutcome::Completed(peak) => format!("{}, VmHWM {} KiB", run.describe(), peak.kib),
        RunOutcome::Failed(_) => run.describe(),
    }
}
