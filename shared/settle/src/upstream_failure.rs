//! Every way a page can fail, reduced to the three decisions the worker makes:
//! retry after a backoff, wait for a rate-limit reset, or fail for good.

use amienscope_client::AmienscopeError;
use apidae_client::ApidaeError;
use broker::BrokerError;
use chrono::{DateTime, Utc};
use contract::FailureReason;
use divalto_client::DivaltoError;
use ds_client::{DsError, PermanentReason};
use job_state::StoreError;

/// A failed page, classified by what to do next.
#[derive(Debug)]
pub enum UpstreamFailure {
    /// Retry after the transient backoff.
    Transient {
        /// Why, as a closed set fit for a log field.
        reason: &'static str,
        /// What happened.
        detail: String,
    },
    /// Retry once the upstream's rate-limit window has reset.
    RateLimited {
        /// When the window resets, if the upstream said.
        reset_at: Option<DateTime<Utc>>,
    },
    /// Report a `command.failed` event and dead-letter the command.
    Permanent {
        /// The failure class.
        reason: FailureReason,
        /// The upstream's own error code, if any.
        code: Option<String>,
        /// What happened; never a credential.
        message: String,
    },
}

impl UpstreamFailure {
    /// A failure for good with no upstream code.
    pub fn permanent(reason: FailureReason, message: impl Into<String>) -> Self {
        UpstreamFailure::Permanent {
            reason,
            code: None,
            message: message.into(),
        }
    }
}

impl From<DsError> for UpstreamFailure {
    fn from(error: DsError) -> Self {
        match error {
            DsError::Transient { reason, detail } => UpstreamFailure::Transient {
                reason: reason.as_str(),
                detail,
            },
            DsError::RateLimited { reset_at } => UpstreamFailure::RateLimited { reset_at },
            DsError::Permanent {
                reason,
                code,
                message,
            } => UpstreamFailure::Permanent {
                reason: match reason {
                    PermanentReason::Unauthorized => FailureReason::UpstreamUnauthorized,
                    PermanentReason::Forbidden => FailureReason::UpstreamForbidden,
                    PermanentReason::BadRequest => FailureReason::UpstreamBadRequest,
                    PermanentReason::GraphqlError => FailureReason::UpstreamError,
                    PermanentReason::MutationRefused => FailureReason::UpstreamChangeRefused,
                    PermanentReason::ReadOnlyToken => FailureReason::UpstreamForbidden,
                    PermanentReason::InvalidResponse => FailureReason::UpstreamInvalidResponse,
                    PermanentReason::Redirect => FailureReason::UpstreamRedirect,
                    PermanentReason::UnexpectedStatus => FailureReason::UpstreamUnexpectedStatus,
                    PermanentReason::Configuration => FailureReason::ConnectionMisconfigured,
                },
                code,
                message,
            },
        }
    }
}

impl From<DivaltoError> for UpstreamFailure {
    fn from(error: DivaltoError) -> Self {
        use divalto_client::PermanentReason as Divalto;
        match error {
            DivaltoError::Transient { reason, detail } => UpstreamFailure::Transient {
                reason: reason.as_str(),
                detail,
            },
            DivaltoError::Permanent {
                reason,
                code,
                message,
            } => UpstreamFailure::Permanent {
                reason: match reason {
                    Divalto::AuthenticationRefused => FailureReason::UpstreamUnauthorized,
                    Divalto::NotAuthorised => FailureReason::UpstreamForbidden,
                    Divalto::Business => FailureReason::UpstreamError,
                    Divalto::InvalidResponse => FailureReason::UpstreamInvalidResponse,
                    Divalto::Configuration => FailureReason::ConnectionMisconfigured,
                },
                code: code.map(|code| code.to_string()),
                message,
            },
        }
    }
}

impl From<AmienscopeError> for UpstreamFailure {
    fn from(error: AmienscopeError) -> Self {
        use amienscope_client::PermanentReason as Amienscope;
        match error {
            AmienscopeError::Transient { reason, detail } => UpstreamFailure::Transient {
                reason: reason.as_str(),
                detail,
            },
            AmienscopeError::RateLimited { retry_after } => UpstreamFailure::RateLimited {
                reset_at: retry_after
                    .and_then(|wait| chrono::Duration::from_std(wait).ok())
                    .map(|wait| Utc::now() + wait),
            },
            AmienscopeError::Permanent {
                reason,
                status,
                message,
            } => UpstreamFailure::Permanent {
                reason: match reason {
                    Amienscope::AuthenticationRefused => FailureReason::UpstreamUnauthorized,
                    Amienscope::InvalidRequest => FailureReason::UpstreamBadRequest,
                    Amienscope::InvalidResponse => FailureReason::UpstreamInvalidResponse,
                    Amienscope::Redirect => FailureReason::UpstreamRedirect,
                    Amienscope::UnexpectedStatus => FailureReason::UpstreamUnexpectedStatus,
                    Amienscope::Configuration => FailureReason::ConnectionMisconfigured,
                },
                code: status.map(|status| status.to_string()),
                message,
            },
        }
    }
}

impl From<ApidaeError> for UpstreamFailure {
    fn from(error: ApidaeError) -> Self {
        use apidae_client::PermanentReason as Apidae;
        match error {
            ApidaeError::Transient { reason, detail } => UpstreamFailure::Transient {
                reason: reason.as_str(),
                detail,
            },
            ApidaeError::RateLimited { retry_after } => UpstreamFailure::RateLimited {
                reset_at: retry_after
                    .and_then(|wait| chrono::Duration::from_std(wait).ok())
                    .map(|wait| Utc::now() + wait),
            },
            ApidaeError::Permanent {
                reason,
                error_type,
                message,
            } => UpstreamFailure::Permanent {
                reason: match reason {
                    Apidae::NoAction => FailureReason::UpstreamNoAction,
                    Apidae::Forbidden => FailureReason::UpstreamForbidden,
                    Apidae::BadRequest | Apidae::InvalidJson => FailureReason::UpstreamBadRequest,
                    Apidae::OtherErrorType => FailureReason::UpstreamError,
                    Apidae::Unauthorized => FailureReason::UpstreamUnauthorized,
                    Apidae::InvalidResponse => FailureReason::UpstreamInvalidResponse,
                    Apidae::Configuration => FailureReason::ConnectionMisconfigured,
                },
                code: error_type,
                message,
            },
        }
    }
}

impl From<StoreError> for UpstreamFailure {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::JobStateLost { .. } => UpstreamFailure::permanent(
                FailureReason::JobStateLost,
                format!(
                    "{error}; what the job did cannot be known, so it will not complete. \
                     Start it again: a sync from its last resume point, a write with the same objects"
                ),
            ),
            StoreError::InvalidUrl(_) | StoreError::Unavailable(_) | StoreError::Unexpected(_) => {
                UpstreamFailure::Transient {
                    reason: "job_state_store",
                    detail: error.to_string(),
                }
            }
        }
    }
}

impl From<BrokerError> for UpstreamFailure {
    fn from(error: BrokerError) -> Self {
        UpstreamFailure::Transient {
            reason: "broker",
            detail: error.to_string(),
        }
    }
}
