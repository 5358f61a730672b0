//! Runs the ratelimit plan: a sandbox without latency, a topology the benchmark
//! declares, [`WORKERS`] fetch-page processes consuming it as replicas would, each with
//! its own rate gate on the connection's one budget in Redis, and the planned syncs.

use std::path::Path;
use std::time::Duration;

use futures_util::future::select_all;

use crate::ds_sync::{CONNECTION, Listed, Synced, sync};
use crate::error::BenchError;
use crate::lane::Lane;
use crate::memory::child::{self, FETCH_PAGE, Worker, binary_path};
use crate::rig::Rig;
use crate::summary::{Run, RunOutcome};
use crate::worker::FetchPage;

/// Requests the connection may make per [`PER_SECONDS`].
pub(crate) const REQUESTS: u32 = 20;
/// The period of [`REQUESTS`], in seconds.
pub(crate) const PER_SECONDS: u32 = 1;
/// Requests the connection may make back to back.
pub(crate) const BURST: u32 = 1;
/// Dossiers per page: small, so one sync makes a few hundred requests.
pub(crate) const PAGE_SIZE: u32 = 10;
/// Fetch-page processes consuming the queue, each building its own clients and gates.
pub(crate) const WORKERS: usize = 3;
/// Deliveries each process may hold at once: the default of the settings.
const PREFETCH: u16 = 16;
/// Time the processes get to connect and start consuming before the first sync.
const STARTUP: Duration = Duration::from_secs(2);

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

/// Finds (or builds) the fetch-page binary, starts a sandbox without latency, times the
/// planned syncs through [`WORKERS`] processes, and stops everything again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let binary = binary_path(FETCH_PAGE)?;
    if !child::ensure_built(&binary).await? {
        return Err(BenchError::Process(std::io::Error::other(format!(
            "no fetch-page binary at {}; build it first",
            binary.display()
        ))));
    }
    let rig = Rig::start(Duration::ZERO).await?;
    let measured = measure(plan, &rig, &binary).await;
    rig.shutdown().await;
    Ok(Report { runs: measured? })
}

async fn measure(plan: &Plan, rig: &Rig, binary: &Path) -> Result<Vec<Run<Synced>>, BenchError> {
    let keys = [
        ("BASE_URL", rig.sandbox().base_url()),
        ("PAGE_SIZE", PAGE_SIZE.to_string()),
        ("RATE_LIMIT__REQUESTS", REQUESTS.to_string()),
        ("RATE_LIMIT__PER_SECONDS", PER_SECONDS.to_string()),
        ("RATE_LIMIT__BURST", BURST.to_string()),
    ];
    let settings = rig.settings(PREFETCH, CONNECTION, &keys)?;
    let mut lane = Lane::open::<FetchPage>(&settings, 0).await?;
    let env = child::worker_env(rig.env(PREFETCH, CONNECTION, &keys), lane.prefix());
    let mut workers = (0..WORKERS)
        .map(|_| Worker::spawn(binary, &env))
        .collect::<Result<Vec<_>, _>>()?;
    tokio::time::sleep(STARTUP).await;
    let listed = Listed::in_sandbox(rig.sandbox());
    let mut runs = Vec::with_capacity(plan.runs as usize);
    for index in 1..=plan.runs {
        let any_exit = select_all(workers.iter_mut().map(|worker| Box::pin(worker.exited())));
        let run = tokio::select! {
            run = sync(&mut lane, rig.sandbox(), listed) => run?,
            (exited, _, _) = any_exit => {
                return Err(BenchError::WorkerStop(match exited {
                    Ok(status) => format!("a fetch-page process exited during a sync: {status}"),
                    Err(error) => error.to_string(),
                }));
            }
        };
        eprintln!("ratelimit run {index}/{}: {}", plan.runs, describe(&run));
        runs.push(run);
    }
    for worker in workers {
        let status = worker.stop().await?;
        if !status.success() {
            eprintln!("ratelimit: a fetch-page process ended with {status}");
        }
    }
    lane.close().await?;
    Ok(runs)
}

fn describe(run: &Run<Synced>) -> String {
    match &run.outcome {
        RunOutcome::Completed(synced) => format!(
            "{}, {} requests, {:.1} req/s, busiest 1 s {}",
            run.describe(),
            synced.requests,
            synced.requests as f64 / run.wall.as_secs_f64(),
            synced.busiest_second
        ),
        RunOutcome::Failed(_) => run.describe(),
    }
}
