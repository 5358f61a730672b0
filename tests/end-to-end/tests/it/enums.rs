//! Enumerations and constants: the document spells every value the way the code does.

use std::collections::{BTreeMap, BTreeSet};

use contract::SCHEMA_VERSION;
use serde_json::{Value, json};

use crate::catalogue::{enums, failure_reasons};
use crate::document::{Document, as_str};

#[test]
fn every_enum_schema_has_exactly_the_values_the_code_writes() {
    let document = Document::load();
    let documented: BTreeMap<&str, BTreeSet<&str>> = document
        .schemas()
        .iter()
        .filter_map(|(name, schema)| {
            let values = schema.get("enum")?.as_array()?;
            Some((
                name.as_str(),
                values.iter().map(|value| as_str(value, name)).collect(),
            ))
        })
        .collect();
    let known = enums();
    let known: BTreeMap<&str, BTreeSet<&str>> = known
        .iter()
        .map(|(name, values)| (*name, values.iter().map(String::as_str).collect()))
        .collect();

    assert_eq!(documented, known);
}

#[test]
fn the_dead_letter_reason_header_spells_reasons_as_the_event_does() {
    for reason in failure_reasons() {
        assert_eq!(
            serde_json::to_value(reason).expect("a reason serialises"),
            json!(reason.as_str())
        );
    }
}

#[test]
fn every_envelope_schema_states_the_version_the_code_writes() {
    let document = Document::load();
    for envelope in ["CommandEnvelope", "EventEnvelope"] {
        let version: &Value = &document.schemas()[envelope]["properties"]["version"]["const"];
        assert_eq!(version, &json!(SCHEMA_VERSION), "version of `{envelope}`");
    }
}
