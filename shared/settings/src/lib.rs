//! Typed settings for every service: a TOML file plus ESTAFETTE__ environment overrides, named upstream connections, secrets that never print.
//!
//! Sources, lowest first:
//! 1. `defaults.toml`, reviewed and embedded in this crate: on its own it
//!    works against a local broker and the sandbox upstream (connection
//!    `sandbox`);
//! 2. an optional TOML file (`ESTAFETTE_CONFIG` names it);
//! 3. `AMQP_URL`, which sets `broker.url` only;
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
//! A connection's credential is exactly one of `token` (literal),
//! `token_env` (name of a variable holding it) or `token_file` (a file
//! holding it, trimmed); a layer that sets one replaces whichever a lower
//! layer set. Secrets are [`SecretString`]s, and no
//! problem message repeats a value that may be secret.

mod api;
mod base_url;
mod broker;
mod connection;
mod fields;
mod layers;
mod problem;
mod settings;
mod token;
mod worker;

pub use api::{Api, PageSize, PageSizeError, RateLimit, UnknownApi};
pub use base_url::{BaseUrl, BaseUrlError};
pub use broker::BrokerSettings;
pub use connection::{Connection, ConnectionName, Connections, InvalidConnectionName};
pub use problem::{Problem, SettingsError};
pub use settings::Settings;
pub use worker::WorkerSettings;

/// Re-exported so callers can read secrets without depending on `secrecy`.
pub use secrecy::{ExposeSecret, SecretString};
