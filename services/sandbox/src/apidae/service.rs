//! The Apidae endpoints' shared state, their handlers, and the handle tests use to read
//! the written descriptors and change the state while the server runs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use secrecy::ExposeSecret as _;

use super::answer::{self, ErrorType};
use super::form::{multipart_boundary, multipart_field, urlencoded_value};
use super::oauth::{TokenCheck, Tokens, basic_credentials, bearer_token};
use super::payload::{DeleteObject, PutObject, Texts, parse_delete, parse_put};
use super::store::Store;
use super::{ApidaeChange, ApidaeConfig, ApidaeFault, MAX_OBJECTS, SCOPE};
use crate::faults::FaultConfig;
use crate::schedule::Schedule;
use crate::server::RequestOrdinal;

/// The form field of the write calls.
const FIELD: &str = "donneesPrivees";

/// What changes while the server runs.
struct ApidaeState {
    store: Store,
    tokens: Tokens,
    schedule: Schedule<ApidaeChange>,
    failing_writes: VecDeque<ApidaeFault>,
    write_calls: u64,
    token_calls: u64,
}

impl ApidaeState {
    fn apply(&mut self, change: ApidaeChange) {
        match change {
            ApidaeChange::ExpireTokens => self.tokens.expire_all(),
            ApidaeChange::FailNextWrites { fault, count } => {
                self.failing_writes
                    .extend(std::iter::repeat_n(fault, count as usize));
            }
            ApidaeChange::AddObject { id } => self.store.add_object(id),
            ApidaeChange::ForgetObject { id } => self.store.forget_object(id),
        }
    }

    fn apply_due_changes(&mut self) {
        for change in self.schedule.take_due() {
            self.apply(change);
        }
    }
}

type SharedState = Arc<Mutex<ApidaeState>>;

fn lock(state: &SharedState) -> MutexGuard<'_, ApidaeState> {
    state.lock().expect("apidae state poisoned")
}

/// Which write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteMethod {
    Put,
    Delete,
}

/// The edits of one write call, once read.
enum Edits {
    Put(Vec<PutObject>),
    Delete(Vec<DeleteObject>),
}

impl Edits {
    fn read(method: WriteMethod, json: &[u8]) -> Result<Self, super::payload::InvalidJson> {
        match method {
            WriteMethod::Put => parse_put(json).map(Self::Put),
            WriteMethod::Delete => parse_delete(json).map(Self::Delete),
        }
    }

    fn object_count(&self) -> usize {
        match self {
            Self::Put(objects) => objects.len(),
            Self::Delete(objects) => objects.len(),
        }
    }

    /// Every technical name the call touches.
    fn names(&self) -> Vec<&str> {
        match self {
            Self::Put(objects) => objects
                .iter()
                .flat_map(|object| object.descriptors.iter().map(|(name, _)| name.as_str()))
                .collect(),
            Self::Delete(objects) => objects
                .iter()
                .flat_map(|object| object.names.iter().map(String::as_str))
                .collect(),
        }
    }

    /// Writes the edits of known objects and returns their ids, once each, in request
    /// order, with the success status.
    fn apply(self, store: &mut Store) -> (Vec<u64>, &'static str) {
        let mut updated = Vec::new();
        let mut touch = |id: u64, store: &Store| {
            let known = store.is_known(id);
            if known && !updated.contains(&id) {
                updated.push(id);
            }
            known
        };
        match self {
            Self::Put(objects) => {
                for object in objects {
                    if touch(object.id, store) {
                        for (name, texts) in object.descriptors {
                            store.set(object.id, &name, texts);
                        }
                    }
                }
                (updated, "MODIFICATION_DONNEES_PRIVEES")
            }
            Self::Delete(objects) => {
                for object in objects {
                    if touch(object.id, store) {
                        for name in &object.names {
                            store.remove(object.id, name);
                        }
                    }
                }
                (updated, "SUPPRESSION_DONNEES_PRIVEES")
            }
        }
    }
}

/// Shared state of the Apidae endpoints.
pub(crate) struct ApidaeService {
    config: ApidaeConfig,
    faults: FaultConfig,
    state: SharedState,
}

impl ApidaeService {
    /// The service over the configured known objects, and a handle on its state.
    pub(crate) fn new(config: ApidaeConfig, faults: FaultConfig) -> (Self, ApidaeHandle) {
        let mut state = ApidaeState {
            store: Store::new(&config.known_objects),
            tokens: Tokens::default(),
            schedule: Schedule::new(config.scheduled_changes.clone()),
            failing_writes: VecDeque::new(),
            write_calls: 0,
            token_calls: 0,
        };
        state.apply_due_changes();
        let state = Arc::new(Mutex::new(state));
        let handle = ApidaeHandle {
            state: Arc::clone(&state),
        };
        let service = Self {
            config,
            faults,
            state,
        };
        (service, handle)
    }

    /// The injected failure of this request, if any: the global faults first, then the
    /// Apidae pages.
    fn injected(&self, ordinal: RequestOrdinal) -> Option<Response> {
        if let Some(fault) = self.faults.fault_for(ordinal.0) {
            return Some(fault.plain_response());
        }
        let page = self.config.fault_plan.pages.get(&ordinal.0)?;
        Some(page.response())
    }

    fn token(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
        let mut state = lock(&self.state);
        state.token_calls += 1;
        let credentials = header_text(headers, header::AUTHORIZATION).and_then(basic_credentials);
        let client = credentials.and_then(|(client_id, secret)| {
            self.config.clients.iter().find(|client| {
                client.client_id == client_id
                    && client.client_secret.expose_secret() == secret.expose_secret()
            })
        });
        let Some(client) = client else {
            return answer::oauth_error(
                StatusCode::UNAUTHORIZED,
                "Basic",
                "invalid_client",
                "Bad client credentials",
            );
        };
        let from_body = || {
            (method == Method::POST)
                .then(|| std::str::from_utf8(body).ok())
                .flatten()
                .and_then(|form| urlencoded_value(form, "grant_type"))
        };
        let grant_type = uri
            .query()
            .and_then(|query| urlencoded_value(query, "grant_type"))
            .or_else(from_body);
        match grant_type.as_deref() {
            Some("client_credentials") => {
                let lifetime = self.config.token_lifetime;
                let token = state
                    .tokens
                    .issue(&client.client_id, lifetime, Instant::now());
                answer::granted(&token, lifetime.as_secs(), SCOPE)
            }
            None => answer::oauth_error(
                StatusCode::BAD_REQUEST,
                "Bearer",
                "invalid_request",
                "Missing grant type",
            ),
            Some(other) => answer::oauth_error(
                StatusCode::BAD_REQUEST,
                "Bearer",
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            ),
        }
    }

    fn write(&self, method: WriteMethod, headers: &HeaderMap, body: &[u8]) -> Response {
        let mut state = lock(&self.state);
        if let Some(fault) = state.failing_writes.pop_front() {
            return fault.response();
        }
        state.write_calls += 1;
        let client_id = match caller(&state.tokens, headers) {
            Ok(client_id) => client_id,
            Err(description) => {
                return answer::oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "Bearer",
                    "invalid_token",
                    description,
                );
            }
        };
        let project = self
            .config
            .clients
            .iter()
            .find(|project| project.client_id == client_id);
        let Some(project) = project.filter(|project| project.can_write) else {
            return answer::error_type(
                ErrorType::Forbidden,
                "Vous ne disposez pas de droits suffisants sur le projet : l'écriture des \
                 descriptifs privés n'est pas autorisée",
            );
        };
        let field = header_text(headers, header::CONTENT_TYPE)
            .and_then(multipart_boundary)
            .and_then(|boundary| multipart_field(body, &boundary, FIELD));
        let Some(field) = field else {
            return answer::error_type(
                ErrorType::BadRequest,
                "Paramètre 'donneesPrivees' manquant dans la requête",
            );
        };
        let edits = match Edits::read(method, field) {
            Ok(edits) => edits,
            Err(invalid) => {
                return answer::error_type(
                    ErrorType::InvalidJsonData,
                    &format!("Les données JSON n'ont pas le format attendu : {invalid}"),
                );
            }
        };
        let count = edits.object_count();
        if count > MAX_OBJECTS {
            return answer::no_action(&format!(
                "La liste des objets à modifier est trop importante. Max attendus : \
                 {MAX_OBJECTS} - Reçus : {count}"
            ));
        }
        if let Some(name) = edits
            .names()
            .into_iter()
            .find(|name| !project.technical_names.allows(name))
        {
            return answer::error_type(
                ErrorType::Forbidden,
                &format!(
                    "Le membre propriétaire du projet n'est pas propriétaire du descriptif \
                     privé '{name}'"
                ),
            );
        }
        let (updated, status) = edits.apply(&mut state.store);
        state.schedule.count_answer();
        state.apply_due_changes();
        answer::written(&updated, status)
    }

    fn count_refused_write(&self) {
        lock(&self.state).write_calls += 1;
    }
}

/// The client a valid bearer token was issued to, or why the token is refused.
fn caller(tokens: &Tokens, headers: &HeaderMap) -> Result<String, &'static str> {
    let token = header_text(headers, header::AUTHORIZATION)
        .and_then(bearer_token)
        .ok_or("Access token missing")?;
    match tokens.check(token, Instant::now()) {
        TokenCheck::Valid(client_id) => Ok(client_id),
        TokenCheck::Expired => Err("Access token expired"),
        TokenCheck::Unknown => Err("Invalid access token"),
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name)?.to_str().ok()
}

pub(super) async fn token(
    State(service): State<Arc<ApidaeService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(injected) = service.injected(ordinal) {
        return injected;
    }
    service.token(&method, &uri, &headers, &body)
}

pub(super) async fn put(
    State(service): State<Arc<ApidaeService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(injected) = service.injected(ordinal) {
        return injected;
    }
    service.write(WriteMethod::Put, &headers, &body)
}

pub(super) async fn delete(
    State(service): State<Arc<ApidaeService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(injected) = service.injected(ordinal) {
        return injected;
    }
    service.write(WriteMethod::Delete, &headers, &body)
}

/// The write path without its trailing slash: the authentication error DOC-ECR warns
/// about, whatever the token.
pub(super) async fn slashless(
    State(service): State<Arc<ApidaeService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    method: Method,
) -> Response {
    if let Some(injected) = service.injected(ordinal) {
        return injected;
    }
    if method == Method::PUT || method == Method::DELETE {
        service.count_refused_write();
    }
    answer::oauth_error(
        StatusCode::UNAUTHORIZED,
        "Bearer",
        "unauthorized",
        "Full authentication is required to access this resource",
    )
}

/// Reads the written descriptors and changes the Apidae state of a running sandbox.
#[derive(Clone)]
pub struct ApidaeHandle {
    state: SharedState,
}

impl std::fmt::Debug for ApidaeHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ApidaeHandle")
            .finish_non_exhaustive()
    }
}

impl ApidaeHandle {
    /// Every stored descriptor: object id → technical name → language key (as the API
    /// sends it, `libelleFr` …) → text. Objects without descriptors are left out.
    pub fn stored(&self) -> BTreeMap<u64, BTreeMap<String, Texts>> {
        lock(&self.state).store.stored().clone()
    }

    /// The descriptors of one object, technical name → language key → text; empty when
    /// it has none.
    pub fn descriptors_of(&self, id: u64) -> BTreeMap<String, Texts> {
        lock(&self.state)
            .store
            .stored()
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    /// `PUT`/`DELETE` requests received on the write path, with or without its
    /// trailing slash, refused ones included (injected faults excluded).
    pub fn write_calls(&self) -> u64 {
        lock(&self.state).write_calls
    }

    /// Token requests handled, refused ones included (injected faults excluded).
    pub fn token_calls(&self) -> u64 {
        lock(&self.state).token_calls
    }

    /// Makes every token issued so far invalid, as if they had all expired.
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.expire_all();
    }

    /// The ids of the objects the API knows.
    pub fn known_objects(&self) -> BTreeSet<u64> {
        lock(&self.state).store.known().clone()
    }

    /// The next `count` write requests get `fault` instead of being handled.
    pub fn fail_next_writes(&self, fault: ApidaeFault, count: u32) {
        lock(&self.state).apply(ApidaeChange::FailNextWrites { fault, count });
    }
}
