//! Failures: which become a `command.failed` event plus a dead letter, which a retry.

use std::time::Duration;

use broker::{Outcome, Outgoing, Settlement};
use chrono::Utc;
use contract::{
    Command, CommandFailed, Event, EventEnvelope, FailureReason, JobId, MessageId, Rejection,
    RejectionKind,
};
use settings::WorkerSettings;

use crate::command_error::CommandError;

/// Margin added to a rate-limit reset so the retry lands in the new window.
const RESET_MARGIN: Duration = Duration::from_millis(200);

/// A command that failed for good, ready to be reported.
#[derive(Debug)]
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

    /// Why it failed.
    pub fn reason(&self) -> FailureReason {
        self.failed.reason
    }

    /// What happened, in words.
    pub fn message(&self) -> &str {
        &self.failed.message
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
        detail = %failed.message,
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
        jobs: Vec::new(),
    }
}

/// Decides what an upstream failure does to the command: try again later or fail for
/// good. `attempt` is the delivery's [`broker::Incoming::attempt`].
///
/// A transient failure or a 429 is tried again after [`retry_delay`], through a delay
/// queue, until `worker.max_attempts` attempts have failed; the last one is reported
/// as `retries_exhausted` with what it met, and dead-lettered.
pub fn settle(
    command: &Command,
    error: CommandError,
    worker: &WorkerSettings,
    attempt: u32,
) -> Outcome {
    match decide(command, error, worker, attempt) {
        Decision::Retry { after } => Outcome::retry(after),
        Decision::Fail(failure) => dead_letter(failure),
    }
}

/// What a failure does to a command.
pub(crate) enum Decision {
    /// Try again after this delay, through a delay queue.
    Retry {
        /// How long the copy waits.
        after: Duration,
    },
    /// Report it and dead-letter it.
    Fail(Failure),
}

pub(crate) fn decide(
    command: &Command,
    error: CommandError,
    worker: &WorkerSettings,
    attempt: u32,
) -> Decision {
    let (reason, detail, reset_at) = match error {
        CommandError::Permanent {
            reason,
            code,
            message,
        } => return Decision::Fail(Failure::of_command(command, reason, code, message)),
        CommandError::Transient { reason, detail } => (reason, detail, None),
        CommandError::RateLimited { reset_at } => (
            "rate_limited",
            "the upstream answered 429 Too Many Requests".to_owned(),
            reset_at,
        ),
    };
    if attempt >= worker.max_attempts {
        let message = format!("{attempt} attempts failed; the last: {reason}: {detail}");
        return Decision::Fail(Failure::of_command(
            command,
            FailureReason::RetriesExhausted,
            None,
            message,
        ));
    }
    let until_reset = reset_at
        .and_then(|reset_at| (reset_at - Utc::now()).to_std().ok())
        .map(|wait| wait + RESET_MARGIN);
    let delay = retry_delay(worker, attempt, until_reset, fastrand::f64());
    tracing::info!(
        reason,
        %detail,
        attempt,
        delay_ms = delay.as_millis() as u64,
        "transient failure; will try again"
    );
    Decision::Retry { after: delay }
}

/// How long to wait before the attempt after `attempt`: the base delay doubled per
/// earlier attempt, capped at `worker.max_retry_delay`, with "equal jitter" (the
/// upper half of that span, picked by `jitter` in `0..1`, so that commands that
/// failed together do not come back together). An announced rate-limit reset is
/// waited for in full when longer, up to `worker.max_rate_limit_wait`.
fn retry_delay(
    worker: &WorkerSettings,
    attempt: u32,
    until_reset: Option<Duration>,
    jitter: f64,
) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    let backoff = worker
        .transient_retry_delay
        .saturating_mul(1 << doublings)
        .min(worker.max_retry_delay);
    let jittered = backoff.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0);
    let reset = until_reset.map_or(Duration::ZERO, |wait| wait.min(worker.max_rate_limit_wait));
    jittered.max(reset)
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

    fn worker() -> WorkerSettings {
        WorkerSettings {
            drain_grace: Duration::from_secs(30),
            max_attempts: 8,
            transient_retry_delay: Duration::from_secs(2),
            max_retry_delay: Duration::from_secs(60),
            max_rate_limit_wait: Duration::from_secs(65),
        }
    }

    #[test]
    fn retry_delays_double_per_attempt_up_to_the_cap_within_their_jitter() {
        let cases = [
            (1, 2),
            (2, 4),
            (3, 8),
            (5, 32),
            (6, 60),
            (30, 60),
            (u32::MAX, 60),
        ];
        for (attempt, seconds) in cases {
            let most = Duration::from_secs(seconds);
            assert_eq!(
                retry_delay(&worker(), attempt, None, 1.0),
                most,
                "attempt {attempt}"
            );
            assert_eq!(
                retry_delay(&worker(), attempt, None, 0.0),
                most / 2,
                "attempt {attempt}"
            );
            let middle = retry_delay(&worker(), attempt, None, 0.5);
            assert!(
                middle > most / 2 && middle < most,
                "attempt {attempt}: {middle:?}"
            );
        }
    }

    #[test]
    fn an_announced_reset_is_waited_for_up_to_the_longest_rate_limit_wait() {
        let soon = Some(Duration::from_millis(300));
        assert_eq!(retry_delay(&worker(), 1, soon, 1.0), Duration::from_secs(2));
        let later = Some(Duration::from_secs(40));
        assert_eq!(
            retry_delay(&worker(), 1, later, 1.0),
            Duration::from_secs(40)
        );
        let far = Some(Duration::from_secs(3_600));
        assert_eq!(retry_delay(&worker(), 1, far, 1.0), Duration::from_secs(65));
    }
}
