//! Turns an HTTP answer into the GraphQL `data` or a classified [`DsError`], without I/O.

use crate::error::{DsError, PermanentReason, TransientReason};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, LOCATION, RETRY_AFTER};
use serde::Deserialize;
use serde_json::Value;

/// Absolute unix time (seconds) at which the server's rate-limit window ends.
const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// How much of a body that is not the expected JSON goes into an error.
const BODY_EXCERPT_CHARS: usize = 200;

/// GraphQL error codes that a later retry may clear; any other code is final.
const TRANSIENT_CODES: [(&str, TransientReason); 2] = [
    ("timeout", TransientReason::GraphqlTimeout),
    ("internal_server_error", TransientReason::GraphqlInternalError),
];

/// The GraphQL response envelope, success or failure.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    #[serde(default)]
    code: Option<Value>,
}

impl GraphqlError {
    fn code(&self) -> Option<&str> {
        self.extensions.as_ref()?.code.as_ref()?.as_str()
    }

    fn transient_reason(&self) -> Option<TransientReason> {
        let code = self.code()?;
        TRANSIENT_CODES
            .iter()
            .find(|(transient, _)| *transient == code)
            .map(|(_, reason)| *reason)
    }
}

/// Classifies one answer of the GraphQL endpoint. On success, returns the `data` member;
/// `now` anchors a relative `Retry-After`.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, DsError> {
    if status.is_success() {
        return graphql_data(body);
    }
    if status.is_redirection() {
        return Err(redirect(status, headers));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(DsError::RateLimited {
            reset_at: rate_limit_reset(headers, now),
        });
    }
    let (code, message) = describe_failure(status, body);
    if status.is_server_error() {
        return Err(DsError::transient(
            TransientReason::ServerError,
            with_code(message, code.as_deref()),
        ));
    }
    let reason = match status {
        StatusCode::REQUEST_TIMEOUT => {
            return Err(DsError::transient(TransientReason::Timeout, message));
        }
        StatusCode::BAD_REQUEST => PermanentReason::BadRequest,
        StatusCode::UNAUTHORIZED => PermanentReason::Unauthorized,
        StatusCode::FORBIDDEN => PermanentReason::Forbidden,
        _ => PermanentReason::UnexpectedStatus,
    };
    Err(DsError::permanent(reason, code, message))
}

/// A 2xx answer: the envelope must parse, carry no top-level error and carry `data`.
fn graphql_data(body: &[u8]) -> Result<Value, DsError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|error| {
        DsError::permanent(
            PermanentReason::InvalidResponse,
            None,
            format!("response body is not graphql json ({error}): {}", excerpt(body)),
        )
    })?;
    if let Some(failure) = graphql_errors(&envelope.errors) {
        return Err(failure);
    }
    envelope.data.ok_or_else(|| {
        DsError::permanent(
            PermanentReason::InvalidResponse,
            None,
            "response carries neither data nor errors",
        )
    })
}

/// Any top-level error fails the call, even beside partial data. It is transient only
/// when every error has a transient code; otherwise the first final error decides.
fn graphql_errors(errors: &[GraphqlError]) -> Option<DsError> {
    let first = errors.first()?;
    let others = match errors.len() - 1 {
        0 => String::new(),
        count => format!(" (and {count} more errors)"),
    };
    match errors.iter().find(|error| error.transient_reason().is_none()) {
        Some(fatal) => Some(DsError::permanent(
            PermanentReason::GraphqlError,
            fatal.code().map(str::to_owned),
            format!("{}{others}", fatal.message),
        )),
        None => Some(DsError::transient(
            first.transient_reason()?,
            with_code(format!("{}{others}", first.message), first.code()),
        )),
    }
}

fn redirect(status: StatusCode, headers: &HeaderMap) -> DsError {
    let target = match headers.get(LOCATION).map(|value| value.to_str()) {
        Some(Ok(location)) => format!("to {location}"),
        Some(Err(_)) => "to an unreadable location".to_owned(),
        None => "without a location".to_owned(),
    };
    DsError::permanent(
        PermanentReason::Redirect,
        None,
        format!("http {status} redirects {target}; a post is not followed, fix the base url"),
    )
}

/// The later of `RateLimit-Reset` (absolute epoch seconds, what the API sends) and
/// `Retry-After` (seconds from now or an HTTP date, which the API does not send today).
fn rate_limit_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let header = |name: &HeaderName| headers.get(name)?.to_str().ok().map(str::trim);
    let reset = header(&RATE_LIMIT_RESET)
        .and_then(|value| value.parse::<i64>().ok())
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0));
    let retry_after = header(&RETRY_AFTER).and_then(|value| parse_retry_after(value, now));
    reset.max(retry_after)
}

fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(seconds) = value.parse::<u32>() {
        return now.checked_add_signed(TimeDelta::seconds(i64::from(seconds)));
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// The code and message of an error answer: from the API's JSON error body when it has
/// one, else the status and an excerpt of whatever came back.
fn describe_failure(status: StatusCode, body: &[u8]) -> (Option<String>, String) {
    let first_error = serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|envelope| envelope.errors.into_iter().next());
    match first_error {
        Some(error) => (
            error.code().map(str::to_owned),
            format!("http {status}: {}", error.message),
        ),
        None => (None, format!("http {status}: {}", excerpt(body))),
    }
}

fn with_code(message: String, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{message} [{code}]"),
        None => message,
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty body".to_owned();
    }
    let mut cut: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}
