//! Runs the fan-out plan: a sandbox whose article table holds exactly the rows the
//! plan reads, then for each window a fresh lane and the planned number of syncs.

use sandbox::{DivaltoTable, Sandbox};
use settings::Settings;

use crate::error::BenchError;
use crate::lane::Lane;
use crate::rig::Rig;
use crate::summary::Run;
use crate::worker::FetchPage;

use super::plan::{PAGE_SIZE, Plan};
use super::sync::{Completion, sync};

/// The connection of the default settings that reads the sandbox's Divalto stand-in.
pub(crate) const CONNECTION: &str = "sandbox_divalto";
/// The table every benchmark sync reads.
pub(crate) const TABLE: DivaltoTable = DivaltoTable::Article;

/// Every timed run of the suite, and what the upstream saw.
#[derive(Debug)]
pub(crate) struct Report {
    /// Rows of the article table: what each complete sync read.
    pub(crate) rows: u64,
    /// The prefetch each worker ran with.
    pub(crate) prefetch: u16,
    /// Logins the upstream answered over the whole suite.
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
    pub(crate) runs: Vec<Run<Completion>>,
    /// RecordSql requests the upstream answered over these runs.
    pub(crate) requests: u64,
}

/// Starts the sandbox, times every window of the plan, and stops it again.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let rig = Rig::start(plan.latency).await?;
    resize_articles(rig.sandbox(), plan.rows());
    let rows = rig.sandbox().divalto().ids(TABLE).len() as u64;
    let measured = measure(plan, &rig, rows).await;
    let logins = rig.sandbox().divalto().auth_calls();
    rig.shutdown().await;
    let (prefetch, windows) = measured?;
    Ok(Report {
        rows,
        prefetch,
        logins,
        windows,
    })
}

async fn measure(plan: &Plan, rig: &Rig, rows: u64) -> Result<(u16, Vec<WindowRuns>), BenchError> {
    let prefetch = u16::try_from(plan.largest_window()).unwrap_or(u16::MAX);
    let settings = settings(rig, prefetch)?;
    let mut windows = Vec::with_capacity(plan.windows.len());
    for &window in &plan.windows {
        let mut lane = Lane::open::<FetchPage>(&settings, 1).await?;
        let answered = rig.sandbox().divalto().record_sql_calls();
        let mut runs = Vec::with_capacity(plan.runs as usize);
        for index in 1..=plan.runs {
            let run = sync(&mut lane, window, rows).await?;
            eprintln!("W={window} run {index}/{}: {}", plan.runs, run.describe());
            runs.push(run);
        }
        lane.close().await?;
        let requests = rig.sandbox().divalto().record_sql_calls() - answered;
        windows.push(WindowRuns {
            window,
            runs,
            requests,
        });
    }
    Ok((prefetch, windows))
}

/// The default settings aimed at the sandbox's Divalto stand-in, with the suite's
/// page size and `prefetch` deliveries per worker.
fn settings(rig: &Rig, prefetch: u16) -> Result<Settings, BenchError> {
    rig.settings(prefetch, CONNECTION, &connection_keys(rig))
}

/// The keys of [`CONNECTION`] that aim it at the rig's Divalto stand-in with pages of
/// [`PAGE_SIZE`] records.
pub(crate) fn connection_keys(rig: &Rig) -> [(&'static str, String); 2] {
    let base_url = format!(
        "{}{}",
        rig.sandbox().base_url(),
        sandbox::divalto::PATH_PREFIX
    );
    [("BASE_URL", base_url), ("PAGE_SIZE", PAGE_SIZE.to_string())]
}

/// Deletes the articles past the first `rows`, or adds new ids after the last one
/// until there are `rows`.
pub(crate) fn resize_articles(sandbox: &Sandbox, rows: u64) {
    let divalto = sandbox.divalto();
    let ids = divalto.ids(TABLE);
    let keep = usize::try_from(rows).unwrap_or(usize::MAX);
    for id in ids.iter().skip(keep) {
        divalto.delete(TABLE, *id);
    }
    let last = ids.last().copied().unwrap_or(0);
    let missing = rows.saturating_sub(ids.len() as u64);
    for id in (last + 1..).take(usize::try_from(missing).unwrap_or(usize::MAX)) {
        divalto.insert(TABLE, id);
    }
}
