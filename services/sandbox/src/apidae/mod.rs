//! The Apidae private-descriptor write API, `v002/donnees-privees/`, with its OAuth
//! client-credentials token endpoint, under the path prefix [`PATH_PREFIX`]: a client's
//! API root is `<sandbox>/apidae` and its token URL `<sandbox>/apidae/oauth/token`.
//!
//! # Answers
//!
//! | case | HTTP | body |
//! |---|---|---|
//! | `PUT` done | 200 | `{"id":[…],"status":"MODIFICATION_DONNEES_PRIVEES"}` |
//! | `DELETE` done | 200 | `{"id":[…],"status":"SUPPRESSION_DONNEES_PRIVEES"}` |
//! | more than [`MAX_OBJECTS`] objects | 200 | `{"status":"NO_ACTION","message":…}` |
//! | no form field `donneesPrivees` | 400 | `{"errorType":"ECRITURE_BAD_REQUEST",…}` |
//! | JSON not in the expected format | 400 | `{"errorType":"ECRITURE_INVALID_JSON_DATA",…}` |
//! | project without write rights, or a technical name it does not own | 403 | `{"errorType":"ECRITURE_FORBIDDEN",…}` |
//! | missing, unknown or expired bearer token | 401 | `{"error":"invalid_token",…}` |
//! | the write path without its trailing slash | 401 | `{"error":"unauthorized",…}` |
//!
//! The HTTP codes of the `errorType` answers are undocumented upstream; the sandbox
//! picks 400 and 403 (JSON bodies). Nothing is written unless the whole call succeeds.
//! Unknown object ids are ignored silently and left out of `id`; every known object
//! of a successful call is listed, once, in request order.
//!
//! # Stored descriptors
//!
//! Object id → technical name → language key → text, the language keys as the API
//! sends them (`libelleFr`, `libelleEn` …). A `PUT` replaces the whole text set of each
//! descriptor it names. A `DELETE` takes `donneesPriveesASupprimer: [names]` or
//! `donneesPrivees: [{"nomTechnique": …}]` (both together are merged).

mod answer;
mod form;
mod oauth;
mod payload;
mod service;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use secrecy::{ExposeSecret as _, SecretString};

pub use service::ApidaeHandle;
pub(crate) use service::ApidaeService;
pub use store::KNOWN_OBJECTS_FROM;

use crate::schedule::ScheduledChange;

/// Where the Apidae routes live: a client's API root is `<sandbox>/apidae`.
pub const PATH_PREFIX: &str = "/apidae";
/// The OAuth token endpoint (`GET` or `POST`).
pub const TOKEN_PATH: &str = "/apidae/oauth/token";
/// The write endpoint (`PUT` and `DELETE`), trailing slash included.
pub const WRITE_PATH: &str = "/apidae/api/v002/donnees-privees/";
/// The most objects one write call may name; above, the call answers `NO_ACTION`.
pub const MAX_OBJECTS: usize = 50;
/// How many known object ids are seeded by default.
pub const DEFAULT_KNOWN_OBJECTS: usize = 20_000;
/// The `scope` the token endpoint answers.
pub const SCOPE: &str = "api_ecriture";

/// How the Apidae stand-in behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ApidaeConfig {
    /// OAuth clients (write projects) the token endpoint accepts.
    pub clients: Vec<ApidaeProject>,
    /// How long an access token stays valid; `expires_in` reports it.
    pub token_lifetime: Duration,
    /// The tourism objects the API knows; writes to other ids are ignored silently.
    pub known_objects: KnownObjects,
    /// Apidae error pages pinned to request ordinals (counted over every API of the
    /// sandbox, like [`crate::FaultPlan`]).
    pub fault_plan: ApidaeFaultPlan,
    /// Changes applied right after the N-th successful write answer.
    pub scheduled_changes: Vec<ScheduledChange<ApidaeChange>>,
}

impl Default for ApidaeConfig {
    /// The client [`ApidaeProject::sandbox`], 12-hour tokens, 20,000 seeded objects, no
    /// fault, no scheduled change.
    fn default() -> Self {
        Self {
            clients: vec![ApidaeProject::sandbox()],
            token_lifetime: Duration::from_secs(12 * 3600),
            known_objects: KnownObjects::Seeded {
                count: DEFAULT_KNOWN_OBJECTS,
            },
            fault_plan: ApidaeFaultPlan::default(),
            scheduled_changes: Vec::new(),
        }
    }
}

/// A write project: its OAuth client and what it may write.
#[derive(Debug, Clone)]
pub struct ApidaeProject {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: SecretString,
    /// Whether the project may write at all; if not, every write is `ECRITURE_FORBIDDEN`.
    pub can_write: bool,
    /// The descriptors the project's member owns.
    pub technical_names: TechnicalNames,
}

impl ApidaeProject {
    /// Client `sandbox-apidae-client`, secret `sandbox-apidae-secret`, write rights on
    /// every technical name.
    pub fn sandbox() -> Self {
        Self::writer("sandbox-apidae-client", "sandbox-apidae-secret")
    }

    /// A project with write rights on every technical name.
    pub fn writer(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            can_write: true,
            technical_names: TechnicalNames::All,
        }
    }
}

impl PartialEq for ApidaeProject {
    fn eq(&self, other: &Self) -> bool {
        self.client_id == other.client_id
            && self.can_write == other.can_write
            && self.technical_names == other.technical_names
            && self.client_secret.expose_secret() == other.client_secret.expose_secret()
    }
}

/// The technical names a project may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TechnicalNames {
    /// Any name.
    All,
    /// Only these names.
    Only(BTreeSet<String>),
}

impl TechnicalNames {
    /// Whether the project owns the descriptor `name`.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.contains(name),
        }
    }
}

/// The tourism objects the API knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownObjects {
    /// `count` ids generated from a fixed seed, ascending from [`KNOWN_OBJECTS_FROM`] with
    /// small gaps; ids below [`KNOWN_OBJECTS_FROM`] are never known.
    Seeded {
        /// How many ids.
        count: usize,
    },
    /// Exactly these ids.
    Only(BTreeSet<u64>),
}

/// An error page the Apidae servers answer with instead of JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApidaeFault {
    /// HTTP 503 with a Tomcat-style HTML page (`text/html`).
    HtmlUnavailable,
    /// HTTP 500 with a Tomcat-style HTML page (`text/html`).
    HtmlServerError,
    /// HTTP 503 with the plain text `Service Unavailable`.
    PlainUnavailable,
}

/// Apidae error pages pinned to request ordinals: the first request the sandbox receives
/// is number 1. The global [`crate::FaultConfig`] applies first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApidaeFaultPlan {
    /// Ordinal → the page its request gets, on either Apidae endpoint.
    pub pages: BTreeMap<u64, ApidaeFault>,
}

/// A change to the Apidae state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApidaeChange {
    /// Makes every token issued so far invalid.
    ExpireTokens,
    /// The next `count` write requests get `fault` instead of being handled.
    FailNextWrites {
        /// The page they get.
        fault: ApidaeFault,
        /// How many write requests.
        count: u32,
    },
    /// Makes this object known.
    AddObject {
        /// The object id.
        id: u64,
    },
    /// Makes this object unknown, dropping its descriptors.
    ForgetObject {
        /// The object id.
        id: u64,
    },
}

/// The routes of the Apidae API. Other methods on the write path answer 405.
pub(crate) fn router(service: Arc<ApidaeService>) -> Router {
    let slashless = WRITE_PATH.trim_end_matches('/');
    Router::new()
        .route(TOKEN_PATH, get(service::token).post(service::token))
        .route(
            WRITE_PATH,
            axum::routing::put(service::put).delete(service::delete),
        )
        .route(slashless, any(service::slashless))
        .with_state(service)
}
