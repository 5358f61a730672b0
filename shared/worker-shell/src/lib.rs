//! What every worker binary does around its work, so that each `main.rs` only names
//! its worker and its `run` function.
//!
//! [`consume`] is the end of every worker's `run`: declare, consume, drain.
//! [`handle_delivery`] wraps each delivery a handler takes: the consumer span, the
//! parse, and the dead letter of what cannot be handled.
//! [`main`] is a worker binary's whole `main` (and the scheduler's: see [`Service`]):
//! it builds the runtime (one worker thread
//! unless `TOKIO_WORKER_THREADS` says otherwise) and runs [`serve`] on it.
//! [`serve`]: set up the metrics registry (every series labelled with the worker's
//! name), start telemetry with the metrics layer (exit 70 if it cannot start), read
//! the settings (print every problem and exit 64), register at 0 every series whose
//! labels the settings tell (the worker's connections, job kinds, their ends and the
//! failure reasons), serve `/metrics`, `/livez` and
//! `/readyz` on `metrics.listen` (a taken address is logged as an error, and the
//! worker runs on without them), connect to the broker and the job store, cancel the
//! shutdown token on the first SIGTERM or SIGINT, call the worker's `run`, close the
//! broker within the drain grace, flush telemetry, and exit 0 or 1.
//!
//! `/readyz` answers 200 once the broker is connected and [`consume`] has declared
//! the topology, and 503 again once the consumer stops. Only [`serve`] starts the
//! endpoints, so tests that run several workers in one process through [`consume`]
//! never compete for the port.

mod delivery;
mod series;

use std::process::ExitCode;

use std::sync::{Arc, LazyLock};

use anyhow::Context;
use broker::{Broker, BrokerError, ConsumerOptions, Handler, Topology, TopologyOptions};
use contract::WorkerKind;
use job_state::JobStore;
use secrecy::ExposeSecret;
use settings::Settings;
use tokio_util::sync::CancellationToken;
use worker_metrics::Readiness;

pub use delivery::handle_delivery;

/// The process's metrics: recording functions for the work a worker does.
pub use worker_metrics as metrics;

/// The shortest time between two starts of the consumer after failures.
const MIN_CONSUMER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(1);

/// The Estafette service a binary runs: a worker of one kind, or the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// A worker consuming its kind's queue.
    Worker(WorkerKind),
    /// The scheduler, which publishes scheduled syncs.
    Scheduler,
}

impl Service {
    /// The binary's name, and the `worker` label of its metrics.
    pub fn name(self) -> &'static str {
        match self {
            Service::Worker(worker) => worker.as_str(),
            Service::Scheduler => worker_metrics::SCHEDULER,
        }
    }

    /// What the service does, in one line of its `--help`.
    fn about(self) -> &'static str {
        match self {
            Service::Worker(_) => {
                "An Estafette worker: it consumes its queue until SIGTERM or SIGINT, then drains."
            }
            Service::Scheduler => {
                "The Estafette scheduler: it publishes scheduled syncs until SIGTERM or SIGINT."
            }
        }
    }

    /// The series the service counts from its first scrape, at 0.
    fn known_series(self, settings: &Settings) -> worker_metrics::KnownSeries {
        match self {
            Service::Worker(worker) => series::known_series(worker, settings),
            Service::Scheduler => worker_metrics::KnownSeries::default(),
        }
    }
}

impl From<WorkerKind> for Service {
    fn from(worker: WorkerKind) -> Self {
        Service::Worker(worker)
    }
}

/// Whether this process can take work, as `/readyz` reports it.
static READINESS: LazyLock<Readiness> = LazyLock::new(Readiness::new);

/// Why a worker stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum RunError<S: std::error::Error + 'static> {
    /// A configured connection cannot be turned into a client.
    #[error(transparent)]
    Setup(S),
    /// The broker refused the topology or the connection was lost.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// Whether this process can take work: the flags [`serve`] and [`consume`] set, which
/// `/readyz` reports. A test that serves the endpoints itself passes this to
/// [`worker_metrics::serve`].
pub fn readiness() -> Readiness {
    READINESS.clone()
}

/// Declares `worker`'s topology and consumes its queue with `handler` until `shutdown`
/// is cancelled, then drains in-flight messages within the configured grace.
///
/// A lost broker connection does not end it: it reconnects (see
/// [`Broker::reconnect`]), which redeclares the topology, and consumes again. It
/// fails only when the broker stays unreachable for `broker.reconnect_timeout`, or
/// refuses the topology.
pub async fn consume<H: Handler>(
    settings: &Settings,
    broker: &Broker,
    worker: WorkerKind,
    handler: H,
    shutdown: CancellationToken,
) -> Result<(), BrokerError> {
    broker.declare(&[worker]).await?;
    let options = ConsumerOptions {
        worker,
        prefetch: settings.broker.prefetch,
        drain_grace: settings.worker.drain_grace,
    };
    let handler = Arc::new(handler);
    loop {
        READINESS.set_topology_declared(true);
        let started = tokio::time::Instant::now();
        let consumed =
            broker::run_consumer(broker, options.clone(), handler.clone(), shutdown.clone()).await;
        READINESS.set_topology_declared(false);
        match consumed {
            Err(error) if !shutdown.is_cancelled() => {
                tracing::warn!(
                    error = format!("{:#}", anyhow::Error::from(error)),
                    "lost the broker; reconnecting"
                );
                READINESS.set_broker_connected(false);
                // A consumer that fails as soon as it starts, on a connection that
                // still works, must not spin.
                tokio::time::sleep_until(started + MIN_CONSUMER_LIFETIME).await;
                broker.reconnect(settings.broker.reconnect_timeout).await?;
                READINESS.set_broker_connected(true);
            }
            finished => return finished,
        }
    }
}

/// Worker threads of a worker's runtime when `TOKIO_WORKER_THREADS` does not say. A
/// worker waits on the broker, Redis and the upstream far more than it computes, and
/// it scales by replicas: in the bench's cpu suite a fetch-page process on one thread
/// spent 5 % to 27 % less processor time per DS page than one with a thread per core
/// (2 cores), and moved as many pages per second or more, since tasks no longer wake
/// each other across threads.
pub const DEFAULT_RUNTIME_THREADS: usize = 1;

/// The variable that sets a worker's runtime threads, as tokio names it.
const RUNTIME_THREADS_VARIABLE: &str = "TOKIO_WORKER_THREADS";

/// Worker threads for the runtime: `TOKIO_WORKER_THREADS` when set (a whole number of
/// at least 1), else [`DEFAULT_RUNTIME_THREADS`]; why not, when the variable is unusable.
fn runtime_threads(variable: Option<std::ffi::OsString>) -> Result<usize, String> {
    let Some(value) = variable else {
        return Ok(DEFAULT_RUNTIME_THREADS);
    };
    value
        .to_str()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|threads| *threads > 0)
        .ok_or_else(|| {
            format!(
                "{RUNTIME_THREADS_VARIABLE} must be a whole number of at least 1, not {value:?}"
            )
        })
}

/// The runtime a worker binary runs on: multi-threaded (the broker's I/O and the
/// blocking pool keep threads of their own), with `threads` worker threads.
fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
}

/// A worker binary's `main`: [`serve`] on a runtime of [`DEFAULT_RUNTIME_THREADS`]
/// worker threads, or as many as `TOKIO_WORKER_THREADS` says. Exits 64 when that
/// variable is unusable, 70 when the runtime cannot start.
pub fn main<R, E>(service: impl Into<Service>, run: R) -> ExitCode
where
    R: AsyncFnOnce(&Settings, &Broker, &JobStore, CancellationToken) -> Result<(), E>,
    E: std::error::Error + Send + Sync + 'static,
{
    let threads = match runtime_threads(std::env::var_os(RUNTIME_THREADS_VARIABLE)) {
        Ok(threads) => threads,
        Err(problem) => {
            eprintln!("{problem}");
            return ExitCode::from(64);
        }
    };
    match runtime(threads) {
        Ok(runtime) => runtime.block_on(serve(service.into(), run)),
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            ExitCode::from(70)
        }
    }
}

/// Runs a `service`, whose `run` takes the settings, the broker, the job store and the
/// shutdown token, until it stops; returns the exit status.
pub async fn serve<R, E>(service: Service, run: R) -> ExitCode
where
    R: AsyncFnOnce(&Settings, &Broker, &JobStore, CancellationToken) -> Result<(), E>,
    E: std::error::Error + Send + Sync + 'static,
{
    let name = service.name();
    if let Some(exit) = answer_arguments(service, std::env::args().skip(1)) {
        return exit;
    }
    if let Err(error) = worker_metrics::install(name) {
        eprintln!("{error}; its series keep that worker label");
    }
    let metrics_layer: telemetry::BoxedLayer = Box::new(worker_metrics::layer());
    let telemetry = match telemetry::init_with_layers(name, vec![metrics_layer]) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("cannot start telemetry: {error}");
            return ExitCode::from(70);
        }
    };
    let settings = match Settings::from_process_env() {
        Ok(settings) => settings,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(64);
        }
    };
    worker_metrics::register_known(&service.known_series(&settings));
    let result = connect_and_run(settings, run).await;
    if let Err(error) = telemetry.shutdown() {
        eprintln!("telemetry did not flush: {error}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "{name} stopped");
            ExitCode::FAILURE
        }
    }
}

/// What a service says about itself: it takes no arguments, its settings come from
/// the environment.
fn usage(service: Service) -> String {
    let (name, about) = (service.name(), service.about());
    format!(
        "Usage: {name}\n\n\
         {about}\n\
         It takes no arguments. Settings come from the embedded defaults, the TOML file\n\
         named by ESTAFETTE_CONFIG, AMQP_URL, REDIS_URL and ESTAFETTE__SECTION__KEY\n\
         variables (README, \"Settings\"). /metrics, /livez and /readyz are served on\n\
         metrics.listen.\n\n\
         Options:\n  -h, --help     Print this help\n  -V, --version  Print the version\n"
    )
}

/// Answers `--help` and `--version` (exit 0) and refuses any other argument (exit 64)
/// before anything starts; `None` when there are no arguments and the worker runs.
fn answer_arguments(service: Service, mut args: impl Iterator<Item = String>) -> Option<ExitCode> {
    let first = args.next()?;
    let name = service.name();
    match first.as_str() {
        "-h" | "--help" => {
            print!("{}", usage(service));
            Some(ExitCode::SUCCESS)
        }
        "-V" | "--version" => {
            println!("{name} {}", env!("CARGO_PKG_VERSION"));
            Some(ExitCode::SUCCESS)
        }
        other => {
            eprintln!(
                "{name}: unexpected argument {other:?}\n\n{}",
                usage(service)
            );
            Some(ExitCode::from(64))
        }
    }
}

async fn connect_and_run<R, E>(settings: Settings, run: R) -> anyhow::Result<()>
where
    R: AsyncFnOnce(&Settings, &Broker, &JobStore, CancellationToken) -> Result<(), E>,
    E: std::error::Error + Send + Sync + 'static,
{
    // Without its endpoints a worker still does its work: a taken port (two workers
    // on one host with the default `metrics.listen`) is reported, not fatal.
    let _endpoints = match worker_metrics::serve(settings.metrics.listen, READINESS.clone()).await {
        Ok(endpoints) => Some(endpoints),
        Err(error) => {
            tracing::error!(
                error = format!("{:#}", anyhow::Error::from(error)),
                "no /metrics, /livez or /readyz: set metrics.listen to a free address"
            );
            None
        }
    };
    let topology = Topology::new(TopologyOptions {
        queue_expires: settings.broker.queue_expires,
        confirm_timeout: settings.broker.confirm_timeout,
        ..TopologyOptions::named(settings.broker.prefix.clone())
    });
    // Signals are heard from the start: a broker or store that accepts the connection
    // and never answers must not keep a stopping worker alive.
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let connecting = Broker::connect(settings.broker.url.expose_secret(), topology);
    let Some(broker) = shutdown.run_until_cancelled(connecting).await else {
        tracing::info!("stopped before the broker answered");
        return Ok(());
    };
    let broker = broker.context("connecting to the broker")?;
    READINESS.set_broker_connected(true);
    let connecting = JobStore::connect(
        &settings.state.url,
        &settings.broker.prefix,
        settings.state.job_ttl,
    );
    let Some(store) = shutdown.run_until_cancelled(connecting).await else {
        tracing::info!("stopped before the job state store answered");
        broker.close(settings.worker.drain_grace).await;
        return Ok(());
    };
    let store = store.context("connecting to the job state store")?;
    let result = run(&settings, &broker, &store, shutdown).await;
    READINESS.set_broker_connected(false);
    broker.close(settings.worker.drain_grace).await;
    result.context("running the consumer")
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                return;
            }
        };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received; draining"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; draining"),
    }
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(args: &[&str]) -> Option<ExitCode> {
        answer_arguments(
            Service::Worker(WorkerKind::FetchPage),
            args.iter().map(|arg| (*arg).to_owned()),
        )
    }

    #[test]
    fn no_argument_runs_the_worker_and_any_other_is_answered_before_it_starts() {
        assert_eq!(answer(&[]), None);
        assert_eq!(answer(&["--help"]), Some(ExitCode::SUCCESS));
        assert_eq!(answer(&["-h"]), Some(ExitCode::SUCCESS));
        assert_eq!(answer(&["--version"]), Some(ExitCode::SUCCESS));
        assert_eq!(answer(&["--prefetch", "8"]), Some(ExitCode::from(64)));
    }

    #[test]
    fn the_runtime_has_one_thread_unless_the_variable_gives_a_usable_count() {
        assert_eq!(runtime_threads(None), Ok(DEFAULT_RUNTIME_THREADS));
        assert_eq!(runtime_threads(Some("4".into())), Ok(4));
        for unusable in ["0", "-1", "two", ""] {
            let problem = runtime_threads(Some(unusable.into())).expect_err(unusable);
            assert!(problem.contains("TOKIO_WORKER_THREADS"), "{problem}");
        }
    }

    #[test]
    fn the_help_says_where_settings_come_from() {
        let help = usage(Service::Worker(WorkerKind::FetchPage));
        assert!(help.starts_with("Usage: fetch-page\n"), "{help}");
        assert!(help.contains("ESTAFETTE_CONFIG"), "{help}");
        let help = usage(Service::Scheduler);
        assert!(help.starts_with("Usage: scheduler\n"), "{help}");
        assert!(help.contains("publishes scheduled syncs"), "{help}");
    }
}
