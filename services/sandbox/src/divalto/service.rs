//! The Divalto endpoints' shared state, the two handlers, and the handle tests
//! use to change the data while the server runs.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use secrecy::ExposeSecret as _;
use serde_json::Value;

use super::answer::{self, Refusal};
use super::request::{AuthRequest, FieldSelection, RecordSqlRequest, parse_auth, parse_record_sql};
use super::tables::{DivaltoRecord, DivaltoTable, Tables};
use super::tokens::{Holder, Tokens};
use super::{DivaltoAccount, DivaltoChange, DivaltoConfig};
use crate::faults::FaultConfig;
use crate::schedule::Schedule;
use crate::server::RequestOrdinal;

/// What changes while the server runs.
struct DivaltoState {
    tables: Tables,
    tokens: Tokens,
    schedule: Schedule<DivaltoChange>,
    auth_calls: u64,
    auth_faults: u64,
    record_sql_calls: u64,
}

impl DivaltoState {
    fn apply(&mut self, change: DivaltoChange) {
        match change {
            DivaltoChange::Insert { table, id } => {
                self.tables.insert(table, id);
            }
            DivaltoChange::Delete { table, id } => {
                self.tables.delete(table, id);
            }
            DivaltoChange::ExpireTokens => self.tokens.expire_all(),
        }
    }

    fn apply_due_changes(&mut self) {
        for change in self.schedule.take_due() {
            self.apply(change);
        }
    }
}

type SharedState = Arc<Mutex<DivaltoState>>;

fn lock(state: &SharedState) -> MutexGuard<'_, DivaltoState> {
    state.lock().expect("divalto state poisoned")
}

/// Shared state of the Divalto endpoints.
pub(crate) struct DivaltoService {
    config: DivaltoConfig,
    faults: FaultConfig,
    state: SharedState,
}

impl DivaltoService {
    /// The service over freshly seeded tables, and a handle on its data.
    pub(crate) fn new(config: DivaltoConfig, faults: FaultConfig) -> (Self, DivaltoHandle) {
        let mut state = DivaltoState {
            tables: Tables::seeded(),
            tokens: Tokens::default(),
            schedule: Schedule::new(config.scheduled_changes.clone()),
            auth_calls: 0,
            auth_faults: 0,
            record_sql_calls: 0,
        };
        state.apply_due_changes();
        let state = Arc::new(Mutex::new(state));
        let handle = DivaltoHandle {
            state: Arc::clone(&state),
        };
        let service = Self {
            config,
            faults,
            state,
        };
        (service, handle)
    }

    fn account_for(&self, request: &AuthRequest) -> Result<&DivaltoAccount, Refusal> {
        let wanted = identity(&request.user, &request.domain);
        let mut matching = self
            .config
            .accounts
            .iter()
            .filter(|account| {
                identity(&account.user, &account.domain) == wanted
                    && account.password.expose_secret() == request.password.expose_secret()
            })
            .peekable();
        if matching.peek().is_none() {
            return Err(Refusal::BadCredentials);
        }
        matching
            .find(|account| account.env.eq_ignore_ascii_case(&request.env))
            .ok_or_else(|| Refusal::UnknownEnvironment(request.env.clone()))
    }

    fn authenticate(&self, body: &[u8]) -> Value {
        let mut state = lock(&self.state);
        state.auth_calls += 1;
        let account = parse_auth(body)
            .map_err(Refusal::from)
            .and_then(|request| self.account_for(&request));
        match account {
            Ok(account) => {
                let holder = Holder {
                    env: account.env.clone(),
                    user: account.user.clone(),
                    domain: account.domain.clone(),
                };
                let token = state.tokens.issue(
                    holder,
                    self.config.token_lifetime,
                    Instant::now(),
                    Utc::now(),
                );
                answer::authenticated(&token)
            }
            Err(refusal) => answer::authentication_refused(&refusal),
        }
    }

    fn execute(&self, body: &[u8]) -> Value {
        let mut state = lock(&self.state);
        state.record_sql_calls += 1;
        let answer = parse_record_sql(body)
            .map_err(Refusal::from)
            .and_then(|request| self.read(&state, &request, Instant::now()));
        match answer {
            Ok(answer) => {
                state.schedule.count_answer();
                state.apply_due_changes();
                answer
            }
            Err(refusal) => answer::record_sql_refused(&refusal),
        }
    }

    fn read(
        &self,
        state: &DivaltoState,
        request: &RecordSqlRequest,
        now: Instant,
    ) -> Result<Value, Refusal> {
        let token = state
            .tokens
            .valid(&request.access_token, now)
            .ok_or(Refusal::InvalidToken)?;
        let table = DivaltoTable::find(&request.dhoq, &request.recordsql)
            .ok_or_else(|| Refusal::NotAuthorised(request.recordsql.clone()))?;
        let clauses = [
            ("where", &request.where_clause),
            ("orderby", &request.orderby),
            ("having", &request.having),
        ];
        if let Some((kind, name)) = clauses.into_iter().find(|(_, name)| !name.is_empty()) {
            return Err(Refusal::UnknownClause {
                kind,
                name: name.clone(),
            });
        }
        let columns = column_positions(table, &request.fields)?;
        let count = match request.count {
            0 => 1,
            count => count.min(u64::from(self.config.record_cap.max(1))),
        };
        let records = state.tables.page(table, request.offset, count, &columns);
        let infos = if request.wants_token_infos() {
            answer::token_infos(token)
        } else {
            String::new()
        };
        Ok(answer::records(table.tablename(), records, infos))
    }
}

/// The user name and domain an account or request stands for, compared
/// without regard to case; the domain may come from `name@domain`.
fn identity(user: &str, domain: &str) -> (String, String) {
    let (name, user_domain) = user.split_once('@').unwrap_or((user, ""));
    let domain = if domain.trim().is_empty() {
        user_domain
    } else {
        domain
    };
    (name.trim().to_lowercase(), domain.trim().to_lowercase())
}

fn column_positions(table: DivaltoTable, fields: &FieldSelection) -> Result<Vec<usize>, Refusal> {
    let columns = table.columns();
    match fields {
        FieldSelection::All => Ok((0..columns.len()).collect()),
        FieldSelection::Only(names) => names
            .iter()
            .map(|name| {
                columns
                    .iter()
                    .position(|column| column == name)
                    .ok_or_else(|| Refusal::UnknownField(name.clone()))
            })
            .collect(),
    }
}

pub(super) async fn authenticate(
    State(service): State<Arc<DivaltoService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    body: Bytes,
) -> Response {
    if let Some(fault) = service.faults.fault_for(ordinal.0) {
        lock(&service.state).auth_faults += 1;
        return fault.plain_response();
    }
    Json(service.authenticate(&body)).into_response()
}

pub(super) async fn execute(
    State(service): State<Arc<DivaltoService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    body: Bytes,
) -> Response {
    if let Some(fault) = service.faults.fault_for(ordinal.0) {
        return fault.plain_response();
    }
    Json(service.execute(&body)).into_response()
}

/// Reads and changes the Divalto data of a running sandbox.
#[derive(Clone)]
pub struct DivaltoHandle {
    state: SharedState,
}

impl std::fmt::Debug for DivaltoHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DivaltoHandle")
            .finish_non_exhaustive()
    }
}

impl DivaltoHandle {
    /// Adds the generated row with this id; false if the id already exists.
    pub fn insert(&self, table: DivaltoTable, id: u64) -> bool {
        lock(&self.state).tables.insert(table, id)
    }

    /// Removes the row with this id; false if there was none.
    pub fn delete(&self, table: DivaltoTable, id: u64) -> bool {
        lock(&self.state).tables.delete(table, id)
    }

    /// The ids of the rows, in serving order (ascending).
    pub fn ids(&self, table: DivaltoTable) -> Vec<u64> {
        lock(&self.state).tables.ids(table)
    }

    /// Every row with all its fields, in serving order, as `fields: "*"` sends them.
    pub fn records(&self, table: DivaltoTable) -> Vec<DivaltoRecord> {
        let columns: Vec<usize> = (0..table.columns().len()).collect();
        lock(&self.state).tables.page(table, 0, u64::MAX, &columns)
    }

    /// Makes every token issued so far invalid, as if they had all expired.
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.expire_all();
    }

    /// `Authent/Auth` requests handled (injected faults excluded).
    pub fn auth_calls(&self) -> u64 {
        lock(&self.state).auth_calls
    }

    /// `Authent/Auth` requests answered with an injected fault.
    pub fn auth_faults(&self) -> u64 {
        lock(&self.state).auth_faults
    }

    /// `RecordSql/Execute` requests handled, refused ones included (injected
    /// faults excluded).
    pub fn record_sql_calls(&self) -> u64 {
        lock(&self.state).record_sql_calls
    }
}
