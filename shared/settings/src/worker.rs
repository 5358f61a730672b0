//! How a worker paces itself: shutdown grace, retry pause, rate-limit waits.

use std::time::Duration;

use crate::fields::{Fields, seconds};
use crate::problem::Problems;

/// Timings shared by every worker service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// How long in-flight work may finish after shutdown is requested.
    pub drain_grace: Duration,
    /// Pause before a transient failure is requeued.
    pub transient_retry_delay: Duration,
    /// Longest a message is held waiting for an upstream rate-limit window to
    /// reset; after that it goes back to its queue and is tried again.
    pub max_rate_limit_wait: Duration,
}

impl WorkerSettings {
    pub(crate) fn read(mut fields: Fields, problems: &mut Problems) -> Option<Self> {
        let drain_grace = fields.required("drain_grace_seconds", problems, seconds);
        let transient_retry_delay =
            fields.required("transient_retry_delay_seconds", problems, seconds);
        let max_rate_limit_wait = fields.required("max_rate_limit_wait_seconds", problems, seconds);
        fields.finish(problems);
        Some(Self {
            drain_grace: drain_grace?,
            transient_retry_delay: transient_retry_delay?,
            max_rate_limit_wait: max_rate_limit_wait?,
        })
    }
}
