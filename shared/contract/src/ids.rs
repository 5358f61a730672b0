use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Namespace of every derived id, so Estafette ids never collide with other v5 ids.
const ESTAFETTE_NAMESPACE: Uuid = Uuid::from_u128(0x5e7a_f3e7_0c4b_4d0e_9a3f_2b1d_6c8e_a001);

/// Identifies one job: a sync and every page, event and follow-up it causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct JobId(pub Uuid);

impl JobId {
    /// A fresh random job id, for a producer starting a new job.
    pub fn new_random() -> Self {
        JobId(Uuid::new_v4())
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Identifies one message. Derived ids are deterministic, so a redelivered or
/// replayed command produces messages with the same ids and consumers can deduplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct MessageId(pub Uuid);

impl MessageId {
    /// The id of the message named `label` within the job (`"sync"`, `"page/3"`, …).
    pub fn for_job(job: JobId, label: &str) -> Self {
        Self::derive(job.0, label)
    }

    /// The id of the command that starts a job: every job's first message.
    pub fn job_start(job: JobId) -> Self {
        Self::for_job(job, "start")
    }

    /// The id of a message caused by this one (`"command.failed"`, …).
    pub fn caused_by(self, label: &str) -> Self {
        Self::derive(self.0, label)
    }

    /// The id of a message caused by raw bytes that could not be parsed.
    pub fn for_unparsed(bytes: &[u8]) -> Self {
        MessageId(Uuid::new_v5(&ESTAFETTE_NAMESPACE, bytes))
    }

    fn derive(parent: Uuid, label: &str) -> Self {
        let mut name = Vec::with_capacity(16 + label.len());
        name.extend_from_slice(parent.as_bytes());
        name.extend_from_slice(label.as_bytes());
        MessageId(Uuid::new_v5(&ESTAFETTE_NAMESPACE, &name))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_job_and_label_always_give_the_same_id() {
        let job = JobId(Uuid::from_u128(42));
        assert_eq!(
            MessageId::for_job(job, "page/3"),
            MessageId::for_job(job, "page/3")
        );
    }

    #[test]
    fn different_labels_or_jobs_give_different_ids() {
        let job = JobId(Uuid::from_u128(42));
        let other = JobId(Uuid::from_u128(43));
        assert_ne!(
            MessageId::for_job(job, "page/3"),
            MessageId::for_job(job, "page/4")
        );
        assert_ne!(
            MessageId::for_job(job, "page/3"),
            MessageId::for_job(other, "page/3")
        );
    }

    #[test]
    fn a_caused_id_differs_from_its_cause() {
        let id = MessageId::for_job(JobId(Uuid::from_u128(7)), "sync");
        assert_ne!(id.caused_by("command.failed"), id);
        assert_eq!(
            id.caused_by("command.failed"),
            id.caused_by("command.failed")
        );
    }
}
