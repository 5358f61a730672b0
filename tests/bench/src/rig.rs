//! The upstream side of the benchmark: a sandbox whose article table holds exactly the
//! rows the plan reads, and the settings that point a worker at it.

use sandbox::{DivaltoTable, Sandbox, SandboxConfig};
use settings::Settings;

use crate::error::BenchError;
use crate::plan::{PAGE_SIZE, Plan};

/// The connection of the default settings that reads the sandbox's Divalto stand-in.
pub(crate) const CONNECTION: &str = "sandbox_divalto";
/// The table every benchmark sync reads.
pub(crate) const TABLE: DivaltoTable = DivaltoTable::Article;

/// A running sandbox sized for one plan.
pub(crate) struct Rig {
    sandbox: Sandbox,
    rows: u64,
}

impl Rig {
    /// Starts a sandbox with the plan's latency on a free local port, and trims or
    /// extends its article table to [`Plan::rows`] rows.
    pub(crate) async fn start(plan: &Plan) -> Result<Rig, BenchError> {
        let config = SandboxConfig {
            latency: plan.latency,
            ..SandboxConfig::default()
        };
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let sandbox = Sandbox::start(config, address)
            .await
            .map_err(BenchError::Sandbox)?;
        resize_articles(&sandbox, plan.rows());
        let rows = sandbox.divalto().ids(TABLE).len() as u64;
        Ok(Rig { sandbox, rows })
    }

    /// Rows the article table holds: what a complete sync reads.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Logins the Divalto stand-in has answered so far.
    pub(crate) fn logins(&self) -> u64 {
        self.sandbox.divalto().auth_calls()
    }

    /// The default settings aimed at this sandbox, with the benchmark's page size, a
    /// rate limit that never holds a request back, and `prefetch` deliveries per worker.
    pub(crate) fn settings(&self, prefetch: u16) -> Result<Settings, BenchError> {
        let connection = |key: &str| format!("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__{key}");
        let env = [
            ("AMQP_URL".to_owned(), testkit::amqp_url()),
            ("REDIS_URL".to_owned(), testkit::redis_url()),
            (
                connection("BASE_URL"),
                format!(
                    "{}{}",
                    self.sandbox.base_url(),
                    sandbox::divalto::PATH_PREFIX
                ),
            ),
            (connection("PAGE_SIZE"), PAGE_SIZE.to_string()),
            (connection("RATE_LIMIT__REQUESTS"), "100000".to_owned()),
            (connection("RATE_LIMIT__PER_SECONDS"), "1".to_owned()),
            (connection("RATE_LIMIT__BURST"), "1000".to_owned()),
            (
                "ESTAFETTE__BROKER__PREFETCH".to_owned(),
                prefetch.to_string(),
            ),
            (
                "ESTAFETTE__WORKER__DRAIN_GRACE_SECONDS".to_owned(),
                "5".to_owned(),
            ),
        ];
        Ok(Settings::load(None, env)?)
    }

    /// Stops the sandbox.
    pub(crate) async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

/// Deletes the articles past the first `rows`, or adds new ids after the last one
/// until there are `rows`.
fn resize_articles(sandbox: &Sandbox, rows: u64) {
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
