//! The AsyncAPI document, loaded as JSON, and the few ways the tests read it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/asyncapi.yaml");

/// The whole document.
pub(crate) struct Document {
    root: Value,
}

/// What a message is, read from its single tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Command,
    Event,
    DeadLetter,
}

/// One entry of `components.messages`.
#[derive(Clone, Copy)]
pub(crate) struct Message<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: &'a Value,
}

/// The properties and required fields of an object schema, with `$ref` followed and
/// `allOf` merged. A property described by several parts keeps every description.
#[derive(Default)]
pub(crate) struct ObjectShape<'a> {
    pub(crate) required: BTreeSet<&'a str>,
    pub(crate) properties: BTreeMap<&'a str, Vec<&'a Value>>,
}

impl Document {
    pub(crate) fn load() -> Document {
        let text = std::fs::read_to_string(PATH).expect("docs/asyncapi.yaml is readable");
        let root = serde_norway::from_str(&text).expect("docs/asyncapi.yaml is valid YAML");
        Document { root }
    }

    pub(crate) fn messages(&self) -> Vec<Message<'_>> {
        self.section(&["components", "messages"])
            .iter()
            .map(|(key, value)| Message { key, value })
            .collect()
    }

    pub(crate) fn messages_with_role(&self, role: Role) -> Vec<Message<'_>> {
        self.messages()
            .into_iter()
            .filter(|message| message.role() == role)
            .collect()
    }

    /// The message whose `name` is `name`; there must be exactly one.
    pub(crate) fn message_named(&self, name: &str) -> Message<'_> {
        let mut found = self
            .messages()
            .into_iter()
            .filter(|message| message.name() == name);
        let message = found
            .next()
            .unwrap_or_else(|| panic!("the document has no message named `{name}`"));
        assert!(
            found.next().is_none(),
            "several messages are named `{name}`"
        );
        message
    }

    pub(crate) fn schemas(&self) -> &Map<String, Value> {
        self.section(&["components", "schemas"])
    }

    pub(crate) fn channels(&self) -> &Map<String, Value> {
        self.section(&["channels"])
    }

    pub(crate) fn operations(&self) -> &Map<String, Value> {
        self.section(&["operations"])
    }

    /// Follows `$ref` (a local JSON pointer such as `#/components/schemas/Listing`)
    /// until it reaches a value that is not a reference.
    pub(crate) fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("`{reference}` is not a local reference"));
            value = self
                .root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("`{reference}` points at nothing"));
        }
        value
    }

    /// The merged shape of every schema given (they all apply, as in `allOf`).
    pub(crate) fn object_shape<'a>(&'a self, schemas: &[&'a Value]) -> ObjectShape<'a> {
        let mut shape = ObjectShape::default();
        for schema in schemas {
            self.merge_into(&mut shape, schema);
        }
        shape
    }

    fn merge_into<'a>(&'a self, shape: &mut ObjectShape<'a>, schema: &'a Value) {
        let schema = self.resolve(schema);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            shape
                .required
                .extend(required.iter().map(|field| as_str(field, "required")));
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                shape.properties.entry(name).or_default().push(property);
            }
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.merge_into(shape, part);
        }
    }

    fn section(&self, path: &[&str]) -> &Map<String, Value> {
        let value = path.iter().fold(&self.root, |value, key| &value[key]);
        value
            .as_object()
            .unwrap_or_else(|| panic!("the document has no `{}` map", path.join(".")))
    }
}

impl<'a> Message<'a> {
    pub(crate) fn name(&self) -> &'a str {
        as_str(&self.value["name"], self.key)
    }

    pub(crate) fn role(&self) -> Role {
        let tags: Vec<&str> = self.value["tags"]
            .as_array()
            .unwrap_or_else(|| panic!("message `{}` has no tags", self.key))
            .iter()
            .map(|tag| as_str(&tag["name"], self.key))
            .collect();
        match tags.as_slice() {
            ["command"] => Role::Command,
            ["event"] => Role::Event,
            ["dead-letter"] => Role::DeadLetter,
            other => panic!(
                "message `{}` must have exactly one tag of command, event or dead-letter, not {other:?}",
                self.key
            ),
        }
    }

    pub(crate) fn payload(&self) -> &'a Value {
        &self.value["payload"]
    }

    pub(crate) fn headers(&self) -> &'a Value {
        &self.value["headers"]
    }

    /// Every example, as `(name, headers, payload)`.
    pub(crate) fn examples(&self) -> Vec<(&'a str, &'a Value, &'a Value)> {
        self.value["examples"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|example| {
                let name = as_str(&example["name"], self.key);
                (name, &example["headers"], &example["payload"])
            })
            .collect()
    }
}

/// A string the document must hold at this place.
pub(crate) fn as_str<'a>(value: &'a Value, context: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string in `{context}`, found {value}"))
}
