//! Runs the plan: for each window, a fresh lane and the planned number of timed syncs.

use crate::error::BenchError;
use crate::lane::{Lane, Run, RunOutcome};
use crate::plan::Plan;
use crate::rig::Rig;

/// Every timed run of a benchmark, and what the upstream saw.
#[derive(Debug)]
pub(crate) struct Report {
    /// Rows of the article table: what each complete sync read.
    pub(crate) rows: u64,
    /// The prefetch each worker ran with.
    pub(crate) prefetch: u16,
    /// Logins the upstream answered over the whole benchmark.
    pub(crate) logins: u64,
    /// The runs of each window, in the plan's order.
    pub(crate) windows: Vec<WindowRuns>,
}

/// The timed runs of one window.
#[derive(Debug)]
pub(crate) struct WindowRuns {
    /// Pages in flight.
    pub(crate) window: u32,
    /// One entry per run, in order.
    pub(crate) runs: Vec<Run>,
}

/// Starts the sandbox, times every window of the plan, and stops it again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let rig = Rig::start(plan).await?;
    let measured = measure(plan, &rig).await;
    let logins = rig.logins();
    let rows = rig.rows();
    rig.shutdown().await;
    let (prefetch, windows) = measured?;
    Ok(Report {
        rows,
        prefetch,
        logins,
        windows,
    })
}

async fn measure(plan: &Plan, rig: &Rig) -> Result<(u16, Vec<WindowRuns>), BenchError> {
    let prefetch = u16::try_from(plan.largest_window()).unwrap_or(u16::MAX);
    let settings = rig.settings(prefetch)?;
    let mut windows = Vec::with_capacity(plan.windows.len());
    for &window in &plan.windows {
        let mut lane = Lane::open(&settings).await?;
        let mut runs = Vec::with_capacity(plan.runs as usize);
        for index in 1..=plan.runs {
            let run = lane.sync(window, rig.rows()).await?;
            progress(window, index, plan.runs, &run);
            runs.push(run);
        }
        lane.close().await?;
        windows.push(WindowRuns { window, runs });
    }
    Ok((prefetch, windows))
}

/// One line on stderr per run.
fn progress(window: u32, index: u32, runs: u32, run: &Run) {
    let seconds = run.wall.as_secs_f64();
    match &run.outcome {
        RunOutcome::Completed(_) => eprintln!("W={window} run {index}/{runs}: {seconds:.3} s"),
        RunOutcome::Failed(why) => {
            eprintln!("W={window} run {index}/{runs}: {seconds:.3} s, failed: {why}");
        }
    }
}
