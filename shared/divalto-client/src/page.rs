//! One page of records, decoded from an accepted `RecordSql/Execute` answer.

use crate::record::Record;
use serde_json::{Map, Value};
use upstream_http::UpstreamError;

/// One page of records, exactly as the server cut it.
///
/// A listing goes on while a page holds as many records as the count asked for; a
/// shorter page (possibly empty) ends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordPage {
    /// The rows, in the server's order; empty when the server sent `records: null`.
    pub records: Vec<Record>,
    /// The FROM table (`tablename`, such as `T057`); none when the server sent none.
    pub table: Option<String>,
    /// The `infos` member: the server sends JSON encoded inside a string, decoded here.
    /// None when empty; a text that is not JSON is kept as a JSON string.
    pub infos: Option<Value>,
}

/// The page held by an accepted answer (`error` 0).
pub(crate) fn decode_page(mut object: Map<String, Value>) -> Result<RecordPage, UpstreamError> {
    let records = match object.remove("records") {
        Some(Value::Array(rows)) => rows
            .into_iter()
            .enumerate()
            .map(|(index, row)| decode_row(index, row))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("`records` is neither an array nor null")),
        None => return Err(invalid("the answer has no `records` member")),
    };
    if let Some(announced) = object.get("nbrecord").and_then(Value::as_u64)
        && usize::try_from(announced).ok() != Some(records.len())
    {
        tracing::warn!(
            announced,
            received = records.len(),
            "divalto nbrecord differs from the records received"
        );
    }
    let table = match object.remove("tablename") {
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name),
        _ => None,
    };
    let infos = object.remove("infos").and_then(decode_infos);
    Ok(RecordPage {
        records,
        table,
        infos,
    })
}

/// One `{"record": {...}}` wrapper.
fn decode_row(index: usize, row: Value) -> Result<Record, UpstreamError> {
    let Value::Object(mut wrapper) = row else {
        return Err(invalid(format!("records[{index}] is not an object")));
    };
    let Some(Value::Object(fields)) = wrapper.remove("record") else {
        return Err(invalid(format!("records[{index}] has no `record` object")));
    };
    Record::from_json(fields).map_err(|unexpected| {
        invalid(format!(
            "records[{index}].record.{} is neither text, number, boolean nor null",
            unexpected.field
        ))
    })
}

/// `infos` is a string that holds JSON when flags were asked for; it is decoded twice.
fn decode_infos(infos: Value) -> Option<Value> {
    match infos {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) => Some(serde_json::from_str(&text).unwrap_or(Value::String(text))),
        other => Some(other),
    }
}

fn invalid(message: impl Into<String>) -> UpstreamError {
    UpstreamError::invalid_response(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use upstream_http::PermanentReason;

    fn decode(value: Value) -> Result<RecordPage, UpstreamError> {
        match value {
            Value::Object(object) => decode_page(object),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn a_documented_page_is_decoded() {
        let page = decode(json!({
            "error": 0, "txterr": "", "tablename": "T057", "nbrecord": 2,
            "records": [
                {"record": {"CPOSTAL": "01000", "VIL": "BOURG EN BRESSE"}},
                {"record": {"CPOSTAL": "01000", "VIL": "BROU"}}
            ],
            "infos": ""
        }))
        .expect("a page");
        assert_eq!(page.table.as_deref(), Some("T057"));
        assert_eq!(page.infos, None);
        assert_eq!(
            page.records
                .iter()
                .map(|record| record.get("VIL"))
                .collect::<Vec<_>>(),
            [Some("BOURG EN BRESSE"), Some("BROU")]
        );
    }

    #[test]
    fn null_records_are_an_empty_page() {
        let page = decode(json!({
            "error": 0, "txterr": "", "tablename": "", "nbrecord": 0, "records": null, "infos": ""
        }))
        .expect("a page");
        assert_eq!(page, RecordPage::default());
    }

    #[test]
    fn infos_holding_json_in_a_string_are_decoded() {
        let infos = json!({"InfosToken": {"ExpireMinutes": "30", "Env": "ERP213"}}).to_string();
        let page = decode(json!({"error": 0, "records": [], "infos": infos})).expect("a page");
        assert_eq!(
            page.infos,
            Some(json!({"InfosToken": {"ExpireMinutes": "30", "Env": "ERP213"}}))
        );
    }

    #[test]
    fn infos_that_are_not_json_are_kept_as_text() {
        let page = decode(json!({"error": 0, "records": [], "infos": "InfosToken{ garbled"}))
            .expect("a page");
        assert_eq!(page.infos, Some(json!("InfosToken{ garbled")));
        let page = decode(json!({"error": 0, "records": [], "infos": " "})).expect("a page");
        assert_eq!(page.infos, None);
        let page = decode(json!({"error": 0, "records": []})).expect("a page");
        assert_eq!(page.infos, None);
    }

    #[test]
    fn undocumented_shapes_are_invalid_responses() {
        for body in [
            json!({"error": 0}),
            json!({"error": 0, "records": {}}),
            json!({"error": 0, "records": ["CPOSTAL"]}),
            json!({"error": 0, "records": [{"CPOSTAL": "01000"}]}),
            json!({"error": 0, "records": [{"record": {"X": [1]}}]}),
        ] {
            let result = decode(body.clone());
            assert!(
                matches!(
                    result,
                    Err(UpstreamError::Permanent {
                        reason: PermanentReason::InvalidResponse,
                        ..
                    })
                ),
                "{body}: {result:?}"
            );
        }
    }
}
