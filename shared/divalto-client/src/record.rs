//! One row of a RecordSql answer: field names to text values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One row, field name to value, both as the server spelled them.
///
/// The server sends every value as a JSON string (ids and amounts included, decimals
/// with `.`, dates as `YYYYMMDD`), and those strings are kept untouched. Should a value
/// come as a JSON number or boolean, its JSON text is kept (`3`, `1.5`, `true`); a
/// `null` value leaves the field out of the record. Serialises as a plain JSON object
/// of strings, fields in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Record(BTreeMap<String, String>);

/// A field value that is neither text, number, boolean nor null.
#[derive(Debug)]
pub(crate) struct UnexpectedValue {
    /// The field that held it.
    pub(crate) field: String,
}

impl Record {
    /// The value of `field`, as the server spelled it; none when absent or null.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// Every field and its value, in field name order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// How many fields the record holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the record holds no field.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields as a map, for callers that want to own them.
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// Reads the `record` object of one row, following the rules of [`Record`].
    pub(crate) fn from_json(fields: Map<String, Value>) -> Result<Self, UnexpectedValue> {
        let mut record = BTreeMap::new();
        for (field, value) in fields {
            let text = match value {
                Value::String(text) => text,
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                Value::Null => continue,
                Value::Array(_) | Value::Object(_) => return Err(UnexpectedValue { field }),
            };
            record.insert(field, text);
        }
        Ok(Self(record))
    }
}

impl From<BTreeMap<String, String>> for Record {
    fn from(fields: BTreeMap<String, String>) -> Self {
        Self(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn string_values_are_kept_as_sent() {
        let record = Record::from_json(object(json!({
            "T116_ID": "3", "CATFOUCOD": "TRANSIT", "LIB80": "", "MONTANT": "12.50"
        })))
        .expect("a record");
        assert_eq!(record.get("T116_ID"), Some("3"));
        assert_eq!(record.get("CATFOUCOD"), Some("TRANSIT"));
        assert_eq!(record.get("LIB80"), Some(""));
        assert_eq!(record.get("MONTANT"), Some("12.50"));
        assert_eq!(record.get("MISSING"), None);
        assert_eq!(record.len(), 4);
    }

    #[test]
    fn numbers_and_booleans_keep_their_json_text_and_null_is_absent() {
        let record = Record::from_json(object(json!({
            "ID": 3, "RATE": 1.5, "BIG": 12345678901234_i64, "FLAG": true, "GONE": null
        })))
        .expect("a record");
        assert_eq!(record.get("ID"), Some("3"));
        assert_eq!(record.get("RATE"), Some("1.5"));
        assert_eq!(record.get("BIG"), Some("12345678901234"));
        assert_eq!(record.get("FLAG"), Some("true"));
        assert_eq!(record.get("GONE"), None);
        assert_eq!(
            record.fields().map(|(name, _)| name).collect::<Vec<_>>(),
            ["BIG", "FLAG", "ID", "RATE"]
        );
    }

    #[test]
    fn nested_values_are_refused_by_field_name() {
        let error = Record::from_json(object(json!({"OK": "1", "ODD": {"x": 1}})))
            .expect_err("a nested object is not a field value");
        assert_eq!(error.field, "ODD");
    }

    #[test]
    fn a_record_serialises_as_a_plain_object_of_strings() {
        let record = Record::from_json(object(json!({"VIL": "BROU", "CPOSTAL": "01000"})))
            .expect("a record");
        assert_eq!(
            serde_json::to_value(&record).expect("serialises"),
            json!({"CPOSTAL": "01000", "VIL": "BROU"})
        );
        let back: Record =
            serde_json::from_value(json!({"CPOSTAL": "01000", "VIL": "BROU"})).expect("reads");
        assert_eq!(back, record);
    }
}
