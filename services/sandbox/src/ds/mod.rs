//! The demarches-simplifiees GraphQL API v2: `POST /api/v2/graphql` with the
//! server's authentication, rate limit, error shapes, pagination, and the
//! mutations that change dossiers (state, messages, labels).

mod connection;
pub mod dataset;
mod datetime;
mod executor;
mod lifecycle;
mod mutations;
mod resolvers;
mod store;

use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use apollo_compiler::Schema;
use apollo_compiler::executable::OperationType;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

pub use connection::EndOfList;
use executor::{GraphqlOutcome, GraphqlRequest};
pub(crate) use store::LiveDataset;

use crate::auth::{Caller, TokenConfig, identify};
use crate::faults::{Fault, FaultConfig};
use crate::rate_limit::{Admission, FixedWindowLimiter, RateLimitConfig};
use crate::server::{DropConnection, RequestOrdinal};

/// The path of the GraphQL endpoint.
pub const GRAPHQL_PATH: &str = "/api/v2/graphql";

/// The schema the sandbox serves, a subset of the real one.
pub const SCHEMA_SDL: &str = include_str!("schema.graphql");

static SCHEMA: LazyLock<Valid<Schema>> = LazyLock::new(|| {
    Schema::parse_and_validate(SCHEMA_SDL, "schema.graphql").expect("the sandbox schema is valid")
});

const THROTTLED_BODY: &str = "Calme toi, cowboy ! T'enchaines un peu trop les requêtes. Respire un peu réessaie dans un petit moment.\n\
Calm down, cowboy! You're making too many requests. Take a breather and try again soon.\n";

/// How the demarches-simplifiees stand-in behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct DsConfig {
    /// Tokens the server knows; any other token is treated as no token.
    pub tokens: Vec<TokenConfig>,
    /// Requests allowed per `Authorization` header value and window.
    pub rate_limit: RateLimitConfig,
    /// What the page after the last one looks like.
    pub end_of_list: EndOfList,
}

impl Default for DsConfig {
    /// A valid token `sandbox-token` on every démarche, a read-only
    /// `read-only-token`, an expired `expired-token`, 400 requests per
    /// minute, empty page at the end.
    fn default() -> Self {
        Self {
            tokens: vec![
                TokenConfig::valid("sandbox-token"),
                TokenConfig::read_only("read-only-token"),
                TokenConfig::expired("expired-token"),
            ],
            rate_limit: RateLimitConfig::default(),
            end_of_list: EndOfList::default(),
        }
    }
}

/// Shared state of the endpoint.
pub(crate) struct DsService {
    config: DsConfig,
    dataset: Arc<LiveDataset>,
    faults: FaultConfig,
    limiter: FixedWindowLimiter,
}

impl DsService {
    pub(crate) fn new(config: DsConfig, dataset: Arc<LiveDataset>, faults: FaultConfig) -> Self {
        let limiter = FixedWindowLimiter::new(config.rate_limit);
        Self {
            config,
            dataset,
            faults,
            limiter,
        }
    }
}

/// The routes of the demarches-simplifiees API.
pub(crate) fn router(service: Arc<DsService>) -> Router {
    Router::new()
        .route(GRAPHQL_PATH, post(graphql))
        .with_state(service)
}

async fn graphql(
    State(service): State<Arc<DsService>>,
    Extension(ordinal): Extension<RequestOrdinal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = SystemTime::now();
    match service.faults.fault_for(ordinal.0) {
        Some(Fault::DroppedConnection) => return DropConnection.into_response(),
        Some(Fault::ServerError { exception_id }) => return internal_server_error(exception_id),
        Some(Fault::RateLimited) => return throttled(service.limiter.window_end(now)),
        None => {}
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    if let Some(key) = &authorization
        && let Admission::Throttled {
            reset_epoch_seconds,
        } = service.limiter.admit(key, now)
    {
        return throttled(reset_epoch_seconds);
    }
    let grant = match identify(&service.config.tokens, authorization.as_deref()) {
        Caller::Expired => {
            return http_error(StatusCode::UNAUTHORIZED, "Token expired", "unauthorized");
        }
        Caller::Authenticated {
            scope,
            write_access,
        } => Some((scope, write_access)),
        Caller::Anonymous => None,
    };
    let body = match RequestBody::parse(&body) {
        Ok(body) => body,
        Err(message) => return http_error(StatusCode::BAD_REQUEST, &message, "bad_request"),
    };
    if body.query_id.is_some() {
        return http_error(StatusCode::BAD_REQUEST, "Unknown queryId", "bad_request");
    }
    let Some((scope, write_access)) = grant else {
        return http_error(
            StatusCode::FORBIDDEN,
            "Without a token, only persisted queries are allowed",
            "forbidden",
        );
    };
    let variables = match body.variables() {
        Ok(variables) => variables,
        Err(VariablesError::NotJson(message)) => {
            return http_error(StatusCode::BAD_REQUEST, &message, "graphql_parse_failed");
        }
        Err(VariablesError::NotAnObject(message)) => {
            return http_error(StatusCode::BAD_REQUEST, &message, "bad_request");
        }
    };
    let Some(query) = body
        .query
        .as_deref()
        .filter(|query| !query.trim().is_empty())
    else {
        let refused = GraphqlOutcome::Refused(vec![apollo_compiler::response::GraphQLError {
            message: "No query string was present".to_owned(),
            locations: Vec::new(),
            path: Vec::new(),
            extensions: JsonMap::new(),
        }]);
        return Json(refused.to_json()).into_response();
    };
    let request = GraphqlRequest {
        query,
        operation_name: body.operation_name.as_deref(),
        variables: &variables,
    };
    let prepared = match executor::prepare(&SCHEMA, &request, resolvers::custom_scalar_is_valid) {
        Ok(prepared) => prepared,
        Err(refused) => return Json(refused.to_json()).into_response(),
    };
    let outcome = match prepared.operation_type() {
        OperationType::Mutation => prepared.execute(&mutations::MutationRoot {
            dataset: &service.dataset,
            scope: &scope,
            write_access,
        }),
        OperationType::Query | OperationType::Subscription => {
            let dataset = service.dataset.read();
            prepared.execute(&resolvers::QueryRoot {
                dataset: &dataset,
                scope: &scope,
                end_of_list: service.config.end_of_list,
            })
        }
    };
    Json(outcome.to_json()).into_response()
}

/// The fields of the JSON body the endpoint reads.
struct RequestBody {
    query: Option<String>,
    operation_name: Option<String>,
    query_id: Option<String>,
    variables: JsonValue,
}

enum VariablesError {
    /// `variables` was a string that is not JSON.
    NotJson(String),
    /// `variables` was neither an object, a JSON string, nor null.
    NotAnObject(String),
}

impl RequestBody {
    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        let serde_json::Value::Object(mut fields) = value else {
            return Err("the request body must be a JSON object".to_owned());
        };
        let mut text = |name: &str| -> Result<Option<String>, String> {
            match fields.remove(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(text)) => Ok(Some(text)),
                Some(other) => Err(format!("Unexpected parameter: {name}={other}")),
            }
        };
        Ok(Self {
            query: text("query")?,
            operation_name: text("operationName")?,
            query_id: text("queryId")?.filter(|id| !id.is_empty()),
            variables: fields
                .remove("variables")
                .map(JsonValue::from)
                .unwrap_or_default(),
        })
    }

    /// `variables` as an object: null and blank strings are empty, a string
    /// holds JSON.
    fn variables(&self) -> Result<JsonMap, VariablesError> {
        match &self.variables {
            JsonValue::Null => Ok(JsonMap::new()),
            JsonValue::Object(map) => Ok(map.clone()),
            JsonValue::String(text) if text.as_str().trim().is_empty() => Ok(JsonMap::new()),
            JsonValue::String(text) => {
                match serde_json::from_str::<serde_json::Value>(text.as_str()) {
                    Ok(serde_json::Value::Object(map)) => {
                        Ok(JsonValue::from(serde_json::Value::Object(map))
                            .as_object()
                            .cloned()
                            .unwrap_or_default())
                    }
                    Ok(other) => Err(VariablesError::NotAnObject(format!(
                        "Unexpected parameter: {other}"
                    ))),
                    Err(error) => Err(VariablesError::NotJson(error.to_string())),
                }
            }
            other => Err(VariablesError::NotAnObject(format!(
                "Unexpected parameter: {other}"
            ))),
        }
    }
}

/// An error outside GraphQL execution: `{"errors":[{message, extensions:{code}}],"data":null}`.
fn http_error(status: StatusCode, message: &str, code: &str) -> Response {
    error_body(status, message, serde_json::json!({ "code": code }))
}

fn internal_server_error(exception_id: uuid::Uuid) -> Response {
    let extensions = serde_json::json!({
        "code": "internal_server_error",
        "exception_id": exception_id.to_string(),
    });
    error_body(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        extensions,
    )
}

fn error_body(status: StatusCode, message: &str, extensions: serde_json::Value) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": extensions }],
        "data": null,
    });
    (status, Json(body)).into_response()
}

/// The rack-attack answer: plain text, `RateLimit-Remaining: 0`, the
/// absolute reset time, and no `Retry-After`.
fn throttled(reset_epoch_seconds: u64) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, THROTTLED_BODY).into_response();
    let headers = response.headers_mut();
    headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
    headers.insert("ratelimit-reset", HeaderValue::from(reset_epoch_seconds));
    response
}

#[cfg(test)]
mod tests;
