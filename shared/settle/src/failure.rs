//! Failures: which become a `command.failed` event plus a dead letter, which a retry.

use std::time::Duration;

use broker::{Outcome, Outgoing, Settlement};
use chrono::Utc;
use contract::{
    Command, CommandFailed, Event, EventEnvelope, FailureReason, JobId, MessageId, Rejection,
    RejectionKind,
};
use settings::WorkerSettings;

use crate::upstream_failure::UpstreamFailure;

/// Margin added to a rate-limit reset so the retry lands in the new window.
const RESET_MARGIN: Duration = Duration::from_millis(200);

/// A command that failed for good, ready to be reported.
pub struct Failure {
    job_id: Option<JobId>,
    event_id: MessageId,
    failed: CommandFailed,
}

impl Failure {
    /// A parsed command that failed for `reason`.
    pub fn of_command(
        command: &Command,
        reason: FailureReason,
        code: Option<String>,
        message: String,
    ) -> Self {
        Failure {
            job_id: Some(command.meta.job_id),
            event_id: command.meta.message_id.caused_by("command.failed"),
            failed: CommandFailed {
                command_kind: Some(command.body.kind().to_owned()),
                command_id: Some(command.meta.message_id),
                reason,
                code,
                message,
            },
        }
    }

    /// A command that could not be read; its raw bytes name the event when it had no id.
    pub fn of_rejection(rejection: &Rejection, raw: &[u8]) -> Self {
        let event_id = match rejection.message_id {
            Some(id) => id.caused_by("command.failed"),
            None => MessageId::for_unparsed(raw).caused_by("command.failed"),
        };
        Failure {
            job_id: rejection.job_id,
            event_id,
            failed: CommandFailed {
                command_kind: rejection.command_kind.clone(),
                command_id: rejection.message_id,
                reason: rejection_reason(rejection.kind),
                code: None,
                message: rejection.detail.clone(),
            },
        }
    }
}

/// Reports the failure as a `command.failed` event and dead-letters the command.
pub fn dead_letter(failure: Failure) -> Outcome {
    let Failure {
        job_id,
        event_id,
        failed,
    } = failure;
    tracing::warn!(
        job_id = job_id.map(tracing::field::display),
        reason = failed.reason.as_str(),
        code = failed.code.as_deref(),
        message = %failed.message,
        "command failed; dead-lettering it"
    );
    let settlement = Settlement::DeadLetter {
        reason: failed.reason.as_str(),
        detail: failed.message.clone(),
    };
    let event = EventEnvelope::new(job_id, event_id, Event::CommandFailed(failed));
    Outcome {
        publish: vec![Outgoing::event(
            &event,
            telemetry::propagation::inject_current(),
        )],
        settlement,
    }
}

/// The longest pause before a transient failure is retried, however often it failed.
const MAX_TRANSIENT_DELAY: Duration = Duration::from_secs(60);

/// Decides what an upstream failure does to the command: retry later or fail for good.
/// Transient failures back off exponentially with the number of earlier deliveries, so
/// the queue's delivery limit spans minutes of upstream outage rather than seconds.
pub fn settle(
    command: &Command,
    error: UpstreamFailure,
    worker: &WorkerSettings,
    previous_deliveries: u32,
) -> Outcome {
    match error {
        UpstreamFailure::Transient { reason, detail } => {
            let delay = transient_delay(worker.transient_retry_delay, previous_deliveries);
            tracing::info!(reason, %detail, delay_ms = delay.as_millis() as u64, "transient failure; will retry");
            Outcome::retry(delay)
        }
        UpstreamFailure::RateLimited { reset_at } => {
            // Never shorter than the transient backoff: a clock ahead of the upstream's
            // would otherwise burn the delivery limit on immediate retries.
            let backoff = transient_delay(worker.transient_retry_delay, previous_deliveries);
            let until_reset = reset_at
                .and_then(|reset_at| (reset_at - Utc::now()).to_std().ok())
                .map_or(Duration::ZERO, |wait| wait + RESET_MARGIN);
            let wait = until_reset.max(backoff).min(worker.max_rate_limit_wait);
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "rate limited by upstream; will retry"
            );
            Outcome::retry(wait)
        }
        UpstreamFailure::Permanent {
            reason,
            code,
            message,
        } => dead_letter(Failure::of_command(command, reason, code, message)),
    }
}

/// `base` doubled per earlier delivery, capped at [`MAX_TRANSIENT_DELAY`].
fn transient_delay(base: Duration, previous_deliveries: u32) -> Duration {
    base.saturating_mul(1 << previous_deliveries.min(16))
        .min(MAX_TRANSIENT_DELAY)
}

fn rejection_reason(kind: RejectionKind) -> FailureReason {
    match kind {
        RejectionKind::MalformedJson => FailureReason::MalformedJson,
        RejectionKind::TooLarge => FailureReason::TooLarge,
        RejectionKind::MissingField => FailureReason::MissingField,
        RejectionKind::InvalidField => FailureReason::InvalidField,
        RejectionKind::UnsupportedVersion => FailureReason::UnsupportedVersion,
        RejectionKind::UnknownKind => FailureReason::UnknownKind,
        RejectionKind::InvalidBody => FailureReason::InvalidBody,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_delays_double_with_each_delivery_up_to_a_minute() {
        let base = Duration::from_secs(2);
        let cases = [
            (0, 2),
            (1, 4),
            (2, 8),
            (4, 32),
            (5, 60),
            (30, 60),
            (u32::MAX, 60),
        ];
        for (previous_deliveries, seconds) in cases {
            assert_eq!(
                transient_delay(base, previous_deliveries),
                Duration::from_secs(seconds),
                "after {previous_deliveries} deliveries"
            );
        }
    }
}
