//! The seeded Amienscope events and the `/get/updates` listing over them.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde_json::{Value, json};

use crate::paris_time;
use crate::rng::SplitMix64;

const EVENT_SEED: u64 = 0xA41E_5C0E;
const SEEDED_EVENTS: usize = 3_200;
const FIRST_EVENT_ID: u64 = 1_001;
/// The seeded `updated_at` values lie in `[SEEDED_UPDATES_FROM, SEEDED_UPDATES_UNTIL)`.
pub const SEEDED_UPDATES_FROM: i64 = 1_700_000_000;
/// See [`SEEDED_UPDATES_FROM`].
pub const SEEDED_UPDATES_UNTIL: i64 = 1_730_000_000;

/// The categories events belong to: id and label.
pub const CATEGORIES: [(u32, &str); 8] = [
    (1, "Exposition"),
    (2, "Théâtre"),
    (3, "Danse"),
    (4, "Concert"),
    (5, "Cinéma"),
    (6, "Sport"),
    (7, "Jeune public"),
    (8, "Conférence"),
];

const TITLE_STARTS: &[&str] = &[
    "Les Nuits",
    "Festival",
    "Rencontres",
    "Soirée",
    "Balade",
    "Carnaval",
    "Printemps",
    "Scène ouverte",
    "Atelier",
    "Grand concert",
];
const TITLE_ENDS: &[&str] = &[
    "des Hortillonnages",
    "de la Somme",
    "du quartier Saint-Leu",
    "à la Maison de la Culture",
    "au Cirque Jules Verne",
    "de la cathédrale",
    "du parc Saint-Pierre",
    "de la Citadelle",
];

/// An event's publication state (`event_status_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// 1, "En attente de publication": not public.
    Pending,
    /// 2, "Publié": public.
    Published,
    /// 3, "Annulé": public.
    Cancelled,
    /// 5, "Supprimé": not public.
    Deleted,
    /// 6, "Archivé": not public.
    Archived,
}

impl EventStatus {
    /// The `event_status_id`.
    pub const fn id(self) -> u8 {
        match self {
            Self::Pending => 1,
            Self::Published => 2,
            Self::Cancelled => 3,
            Self::Deleted => 5,
            Self::Archived => 6,
        }
    }

    /// The `event_status_label`.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Pending => "En attente de publication",
            Self::Published => "Publié",
            Self::Cancelled => "Annulé",
            Self::Deleted => "Supprimé",
            Self::Archived => "Archivé",
        }
    }
}

/// One event as `/get/updates` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `id`: the event id.
    pub id: u64,
    /// `title`.
    pub title: String,
    /// `category_id`, one of [`CATEGORIES`].
    pub category_id: u32,
    /// `event_status_id` and `event_status_label`.
    pub status: EventStatus,
    /// `next_date`: the next performance, Paris time with its offset.
    pub next_date: DateTime<FixedOffset>,
    /// `updated_at`: UNIX seconds of the last change of data or status.
    pub updated_at: i64,
    /// `visit_count`.
    pub visit_count: u64,
}

impl Event {
    /// The JSON item of a listing.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "category_id": self.category_id,
            "event_status_id": self.status.id(),
            "event_status_label": self.status.label(),
            "next_date": self.next_date.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            "updated_at": self.updated_at,
            "visit_count": self.visit_count,
        })
    }
}

/// Which events a `/get/updates` request selects, before pagination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Selection {
    pub(crate) since: i64,
    pub(crate) category: Option<u32>,
}

/// The live events, by id.
#[derive(Debug)]
pub(crate) struct Events {
    by_id: BTreeMap<u64, Event>,
}

impl Events {
    /// The seeded events.
    pub(crate) fn seeded() -> Self {
        let mut rng = SplitMix64::new(EVENT_SEED);
        let mut id = FIRST_EVENT_ID - 1;
        let by_id = (0..SEEDED_EVENTS)
            .map(|_| {
                id += 1 + rng.below(3);
                (id, seeded_event(id, &mut rng))
            })
            .collect();
        Self { by_id }
    }

    /// Adds or replaces the event; true if its id was new.
    pub(crate) fn insert(&mut self, event: Event) -> bool {
        self.by_id.insert(event.id, event).is_none()
    }

    /// Removes the event; false if there was none.
    pub(crate) fn delete(&mut self, id: u64) -> bool {
        self.by_id.remove(&id).is_some()
    }

    /// Sets the status and `updated_at`; false if there is no such event.
    pub(crate) fn set_status(&mut self, id: u64, status: EventStatus, updated_at: i64) -> bool {
        let Some(event) = self.by_id.get_mut(&id) else {
            return false;
        };
        event.status = status;
        event.updated_at = updated_at;
        true
    }

    /// Every event, by ascending id.
    pub(crate) fn all(&self) -> Vec<Event> {
        self.by_id.values().cloned().collect()
    }

    /// The selected events, by next performance then id.
    pub(crate) fn listing(&self, selection: Selection) -> Vec<&Event> {
        let mut listed: Vec<&Event> = self
            .by_id
            .values()
            .filter(|event| event.updated_at >= selection.since)
            .filter(|event| selection.category.is_none_or(|id| event.category_id == id))
            .collect();
        listed.sort_by_key(|event| (event.next_date, event.id));
        listed
    }
}

fn pick<'a>(rng: &mut SplitMix64, choices: &[&'a str]) -> &'a str {
    choices[rng.below(choices.len() as u64) as usize]
}

fn seeded_status(rng: &mut SplitMix64) -> EventStatus {
    match rng.below(100) {
        0..70 => EventStatus::Published,
        70..78 => EventStatus::Pending,
        78..85 => EventStatus::Cancelled,
        85..92 => EventStatus::Deleted,
        _ => EventStatus::Archived,
    }
}

fn seeded_event(id: u64, rng: &mut SplitMix64) -> Event {
    let status = seeded_status(rng);
    let (category_id, category) = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
    let first_day = if status == EventStatus::Archived {
        NaiveDate::from_ymd_opt(2025, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(2026, 1, 1)
    }
    .unwrap_or_default();
    let day = first_day + Duration::days(rng.below(540) as i64);
    let local = day
        .and_hms_opt(14 + rng.below(8) as u32, 30 * rng.below(2) as u32, 0)
        .unwrap_or_default();
    Event {
        id,
        title: format!(
            "{category} : {} {}",
            pick(rng, TITLE_STARTS),
            pick(rng, TITLE_ENDS)
        ),
        category_id,
        status,
        next_date: paris_time::from_local(local),
        updated_at: SEEDED_UPDATES_FROM
            + rng.below((SEEDED_UPDATES_UNTIL - SEEDED_UPDATES_FROM) as u64) as i64,
        visit_count: rng.below(5_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_holds_over_3000_events_mostly_published_in_every_category() {
        let events = Events::seeded();
        let all = events.all();
        assert_eq!(all.len(), SEEDED_EVENTS);
        let published = all
            .iter()
            .filter(|event| event.status == EventStatus::Published)
            .count();
        assert!(published > all.len() / 2);
        for (category, _) in CATEGORIES {
            assert!(all.iter().any(|event| event.category_id == category));
        }
        for status in [
            EventStatus::Pending,
            EventStatus::Cancelled,
            EventStatus::Deleted,
            EventStatus::Archived,
        ] {
            assert!(all.iter().any(|event| event.status == status), "{status:?}");
        }
    }

    #[test]
    fn the_listing_filters_then_sorts_by_next_date_and_id() {
        let events = Events::seeded();
        let since = SEEDED_UPDATES_FROM + 10_000_000;
        let listed = events.listing(Selection {
            since,
            category: Some(4),
        });
        assert!(!listed.is_empty());
        assert!(
            listed
                .iter()
                .all(|event| event.updated_at >= since && event.category_id == 4)
        );
        assert!(
            listed
                .windows(2)
                .all(|pair| (pair[0].next_date, pair[0].id) <= (pair[1].next_date, pair[1].id))
        );
    }

    #[test]
    fn an_item_has_the_listing_fields() {
        let events = Events::seeded();
        let item = events.all()[0].to_json();
        for field in [
            "id",
            "title",
            "category_id",
            "event_status_id",
            "event_status_label",
            "next_date",
            "updated_at",
            "visit_count",
        ] {
            assert!(item.get(field).is_some(), "{field}");
        }
        let next_date = item["next_date"].as_str().unwrap();
        assert!(
            DateTime::parse_from_rfc3339(next_date).is_ok(),
            "{next_date}"
        );
    }
}
