//! What went wrong with a call, named for what the caller should do next.

use std::fmt;
use std::time::Duration;

/// A failed call, classified by the caller's decision: retry, wait, or give up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmienscopeError {
    /// Retry later: connection failures, timeouts, HTTP 408 and 5xx.
    #[error("transient upstream failure ({reason}): {detail}")]
    Transient {
        /// Why, as a closed set fit for a metric label.
        reason: TransientReason,
        /// What happened, for the logs.
        detail: String,
    },
    /// HTTP 429: wait, then retry.
    #[error("rate limited by upstream{}", describe_wait(.retry_after))]
    RateLimited {
        /// How long the server asked us to wait, from `Retry-After` (seconds or an HTTP
        /// date); none when the header is missing or unreadable.
        retry_after: Option<Duration>,
    },
    /// Do not retry: the same call would fail the same way.
    #[error("permanent upstream failure ({reason}): {message}")]
    Permanent {
        /// Why, as a closed set fit for a metric label.
        reason: PermanentReason,
        /// The HTTP status of the answer, when there was one.
        status: Option<u16>,
        /// What happened, for the logs and the dead letter.
        message: String,
    },
}

fn describe_wait(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" for {}s", wait.as_secs()),
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
}

impl TransientReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TransientReason::ServerError => "server_error",
            TransientReason::Timeout => "timeout",
            TransientReason::Connection => "connection",
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
    /// HTTP 401 or 403: the keys, the e-mail address or the signing recipe were refused.
    AuthenticationRefused,
    /// Any other 4xx, such as 404 for a wrong base URL, or a status outside 2xx-5xx.
    UnexpectedStatus,
    /// A 3xx answer: a signed request is not followed elsewhere, fix the base URL.
    Redirect,
    /// A success answer whose body is not a list of events we can read.
    InvalidResponse,
    /// The listing asked for cannot be sent, such as a negative `since`.
    InvalidRequest,
    /// The endpoint settings cannot make a client: bad base URL, header value or recipe.
    Configuration,
}

impl PermanentReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PermanentReason::AuthenticationRefused => "authentication_refused",
            PermanentReason::UnexpectedStatus => "unexpected_status",
            PermanentReason::Redirect => "redirect",
            PermanentReason::InvalidResponse => "invalid_response",
            PermanentReason::InvalidRequest => "invalid_request",
            PermanentReason::Configuration => "configuration",
        }
    }
}

impl fmt::Display for PermanentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AmienscopeError {
    pub(crate) fn transient(reason: TransientReason, detail: impl Into<String>) -> Self {
        AmienscopeError::Transient {
            reason,
            detail: detail.into(),
        }
    }

    pub(crate) fn permanent(
        reason: PermanentReason,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        AmienscopeError::Permanent {
            reason,
            status,
            message: message.into(),
        }
    }

    /// A 2xx answer whose body we cannot read as a page of events.
    pub(crate) fn invalid_response(status: u16, message: impl Into<String>) -> Self {
        Self::permanent(PermanentReason::InvalidResponse, Some(status), message)
    }
}
