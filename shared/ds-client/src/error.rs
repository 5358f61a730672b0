//! What went wrong with a call, named for what the caller should do next.

use chrono::{DateTime, Utc};
use std::fmt;

/// A failed call, classified by the caller's decision: retry, wait, or give up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsError {
    /// Retry later: 5xx, timeouts, connection failures, and the GraphQL error codes
    /// `timeout` and `internal_server_error`.
    #[error("transient upstream failure ({reason}): {detail}")]
    Transient {
        /// Why, as a closed set fit for a metric label.
        reason: TransientReason,
        /// What happened, for the logs.
        detail: String,
    },
    /// HTTP 429: wait until the rate-limit window resets, then retry.
    #[error("rate limited by upstream{}", describe_reset(.reset_at))]
    RateLimited {
        /// When the window ends, from `RateLimit-Reset` (or `Retry-After` if the server
        /// sends one); none when neither header is usable.
        reset_at: Option<DateTime<Utc>>,
    },
    /// Do not retry: the same call would fail the same way.
    #[error("permanent upstream failure ({reason}): {message}")]
    Permanent {
        /// Why, as a closed set fit for a metric label.
        reason: PermanentReason,
        /// The API's `extensions.code`, when it gave one.
        code: Option<String>,
        /// What happened, for the logs and the dead letter.
        message: String,
    },
}

fn describe_reset(reset_at: &Option<DateTime<Utc>>) -> String {
    match reset_at {
        Some(at) => format!(" until {}", at.to_rfc3339()),
        None => String::new(),
    }
}

/// Why a call failed in a way that a later retry may fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransientReason {
    /// The server answered with a 5xx status.
    ServerError,
    /// No complete answer within the configured timeout, or an HTTP 408.
    Timeout,
    /// The connection could not be made or broke before the answer was read.
    Connection,
    /// A GraphQL error with code `timeout`: the server gave up on the query.
    GraphqlTimeout,
    /// A GraphQL error with code `internal_server_error` in a 200 answer.
    GraphqlInternalError,
}

impl TransientReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TransientReason::ServerError => "server_error",
            TransientReason::Timeout => "timeout",
            TransientReason::Connection => "connection",
            TransientReason::GraphqlTimeout => "graphql_timeout",
            TransientReason::GraphqlInternalError => "graphql_internal_error",
        }
    }
}

impl fmt::Display for TransientReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call failed in a way that retrying cannot fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermanentReason {
    /// HTTP 401, for example an expired token.
    Unauthorized,
    /// HTTP 403: a missing, invalid or revoked token, or a forbidden network.
    Forbidden,
    /// HTTP 400: the server could not take the request as sent.
    BadRequest,
    /// Top-level GraphQL `errors` in a 200 answer, such as `not_found` or `unauthorized`.
    GraphqlError,
    /// A mutation answered with errors in its payload (which carry no code), such as
    /// a state the dossier cannot leave or an instructeur without access to it.
    MutationRefused,
    /// A mutation refused because the token is read-only.
    ReadOnlyToken,
    /// A success answer whose body is not the shape our document asks for.
    InvalidResponse,
    /// A 3xx answer: a POST is not followed to another location, fix the base URL.
    Redirect,
    /// Any other status, such as 404 for a wrong base URL.
    UnexpectedStatus,
    /// The endpoint settings cannot make a client: bad base URL or token.
    Configuration,
}

impl PermanentReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PermanentReason::Unauthorized => "unauthorized",
            PermanentReason::Forbidden => "forbidden",
            PermanentReason::BadRequest => "bad_request",
            PermanentReason::GraphqlError => "graphql_error",
            PermanentReason::MutationRefused => "mutation_refused",
            PermanentReason::ReadOnlyToken => "read_only_token",
            PermanentReason::InvalidResponse => "invalid_response",
            PermanentReason::Redirect => "redirect",
            PermanentReason::UnexpectedStatus => "unexpected_status",
            PermanentReason::Configuration => "configuration",
        }
    }
}

impl fmt::Display for PermanentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DsError {
    pub(crate) fn transient(reason: TransientReason, detail: impl Into<String>) -> Self {
        DsError::Transient {
            reason,
            detail: detail.into(),
        }
    }

    pub(crate) fn permanent(
        reason: PermanentReason,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        DsError::Permanent {
            reason,
            code,
            message: message.into(),
        }
    }
}
