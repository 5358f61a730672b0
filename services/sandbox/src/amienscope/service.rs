//! The Amienscope endpoint's shared state, its handler, and the handle tests
//! use to change the events while the server runs.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::events::{Event, EventStatus, Events, Selection};
use super::path::{self, Page};
use super::signature::SignedRequest;
use super::{AmienscopeChange, AmienscopeConfig, UPDATES_PATH};
use crate::faults::FaultConfig;
use crate::schedule::Schedule;
use crate::server::RequestOrdinal;

/// What changes while the server runs.
#[derive(Debug)]
struct AmienscopeState {
    events: Events,
    schedule: Schedule<AmienscopeChange>,
    update_calls: u64,
    refused_signatures: u64,
}

impl AmienscopeState {
    fn apply(&mut self, change: AmienscopeChange) {
        match change {
            AmienscopeChange::Insert(event) => {
                self.events.insert(event);
            }
            AmienscopeChange::Delete { id } => {
                self.events.delete(id);
            }
            AmienscopeChange::SetStatus { id, status } => {
                self.events.set_status(id, status, Utc::now().timestamp());
            }
        }
    }

    fn apply_due_changes(&mut self) {
        for change in self.schedule.take_due() {
            self.apply(change);
        }
    }
}

type SharedState = Arc<Mutex<AmienscopeState>>;

fn lock(state: &SharedState) -> MutexGuard<'_, AmienscopeState> {
    state.lock().expect("amienscope state poisoned")
}

/// Shared state of the Amienscope endpoint.
pub(crate) struct AmienscopeService {
    config: AmienscopeConfig,
    faults: FaultConfig,
    state: SharedState,
}

impl AmienscopeService {
    /// The service over freshly seeded events, and a handle on them.
    pub(crate) fn new(config: AmienscopeConfig, faults: FaultConfig) -> (Self, AmienscopeHandle) {
        let mut state = AmienscopeState {
            events: Events::seeded(),
            schedule: Schedule::new(config.scheduled_changes.clone()),
            update_calls: 0,
            refused_signatures: 0,
        };
        state.apply_due_changes();
        let state = Arc::new(Mutex::new(state));
        let handle = AmienscopeHandle {
            state: Arc::clone(&state),
        };
        let service = Self {
            config,
            faults,
            state,
        };
        (service, handle)
    }

    fn updates(&self, path: &str, headers: &HeaderMap, now: DateTime<Utc>) -> Response {
        let mut state = lock(&self.state);
        state.update_calls += 1;
        let signed = SignedRequest {
            method: Method::GET.as_str(),
            path,
            headers,
        };
        if let Err(refusal) = signed.verify(&self.config.accounts, now, self.config.clock_skew) {
            state.refused_signatures += 1;
            return error(StatusCode::UNAUTHORIZED, &refusal.to_string());
        }
        let segments = path.strip_prefix(UPDATES_PATH).unwrap_or_default();
        let request = match path::parse(segments) {
            Ok(request) => request,
            Err(refusal) => return error(StatusCode::BAD_REQUEST, &refusal.to_string()),
        };
        let listed = state.events.listing(request.selection);
        let (skip, take) = match request.page {
            Some(Page { offset, limit }) => (offset, limit),
            None => (0, u64::MAX),
        };
        let items: Vec<Value> = listed
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(take).unwrap_or(usize::MAX))
            .map(Event::to_json)
            .collect();
        state.schedule.count_answer();
        state.apply_due_changes();
        Json(Value::Array(items)).into_response()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

pub(super) async fn updates(
    State(service): State<Arc<AmienscopeService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(fault) = service.faults.fault_for(ordinal.0) {
        return fault.plain_response();
    }
    service.updates(uri.path(), &headers, Utc::now())
}

/// Reads and changes the Amienscope events of a running sandbox.
#[derive(Debug, Clone)]
pub struct AmienscopeHandle {
    state: SharedState,
}

impl AmienscopeHandle {
    /// Adds the event, or replaces the one with its id; true if the id was new.
    pub fn insert_event(&self, event: Event) -> bool {
        lock(&self.state).events.insert(event)
    }

    /// Removes the event; false if there was none.
    pub fn delete_event(&self, id: u64) -> bool {
        lock(&self.state).events.delete(id)
    }

    /// Sets the event's status and its `updated_at` to now; false if there is
    /// no such event.
    pub fn set_event_status(&self, id: u64, status: EventStatus) -> bool {
        lock(&self.state)
            .events
            .set_status(id, status, Utc::now().timestamp())
    }

    /// Every event, by ascending id.
    pub fn events(&self) -> Vec<Event> {
        lock(&self.state).events.all()
    }

    /// The whole list `/get/updates/<since>[/<category>]` would serve now, in
    /// serving order (next date, then id).
    pub fn listing(&self, since: i64, category: Option<u32>) -> Vec<Event> {
        lock(&self.state)
            .events
            .listing(Selection { since, category })
            .into_iter()
            .cloned()
            .collect()
    }

    /// `/get/updates` requests handled, refused ones included (injected
    /// faults excluded).
    pub fn update_calls(&self) -> u64 {
        lock(&self.state).update_calls
    }

    /// Requests refused for their signature headers (HTTP 401).
    pub fn refused_signatures(&self) -> u64 {
        lock(&self.state).refused_signatures
    }
}
