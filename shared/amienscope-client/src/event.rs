//! One event of a listing: its id, its status, and everything else as received.

use serde_json::{Map, Value};
use std::fmt;

/// One event as the updates listing returned it.
///
/// Only the id and the status are read; the field list of an event is not documented,
/// so the whole object is kept in [`EventRecord::fields`] for the caller to store.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// The event id, as text whether the API sent a number or a string.
    pub id: String,
    /// The status read from `event_status_id`.
    pub status: EventStatus,
    /// The whole event object as received, id and status included.
    pub fields: Map<String, Value>,
}

impl EventRecord {
    /// Whether the event's status is one of `hidden_statuses`, the status ids whose
    /// events are not visible to the public any more: a consumer applies such an event
    /// as a removal. The documentation's table makes those 1, 5 and 6; a cancelled
    /// event (3) stays visible.
    pub fn is_tombstone(&self, hidden_statuses: &[i64]) -> bool {
        hidden_statuses.contains(&self.status.code())
    }
}

/// The `event_status_id` of an event, per the documented table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// 1, "En attente de publication": not yet visible to the public.
    Pending,
    /// 2, "Publié": visible to the public.
    Published,
    /// 3, "Annulé": cancelled, still visible to the public.
    Cancelled,
    /// 5, "Supprimé": deleted, not visible.
    Deleted,
    /// 6, "Archivé": archived, not visible.
    Archived,
    /// Any id outside the table (there is no 4), kept as received. A missing or null
    /// `event_status_id` is `Other(0)`: 0 is not an id the API uses.
    Other(i64),
}

impl EventStatus {
    /// The status for an `event_status_id`; never fails, an unknown id is kept.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => EventStatus::Pending,
            2 => EventStatus::Published,
            3 => EventStatus::Cancelled,
            5 => EventStatus::Deleted,
            6 => EventStatus::Archived,
            other => EventStatus::Other(other),
        }
    }

    /// The `event_status_id` this status stands for.
    pub fn code(self) -> i64 {
        match self {
            EventStatus::Pending => 1,
            EventStatus::Published => 2,
            EventStatus::Cancelled => 3,
            EventStatus::Deleted => 5,
            EventStatus::Archived => 6,
            EventStatus::Other(code) => code,
        }
    }

    /// A stable snake_case name, for metric labels and logs; every unknown id is `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "pending",
            EventStatus::Published => "published",
            EventStatus::Cancelled => "cancelled",
            EventStatus::Deleted => "deleted",
            EventStatus::Archived => "archived",
            EventStatus::Other(_) => "other",
        }
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_status_ids_map_both_ways() {
        let table = [
            (1, EventStatus::Pending, "pending"),
            (2, EventStatus::Published, "published"),
            (3, EventStatus::Cancelled, "cancelled"),
            (5, EventStatus::Deleted, "deleted"),
            (6, EventStatus::Archived, "archived"),
        ];
        for (code, status, name) in table {
            assert_eq!(EventStatus::from_code(code), status);
            assert_eq!(status.code(), code);
            assert_eq!(status.as_str(), name);
        }
    }

    #[test]
    fn unknown_status_ids_are_kept_not_refused() {
        for code in [0, 4, 7, -1, 99] {
            let status = EventStatus::from_code(code);
            assert_eq!(status, EventStatus::Other(code));
            assert_eq!(status.code(), code);
            assert_eq!(status.as_str(), "other");
        }
    }

    #[test]
    fn an_event_is_a_tombstone_only_in_a_status_named_hidden() {
        let record = |status| EventRecord {
            id: "1".into(),
            status,
            fields: Map::new(),
        };
        let hidden = [1, 5, 6];
        for status in [
            EventStatus::Pending,
            EventStatus::Deleted,
            EventStatus::Archived,
        ] {
            assert!(record(status).is_tombstone(&hidden), "{status:?}");
        }
        for status in [
            EventStatus::Published,
            EventStatus::Cancelled,
            EventStatus::Other(0),
            EventStatus::Other(4),
        ] {
            assert!(!record(status).is_tombstone(&hidden), "{status:?}");
        }
        assert!(record(EventStatus::Cancelled).is_tombstone(&[3]));
    }
}
