//! What a successful write call reports.

use std::collections::BTreeSet;

/// The `status` of a successful call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteStatus {
    /// `MODIFICATION_DONNEES_PRIVEES`: descriptors were added or replaced (`PUT`).
    Modified,
    /// `SUPPRESSION_DONNEES_PRIVEES`: descriptors were removed (`DELETE`).
    Deleted,
}

impl WriteStatus {
    /// The `status` text the API answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteStatus::Modified => "MODIFICATION_DONNEES_PRIVEES",
            WriteStatus::Deleted => "SUPPRESSION_DONNEES_PRIVEES",
        }
    }
}

/// A successful write: HTTP 200 with the expected `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// The `id` array the API answered: the objects actually updated. Unknown objects are
    /// silently left out by the API.
    pub updated: Vec<u64>,
    /// What was done.
    pub status: WriteStatus,
}

impl WriteReport {
    /// The ids of `requested` the API did not report as updated, in the order requested
    /// (typically objects it does not know); pass the batch's `ids()`.
    pub fn ignored(&self, requested: &[u64]) -> Vec<u64> {
        let updated: BTreeSet<u64> = self.updated.iter().copied().collect();
        requested
            .iter()
            .copied()
            .filter(|id| !updated.contains(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_ids_are_the_requested_ones_not_reported() {
        let report = WriteReport {
            updated: vec![222222, 111111],
            status: WriteStatus::Modified,
        };
        assert_eq!(report.ignored(&[111111, 5, 222222, 3]), vec![5, 3]);
        assert!(report.ignored(&[111111]).is_empty());
        assert_eq!(WriteStatus::Deleted.as_str(), "SUPPRESSION_DONNEES_PRIVEES");
    }
}
