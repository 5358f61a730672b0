//! One page of an offset listing, read through the connection's client and turned
//! into the records `page.fetched` carries.

use amienscope_client::{AmienscopeClient, EventRecord, Limit, UpdatesListing};
use contract::{AmienscopeListing, DivaltoQuery, FailureReason, OffsetSource};
use divalto_client::{DivaltoClient, Record, RecordCount, RecordQuery, WhereClause};
use serde_json::{Value, json};

use settle::UpstreamFailure;

/// The client of an offset-paginated connection.
pub(crate) enum OffsetReader {
    /// A Divalto RecordSql service.
    Divalto(DivaltoClient),
    /// The Amienscope events API.
    Amienscope(AmienscopeClient),
}

/// A record as published: its id, whether it is a tombstone, and its JSON form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OffsetRecord {
    pub(crate) id: String,
    pub(crate) tombstone: bool,
    pub(crate) json: Value,
}

impl OffsetReader {
    /// The API this reader speaks, as commands name it.
    pub(crate) fn api(&self) -> &'static str {
        match self {
            OffsetReader::Divalto(_) => "divalto",
            OffsetReader::Amienscope(_) => "amienscope",
        }
    }

    /// Reads `limit` records from `offset`, in the upstream's order.
    pub(crate) async fn read(
        &self,
        source: &OffsetSource,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<OffsetRecord>, UpstreamFailure> {
        match (self, source) {
            (OffsetReader::Divalto(client), OffsetSource::Divalto(query)) => {
                read_divalto(client, query, offset, limit).await
            }
            (OffsetReader::Amienscope(client), OffsetSource::Amienscope(listing)) => {
                read_amienscope(client, listing, offset, limit).await
            }
            (reader, source) => Err(UpstreamFailure::permanent(
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
) -> Result<Vec<OffsetRecord>, UpstreamFailure> {
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
        UpstreamFailure::permanent(FailureReason::ConnectionMisconfigured, error.to_string())
    })?;
    let page = client.records_page(&request, offset, count).await?;
    page.records
        .into_iter()
        .map(|record| divalto_record(record, &query.id_field))
        .collect()
}

/// `{"id": …, "fields": {FIELD: "text", …}}`: the row's values, as the text Divalto sends.
fn divalto_record(record: Record, id_field: &str) -> Result<OffsetRecord, UpstreamFailure> {
    let id = record.get(id_field).map(str::to_owned).ok_or_else(|| {
        UpstreamFailure::permanent(
            FailureReason::UpstreamInvalidResponse,
            format!("a record has no `{id_field}` field to identify it"),
        )
    })?;
    Ok(OffsetRecord {
        json: json!({ "id": id, "fields": record }),
        id,
        tombstone: false,
    })
}

async fn read_amienscope(
    client: &AmienscopeClient,
    listing: &AmienscopeListing,
    offset: u64,
    limit: u32,
) -> Result<Vec<OffsetRecord>, UpstreamFailure> {
    let request = UpdatesListing {
        since: listing.updated_since.timestamp(),
        category: listing.category,
    };
    let limit = Limit::new(limit).map_err(|error| {
        UpstreamFailure::permanent(FailureReason::ConnectionMisconfigured, error.to_string())
    })?;
    let events = client.updates_page(&request, offset, limit).await?;
    Ok(events.into_iter().map(amienscope_record).collect())
}

/// `{"id", "status", "tombstone", "event"}`: an event that is not published any more
/// (pending, cancelled, deleted, archived or unknown) is passed on as a tombstone.
fn amienscope_record(event: EventRecord) -> OffsetRecord {
    let tombstone = event.is_tombstone();
    OffsetRecord {
        json: json!({
            "id": event.id,
            "status": event.status.as_str(),
            "tombstone": tombstone,
            "event": event.fields,
        }),
        id: event.id,
        tombstone,
    }
}
