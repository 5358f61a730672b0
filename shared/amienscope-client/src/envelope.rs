//! Reads a success body into events, without I/O.
//!
//! The envelope of a listing is not documented, so several plausible shapes are taken:
//! a bare JSON array of events; an object with exactly one array-valued member (such as
//! `{"events": [..]}` or `{"total": 3, "data": [..]}`), whose array is the page; and
//! `null` or an empty body as an empty page. Anything else is refused rather than guessed.

use crate::event::{EventRecord, EventStatus};
use serde_json::{Map, Value};
use upstream_http::{PermanentReason, UpstreamError, excerpt};

/// The member that carries an event's status.
const STATUS_FIELD: &str = "event_status_id";

/// The events of a 2xx answer with HTTP `status`; each must be an object carrying
/// `id_field` as a number or a string.
pub(crate) fn decode_page(
    status: u16,
    body: &[u8],
    id_field: &str,
) -> Result<Vec<EventRecord>, UpstreamError> {
    if body.trim_ascii().is_empty() {
        return Ok(Vec::new());
    }
    let invalid = |message: String| {
        UpstreamError::permanent_with_code(PermanentReason::InvalidResponse, status, message)
    };
    let document: Value = serde_json::from_slice(body).map_err(|error| {
        invalid(format!(
            "response body is not json ({error}): {}",
            excerpt(body, &[])
        ))
    })?;
    let items = match document {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        Value::Object(members) => only_array(members)
            .map_err(|problem| invalid(format!("{problem}: {}", excerpt(body, &[]))))?,
        _ => {
            return Err(invalid(format!(
                "response is neither a list nor an object: {}",
                excerpt(body, &[])
            )));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            event(item, id_field).map_err(|problem| invalid(format!("event {index}: {problem}")))
        })
        .collect()
}

/// The array of an object wrapping the page, when exactly one member is an array.
fn only_array(members: Map<String, Value>) -> Result<Vec<Value>, String> {
    let mut arrays = members.into_iter().filter_map(|(name, value)| match value {
        Value::Array(items) => Some((name, items)),
        _ => None,
    });
    match (arrays.next(), arrays.next()) {
        (Some((_, items)), None) => Ok(items),
        (None, _) => Err("response object holds no list of events".to_owned()),
        (Some((first, _)), Some((second, _))) => Err(format!(
            "response object holds several lists ({first:?}, {second:?}), which one is the page is unknown"
        )),
    }
}

fn event(item: Value, id_field: &str) -> Result<EventRecord, String> {
    let Value::Object(fields) = item else {
        return Err(format!("not an object but {}", kind(&item)));
    };
    let id = match fields.get(id_field) {
        Some(Value::Number(number)) if number.is_i64() || number.is_u64() => number.to_string(),
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        Some(other) => return Err(format!("unusable {id_field:?} {other}")),
        None => return Err(format!("no {id_field:?} member")),
    };
    let status = status(fields.get(STATUS_FIELD))
        .ok_or_else(|| format!("event {id} has an unreadable {STATUS_FIELD}"))?;
    Ok(EventRecord { id, status, fields })
}

/// A number or a string of digits; missing or null is [`EventStatus::Other`]`(0)`.
fn status(value: Option<&Value>) -> Option<EventStatus> {
    let code = match value {
        None | Some(Value::Null) => 0,
        Some(Value::Number(number)) => number.as_i64()?,
        Some(Value::String(text)) => text.trim().parse().ok()?,
        Some(_) => return None,
    };
    Some(EventStatus::from_code(code))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(body: &str) -> Result<Vec<EventRecord>, UpstreamError> {
        decode_page(200, body.as_bytes(), "id")
    }

    fn ids_and_statuses(body: &str) -> Vec<(String, EventStatus)> {
        decode(body)
            .expect("a readable page")
            .into_iter()
            .map(|record| (record.id, record.status))
            .collect()
    }

    fn is_invalid(result: &Result<Vec<EventRecord>, UpstreamError>) -> bool {
        matches!(
            result,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::InvalidResponse,
                code: Some(code),
                ..
            }) if code == "200"
        )
    }

    #[test]
    fn a_bare_array_is_the_page_and_every_field_is_kept() {
        let body = json!([
            {"id": 1234, "event_status_id": 3, "event_status_label": "Annulé", "visit_count": 57},
            {"id": "abc-9", "event_status_id": "2", "title": "Concert"}
        ]);
        let records = decode(&body.to_string()).expect("a readable page");

        assert_eq!(records.len(), 2);
        assert_eq!(records[0].id, "1234");
        assert_eq!(records[0].status, EventStatus::Cancelled);
        assert_eq!(records[0].fields["visit_count"], 57);
        assert_eq!(records[0].fields["event_status_label"], "Annulé");
        assert_eq!(records[1].id, "abc-9");
        assert_eq!(records[1].status, EventStatus::Published);
        assert_eq!(
            Value::Object(records[1].fields.clone()),
            body[1],
            "the record keeps the whole event"
        );
    }

    #[test]
    fn an_object_with_one_list_wraps_the_page() {
        for body in [
            r#"{"events": [{"id": 1, "event_status_id": 5}]}"#,
            r#"{"data": [{"id": 1, "event_status_id": 5}], "total": 1, "status": "ok"}"#,
        ] {
            assert_eq!(
                ids_and_statuses(body),
                [("1".to_owned(), EventStatus::Deleted)],
                "{body}"
            );
        }
    }

    #[test]
    fn null_empty_and_blank_bodies_are_an_empty_page() {
        for body in ["", "  \n", "null", "[]", r#"{"events": []}"#] {
            assert_eq!(decode(body), Ok(Vec::new()), "{body:?}");
        }
    }

    #[test]
    fn status_ids_are_read_from_numbers_or_digit_strings_and_kept_when_unknown() {
        let body = json!([
            {"id": 1, "event_status_id": 1},
            {"id": 2, "event_status_id": " 6 "},
            {"id": 3, "event_status_id": 4},
            {"id": 4, "event_status_id": "42"},
            {"id": 5},
            {"id": 6, "event_status_id": null}
        ]);
        let statuses: Vec<EventStatus> = ids_and_statuses(&body.to_string())
            .into_iter()
            .map(|(_, status)| status)
            .collect();
        assert_eq!(
            statuses,
            [
                EventStatus::Pending,
                EventStatus::Archived,
                EventStatus::Other(4),
                EventStatus::Other(42),
                EventStatus::Other(0),
                EventStatus::Other(0),
            ]
        );
    }

    #[test]
    fn the_id_field_is_configurable() {
        let records = decode_page(
            200,
            br#"[{"event_id": 77, "event_status_id": 2}]"#,
            "event_id",
        )
        .expect("a readable page");
        assert_eq!(records[0].id, "77");
        assert!(is_invalid(&decode(r#"[{"event_id": 77}]"#)));
    }

    #[test]
    fn unreadable_pages_are_invalid_responses() {
        for body in [
            "<html>maintenance</html>",
            "42",
            r#""events""#,
            "{}",
            r#"{"error": "unknown route"}"#,
            r#"{"events": [], "categories": []}"#,
            "[1, 2]",
            r#"[{"title": "no id"}]"#,
            r#"[{"id": null}]"#,
            r#"[{"id": ""}]"#,
            r#"[{"id": 1.5}]"#,
            r#"[{"id": {"value": 1}}]"#,
            r#"[{"id": 1, "event_status_id": "published"}]"#,
            r#"[{"id": 1, "event_status_id": 2.5}]"#,
            r#"[{"id": 1, "event_status_id": [2]}]"#,
        ] {
            let result = decode(body);
            assert!(is_invalid(&result), "{body}: {result:?}");
        }
    }

    #[test]
    fn a_non_json_body_is_quoted_in_short() {
        let body = format!("<html>{}</html>", "x".repeat(5_000));
        let Err(UpstreamError::Permanent { message, .. }) = decode(&body) else {
            panic!("html is not a page");
        };
        assert!(
            message.starts_with("response body is not json"),
            "{message}"
        );
        assert!(message.contains("<html>xxx"), "{message}");
        assert!(message.len() < 400, "{message}");
    }
}
