//! Pages and records as callers see them, decoded from the GraphQL `data` member.

use crate::error::{DsError, PermanentReason};
use crate::values::Cursor;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

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
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    /// The dossier number (`number`).
    pub number: i64,
    /// When the dossier last changed (`dateDerniereModification`); with the number,
    /// the key that makes re-reading the same dossier idempotent.
    pub updated_at: DateTime<Utc>,
    /// The node exactly as the API returned it, for consumers.
    pub record: Value,
}

/// A dossier of the `deletedDossiers` listing.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedDossier {
    /// The number of the deleted dossier (`number`).
    pub number: i64,
    /// When it was deleted (`dateSupression`, spelled so in the API).
    pub deleted_at: DateTime<Utc>,
    /// The node exactly as the API returned it, for consumers.
    pub record: Value,
}

/// A record decoded from one node while the node itself is kept whole.
pub(crate) trait Node: Sized {
    /// The fields the crate reads out of the node.
    type Key: DeserializeOwned;
    /// Builds the record from its key fields and the untouched node.
    fn from_parts(key: Self::Key, record: Value) -> Self;
}

#[derive(Deserialize)]
pub(crate) struct DossierKey {
    number: i64,
    #[serde(rename = "dateDerniereModification")]
    updated_at: DateTime<Utc>,
}

impl Node for Dossier {
    type Key = DossierKey;

    fn from_parts(key: DossierKey, record: Value) -> Self {
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

    fn from_parts(key: DeletedDossierKey, record: Value) -> Self {
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
    nodes: Vec<Option<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

/// Decodes the `data` of a page document into a page of records.
pub(crate) fn decode_page<T: Node>(data: Value) -> Result<Page<T>, DsError> {
    let connection = PageData::deserialize(data)
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

fn decode_node<T: Node>(index: usize, node: Option<Value>) -> Result<T, DsError> {
    let record = node.ok_or_else(|| invalid(format!("node {index} of the page is null")))?;
    let key = T::Key::deserialize(&record)
        .map_err(|error| invalid(format!("node {index} of the page is unreadable: {error}")))?;
    Ok(T::from_parts(key, record))
}

fn invalid(message: String) -> DsError {
    DsError::permanent(PermanentReason::InvalidResponse, None, message)
}
