//! Runs the writes plan: a sandbox without latency, then for each number of workers a
//! fresh lane and the planned number of timed runs.

use std::time::Duration;

use settings::Settings;

use crate::error::BenchError;
use crate::lane::Lane;
use crate::rig::Rig;
use crate::summary::Run;
use crate::worker::WriteDescriptors;

use super::jobs::{objects_in, put_jobs};
use super::plan::{CHUNK_SIZE, CONNECTION, PREFETCH, Plan, WORKER_COUNTS};
use super::write::{Written, write};

/// Every timed run of the suite, and what the upstream saw.
#[derive(Debug)]
pub(crate) struct Report {
    /// The prefetch each worker ran with, as its settings read it.
    pub(crate) prefetch: u16,
    /// Jobs each run published.
    pub(crate) jobs: usize,
    /// The most objects one job carried.
    pub(crate) largest_job: usize,
    /// Token requests the upstream answered over the whole suite.
    pub(crate) tokens: u64,
    /// The runs of each number of workers, in order.
    pub(crate) lanes: Vec<WorkerRuns>,
}

/// The timed runs of one number of workers.
#[derive(Debug)]
pub(crate) struct WorkerRuns {
    /// Workers consuming the lane's queue.
    pub(crate) workers: usize,
    /// One entry per run, in order.
    pub(crate) runs: Vec<Run<Written>>,
}

/// Starts the sandbox, times every number of workers, and stops it again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let rig = Rig::start(Duration::ZERO).await?;
    let measured = measure(plan, &rig).await;
    let tokens = rig.sandbox().apidae().token_calls();
    rig.shutdown().await;
    Ok(Report {
        tokens,
        ..measured?
    })
}

async fn measure(plan: &Plan, rig: &Rig) -> Result<Report, BenchError> {
    let known = rig.sandbox().apidae().known_objects();
    let ids: Vec<u64> = known.iter().copied().take(plan.objects).collect();
    if ids.len() < plan.objects {
        return Err(BenchError::TooFewObjects {
            wanted: plan.objects,
            known: known.len(),
        });
    }
    let settings = settings(rig)?;
    let sample = put_jobs(&ids);
    let largest_job = sample.iter().map(objects_in).max().unwrap_or(0);
    let mut lanes = Vec::with_capacity(WORKER_COUNTS.len());
    for workers in WORKER_COUNTS {
        let mut lane = Lane::open::<WriteDescriptors>(&settings, workers).await?;
        let mut runs = Vec::with_capacity(plan.runs as usize);
        for index in 1..=plan.runs {
            let run = write(&mut lane, rig.sandbox(), &put_jobs(&ids), plan.objects).await?;
            eprintln!(
                "workers={workers} run {index}/{}: {}",
                plan.runs,
                run.describe()
            );
            runs.push(run);
        }
        lane.close().await?;
        lanes.push(WorkerRuns { workers, runs });
    }
    Ok(Report {
        prefetch: settings.broker.prefetch,
        jobs: sample.len(),
        largest_job,
        tokens: 0,
        lanes,
    })
}

/// The default settings aimed at the sandbox's Apidae stand-in, with chunks of
/// [`CHUNK_SIZE`] objects and [`PREFETCH`] deliveries per worker.
fn settings(rig: &Rig) -> Result<Settings, BenchError> {
    let apidae = format!("{}/apidae", rig.sandbox().base_url());
    rig.settings(
        PREFETCH,
        CONNECTION,
        &[
            ("BASE_URL", apidae.clone()),
            ("TOKEN_URL", format!("{apidae}/oauth/token")),
            ("PAGE_SIZE", CHUNK_SIZE.to_string()),
        ],
    )
}
