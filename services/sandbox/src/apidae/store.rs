//! The known tourism objects and the private descriptors written on them.

use std::collections::{BTreeMap, BTreeSet};

use super::KnownObjects;
use super::payload::Texts;
use crate::rng::SplitMix64;

/// The smallest seeded object id; no id below it is ever seeded.
pub const KNOWN_OBJECTS_FROM: u64 = 100_000;
const OBJECT_SEED: u64 = 0x00A9_1DAE;

/// Object id → technical name → language key → text.
pub(crate) type Stored = BTreeMap<u64, BTreeMap<String, Texts>>;

/// The ids a [`KnownObjects`] setting stands for.
pub(crate) fn known_ids(known: &KnownObjects) -> BTreeSet<u64> {
    match known {
        KnownObjects::Only(ids) => ids.clone(),
        KnownObjects::Seeded { count } => {
            let mut rng = SplitMix64::new(OBJECT_SEED);
            let mut next = KNOWN_OBJECTS_FROM;
            (0..*count)
                .map(|_| {
                    let id = next;
                    next += 1 + rng.below(3);
                    id
                })
                .collect()
        }
    }
}

/// What the API knows and holds.
#[derive(Debug)]
pub(crate) struct Store {
    known: BTreeSet<u64>,
    descriptors: Stored,
}

impl Store {
    pub(crate) fn new(known: &KnownObjects) -> Self {
        Self {
            known: known_ids(known),
            descriptors: Stored::new(),
        }
    }

    pub(crate) fn is_known(&self, id: u64) -> bool {
        self.known.contains(&id)
    }

    pub(crate) fn known(&self) -> &BTreeSet<u64> {
        &self.known
    }

    pub(crate) fn add_object(&mut self, id: u64) {
        self.known.insert(id);
    }

    /// Makes the object unknown and drops its descriptors.
    pub(crate) fn forget_object(&mut self, id: u64) {
        self.known.remove(&id);
        self.descriptors.remove(&id);
    }

    /// Sets (replaces) the texts of one descriptor of a known object.
    pub(crate) fn set(&mut self, id: u64, name: &str, texts: Texts) {
        self.descriptors
            .entry(id)
            .or_default()
            .insert(name.to_owned(), texts);
    }

    /// Removes one descriptor; nothing if it is not there.
    pub(crate) fn remove(&mut self, id: u64, name: &str) {
        if let Some(names) = self.descriptors.get_mut(&id) {
            names.remove(name);
            if names.is_empty() {
                self.descriptors.remove(&id);
            }
        }
    }

    pub(crate) fn stored(&self) -> &Stored {
        &self.descriptors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_repeatable_ascending_and_above_the_floor() {
        let ids = known_ids(&KnownObjects::Seeded { count: 20_000 });
        assert_eq!(ids.len(), 20_000);
        assert_eq!(ids, known_ids(&KnownObjects::Seeded { count: 20_000 }));
        assert_eq!(ids.first(), Some(&KNOWN_OBJECTS_FROM));
        let last = *ids.last().unwrap();
        assert!(last > KNOWN_OBJECTS_FROM + 20_000, "gaps exist: {last}");
        assert!(last < KNOWN_OBJECTS_FROM + 60_000, "{last}");
    }

    #[test]
    fn descriptors_are_set_replaced_and_removed() {
        let mut store = Store::new(&KnownObjects::Only([1].into()));
        let texts = |text: &str| Texts::from([("libelleFr".to_owned(), text.to_owned())]);
        store.set(1, "a", texts("x"));
        store.set(1, "a", texts("y"));
        store.set(1, "b", texts("z"));
        assert_eq!(store.stored()[&1]["a"], texts("y"));
        store.remove(1, "a");
        store.remove(1, "missing");
        assert_eq!(store.stored()[&1].len(), 1);
        store.remove(1, "b");
        assert!(store.stored().is_empty());
        store.set(1, "a", texts("x"));
        store.forget_object(1);
        assert!(!store.is_known(1));
        assert!(store.stored().is_empty());
    }
}
