//! Runs the chain plan: one fetch-page worker, a connection whose rate limit never
//! holds a request back, and the planned number of full syncs.

use std::time::Duration;

use crate::ds_sync::{Synced, settings, time_syncs};
use crate::error::BenchError;
use crate::rig::Rig;
use crate::summary::Run;

/// Dossiers per page: the most demarches-simplifiees serves.
pub(crate) const PAGE_SIZE: u32 = 100;

/// The parameters of the chain suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Syncs timed.
    pub(crate) runs: u32,
}

/// Every timed sync, in order.
#[derive(Debug)]
pub(crate) struct Report {
    /// One entry per run.
    pub(crate) runs: Vec<Run<Synced>>,
}

/// Starts a sandbox without latency, times the planned syncs, and stops it again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let rig = Rig::start(Duration::ZERO).await?;
    let measured = measure(plan, &rig).await;
    rig.shutdown().await;
    Ok(Report { runs: measured? })
}

async fn measure(plan: &Plan, rig: &Rig) -> Result<Vec<Run<Synced>>, BenchError> {
    let settings = settings(rig, &[("PAGE_SIZE", PAGE_SIZE.to_string())])?;
    time_syncs(rig, &settings, 1, plan.runs, "chain").await
}
