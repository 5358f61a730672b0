//! Runs the cpu plan: for each load, one fetch-page process that does one sync to warm
//! up (connections, pools, first allocations), then batches of syncs, each batch
//! measured by the process's processor time before and after it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::chain::PAGE_SIZE as DS_PAGE_SIZE;
use crate::ds_sync::{self, Listed, PREFETCH};
use crate::error::BenchError;
use crate::fanout::{self, TABLE};
use crate::lane::Lane;
use crate::memory::child::{self, CpuTime, FETCH_PAGE, Worker, binary_path};
use crate::rig::Rig;
use crate::summary::{Run, RunOutcome};
use crate::worker::FetchPage;

/// Rows of the article table an offset sync reads: 100 pages of 100 new records.
pub(crate) const OFFSET_ROWS: u64 = 10_000;
/// Pages of an offset sync in flight at once.
pub(crate) const OFFSET_WINDOW: u32 = 8;

/// The parameters of the cpu suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Measured batches of each load.
    pub(crate) runs: u32,
}

/// What one measured process reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// Full syncs of the sandbox's large démarche: a cursor chain per listing, pages
    /// of [`DS_PAGE_SIZE`] dossiers.
    DsChain,
    /// The same, the worker's runtime given a thread per core (`TOKIO_WORKER_THREADS`
    /// set to the number of cores) instead of the worker's default of one.
    DsChainThreadPerCore,
    /// Divalto syncs of [`OFFSET_ROWS`] articles, [`OFFSET_WINDOW`] pages in flight.
    OffsetSync,
}

impl Load {
    /// Every load, in the order they are measured.
    pub(crate) const ALL: [Load; 3] = [Load::DsChain, Load::DsChainThreadPerCore, Load::OffsetSync];

    /// What the load is, for the tables.
    pub(crate) fn describe(self) -> String {
        match self {
            Load::DsChain => format!("DS cursor chain, {DS_PAGE_SIZE}-dossier pages"),
            Load::DsChainThreadPerCore => format!(
                "DS cursor chain, {DS_PAGE_SIZE}-dossier pages, TOKIO_WORKER_THREADS={}",
                cores()
            ),
            Load::OffsetSync => format!(
                "offset sync, {}-record pages, window {OFFSET_WINDOW}",
                fanout::PAGE_SIZE
            ),
        }
    }

    /// Syncs in one measured batch: about a thousand pages, so the process's
    /// processor time (counted in clock ticks of 10 ms) is read to about 1 %.
    pub(crate) fn syncs_per_batch(self) -> u32 {
        match self {
            Load::DsChain | Load::DsChainThreadPerCore => 40,
            Load::OffsetSync => 10,
        }
    }
}

/// The cores this process may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// What a load measured.
#[derive(Debug)]
pub(crate) struct LoadReport {
    /// The load.
    pub(crate) load: Load,
    /// Its batches; none when the binary is missing.
    pub(crate) batches: Option<Vec<Run<Cost>>>,
}

/// What the suite found.
#[derive(Debug)]
pub(crate) struct Report {
    /// Where the fetch-page binary was looked for.
    pub(crate) binary: PathBuf,
    /// Each load with what it measured.
    pub(crate) loads: Vec<LoadReport>,
}

/// The processor time of one batch and the pages it read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cost {
    /// Pages the batch's syncs reported, together.
    pub(crate) pages: u64,
    /// What the worker process used meanwhile.
    pub(crate) cpu: CpuTime,
}

impl Cost {
    /// User and system milliseconds per page.
    pub(crate) fn per_page_ms(&self) -> (f64, f64) {
        let pages = self.pages.max(1) as f64;
        (
            self.cpu.user.as_secs_f64() * 1000.0 / pages,
            self.cpu.system.as_secs_f64() * 1000.0 / pages,
        )
    }
}

/// Starts a sandbox without latency, measures each load, and stops the sandbox again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let binary = binary_path(FETCH_PAGE)?;
    if !child::ensure_built(&binary).await? {
        return Ok(Report {
            binary,
            loads: Load::ALL
                .into_iter()
                .map(|load| LoadReport {
                    load,
                    batches: None,
                })
                .collect(),
        });
    }
    let ticks = child::clock_ticks_per_second().await?;
    let rig = Rig::start(Duration::ZERO).await?;
    fanout::resize_articles(rig.sandbox(), OFFSET_ROWS);
    let mut loads = Vec::with_capacity(Load::ALL.len());
    let mut outcome = Ok(());
    for load in Load::ALL {
        match measure_load(plan, &rig, &binary, ticks, load).await {
            Ok(batches) => loads.push(LoadReport {
                load,
                batches: Some(batches),
            }),
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    rig.shutdown().await;
    outcome?;
    Ok(Report { binary, loads })
}

/// One process for the load: a warm-up sync, then the planned batches.
async fn measure_load(
    plan: &Plan,
    rig: &Rig,
    binary: &std::path::Path,
    ticks: u64,
    load: Load,
) -> Result<Vec<Run<Cost>>, BenchError> {
    let (connection, keys) = match load {
        Load::DsChain | Load::DsChainThreadPerCore => (
            ds_sync::CONNECTION,
            ds_sync::connection_keys(rig, &[("PAGE_SIZE", DS_PAGE_SIZE.to_string())]),
        ),
        Load::OffsetSync => (fanout::CONNECTION, fanout::connection_keys(rig).to_vec()),
    };
    let settings = rig.settings(PREFETCH, connection, &keys)?;
    let mut lane = Lane::open::<FetchPage>(&settings, 0).await?;
    let mut env = child::worker_env(rig.env(PREFETCH, connection, &keys), lane.prefix());
    if load == Load::DsChainThreadPerCore {
        env.push(("TOKIO_WORKER_THREADS".to_owned(), cores().to_string()));
    }
    let worker = Worker::spawn(binary, &env)?;
    let batches = measure_batches(plan, &mut lane, rig, &worker, ticks, load).await;
    let stopped = worker.stop().await;
    lane.close().await?;
    let batches = batches?;
    stopped?;
    Ok(batches)
}

/// A warm-up sync, then the planned batches. A worker that dies shows as a sync whose
/// events stop coming, or as its `/proc` entry gone.
async fn measure_batches(
    plan: &Plan,
    lane: &mut Lane,
    rig: &Rig,
    worker: &Worker,
    ticks: u64,
    load: Load,
) -> Result<Vec<Run<Cost>>, BenchError> {
    sync_once(lane, rig, load)
        .await?
        .map_err(|why| BenchError::WorkerStop(format!("the warm-up sync failed: {why}")))?;
    let mut batches = Vec::with_capacity(plan.runs as usize);
    for index in 1..=plan.runs {
        let batch = batch(lane, rig, worker, ticks, load).await?;
        eprintln!(
            "cpu, {} batch {index}/{}: {}",
            load.describe(),
            plan.runs,
            describe(&batch)
        );
        batches.push(batch);
    }
    Ok(batches)
}

/// One batch of syncs, one after the other, and the worker's processor time over it.
async fn batch(
    lane: &mut Lane,
    rig: &Rig,
    worker: &Worker,
    ticks: u64,
    load: Load,
) -> Result<Run<Cost>, BenchError> {
    let before = worker.cpu_time(ticks)?;
    let started = Instant::now();
    let mut pages = 0;
    for _ in 0..load.syncs_per_batch() {
        match sync_once(lane, rig, load).await? {
            Ok(read) => pages += u64::from(read),
            Err(why) => {
                return Ok(Run {
                    wall: started.elapsed(),
                    outcome: RunOutcome::Failed(why),
                });
            }
        }
    }
    let wall = started.elapsed();
    let cpu = worker.cpu_time(ticks)?.since(before);
    Ok(Run {
        wall,
        outcome: RunOutcome::Completed(Cost { pages, cpu }),
    })
}

/// One complete sync of the load: the pages it read, or why it did not complete.
async fn sync_once(
    lane: &mut Lane,
    rig: &Rig,
    load: Load,
) -> Result<Result<u32, String>, BenchError> {
    Ok(match load {
        Load::DsChain | Load::DsChainThreadPerCore => {
            let listed = Listed::in_sandbox(rig.sandbox());
            match ds_sync::sync(lane, rig.sandbox(), listed).await?.outcome {
                RunOutcome::Completed(synced) => Ok(synced.pages),
                RunOutcome::Failed(why) => Err(why),
            }
        }
        Load::OffsetSync => {
            let rows = rig.sandbox().divalto().ids(TABLE).len() as u64;
            match fanout::sync::sync(lane, OFFSET_WINDOW, rows).await?.outcome {
                RunOutcome::Completed(completion) => Ok(completion.pages),
                RunOutcome::Failed(why) => Err(why),
            }
        }
    })
}

fn describe(run: &Run<Cost>) -> String {
    match &run.outcome {
        RunOutcome::Completed(cost) => {
            let (user, system) = cost.per_page_ms();
            format!(
                "{}, {} pages, {:.3} ms/page ({user:.3} user, {system:.3} system)",
                run.describe(),
                cost.pages,
                user + system
            )
        }
        RunOutcome::Failed(_) => run.describe(),
    }
}
