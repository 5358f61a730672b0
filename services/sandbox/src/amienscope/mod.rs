//! The Amienscope events API, incremental listing only:
//! `GET /get/updates/<ts>[/<category_id>][/<offset>,<limit>]` with signed
//! requests, under the path prefix [`PATH_PREFIX`].

mod events;
mod path;
mod service;
mod signature;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use secrecy::{ExposeSecret as _, SecretString};

pub use events::{CATEGORIES, Event, EventStatus, SEEDED_UPDATES_FROM, SEEDED_UPDATES_UNTIL};
pub use path::MAX_LIMIT;
pub use service::AmienscopeHandle;
pub(crate) use service::AmienscopeService;
pub use signature::{DATETIME_HEADER, EMAIL_HEADER, PUBLIC_KEY_HEADER, SIGNATURE_HEADER};

use crate::schedule::ScheduledChange;

/// Where the Amienscope routes live: a client's base URL is `<sandbox>/amienscope`.
pub const PATH_PREFIX: &str = "/amienscope";
/// The updates listing; the segments follow this prefix.
pub const UPDATES_PATH: &str = "/amienscope/get/updates/";

/// How the Amienscope stand-in behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct AmienscopeConfig {
    /// Accounts whose signatures are accepted.
    pub accounts: Vec<AmienscopeAccount>,
    /// How far `X-Datetime` may be from the server's clock, either way.
    pub clock_skew: Duration,
    /// Data changes applied right after the N-th successful listing.
    pub scheduled_changes: Vec<ScheduledChange<AmienscopeChange>>,
}

impl Default for AmienscopeConfig {
    /// The account [`AmienscopeAccount::sandbox`], a 300-second window, no
    /// scheduled change.
    fn default() -> Self {
        Self {
            accounts: vec![AmienscopeAccount::sandbox()],
            clock_skew: Duration::from_secs(300),
            scheduled_changes: Vec::new(),
        }
    }
}

/// An API access: the keys and the e-mail it was created with.
#[derive(Debug, Clone)]
pub struct AmienscopeAccount {
    /// `X-Public-Key`, 32 characters.
    pub public_key: String,
    /// The HMAC key of `X-Signature`.
    pub private_key: SecretString,
    /// `email_addr`, compared without regard to case.
    pub email: String,
}

impl AmienscopeAccount {
    /// Public key `sandboxpublickey0123456789abcdef`, private key
    /// `sandbox-private-key`, e-mail `sandbox@example.org`.
    pub fn sandbox() -> Self {
        Self {
            public_key: "sandboxpublickey0123456789abcdef".to_owned(),
            private_key: SecretString::from("sandbox-private-key"),
            email: "sandbox@example.org".to_owned(),
        }
    }
}

impl PartialEq for AmienscopeAccount {
    fn eq(&self, other: &Self) -> bool {
        self.public_key == other.public_key
            && self.email == other.email
            && self.private_key.expose_secret() == other.private_key.expose_secret()
    }
}

/// A change to the Amienscope events.
#[derive(Debug, Clone, PartialEq)]
pub enum AmienscopeChange {
    /// Adds the event, or replaces the one with the same id.
    Insert(Event),
    /// Removes the event with this id (nothing if there is none).
    Delete {
        /// The event id.
        id: u64,
    },
    /// Sets the status of the event with this id and its `updated_at` to now.
    SetStatus {
        /// The event id.
        id: u64,
        /// The new status.
        status: EventStatus,
    },
}

/// The routes of the Amienscope API.
pub(crate) fn router(service: Arc<AmienscopeService>) -> Router {
    Router::new()
        .route("/amienscope/get/updates/{*segments}", get(service::updates))
        .with_state(service)
}
