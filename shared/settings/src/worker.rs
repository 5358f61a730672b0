//! How a worker paces itself: shutdown grace, the retry budget, rate-limit waits.

use std::time::Duration;

use crate::fields::{Fields, in_range, seconds, whole_number};
use crate::problem::Problems;

/// Timings shared by every worker service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// How long in-flight work may finish after shutdown is requested.
    pub drain_grace: Duration,
    /// Attempts at a command whose failures are transient before it is
    /// dead-lettered (at least 1: no retry at all).
    pub max_attempts: u32,
    /// Delay before the first retry of a transient failure, doubled per attempt.
    pub transient_retry_delay: Duration,
    /// The longest delay between two attempts, however many came before.
    pub max_retry_delay: Duration,
    /// Longest rate-limit reset a retry waits for; a longer one is cut to this.
    pub max_rate_limit_wait: Duration,
}

impl WorkerSettings {
    pub(crate) fn read(mut fields: Fields, problems: &mut Problems) -> Option<Self> {
        let drain_grace = fields.required("drain_grace_seconds", problems, seconds);
        let max_attempts = fields.required("max_attempts", problems, |value| {
            in_range(whole_number(value)?, 1, 1000)
        });
        let transient_retry_delay =
            fields.required("transient_retry_delay_seconds", problems, seconds);
        let max_retry_delay = fields.required("max_retry_delay_seconds", problems, seconds);
        let max_rate_limit_wait = fields.required("max_rate_limit_wait_seconds", problems, seconds);
        fields.finish(problems);
        Some(Self {
            drain_grace: drain_grace?,
            max_attempts: max_attempts?,
            transient_retry_delay: transient_retry_delay?,
            max_retry_delay: max_retry_delay?,
            max_rate_limit_wait: max_rate_limit_wait?,
        })
    }
}
