//! Every way a command can fail (its upstream, the job store, the broker, its own
//! content), reduced to the three decisions the worker makes: retry after a backoff,
//! wait for a rate-limit reset, or fail for good.

use broker::BrokerError;
use chrono::{DateTime, Utc};
use contract::FailureReason;
use job_state::StoreError;
use upstream_http::{PermanentReason, UpstreamError};

/// A command that could not be carried out, classified by what to do next.
#[derive(Debug)]
pub enum CommandError {
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

impl CommandError {
    /// A failure for good with no upstream code.
    pub fn permanent(reason: FailureReason, message: impl Into<String>) -> Self {
        CommandError::Permanent {
            reason,
            code: None,
            message: message.into(),
        }
    }
}

impl From<UpstreamError> for CommandError {
    fn from(error: UpstreamError) -> Self {
        match error {
            UpstreamError::Transient { reason, detail } => CommandError::Transient {
                reason: reason.as_str(),
                detail,
            },
            UpstreamError::RateLimited { reset_at } => CommandError::RateLimited { reset_at },
            UpstreamError::Permanent {
                reason,
                code,
                message,
            } => CommandError::Permanent {
                reason: failure_reason(reason),
                code,
                message,
            },
        }
    }
}

/// The reason a `command.failed` event gives for an upstream's failure for good.
fn failure_reason(reason: PermanentReason) -> FailureReason {
    match reason {
        PermanentReason::Unauthorized => FailureReason::UpstreamUnauthorized,
        PermanentReason::Forbidden => FailureReason::UpstreamForbidden,
        PermanentReason::BadRequest => FailureReason::UpstreamBadRequest,
        PermanentReason::Refused => FailureReason::UpstreamError,
        PermanentReason::ChangeRefused => FailureReason::UpstreamChangeRefused,
        PermanentReason::NoAction => FailureReason::UpstreamNoAction,
        PermanentReason::InvalidResponse => FailureReason::UpstreamInvalidResponse,
        PermanentReason::Redirect => FailureReason::UpstreamRedirect,
        PermanentReason::UnexpectedStatus => FailureReason::UpstreamUnexpectedStatus,
        PermanentReason::Configuration => FailureReason::ConnectionMisconfigured,
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::JobStateLost { .. } => CommandError::permanent(
                FailureReason::JobStateLost,
                format!(
                    "{error}; what the job did cannot be known, so it will not complete. \
                     Start it again: a sync from its last resume point, a write with the same objects"
                ),
            ),
            StoreError::InvalidUrl(_) | StoreError::Unavailable(_) | StoreError::Unexpected(_) => {
                CommandError::Transient {
                    reason: "job_state_store",
                    detail: error.to_string(),
                }
            }
        }
    }
}

impl From<BrokerError> for CommandError {
    fn from(error: BrokerError) -> Self {
        CommandError::Transient {
            reason: "broker",
            detail: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray as _;
    use upstream_http::TransientReason;

    #[test]
    fn every_permanent_upstream_reason_has_its_failure_reason() {
        let table = [
            (PermanentReason::Unauthorized, "upstream_unauthorized"),
            (PermanentReason::Forbidden, "upstream_forbidden"),
            (PermanentReason::BadRequest, "upstream_bad_request"),
            (PermanentReason::Refused, "upstream_error"),
            (PermanentReason::ChangeRefused, "upstream_change_refused"),
            (PermanentReason::NoAction, "upstream_no_action"),
            (
                PermanentReason::InvalidResponse,
                "upstream_invalid_response",
            ),
            (PermanentReason::Redirect, "upstream_redirect"),
            (
                PermanentReason::UnexpectedStatus,
                "upstream_unexpected_status",
            ),
            (PermanentReason::Configuration, "connection_misconfigured"),
        ];
        assert_eq!(table.len(), PermanentReason::VARIANTS.len());
        for (reason, expected) in table {
            let error = UpstreamError::permanent_with_code(reason, "E1", "refused");
            match CommandError::from(error) {
                CommandError::Permanent {
                    reason: failure,
                    code,
                    message,
                } => {
                    assert_eq!(failure.as_str(), expected, "{reason}");
                    assert_eq!(code.as_deref(), Some("E1"));
                    assert_eq!(message, "refused");
                }
                other => panic!("{reason} became {other:?}"),
            }
        }
    }

    #[test]
    fn transient_and_rate_limited_failures_are_retried() {
        for &reason in TransientReason::VARIANTS {
            let error = UpstreamError::transient(reason, "down");
            assert!(
                matches!(
                    CommandError::from(error),
                    CommandError::Transient { reason: name, ref detail }
                        if name == reason.as_str() && detail == "down"
                ),
                "{reason}"
            );
        }
        let reset_at = DateTime::from_timestamp(1_767_225_600, 0);
        assert!(matches!(
            CommandError::from(UpstreamError::RateLimited { reset_at }),
            CommandError::RateLimited { reset_at: at } if at == reset_at
        ));
    }

    #[test]
    fn a_lost_job_state_fails_for_good_and_an_unreachable_store_is_retried() {
        let lost = StoreError::JobStateLost {
            job: contract::JobId::new_random(),
            detail: "no state".to_owned(),
        };
        assert!(matches!(
            CommandError::from(lost),
            CommandError::Permanent {
                reason: FailureReason::JobStateLost,
                ..
            }
        ));
        let unexpected = StoreError::Unexpected("a list".to_owned());
        assert!(matches!(
            CommandError::from(unexpected),
            CommandError::Transient {
                reason: "job_state_store",
                ..
            }
        ));
    }
}
