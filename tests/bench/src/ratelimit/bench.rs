//! Runs the ratelimit plan: a sandbox without latency, a lane of [`WORKERS`] fetch-page
//! workers in the benchmark's process, each with its own limiter, and the planned syncs.

use std::time::Duration;

use crate::ds_sync::{Synced, settings, time_syncs};
use crate::error::BenchError;
use crate::rig::Rig;
use crate::summary::Run;

/// Requests the connection may make per [`PER_SECONDS`].
pub(crate) const REQUESTS: u32 = 20;
/// The period of [`REQUESTS`], in seconds.
pub(crate) const PER_SECONDS: u32 = 1;
/// Requests the connection may make back to back.
pub(crate) const BURST: u32 = 1;
/// Dossiers per page: small, so one sync makes a few hundred requests.
pub(crate) const PAGE_SIZE: u32 = 10;
/// Fetch-page workers consuming the queue, each building its own clients.
pub(crate) const WORKERS: usize = 3;

/// The parameters of the ratelimit suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Syncs timed.
    pub(crate) runs: u32,
}

impl Plan {
    /// The configured limit in requests per second.
    pub(crate) fn limit(&self) -> f64 {
        f64::from(REQUESTS) / f64::from(PER_SECONDS)
    }
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
    let settings = settings(
        rig,
        &[
            ("PAGE_SIZE", PAGE_SIZE.to_string()),
            ("RATE_LIMIT__REQUESTS", REQUESTS.to_string()),
            ("RATE_LIMIT__PER_SECONDS", PER_SECONDS.to_string()),
            ("RATE_LIMIT__BURST", BURST.to_string()),
        ],
    )?;
    time_syncs(rig, &settings, WORKERS, plan.runs, "ratelimit").await
}
