//! Prometheus metrics of a worker process: one registry, typed recording
//! functions, a tracing layer that turns upstream-call spans into metrics, and
//! the `/metrics`, `/livez` and `/readyz` endpoints.
//!
//! A worker binary calls [`install`] once with its kind (the constant `worker`
//! label of every series), adds [`layer()`] to its tracing subscriber and starts
//! [`serve`]. Until [`install`] is called, every recording function is a cheap
//! no-op: tests and the CLI record nothing and pay almost nothing.
//!
//! Labels are bounded: the worker kind, the configured connection name, the
//! settlement outcome, the HTTP status class, the job kind and end, and the
//! closed-set failure reason; never an id. Every series whose label values are known
//! when the worker starts (its connections, the outcomes, status classes, reasons and
//! job ends) is registered at 0 by [`register_known`], so the first increment is a
//! step that `rate()` and `increase()` see. The families, every name prefixed
//! `estafette_`:
//!
//! | name | type | labels | recorded by |
//! | --- | --- | --- | --- |
//! | `estafette_messages_consumed_total` | counter | `worker` | [`Delivery::received`] |
//! | `estafette_messages_settled_total` | counter | `worker`, `outcome` (`acked`, `retried`, `dead_lettered`) | [`Delivery::settle`] |
//! | `estafette_messages_in_flight` | gauge | `worker` | [`Delivery`], received until settled or dropped |
//! | `estafette_oldest_unacked_delivery_age_seconds` | gauge | `worker` | age of the oldest [`Delivery`] in flight, 0 when none; computed at each scrape |
//! | `estafette_pages_fetched_total` | counter | `worker`, `connection` | [`page_fetched`] |
//! | `estafette_records_fetched_total` | counter | `worker`, `connection` | [`page_fetched`] |
//! | `estafette_upstream_request_duration_seconds` | histogram | `worker`, `connection`, `status_class` (`2xx`, `3xx`, `4xx`, `5xx`, `error`) | [`upstream_request`], and [`layer()`] from `http.client` spans |
//! | `estafette_rate_limit_wait_seconds` | histogram | `worker`, `connection` | [`rate_limit_waited`], and [`layer()`] from `rate_limit.wait` spans |
//! | `estafette_rate_limit_pauses_total` | counter | `worker`, `connection` | [`rate_limit_paused`], and [`layer()`] from `http.client` spans answered 429 |
//! | `estafette_token_refreshes_total` | counter | `worker`, `connection`, `outcome` (`obtained`, `failed`) | [`token_refreshed`], and [`layer()`] from `token.refresh` spans |
//! | `estafette_broker_reconnects_total` | counter | `worker` | [`broker_reconnected`]: each time a worker re-establishes a lost broker connection |
//! | `estafette_dead_letters_total` | counter | `worker`, `reason` | [`Delivery::settle`] with [`Settled::DeadLettered`] |
//! | `estafette_jobs_started_total` | counter | `worker`, `kind`, `connection` | [`JobMark::Started`] |
//! | `estafette_jobs_completed_total` | counter | `worker`, `kind`, `connection`, `end`, `consistency` | [`JobMark::Completed`] |
//! | `estafette_jobs_failed_total` | counter | `worker`, `kind`, `connection`, `reason` | [`JobMark::Failed`] |
//! | `estafette_ready` | gauge | `worker` | 1 while `/readyz` answers 200, else 0; set at each scrape |
//! | `estafette_schedule_interval_seconds` | gauge | `worker`, `schedule` | [`schedule_observed`] (the scheduler, every tick) |
//! | `estafette_schedule_tracked_since_timestamp_seconds` | gauge | `worker`, `schedule` | [`schedule_observed`] |
//! | `estafette_schedule_last_success_timestamp_seconds` | gauge | `worker`, `schedule` | [`schedule_observed`], once a run completed |
//! | `estafette_schedule_last_outcome` | gauge | `worker`, `schedule`, `outcome` (`completed`, `incomplete`, `failed`) | [`schedule_observed`] |
//! | `estafette_schedule_running` | gauge | `worker`, `schedule` | [`schedule_observed`] |
//! | `estafette_schedule_skips` | gauge | `worker`, `schedule` | [`schedule_observed`] |
//! | `estafette_schedule_runs_published_total` | counter | `worker`, `schedule` | [`schedule_run_published`] |
//! | `estafette_scheduler_lease_held` | gauge | `worker` | [`scheduler_lease_held`] |
//!
//! The exposition is OpenMetrics text (`application/openmetrics-text;
//! version=1.0.0`), which Prometheus reads natively.

mod delivery;
mod jobs;
mod known;
mod labels;
mod layer;
mod record;
mod registry;
mod schedules;
mod server;

pub use delivery::{Delivery, Settled};
pub use jobs::{JobMark, UNCONFIGURED_CONNECTION};
pub use known::{KnownSeries, register_known};
pub use labels::StatusClass;
pub use layer::{MetricsLayer, layer};
pub use record::{
    broker_reconnected, page_fetched, rate_limit_paused, rate_limit_waited, token_refreshed,
    upstream_request,
};
pub use registry::{AlreadyInstalled, encode, install};
/// The `worker` label of the scheduler service: only its registry holds the
/// `estafette_schedule*` families.
pub const SCHEDULER: &str = "scheduler";

pub use schedules::{
    ScheduleSnapshot, schedule_observed, schedule_run_published, scheduler_lease_held,
};
pub use server::{MetricsServer, Readiness, ServeError, serve};

/// The name of every metric family this crate exposes, as queried in PromQL.
/// A histogram is listed once, by its family name; its series end in
/// `_bucket`, `_sum` and `_count`.
pub const METRIC_NAMES: &[&str] = &[
    "estafette_messages_consumed_total",
    "estafette_messages_settled_total",
    "estafette_messages_in_flight",
    "estafette_oldest_unacked_delivery_age_seconds",
    "estafette_pages_fetched_total",
    "estafette_records_fetched_total",
    "estafette_upstream_request_duration_seconds",
    "estafette_rate_limit_wait_seconds",
    "estafette_rate_limit_pauses_total",
    "estafette_token_refreshes_total",
    "estafette_broker_reconnects_total",
    "estafette_dead_letters_total",
    "estafette_jobs_started_total",
    "estafette_jobs_completed_total",
    "estafette_jobs_failed_total",
    "estafette_ready",
];

/// The name of every metric family only the scheduler's registry exposes (see
/// [`SCHEDULER`]), as queried in PromQL.
pub const SCHEDULER_METRIC_NAMES: &[&str] = &[
    "estafette_schedule_interval_seconds",
    "estafette_schedule_tracked_since_timestamp_seconds",
    "estafette_schedule_last_success_timestamp_seconds",
    "estafette_schedule_last_outcome",
    "estafette_schedule_running",
    "estafette_schedule_skips",
    "estafette_schedule_runs_published_total",
    "estafette_scheduler_lease_held",
];

/// The families of [`METRIC_NAMES`] that are histograms.
pub const HISTOGRAM_NAMES: &[&str] = &[
    "estafette_upstream_request_duration_seconds",
    "estafette_rate_limit_wait_seconds",
];
