//! One upstream record inside a `page.fetched` event, carried as JSON text.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// One record of a page: a JSON value kept as text from the moment the worker reads
/// it until the event is written, so the worker never builds it as a tree and never
/// writes it again value by value. On the wire it is the JSON value itself, exactly as
/// `text` holds it.
///
/// Two records are equal when they hold the same JSON value, however it is spelled.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Record(
    /// Every source's record is a JSON object.
    #[schemars(with = "serde_json::Map<String, Value>")]
    Box<RawValue>,
);

impl Record {
    /// A record of JSON text already checked to be one JSON value, such as a node of
    /// an upstream answer captured as it was read.
    pub fn from_raw(raw: Box<RawValue>) -> Self {
        Self(raw)
    }

    /// A record written from any serialisable value (a record the worker builds
    /// rather than passes through).
    pub fn of(value: &impl Serialize) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// The record's JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The record read as a JSON value, for consumers that look inside it.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).expect("a record holds one valid JSON value")
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text() || self.to_value() == other.to_value()
    }
}

/// Reads any JSON value. Events are read inside an envelope whose fields serde
/// buffers (the event type is a tag among them), and buffered content cannot hand out
/// raw text; so the value is read as a tree and written back as compact text. Only
/// consumers pay that; the worker writing an event never reads one.
impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Record::of(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_written_exactly_as_its_text() {
        let text = r#"{"number":12,"état":"accepté","labels":[],"z":null,"a":1.50}"#;
        let raw = RawValue::from_string(text.to_owned()).expect("one JSON value");
        let record = Record::from_raw(raw);
        assert_eq!(serde_json::to_string(&record).expect("serialises"), text);
        assert_eq!(
            serde_json::to_string(&[&record, &record]).expect("serialises"),
            format!("[{text},{text}]")
        );
    }

    #[test]
    fn a_record_reads_back_as_the_same_value() {
        let value = serde_json::json!({"id": "7", "fields": {"REF": "A-1"}});
        let record = Record::of(&value).expect("serialises");
        assert_eq!(record.to_value(), value);
        let read: Record = serde_json::from_str(record.text()).expect("reads");
        assert_eq!(read, record);
    }

    #[test]
    fn records_are_equal_when_their_values_are() {
        let record =
            |text: &str| Record::from_raw(RawValue::from_string(text.to_owned()).expect("JSON"));
        assert_eq!(
            record(r#"{"b": 1, "a": [2]}"#),
            record(r#"{"a":[2],"b":1}"#)
        );
        assert_ne!(record(r#"{"a": 1}"#), record(r#"{"a": 2}"#));
    }
}
