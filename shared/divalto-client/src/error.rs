//! What went wrong with a call, named for what the caller should do next.

use std::fmt;

/// A failed call, classified by the caller's decision: retry later or give up.
///
/// No variant ever carries the password or the access token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivaltoError {
    /// Retry later: connection failures, timeouts, 5xx, 408 and 429.
    #[error("transient divalto failure ({reason}): {detail}")]
    Transient {
        /// Why, as a closed set fit for a metric label.
        reason: TransientReason,
        /// What happened, for the logs.
        detail: String,
    },
    /// Do not retry: the same call would fail the same way.
    #[error("permanent divalto failure ({reason}{}): {message}", describe_code(.code))]
    Permanent {
        /// Why, as a closed set fit for a metric label.
        reason: PermanentReason,
        /// The body's `error` code, when the server gave one.
        code: Option<i64>,
        /// What happened (the server's `txterr` when it sent one), for the logs and the
        /// dead letter.
        message: String,
    },
}

fn describe_code(code: &Option<i64>) -> String {
    match code {
        Some(code) => format!(", error {code}"),
        None => String::new(),
    }
}

/// Why a call failed in a way that a later retry may fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransientReason {
    /// The connection could not be made or broke before the answer was read.
    Connection,
    /// No complete answer within the configured timeout, or an HTTP 408.
    Timeout,
    /// The server answered with a 5xx status.
    ServerError,
    /// The server answered HTTP 429.
    RateLimited,
}

impl TransientReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TransientReason::Connection => "connection",
            TransientReason::Timeout => "timeout",
            TransientReason::ServerError => "server_error",
            TransientReason::RateLimited => "rate_limited",
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
    /// `Authent/Auth` refused the login, or answered without an access token.
    AuthenticationRefused,
    /// Error 54: the `dhoq`/`recordsql` pair is not declared in the web-service settings.
    NotAuthorised,
    /// Any other non-zero `error` that survived one re-authentication.
    Business,
    /// An answer that is not the documented JSON.
    InvalidResponse,
    /// The endpoint settings cannot work: bad base URL, a redirect, 401/403/404/405.
    Configuration,
}

impl PermanentReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PermanentReason::AuthenticationRefused => "authentication_refused",
            PermanentReason::NotAuthorised => "not_authorised",
            PermanentReason::Business => "business",
            PermanentReason::InvalidResponse => "invalid_response",
            PermanentReason::Configuration => "configuration",
        }
    }
}

impl fmt::Display for PermanentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DivaltoError {
    /// Whether a later retry of the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, DivaltoError::Transient { .. })
    }

    pub(crate) fn transient(reason: TransientReason, detail: impl Into<String>) -> Self {
        DivaltoError::Transient {
            reason,
            detail: detail.into(),
        }
    }

    pub(crate) fn permanent(
        reason: PermanentReason,
        code: Option<i64>,
        message: impl Into<String>,
    ) -> Self {
        DivaltoError::Permanent {
            reason,
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_reason_and_the_code() {
        let error = DivaltoError::permanent(PermanentReason::NotAuthorised, Some(54), "refused");
        assert_eq!(
            error.to_string(),
            "permanent divalto failure (not_authorised, error 54): refused"
        );
        let error = DivaltoError::transient(TransientReason::ServerError, "http 503");
        assert_eq!(
            error.to_string(),
            "transient divalto failure (server_error): http 503"
        );
        assert!(error.is_transient());
    }
}
