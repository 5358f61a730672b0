//! The one registry of the process and the families registered in it.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::delivery::{InFlight, Settled};
use crate::labels::{
    ConnectionLabels, JobCompletedLabels, JobFailedLabels, JobLabels, OutcomeLabels, ReasonLabels,
    TokenLabels, UpstreamLabels,
};
use crate::schedules::ScheduleFamilies;

/// Every name starts with this, followed by `_`.
const PREFIX: &str = "estafette";

/// Upstream calls: 5 ms to about 41 s, doubling.
fn upstream_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// Rate-limit waits: from 10 ms to two minutes, beyond the longest reset a 429 is
/// usually waited out for (`worker.max_rate_limit_wait` is 65 s by default).
fn rate_limit_buckets() -> Histogram {
    Histogram::new([
        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
    ])
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The families, and the registry that exposes them.
#[derive(Debug)]
pub(crate) struct Metrics {
    worker: &'static str,
    registry: Registry,
    pub(crate) consumed: Counter,
    pub(crate) settled: Family<OutcomeLabels, Counter>,
    pub(crate) in_flight: Gauge,
    oldest_unacked_age: Gauge<f64, AtomicU64>,
    pub(crate) pages: Family<ConnectionLabels, Counter>,
    pub(crate) records: Family<ConnectionLabels, Counter>,
    pub(crate) upstream_duration: HistogramFamily<UpstreamLabels>,
    pub(crate) rate_limit_wait: HistogramFamily<ConnectionLabels>,
    pub(crate) rate_limit_pauses: Family<ConnectionLabels, Counter>,
    pub(crate) token_refreshes: Family<TokenLabels, Counter>,
    pub(crate) reconnects: Counter,
    pub(crate) dead_letters: Family<ReasonLabels, Counter>,
    pub(crate) jobs_started: Family<JobLabels, Counter>,
    pub(crate) jobs_completed: Family<JobCompletedLabels, Counter>,
    pub(crate) jobs_failed: Family<JobFailedLabels, Counter>,
    ready: Gauge,
    pub(crate) schedules: ScheduleFamilies,
    pub(crate) deliveries: InFlight,
    /// The connections [`crate::register_known`] named; `None` before it is called.
    known_connections: Mutex<Option<BTreeSet<String>>>,
}

impl Metrics {
    fn new(worker: &'static str) -> Self {
        let labels = [(Cow::Borrowed("worker"), Cow::Borrowed(worker))];
        let mut metrics = Metrics {
            worker,
            registry: Registry::with_prefix_and_labels(PREFIX, labels.into_iter()),
            consumed: Counter::default(),
            settled: Family::default(),
            in_flight: Gauge::default(),
            oldest_unacked_age: Gauge::default(),
            pages: Family::default(),
            records: Family::default(),
            upstream_duration: Family::new_with_constructor(upstream_buckets as fn() -> Histogram),
            rate_limit_wait: Family::new_with_constructor(rate_limit_buckets as fn() -> Histogram),
            rate_limit_pauses: Family::default(),
            token_refreshes: Family::default(),
            reconnects: Counter::default(),
            dead_letters: Family::default(),
            jobs_started: Family::default(),
            jobs_completed: Family::default(),
            jobs_failed: Family::default(),
            ready: Gauge::default(),
            schedules: ScheduleFamilies::default(),
            deliveries: InFlight::default(),
            known_connections: Mutex::new(None),
        };
        // Every outcome is exposed from the start, at 0, so rates begin at the first scrape.
        for outcome in Settled::OUTCOMES {
            drop(metrics.settled.get_or_create(&OutcomeLabels { outcome }));
        }
        metrics.register_families();
        metrics
    }

    /// Adds `connections` to those job marks may name.
    pub(crate) fn know_connections<'c>(&self, connections: impl Iterator<Item = &'c String>) {
        let mut known = self.lock_known();
        known
            .get_or_insert_with(BTreeSet::new)
            .extend(connections.cloned());
    }

    /// Whether job marks may name `connection`: any, until connections are known.
    pub(crate) fn is_known_connection(&self, connection: &str) -> bool {
        self.lock_known()
            .as_ref()
            .is_none_or(|known| known.contains(connection))
    }

    /// The set holds whatever a panicking holder left: each change is one extend.
    fn lock_known(&self) -> MutexGuard<'_, Option<BTreeSet<String>>> {
        self.known_connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn register_families(&mut self) {
        let registry = &mut self.registry;
        if self.worker == crate::SCHEDULER {
            self.schedules.register(registry);
        }
        registry.register(
            "messages_consumed",
            "Deliveries taken from the worker's queue",
            self.consumed.clone(),
        );
        registry.register(
            "messages_settled",
            "Deliveries settled, by outcome: acked, retried (sent to a delay queue, or returned to its queue after a failed settlement) or dead_lettered",
            self.settled.clone(),
        );
        registry.register(
            "messages_in_flight",
            "Deliveries received and not settled yet",
            self.in_flight.clone(),
        );
        registry.register_with_unit(
            "oldest_unacked_delivery_age",
            "Age of the oldest delivery in flight, 0 when none",
            Unit::Seconds,
            self.oldest_unacked_age.clone(),
        );
        registry.register(
            "pages_fetched",
            "Upstream pages read and published, by connection",
            self.pages.clone(),
        );
        registry.register(
            "records_fetched",
            "Upstream records published in page.fetched events, by connection",
            self.records.clone(),
        );
        registry.register_with_unit(
            "upstream_request_duration",
            "Upstream HTTP requests, by connection and status class (error: no answer)",
            Unit::Seconds,
            self.upstream_duration.clone(),
        );
        registry.register_with_unit(
            "rate_limit_wait",
            "Time spent waiting for a connection's rate limit before a request",
            Unit::Seconds,
            self.rate_limit_wait.clone(),
        );
        registry.register(
            "rate_limit_pauses",
            "Upstream 429 answers, by connection; each pauses the connection's rate gate for every worker",
            self.rate_limit_pauses.clone(),
        );
        registry.register(
            "token_refreshes",
            "Upstream access-token requests, by connection and outcome: obtained (a token came back) or failed",
            self.token_refreshes.clone(),
        );
        registry.register(
            "broker_reconnects",
            "Broker connections re-established after a loss",
            self.reconnects.clone(),
        );
        registry.register(
            "dead_letters",
            "Deliveries dead-lettered, by closed-set failure reason",
            self.dead_letters.clone(),
        );
        registry.register(
            "jobs_started",
            "Start commands settled (acked or dead-lettered, not retried), by job kind and connection",
            self.jobs_started.clone(),
        );
        registry.register(
            "jobs_completed",
            "Jobs that published their completion, by job kind, connection, end and consistency",
            self.jobs_completed.clone(),
        );
        registry.register(
            "jobs_failed",
            "Jobs that published their failure (job.failed, or command.failed of the start command), by job kind, connection and reason",
            self.jobs_failed.clone(),
        );
        registry.register(
            "ready",
            "1 while the worker is connected to the broker and consuming its queue, as /readyz answers; 0 otherwise",
            self.ready.clone(),
        );
    }
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// [`install`] was already called, with the worker kind it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the metrics registry is already installed for worker {worker}")]
pub struct AlreadyInstalled {
    /// The worker kind the registry was installed with.
    pub worker: &'static str,
}

/// Sets up the process's registry, every series labelled `worker="<worker>"`.
/// Call it once, before anything is recorded; later calls change nothing and
/// say so.
pub fn install(worker: &'static str) -> Result<(), AlreadyInstalled> {
    let mut installed_now = false;
    let metrics = METRICS.get_or_init(|| {
        installed_now = true;
        Metrics::new(worker)
    });
    if installed_now {
        Ok(())
    } else {
        Err(AlreadyInstalled {
            worker: metrics.worker,
        })
    }
}

/// The registry, once [`install`] was called.
pub(crate) fn installed() -> Option<&'static Metrics> {
    METRICS.get()
}

/// Sets `estafette_ready` to what `/readyz` answers; the endpoint does it before each
/// scrape.
pub(crate) fn set_ready(ready: bool) {
    if let Some(metrics) = installed() {
        metrics.ready.set(i64::from(ready));
    }
}

/// The OpenMetrics text exposition of every family, ending in `# EOF`; only
/// the end marker before [`install`].
pub fn encode() -> String {
    let mut text = String::new();
    let encoded = match installed() {
        Some(metrics) => {
            metrics
                .oldest_unacked_age
                .set(metrics.deliveries.oldest_age().as_secs_f64());
            prometheus_client::encoding::text::encode(&mut text, &metrics.registry)
        }
        None => prometheus_client::encoding::text::encode_eof(&mut text),
    };
    // Writing into a String cannot fail; the encoder only forwards its writer's errors.
    debug_assert!(encoded.is_ok());
    text
}
