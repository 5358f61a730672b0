//! Pages and records as callers see them, decoded from the GraphQL `data` member.

use crate::values::Cursor;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use upstream_http::UpstreamError;

/// One page of a connection, exactly as the server cut it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records of the page, in the server's order.
    pub nodes: Vec<T>,
    /// The cursor after the last record; the server sends none for an empty page.
    pub end_cursor: Option<Cursor>,
    /// Whether the server has more records after this page right now.
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Whether the listing has nothing more to give for now. True on the last page with
    /// records (`hasNextPage: false`), on the empty page served for `after = last
    /// endCursor`, and on any empty page, since an empty page cannot move a cursor on.
    /// A last page served twice also reads as an end here; recognising that repeat
    /// against the previous page is up to the caller.
    pub fn is_end(&self) -> bool {
        !self.has_next_page || self.nodes.is_empty()
    }

    /// The cursor to read on from after this page: its own end cursor, or `known` when
    /// the page carries none, so a null cursor never replaces one already held.
    pub fn resume_cursor(&self, known: Option<&Cursor>) -> Option<Cursor> {
        self.end_cursor.as_ref().or(known).cloned()
    }
}

/// A dossier of the `dossiers` listing.
#[derive(Debug, Clone)]
pub struct Dossier {
    /// The dossier number (`number`).
    pub number: i64,
    /// When the dossier last changed (`dateDerniereModification`); with the number,
    /// the key that makes re-reading the same dossier idempotent.
    pub updated_at: DateTime<Utc>,
    /// The node exactly as the API returned it, byte for byte, for consumers.
    pub record: Box<RawValue>,
}

/// A dossier of the `deletedDossiers` listing.
#[derive(Debug, Clone)]
pub struct DeletedDossier {
    /// The number of the deleted dossier (`number`).
    pub number: i64,
    /// When it was deleted (`dateSupression`, spelled so in the API).
    pub deleted_at: DateTime<Utc>,
    /// The node exactly as the API returned it, byte for byte, for consumers.
    pub record: Box<RawValue>,
}

/// A record decoded from one node while the node itself is kept whole.
pub(crate) trait Node: Sized {
    /// The fields the crate reads out of the node.
    type Key: DeserializeOwned;
    /// Builds the record from its key fields and the untouched node.
    fn from_parts(key: Self::Key, record: Box<RawValue>) -> Self;
}

#[derive(Deserialize)]
pub(crate) struct DossierKey {
    number: i64,
    #[serde(rename = "dateDerniereModification")]
    updated_at: DateTime<Utc>,
}

impl Node for Dossier {
    type Key = DossierKey;

    fn from_parts(key: DossierKey, record: Box<RawValue>) -> Self {
        Dossier {
            number: key.number,
            updated_at: key.updated_at,
            record,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct DeletedDossierKey {
    number: i64,
    #[serde(rename = "dateSupression")]
    deleted_at: DateTime<Utc>,
}

impl Node for DeletedDossier {
    type Key = DeletedDossierKey;

    fn from_parts(key: DeletedDossierKey, record: Box<RawValue>) -> Self {
        DeletedDossier {
            number: key.number,
            deleted_at: key.deleted_at,
            record,
        }
    }
}

/// `data` of every page document: the connection is aliased `connection`.
#[derive(Deserialize)]
struct PageData {
    demarche: DemarcheConnection,
}

#[derive(Deserialize)]
struct DemarcheConnection {
    connection: Connection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    page_info: PageInfo,
    nodes: Vec<Option<Box<RawValue>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

/// Decodes the `data` of a page document into a page of records. Each node is kept as
/// the text it came as; only its key fields are read out of it.
pub(crate) fn decode_page<T: Node>(data: &RawValue) -> Result<Page<T>, UpstreamError> {
    let connection = serde_json::from_str::<PageData>(data.get())
        .map_err(|error| invalid(format!("page data has an unexpected shape: {error}")))?
        .demarche
        .connection;
    let nodes = connection
        .nodes
        .into_iter()
        .enumerate()
        .map(|(index, node)| decode_node(index, node))
        .collect::<Result<_, _>>()?;
    Ok(Page {
        nodes,
        end_cursor: connection.page_info.end_cursor.map(Cursor::new),
        has_next_page: connection.page_info.has_next_page,
    })
}

fn decode_node<T: Node>(index: usize, node: Option<Box<RawValue>>) -> Result<T, UpstreamError> {
    let record = node.ok_or_else(|| invalid(format!("node {index} of the page is null")))?;
    let key = serde_json::from_str::<T::Key>(record.get())
        .map_err(|error| invalid(format!("node {index} of the page is unreadable: {error}")))?;
    Ok(T::from_parts(key, record))
}

fn invalid(message: String) -> UpstreamError {
    UpstreamError::invalid_response(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use upstream_http::PermanentReason;

    fn raw(value: &Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(value).expect("a JSON value")
    }

    fn value_of(raw: &RawValue) -> Value {
        serde_json::from_str(raw.get()).expect("a JSON value")
    }

    fn page_data(nodes: Value, has_next_page: bool, end_cursor: Option<&str>) -> Box<RawValue> {
        raw(&json!({"demarche": {"connection": {
            "pageInfo": {"hasNextPage": has_next_page, "endCursor": end_cursor},
            "nodes": nodes,
        }}}))
    }

    fn dossier_node(number: i64, modified: &str) -> Value {
        json!({
            "id": "RG9zc2llci05Mzk5MTkw",
            "number": number,
            "state": "en_construction",
            "archived": false,
            "dateDepot": "2024-03-01T09:00:00+01:00",
            "dateDerniereModification": modified,
            "dateTraitement": null,
            "groupeInstructeur": {"id": "R3JvdXBlSW5zdHJ1Y3RldXItMQ==", "number": 1, "label": "défaut"},
            "labels": [{"id": "TGFiZWwtMzA0MzQw", "name": "urgent", "color": "red_marianne"}],
        })
    }

    fn page_of(numbers: &[i64], has_next_page: bool, end_cursor: Option<&str>) -> Page<i64> {
        Page {
            nodes: numbers.to_vec(),
            end_cursor: end_cursor.map(Cursor::new),
            has_next_page,
        }
    }

    #[test]
    fn a_dossier_keeps_its_node_whole_and_reads_its_key_in_utc() {
        let node = dossier_node(9_399_190, "2024-03-01T10:15:30+01:00");
        let data = page_data(json!([node.clone()]), true, Some("Y3Vyc29y"));

        let page: Page<Dossier> = decode_page(&data).expect("a well-formed page");

        assert_eq!(page.end_cursor, Some(Cursor::new("Y3Vyc29y")));
        assert!(page.has_next_page);
        let dossier = &page.nodes[0];
        assert_eq!(dossier.number, 9_399_190);
        assert_eq!(dossier.updated_at.to_rfc3339(), "2024-03-01T09:15:30+00:00");
        assert_eq!(value_of(&dossier.record), node);
    }

    #[test]
    fn a_node_is_kept_byte_for_byte() {
        let node = r#"{ "state":"accepte","number" : 12,"dateDerniereModification":"2024-03-01T10:15:30+01:00","champs":[{"stringValue":"\u00e9t\u00e9"}],"z":null}"#;
        let data = format!(
            r#"{{"demarche":{{"connection":{{"nodes":[{node}, {node}],"pageInfo":{{"hasNextPage":false,"endCursor":"Yw=="}}}}}}}}"#
        );
        let data = RawValue::from_string(data).expect("one JSON value");
        let page: Page<Dossier> = decode_page(&data).expect("a well-formed page");
        assert_eq!(page.nodes.len(), 2);
        assert_eq!(page.nodes[1].number, 12);
        assert_eq!(page.nodes[1].record.get(), node);
    }

    #[test]
    fn a_deleted_dossier_reads_the_api_spelling_of_its_deletion_date() {
        let node = json!({
            "id": "RG9zc2llci0x",
            "number": 17,
            "state": "en_construction",
            "reason": "user_request",
            "dateSupression": "2024-05-02T12:00:00+02:00",
        });
        let page: Page<DeletedDossier> =
            decode_page(&page_data(json!([node.clone()]), false, Some("ZA==")))
                .expect("a well-formed page");
        assert_eq!(page.nodes[0].number, 17);
        assert_eq!(
            page.nodes[0].deleted_at.to_rfc3339(),
            "2024-05-02T10:00:00+00:00"
        );
        assert_eq!(value_of(&page.nodes[0].record), node);
    }

    #[test]
    fn the_empty_end_page_decodes_with_no_cursor() {
        let page: Page<Dossier> =
            decode_page(&page_data(json!([]), false, None)).expect("a well-formed page");
        assert!(page.nodes.is_empty());
        assert_eq!(page.end_cursor, None);
        assert!(!page.has_next_page);
        assert!(page.is_end());
    }

    #[test]
    fn malformed_pages_are_invalid_responses() {
        let cases = [
            ("no demarche", raw(&json!({}))),
            ("null demarche", raw(&json!({"demarche": null}))),
            ("null nodes", page_data(Value::Null, false, None)),
            ("a null node", page_data(json!([null]), false, None)),
            (
                "a node without number",
                page_data(
                    json!([{"dateDerniereModification": "2024-01-01T00:00:00Z"}]),
                    false,
                    None,
                ),
            ),
            (
                "an unreadable date",
                page_data(json!([dossier_node(1, "yesterday")]), false, None),
            ),
            (
                "no pageInfo",
                raw(&json!({"demarche": {"connection": {"nodes": []}}})),
            ),
        ];
        for (name, data) in cases {
            let result = decode_page::<Dossier>(&data);
            assert!(
                matches!(
                    result,
                    Err(UpstreamError::Permanent {
                        reason: PermanentReason::InvalidResponse,
                        ..
                    })
                ),
                "{name}: {result:?}"
            );
        }
    }

    #[test]
    fn a_listing_ends_on_the_last_page_and_on_any_empty_page() {
        let cases = [
            ("middle page", page_of(&[1, 2], true, Some("b")), false),
            (
                "last page with records",
                page_of(&[3], false, Some("c")),
                true,
            ),
            (
                "empty page after the last cursor",
                page_of(&[], false, None),
                true,
            ),
            (
                "last page served again",
                page_of(&[3], false, Some("c")),
                true,
            ),
            ("empty page claiming more", page_of(&[], true, None), true),
        ];
        for (name, page, end) in cases {
            assert_eq!(page.is_end(), end, "{name}");
        }
    }

    #[test]
    fn a_null_end_cursor_never_replaces_a_known_one() {
        let known = Cursor::new("known");
        let empty = page_of(&[], false, None);
        assert_eq!(empty.resume_cursor(Some(&known)), Some(known.clone()));
        assert_eq!(empty.resume_cursor(None), None);

        let fresh = page_of(&[4], false, Some("fresh"));
        assert_eq!(
            fresh.resume_cursor(Some(&known)),
            Some(Cursor::new("fresh"))
        );
    }
}
