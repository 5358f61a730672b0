//! The one shape of a failed upstream call, named for what the caller does next: retry,
//! wait for the rate limit, or give up. Every client names its failures from these
//! closed sets, so the worker's policy (`settle`) knows no client.

use std::fmt;

use chrono::{DateTime, Utc};

/// A failed upstream call.
///
/// No variant ever carries a credential: clients mask secrets ([`crate::redact`])
/// before text goes into one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Retry later: the same call may succeed.
    #[error("transient upstream failure ({reason}): {detail}")]
    Transient {
        /// Why, as a closed set fit for a metric label.
        reason: TransientReason,
        /// What happened, for the logs.
        detail: String,
    },
    /// The upstream refused the call for its rate (HTTP 429): retry once its window has
    /// reset.
    #[error("rate limited by upstream{}", describe_reset(.reset_at))]
    RateLimited {
        /// When the window resets, from the answer's headers ([`crate::reset_at`]);
        /// none when it named no usable instant.
        reset_at: Option<DateTime<Utc>>,
    },
    /// Do not retry: the same call would fail the same way.
    #[error("permanent upstream failure ({reason}{}): {message}", describe_code(.code))]
    Permanent {
        /// Why, as a closed set fit for a metric label.
        reason: PermanentReason,
        /// The upstream's own name for the error, as it sent it, when it sent one: a
        /// GraphQL `extensions.code`, a Divalto `error` number, an Apidae `errorType`,
        /// an HTTP status.
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

fn describe_code(code: &Option<String>) -> String {
    match code {
        Some(code) => format!(", {code}"),
        None => String::new(),
    }
}

impl UpstreamError {
    /// A failure that a later retry may fix.
    pub fn transient(reason: TransientReason, detail: impl Into<String>) -> Self {
        UpstreamError::Transient {
            reason,
            detail: detail.into(),
        }
    }

    /// A failure for good, without an upstream code.
    pub fn permanent(reason: PermanentReason, message: impl Into<String>) -> Self {
        UpstreamError::Permanent {
            reason,
            code: None,
            message: message.into(),
        }
    }

    /// A failure for good, with the upstream's own `code` for it.
    pub fn permanent_with_code(
        reason: PermanentReason,
        code: impl fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        UpstreamError::Permanent {
            reason,
            code: Some(code.to_string()),
            message: message.into(),
        }
    }

    /// Settings that cannot make a working client.
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::permanent(PermanentReason::Configuration, message)
    }

    /// A success answer whose body is not what the API documents.
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Self::permanent(PermanentReason::InvalidResponse, message)
    }

    /// Whether a later retry of the same call may succeed: every failure but a
    /// [`UpstreamError::Permanent`] one.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, UpstreamError::Permanent { .. })
    }
}

/// Why a call failed in a way that a later retry may fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum TransientReason {
    /// The connection could not be made, or broke before the answer was read whole.
    Connection,
    /// No complete answer within the configured timeout, or an HTTP 408.
    Timeout,
    /// The server answered with a 5xx status.
    ServerError,
    /// A GraphQL error with code `timeout` in the answer: the server gave up on the
    /// query.
    GraphqlTimeout,
    /// A GraphQL error with code `internal_server_error` in a 200 answer.
    GraphqlInternalError,
}

impl TransientReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for TransientReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call failed in a way that retrying cannot fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum PermanentReason {
    /// The credentials were refused: HTTP 401, a refused login or token request, a
    /// token refused again right after a refresh.
    Unauthorized,
    /// The credentials are good but lack a right: HTTP 403, a read-only token asked to
    /// write, a table not declared for the account, a descriptor the project does not
    /// own.
    Forbidden,
    /// The upstream could not take the request as sent (HTTP 400, a malformed form or
    /// JSON), or the request cannot be sent at all.
    BadRequest,
    /// The upstream answered with an error of its own that is none of the others: a
    /// GraphQL error, a Divalto business error, an Apidae error type we do not name.
    Refused,
    /// A change that the upstream refused for the state of the object (a dossier that
    /// cannot leave its state, an instructeur without access to it).
    ChangeRefused,
    /// The upstream checked the request and wrote nothing (Apidae `NO_ACTION`).
    NoAction,
    /// An answer that is not what the API documents, or larger than any it sends.
    InvalidResponse,
    /// A 3xx answer: requests are not followed elsewhere, the base URL needs fixing.
    Redirect,
    /// A status the API does not document for the call, such as a 404 for a wrong
    /// base URL.
    UnexpectedStatus,
    /// The connection's settings cannot make a working client.
    Configuration,
}

impl PermanentReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for PermanentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_reason_and_the_code() {
        let error = UpstreamError::permanent_with_code(PermanentReason::Forbidden, 54, "refused");
        assert_eq!(
            error.to_string(),
            "permanent upstream failure (forbidden, 54): refused"
        );
        assert!(!error.is_retryable());
        let error = UpstreamError::configuration("the user is empty");
        assert_eq!(
            error.to_string(),
            "permanent upstream failure (configuration): the user is empty"
        );
        let error = UpstreamError::transient(TransientReason::ServerError, "http 503");
        assert_eq!(
            error.to_string(),
            "transient upstream failure (server_error): http 503"
        );
        assert!(error.is_retryable());
        let reset_at = DateTime::from_timestamp(1_767_225_600, 0);
        let error = UpstreamError::RateLimited { reset_at };
        assert_eq!(
            error.to_string(),
            "rate limited by upstream until 2026-01-01T00:00:00+00:00"
        );
        assert!(error.is_retryable());
    }

    use strum::VariantArray as _;

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<&str> = PermanentReason::VARIANTS
            .iter()
            .map(|r| r.as_str())
            .collect();
        names.extend(TransientReason::VARIANTS.iter().map(|r| r.as_str()));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
