//! A worker under test: the real `run` of a worker crate in a task of the test
//! process, on connections of its own, beside a broker connection through which the
//! test publishes commands and reads events, all under the test's own prefix.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use broker::{Broker, Outgoing};
use contract::{Command, WorkerKind};
use job_state::JobStore;
use settings::Settings;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::EventLog;

/// A worker crate's `run`: the settings, the worker's broker connection, its job
/// store, and the token that asks it to drain. It panics when the worker fails, so a
/// test sees the failure.
pub type WorkerRun = for<'a> fn(
    &'a Settings,
    &'a Broker,
    &'a JobStore,
    CancellationToken,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The [`WorkerRun`] of a worker crate's `run` function: `worker_run!(fetch_page::run)`.
/// The worker failing panics the test.
#[macro_export]
macro_rules! worker_run {
    ($run:path) => {{
        fn run<'a>(
            settings: &'a $crate::worker_parts::Settings,
            broker: &'a $crate::worker_parts::Broker,
            store: &'a $crate::worker_parts::JobStore,
            shutdown: $crate::worker_parts::CancellationToken,
        ) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + Send + 'a>> {
            Box::pin(async move {
                $run(settings, broker, store, shutdown)
                    .await
                    .expect("the worker runs");
            })
        }
        run as $crate::WorkerRun
    }};
}

/// The types a [`WorkerRun`] takes, for [`worker_run!`] to name from any crate.
#[doc(hidden)]
pub mod worker_parts {
    pub use broker::Broker;
    pub use job_state::JobStore;
    pub use settings::Settings;
    pub use tokio_util::sync::CancellationToken;
}

/// How long a worker asked to drain may take before the test fails.
const DRAIN_WITHIN: Duration = Duration::from_secs(30);

/// The settings variables of a test worker: the test broker and Redis, retries after
/// 50 ms, the sandbox at `sandbox_url` for each of the four sandbox connections the
/// defaults define (its Apidae connection allowed 1,000 requests a window), then
/// `extra`, which wins over all of them.
pub fn sandbox_settings(sandbox_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut env: Vec<(String, String)> = [
        ("AMQP_URL", crate::amqp_url()),
        ("REDIS_URL", crate::redis_url()),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL",
            sandbox_url.to_owned(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__BASE_URL",
            format!("{sandbox_url}/divalto"),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__BASE_URL",
            format!("{sandbox_url}/amienscope"),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__BASE_URL",
            format!("{sandbox_url}/apidae"),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__TOKEN_URL",
            format!("{sandbox_url}/apidae/oauth/token"),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__RATE_LIMIT__REQUESTS",
            "1000".to_owned(),
        ),
        (
            "ESTAFETTE__WORKER__TRANSIENT_RETRY_DELAY_SECONDS",
            "0.05".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    env.extend(
        extra
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
    );
    Settings::load(None, env).expect("test settings are valid")
}

/// The settings of a file holding `toml`, over the defaults, with no environment
/// (the file is written for the call, under a name no other test uses, then removed).
pub fn settings_from_toml(toml: &str) -> Settings {
    let path = std::env::temp_dir().join(format!("{}.toml", crate::unique_prefix()));
    std::fs::write(&path, toml).expect("a settings file");
    let settings = Settings::load(Some(&path), Vec::<(String, String)>::new());
    let _ = std::fs::remove_file(&path);
    settings.expect("the settings are valid")
}

/// One worker running in a task, on its own broker connection and job store under its
/// settings' topology prefix.
pub struct RunningWorker {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningWorker {
    /// Connects a broker and a job store under the settings' topology prefix and starts
    /// `run` on them.
    pub async fn start(settings: Settings, run: WorkerRun) -> RunningWorker {
        let broker = crate::connect(&settings.broker.prefix).await;
        let store = crate::job_store(&settings.broker.prefix).await;
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            run(&settings, &broker, &store, token).await;
            broker.close(Duration::from_secs(1)).await;
        });
        RunningWorker { shutdown, task }
    }

    /// Asks the worker to drain and waits until it has stopped.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(DRAIN_WITHIN, self.task)
            .await
            .expect("the worker drains in time")
            .expect("the worker did not fail");
    }
}

/// A worker kind's topology under a prefix of the test's own, the events it publishes,
/// and (once started) one worker.
pub struct WorkerApp {
    /// The topology prefix no other test uses.
    pub prefix: String,
    /// The test's own connection: it publishes commands and reads events.
    pub broker: Broker,
    /// Every event under the prefix, from before the first command.
    pub events: EventLog,
    /// The settings the worker runs on.
    pub settings: Settings,
    /// The job store under the prefix, as the worker sees it.
    pub store: JobStore,
    run: WorkerRun,
    worker: Option<RunningWorker>,
}

impl WorkerApp {
    /// Declares `kind`'s topology under a new prefix and subscribes to its events;
    /// starts no worker yet ([`WorkerApp::start_worker`]). The settings take the new
    /// prefix, which also names the worker's rate gates in Redis: tests running at once
    /// share no rate limit.
    pub async fn without_worker(kind: WorkerKind, mut settings: Settings, run: WorkerRun) -> Self {
        telemetry::init_for_tests();
        let prefix = crate::unique_prefix();
        settings.broker.prefix = prefix.clone();
        let broker = crate::connect(&prefix).await;
        broker.declare(&[kind]).await.expect("topology");
        let events = EventLog::subscribe(&broker).await;
        let store = crate::job_store(&prefix).await;
        WorkerApp {
            prefix,
            broker,
            events,
            settings,
            store,
            run,
            worker: None,
        }
    }

    /// [`WorkerApp::without_worker`], then one worker started.
    pub async fn start(kind: WorkerKind, settings: Settings, run: WorkerRun) -> Self {
        let mut app = Self::without_worker(kind, settings, run).await;
        app.start_worker().await;
        app
    }

    /// Starts a worker on connections of its own.
    pub async fn start_worker(&mut self) {
        let worker = RunningWorker::start(self.settings.clone(), self.run).await;
        self.worker = Some(worker);
    }

    /// Asks the running worker to drain and waits until it has stopped.
    pub async fn stop_worker(&mut self) {
        self.worker
            .take()
            .expect("a worker is running")
            .stop()
            .await;
    }

    /// Publishes `command` and waits for the broker's confirm.
    pub async fn publish(&self, command: &Command) {
        self.publish_outgoing(&Outgoing::command(command, Vec::new()))
            .await;
    }

    /// Publishes `outgoing` as it is and waits for the broker's confirm.
    pub async fn publish_outgoing(&self, outgoing: &Outgoing) {
        self.broker
            .publisher()
            .publish(outgoing)
            .await
            .expect("command confirmed");
    }

    /// Stops the worker, if one runs.
    pub async fn shutdown(mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop().await;
        }
    }
}
