//! What went wrong with a call, named for what the caller should do next.

use std::fmt;
use std::time::Duration;

/// A failed call, classified by the caller's decision: retry later, slow down, or give
/// up.
///
/// No variant ever carries the client secret or an access token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApidaeError {
    /// Retry later: connection failures, timeouts, 5xx answers (HTML and plain-text
    /// error pages included).
    #[error("transient apidae failure ({reason}): {detail}")]
    Transient {
        /// Why, as a closed set fit for a metric label.
        reason: TransientReason,
        /// What happened, for the logs.
        detail: String,
    },
    /// Retry after a pause: the server answered HTTP 429.
    #[error("apidae rate limited{}", describe_retry_after(.retry_after))]
    RateLimited {
        /// The server's `Retry-After`, when it sent a readable one.
        retry_after: Option<Duration>,
    },
    /// Do not retry: the same call would fail the same way.
    #[error("permanent apidae failure ({reason}{}): {message}", describe_error_type(.error_type))]
    Permanent {
        /// Why, as a closed set fit for a metric label.
        reason: PermanentReason,
        /// The body's `errorType`, exactly as the server spelled it, when it sent one.
        error_type: Option<String>,
        /// What happened: the server's own `message` (French) when it sent one.
        message: String,
    },
}

fn describe_retry_after(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(delay) => format!(" (retry after {}s)", delay.as_secs()),
        None => String::new(),
    }
}

fn describe_error_type(error_type: &Option<String>) -> String {
    match error_type {
        Some(error_type) => format!(", {error_type}"),
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
}

impl TransientReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TransientReason::Connection => "connection",
            TransientReason::Timeout => "timeout",
            TransientReason::ServerError => "server_error",
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
    /// `status: NO_ACTION` without an `errorType`: a check failed and nothing was
    /// written (more than 50 objects, for instance).
    NoAction,
    /// `errorType: ECRITURE_FORBIDDEN`: the project lacks the rights, or does not own the
    /// descriptor.
    Forbidden,
    /// `errorType: ECRITURE_BAD_REQUEST`: the form field `donneesPrivees` was missing.
    BadRequest,
    /// `errorType: ECRITURE_INVALID_JSON_DATA`: the JSON was not in the expected format.
    InvalidJson,
    /// Any other `errorType`; its raw text is kept in [`ApidaeError::Permanent::error_type`].
    OtherErrorType,
    /// The access token was refused even after one refresh, or the token URL refused
    /// the client credentials.
    Unauthorized,
    /// An answer that is not the documented JSON: not JSON on a 200 or a 4xx, an unknown
    /// `status`, a success status on another code than 200.
    InvalidResponse,
    /// The endpoint settings cannot work: bad URLs, empty client id, zero timeout, a
    /// redirect.
    Configuration,
}

impl PermanentReason {
    /// A stable snake_case name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PermanentReason::NoAction => "no_action",
            PermanentReason::Forbidden => "forbidden",
            PermanentReason::BadRequest => "bad_request",
            PermanentReason::InvalidJson => "invalid_json",
            PermanentReason::OtherErrorType => "other_error_type",
            PermanentReason::Unauthorized => "unauthorized",
            PermanentReason::InvalidResponse => "invalid_response",
            PermanentReason::Configuration => "configuration",
        }
    }

    /// The reason an `errorType` stands for.
    pub fn for_error_type(error_type: &str) -> Self {
        match error_type {
            "ECRITURE_FORBIDDEN" => PermanentReason::Forbidden,
            "ECRITURE_BAD_REQUEST" => PermanentReason::BadRequest,
            "ECRITURE_INVALID_JSON_DATA" => PermanentReason::InvalidJson,
            _ => PermanentReason::OtherErrorType,
        }
    }
}

impl fmt::Display for PermanentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ApidaeError {
    /// Whether a later retry of the same call may succeed ([`ApidaeError::Transient`]
    /// and [`ApidaeError::RateLimited`]).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, ApidaeError::Permanent { .. })
    }

    pub(crate) fn transient(reason: TransientReason, detail: impl Into<String>) -> Self {
        ApidaeError::Transient {
            reason,
            detail: detail.into(),
        }
    }

    pub(crate) fn permanent(reason: PermanentReason, message: impl Into<String>) -> Self {
        ApidaeError::Permanent {
            reason,
            error_type: None,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_reason_and_the_error_type() {
        let error = ApidaeError::Permanent {
            reason: PermanentReason::BadRequest,
            error_type: Some("ECRITURE_BAD_REQUEST".into()),
            message: "Paramètre 'donneesPrivees' manquant dans la requête".into(),
        };
        assert_eq!(
            error.to_string(),
            "permanent apidae failure (bad_request, ECRITURE_BAD_REQUEST): \
             Paramètre 'donneesPrivees' manquant dans la requête"
        );
        assert!(!error.is_retryable());
        let error = ApidaeError::transient(TransientReason::ServerError, "http 503");
        assert_eq!(
            error.to_string(),
            "transient apidae failure (server_error): http 503"
        );
        assert!(error.is_retryable());
        let error = ApidaeError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(error.to_string(), "apidae rate limited (retry after 7s)");
        assert!(error.is_retryable());
    }

    #[test]
    fn error_types_map_to_reasons() {
        for (error_type, reason) in [
            ("ECRITURE_FORBIDDEN", PermanentReason::Forbidden),
            ("ECRITURE_BAD_REQUEST", PermanentReason::BadRequest),
            ("ECRITURE_INVALID_JSON_DATA", PermanentReason::InvalidJson),
            (
                "OBJET_TOURISTIQUE_NOT_FOUND",
                PermanentReason::OtherErrorType,
            ),
        ] {
            assert_eq!(PermanentReason::for_error_type(error_type), reason);
        }
    }
}
