//! Payload schemas against what the code writes, at every level of nesting, inside
//! objects and arrays alike: required fields are exactly those written when every
//! option is empty, properties exactly those written when every option is filled, and
//! each written value has the type, enumeration or constant its schema gives. Where a
//! schema offers alternatives (`oneOf`), the one that fits the written object is
//! checked; an open object (a map, or a value passed on as received) is checked only
//! on the fields it names and on what it says of the others.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::catalogue::{Fill, command_json, commands, event_json, events};
use crate::document::{Document, ObjectShape};

#[test]
fn every_payload_requires_exactly_the_fields_the_code_always_writes() {
    let mismatches = visit_samples(Fill::Sparse, |_, shape, object, path| {
        let written = shape.fields_named_in(object);
        (shape.required != written).then(|| {
            format!(
                "{path}: the code always writes {written:?}, the document requires {:?}",
                shape.required
            )
        })
    });

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_payload_describes_exactly_the_fields_the_code_can_write() {
    let mismatches = visit_samples(Fill::Full, |_, shape, object, path| {
        let written = shape.fields_named_in(object);
        let described: BTreeSet<&str> = shape.properties.keys().copied().collect();
        (described != written).then(|| {
            format!("{path}: the code can write {written:?}, the document describes {described:?}")
        })
    });

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_field_the_code_writes_has_the_type_its_schema_gives() {
    let mismatches = visit_samples(Fill::Full, |document, shape, object, path| {
        let problems: Vec<String> = object
            .iter()
            .filter_map(|(field, value)| {
                let schemas = shape.schemas_of(field);
                let refusals: Vec<String> = schemas
                    .iter()
                    .filter_map(|schema| refusal(document.resolve(schema), value))
                    .collect();
                (!refusals.is_empty()).then(|| format!("{path}.{field}: {}", refusals.join("; ")))
            })
            .collect();
        (!problems.is_empty()).then(|| problems.join("\n"))
    });

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Calls `check` on every JSON object of every sample the code writes, with the merged
/// schema the document gives that object; returns what `check` objected to.
fn visit_samples(
    fill: Fill,
    mut check: impl FnMut(&Document, &ObjectShape<'_>, &Map<String, Value>, &str) -> Option<String>,
) -> Vec<String> {
    let document = Document::load();
    let mut mismatches = Vec::new();
    for (name, written) in samples(fill) {
        let payload = document.message_named(name).payload();
        walk(
            &document,
            &[payload],
            &written,
            name,
            &mut |shape, object, path| {
                mismatches.extend(check(&document, shape, object, path));
            },
        );
    }
    mismatches
}

/// Visits `written` and every object inside it, through objects and arrays alike,
/// with the schemas that describe each.
fn walk<'a>(
    document: &'a Document,
    schemas: &[&'a Value],
    written: &Value,
    path: &str,
    visit: &mut impl FnMut(&ObjectShape<'a>, &Map<String, Value>, &str),
) {
    if schemas.is_empty() {
        // Undescribed: the enclosing object already reports it.
        return;
    }
    match written {
        Value::Object(object) => {
            let shape = document.shape_of(schemas, object);
            visit(&shape, object, path);
            for (field, value) in object {
                walk(
                    document,
                    shape.schemas_of(field),
                    value,
                    &format!("{path}.{field}"),
                    visit,
                );
            }
        }
        Value::Array(items) => {
            let item_schemas: Vec<&Value> = schemas
                .iter()
                .filter_map(|schema| document.resolve(schema).get("items"))
                .collect();
            for (index, item) in items.iter().enumerate() {
                walk(
                    document,
                    &item_schemas,
                    item,
                    &format!("{path}[{index}]"),
                    visit,
                );
            }
        }
        _ => {}
    }
}

/// Every command and event the code can write, by message name, as JSON.
fn samples(fill: Fill) -> Vec<(&'static str, Value)> {
    let commands = commands(fill)
        .into_iter()
        .map(|command| (command.body.kind(), command_json(&command)));
    let events = events(fill)
        .into_iter()
        .map(|event| (event.event.type_name(), event_json(&event)));
    commands.chain(events).collect()
}

/// Why `schema` refuses `value`, judged on `type`, `enum` and `const` only.
fn refusal(schema: &Value, value: &Value) -> Option<String> {
    if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && json_type(value) != expected
        && !(expected == "number" && value.is_number())
    {
        return Some(format!("{value} is not of type {expected}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Some(format!("{value} is not one of {allowed:?}"));
    }
    match schema.get("const") {
        Some(constant) if constant != value => Some(format!("{value} is not {constant}")),
        _ => None,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
