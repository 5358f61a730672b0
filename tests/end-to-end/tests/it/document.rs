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

/// The properties and required fields of an object schema, with `$ref` followed,
/// `allOf` merged and, given the object it describes, the one `oneOf` alternative that
/// fits it merged too. A property described by several parts keeps every description.
#[derive(Default)]
pub(crate) struct ObjectShape<'a> {
    pub(crate) required: BTreeSet<&'a str>,
    pub(crate) properties: BTreeMap<&'a str, Vec<&'a Value>>,
    /// Some part allows fields it does not name (`additionalProperties` other than
    /// `false`): a map, or a value passed on exactly as received.
    pub(crate) open: bool,
    /// What the parts say of the fields they do not name, when they say more than `true`.
    pub(crate) other_fields: Vec<&'a Value>,
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

    /// The merged shape of every schema given (they all apply, as in `allOf`). Panics
    /// on a `oneOf`, which only an object can choose from: see [`Self::shape_of`].
    pub(crate) fn object_shape<'a>(&'a self, schemas: &[&'a Value]) -> ObjectShape<'a> {
        self.merged(schemas, None)
    }

    /// The merged shape of every schema given, as it applies to `object`: of each
    /// `oneOf`, the single alternative that fits the object.
    pub(crate) fn shape_of<'a>(
        &'a self,
        schemas: &[&'a Value],
        object: &Map<String, Value>,
    ) -> ObjectShape<'a> {
        self.merged(schemas, Some(object))
    }

    fn merged<'a>(
        &'a self,
        schemas: &[&'a Value],
        object: Option<&Map<String, Value>>,
    ) -> ObjectShape<'a> {
        let mut shape = ObjectShape::default();
        for schema in schemas {
            self.merge_into(&mut shape, schema, object);
        }
        shape
    }

    fn merge_into<'a>(
        &'a self,
        shape: &mut ObjectShape<'a>,
        schema: &'a Value,
        object: Option<&Map<String, Value>>,
    ) {
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
        match schema.get("additionalProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => shape.open = true,
            Some(other_fields) => {
                shape.open = true;
                shape.other_fields.push(other_fields);
            }
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.merge_into(shape, part, object);
        }
        if let Some(alternatives) = schema.get("oneOf").and_then(Value::as_array) {
            let object = object.unwrap_or_else(|| {
                panic!("a `oneOf` can only be read against an object it describes")
            });
            let alternative = self.alternative_fitting(alternatives, object);
            self.merge_into(shape, alternative, Some(object));
        }
    }

    /// The one alternative whose required fields `object` has and whose constants it
    /// holds; the document is ambiguous, or wrong, if there is not exactly one.
    fn alternative_fitting<'a>(
        &'a self,
        alternatives: &'a [Value],
        object: &Map<String, Value>,
    ) -> &'a Value {
        let fitting: Vec<&Value> = alternatives
            .iter()
            .filter(|alternative| self.fits(alternative, object))
            .collect();
        match fitting.as_slice() {
            [alternative] => alternative,
            other => panic!(
                "{} alternatives of a `oneOf` fit {}",
                other.len(),
                Value::Object(object.clone())
            ),
        }
    }

    fn fits(&self, alternative: &Value, object: &Map<String, Value>) -> bool {
        let shape = self.shape_of(&[alternative], object);
        let has_required = shape
            .required
            .iter()
            .all(|field| object.contains_key(*field));
        let holds_constants = shape.properties.iter().all(|(field, schemas)| {
            object.get(*field).is_none_or(|value| {
                schemas
                    .iter()
                    .filter_map(|schema| self.resolve(schema).get("const"))
                    .all(|constant| constant == value)
            })
        });
        has_required && holds_constants
    }

    fn section(&self, path: &[&str]) -> &Map<String, Value> {
        let value = path.iter().fold(&self.root, |value, key| &value[key]);
        value
            .as_object()
            .unwrap_or_else(|| panic!("the document has no `{}` map", path.join(".")))
    }
}

impl<'a> ObjectShape<'a> {
    /// The schemas that describe `field`: its property's, or else what the shape says
    /// of the fields it does not name.
    pub(crate) fn schemas_of(&self, field: &str) -> &[&'a Value] {
        self.properties
            .get(field)
            .map_or(self.other_fields.as_slice(), Vec::as_slice)
    }

    /// The fields of `object` the shape speaks about: every one, or for an open shape
    /// only those it names (the others are data, not fields).
    pub(crate) fn fields_named_in<'o>(&self, object: &'o Map<String, Value>) -> BTreeSet<&'o str> {
        object
            .keys()
            .map(String::as_str)
            .filter(|field| !self.open || self.properties.contains_key(field))
            .collect()
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
