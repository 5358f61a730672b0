//! One page of an offset listing, read through the connection's client and turned
//! into the records `page.fetched` carries.

use amienscope_client::{AmienscopeClient, EventRecord, Limit, UpdatesListing};
use contract::{AmienscopeListing, DivaltoQuery, FailureReason, OffsetSource, Record};
use divalto_client::{DivaltoClient, RecordCount, RecordQuery, WhereClause};
use serde::Serialize;
use serde_json::{Map, Value};

use settle::CommandError;

/// The client of an offset-paginated connection.
pub(crate) enum OffsetReader {
    /// A Divalto RecordSql service.
    Divalto(DivaltoClient),
    /// The Amienscope events API, and the statuses whose events are tombstones.
    Amienscope {
        /// The connection's client.
        client: AmienscopeClient,
        /// The `event_status_id`s passed on as tombstones.
        tombstone_statuses: Vec<i64>,
    },
}

/// A record as published: its id, whether it is a tombstone, and its JSON form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OffsetRecord {
    pub(crate) id: String,
    pub(crate) tombstone: bool,
    pub(crate) json: Record,
}

/// The published form of a Divalto row.
#[derive(Serialize)]
struct DivaltoRow<'a> {
    id: &'a str,
    fields: &'a divalto_client::Record,
}

/// The published form of an Amienscope event.
#[derive(Serialize)]
struct AmienscopeEvent<'a> {
    id: &'a str,
    status: &'a str,
    tombstone: bool,
    event: &'a Map<String, Value>,
}

impl OffsetReader {
    /// The API this reader speaks, as commands name it.
    pub(crate) fn api(&self) -> &'static str {
        match self {
            OffsetReader::Divalto(_) => "divalto",
            OffsetReader::Amienscope { .. } => "amienscope",
        }
    }

    /// Reads `limit` records from `offset`, in the upstream's order.
    pub(crate) async fn read(
        &self,
        source: &OffsetSource,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<OffsetRecord>, CommandError> {
        match (self, source) {
            (OffsetReader::Divalto(client), OffsetSource::Divalto(query)) => {
                read_divalto(client, query, offset, limit).await
            }
            (
                OffsetReader::Amienscope {
                    client,
                    tombstone_statuses,
                },
                OffsetSource::Amienscope(listing),
            ) => {
                let events = read_amienscope(client, listing, offset, limit).await?;
                Ok(events
                    .into_iter()
                    .map(|event| amienscope_record(event, tombstone_statuses))
                    .collect())
            }
            (reader, source) => Err(CommandError::permanent(
                FailureReason::ConnectionApiMismatch,
                format!(
                    "the command reads {} but the connection speaks {}",
                    source.api(),
                    reader.api()
                ),
            )),
        }
    }
}

async fn read_divalto(
    client: &DivaltoClient,
    query: &DivaltoQuery,
    offset: u64,
    limit: u32,
) -> Result<Vec<OffsetRecord>, CommandError> {
    let request = RecordQuery {
        dhoq: query.dhoq.clone(),
        recordsql: query.recordsql.clone(),
        fields: query.fields.clone(),
        orderby: query.orderby.clone(),
        where_clause: query.where_clause.as_ref().map(|clause| WhereClause {
            name: clause.name.clone(),
            parameters: clause.parameters.clone(),
        }),
    };
    let count = RecordCount::new(limit, limit).map_err(|error| {
        CommandError::permanent(FailureReason::ConnectionMisconfigured, error.to_string())
    })?;
    let page = client.records_page(&request, offset, count).await?;
    page.records
        .into_iter()
        .map(|record| divalto_record(record, &query.id_field))
        .collect()
}

/// `{"id": …, "fields": {FIELD: "text", …}}`: the row's values, as the text Divalto sends.
fn divalto_record(
    record: divalto_client::Record,
    id_field: &str,
) -> Result<OffsetRecord, CommandError> {
    let id = record.get(id_field).map(str::to_owned).ok_or_else(|| {
        CommandError::permanent(
            FailureReason::UpstreamInvalidResponse,
            format!("a record has no `{id_field}` field to identify it"),
        )
    })?;
    let json = Record::of(&DivaltoRow {
        id: &id,
        fields: &record,
    })
    .expect("rows of text always serialise");
    Ok(OffsetRecord {
        json,
        id,
        tombstone: false,
    })
}

async fn read_amienscope(
    client: &AmienscopeClient,
    listing: &AmienscopeListing,
    offset: u64,
    limit: u32,
) -> Result<Vec<EventRecord>, CommandError> {
    let request = UpdatesListing {
        since: listing.updated_since.timestamp(),
        category: listing.category,
    };
    let limit = Limit::new(limit).map_err(|error| {
        CommandError::permanent(FailureReason::ConnectionMisconfigured, error.to_string())
    })?;
    Ok(client.updates_page(&request, offset, limit).await?)
}

/// `{"id", "status", "tombstone", "event"}`: an event in one of the connection's
/// `tombstone_statuses` (by default those not visible to the public) is passed on as a
/// tombstone; any other, cancelled events included, as a record with its status.
fn amienscope_record(event: EventRecord, tombstone_statuses: &[i64]) -> OffsetRecord {
    let tombstone = event.is_tombstone(tombstone_statuses);
    let json = Record::of(&AmienscopeEvent {
        id: &event.id,
        status: event.status.as_str(),
        tombstone,
        event: &event.fields,
    })
    .expect("text and JSON values always serialise");
    OffsetRecord {
        json,
        id: event.id,
        tombstone,
    }
}
