//! Typed settings for every service: a TOML file plus ESTAFETTE__ environment overrides, named upstream connections, secrets that never print.
//!
//! Sources, lowest first:
//! 1. `defaults.toml`, reviewed and embedded in this crate: on its own it
//!    works against a local broker, a local Redis and the sandbox upstream
//!    (connections `sandbox` for ds, `sandbox_divalto` and
//!    `sandbox_amienscope`);
//! 2. an optional TOML file (`ESTAFETTE_CONFIG` names it);
//! 3. `AMQP_URL`, which sets `broker.url` only, and `REDIS_URL`, which sets
//!    `state.url` only (each ignored when empty);
//! 4. `ESTAFETTE__SECTION__KEY` variables: `__` separates levels and every
//!    level is lowercased, so `ESTAFETTE__CONNECTIONS__SANDBOX__PAGE_SIZE=50`
//!    sets `connections.sandbox.page_size`. A connection whose name holds
//!    `-` cannot be addressed this way.
//!
//! Every key is read, every problem (missing, malformed, out of range,
//! unknown key) is collected, and loading fails once with the full list in a
//! [`SettingsError`]. The environment is passed in explicitly, so tests never
//! touch the process environment.
//!
//! Sections: `[broker]` ([`BrokerSettings`]), `[worker]`
//! ([`WorkerSettings`]), `[state]` ([`StateSettings`]: the Redis url, which
//! may carry a password, and how long job state is kept), `[metrics]`
//! ([`MetricsSettings`]: the address of a worker's metrics and health
//! endpoints), `[connections.<name>]` ([`Connection`]), `[scheduler]`
//! ([`SchedulerSettings`]) and the optional `[schedules.<name>]` ([`Schedule`]):
//! a schedule's `body` is read from TOML tables, so set it in the file.
//!
//! A connection's `api` (`ds`, `divalto` or `amienscope`) decides which
//! credential keys it takes ([`Credentials`]); another API's keys are
//! unknown keys. Each secret of a connection (`token` for ds, `password`
//! for divalto, `private_key` for amienscope) is exactly one of `<secret>`
//! (literal), `<secret>_env` (name of a variable holding it) or
//! `<secret>_file` (a file holding it, trimmed); a layer that sets one form
//! replaces whichever form a lower layer set. Secrets are [`SecretString`]s,
//! and no problem message repeats a value that may be secret.

mod api;
mod base_url;
mod broker;
mod connection;
mod credentials;
mod fan_out;
mod fields;
mod layers;
mod metrics;
mod problem;
mod schedule;
mod secret;
mod settings;
mod state;
#[cfg(test)]
mod test_file;
mod worker;

pub use api::{Api, PageSize, PageSizeError, RateLimit, UnknownApi};
pub use base_url::{BaseUrl, BaseUrlError};
pub use broker::BrokerSettings;
pub use connection::{Connection, ConnectionName, Connections, InvalidConnectionName};
pub use credentials::{
    AmienscopeKeys, ApidaeClientCredentials, Credentials, DivaltoLogin, SignatureSettings,
};
pub use fan_out::FanOut;
pub use metrics::MetricsSettings;
pub use problem::{Problem, SettingsError};
pub use schedule::{DivaltoSince, Schedule, SchedulerSettings, Schedules, Timing};
pub use settings::Settings;
pub use state::StateSettings;
pub use worker::WorkerSettings;

/// Re-exported so callers can read secrets without depending on `secrecy`.
pub use secrecy::{ExposeSecret, SecretString};
