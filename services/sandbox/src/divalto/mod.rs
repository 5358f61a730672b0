//! The Divalto Infinity REST module, read side: `Authent/Auth` hands out
//! tokens and `RecordSql/Execute` pages through authorised RecordSql queries
//! with `offset`/`count`, all under the path prefix [`PATH_PREFIX`].

mod answer;
mod request;
mod service;
mod tables;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use secrecy::{ExposeSecret as _, SecretString};

pub use answer::{
    ERROR_AUTHENTICATION, ERROR_INVALID_TOKEN, ERROR_MALFORMED_REQUEST, ERROR_NOT_AUTHORISED,
    ERROR_UNKNOWN_NAME,
};
pub use service::DivaltoHandle;
pub(crate) use service::DivaltoService;
pub use tables::{DivaltoRecord, DivaltoTable};

use crate::schedule::ScheduledChange;

/// Where the Divalto routes live: a client's base URL is `<sandbox>/divalto`.
pub const PATH_PREFIX: &str = "/divalto";
/// The authentication endpoint.
pub const AUTH_PATH: &str = "/divalto/api/v1/Authent/Auth";
/// The RecordSql endpoint.
pub const RECORD_SQL_PATH: &str = "/divalto/api/v1/RecordSql/Execute";
/// The default cap on records per response.
pub const DEFAULT_RECORD_CAP: u32 = 1000;

/// How the Divalto stand-in behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct DivaltoConfig {
    /// Accounts `Authent/Auth` accepts.
    pub accounts: Vec<DivaltoAccount>,
    /// How long a token stays valid after it is issued.
    pub token_lifetime: Duration,
    /// Most records one response holds; a larger `count` is silently cut to it.
    pub record_cap: u32,
    /// Data changes applied right after the N-th successful RecordSql answer.
    pub scheduled_changes: Vec<ScheduledChange<DivaltoChange>>,
}

impl Default for DivaltoConfig {
    /// The account [`DivaltoAccount::sandbox`], 30-minute tokens, 1000 records
    /// per response, no scheduled change.
    fn default() -> Self {
        Self {
            accounts: vec![DivaltoAccount::sandbox()],
            token_lifetime: Duration::from_secs(30 * 60),
            record_cap: DEFAULT_RECORD_CAP,
            scheduled_changes: Vec::new(),
        }
    }
}

/// An account `Authent/Auth` accepts.
#[derive(Debug, Clone)]
pub struct DivaltoAccount {
    /// Windows domain; may be empty when `user` is `name@domain`.
    pub domain: String,
    /// User name, `name` or `name@domain`.
    pub user: String,
    /// Password.
    pub password: SecretString,
    /// Divalto environment name.
    pub env: String,
}

impl DivaltoAccount {
    /// User `sandbox@sandbox.local`, password `sandbox-password`, environment
    /// `SANDBOX`, empty domain.
    pub fn sandbox() -> Self {
        Self {
            domain: String::new(),
            user: "sandbox@sandbox.local".to_owned(),
            password: SecretString::from("sandbox-password"),
            env: "SANDBOX".to_owned(),
        }
    }
}

impl PartialEq for DivaltoAccount {
    fn eq(&self, other: &Self) -> bool {
        self.domain == other.domain
            && self.user == other.user
            && self.env == other.env
            && self.password.expose_secret() == other.password.expose_secret()
    }
}

/// A change to the Divalto data or tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivaltoChange {
    /// Adds the generated row with this id (nothing if it exists).
    Insert {
        /// The table to change.
        table: DivaltoTable,
        /// The id of the new row.
        id: u64,
    },
    /// Removes the row with this id (nothing if there is none).
    Delete {
        /// The table to change.
        table: DivaltoTable,
        /// The id of the row to remove.
        id: u64,
    },
    /// Makes every token issued so far invalid.
    ExpireTokens,
}

/// The routes of the Divalto API.
pub(crate) fn router(service: Arc<DivaltoService>) -> Router {
    Router::new()
        .route(AUTH_PATH, post(service::authenticate))
        .route(RECORD_SQL_PATH, post(service::execute))
        .with_state(service)
}
