//! Offset-paginated sources (Divalto RecordSql, Amienscope updates) and the commands
//! that fan a sync out over a window of pages.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest window of page commands a job may keep in flight.
pub const MAX_WINDOW: u32 = 1000;

/// Largest Divalto query a sync may name, in bytes of its JSON form. Every page
/// command and every `page.fetched` of the sync carries the query, so what a worker
/// holds grows with it times the pages in flight: a bound on it bounds the worker.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// What an offset sync reads: the API, and the listing within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "api", rename_all = "snake_case")]
pub enum OffsetSource {
    /// One RecordSql query of a Divalto Infinity ERP.
    Divalto(DivaltoQuery),
    /// The Amienscope events changed since an instant.
    Amienscope(AmienscopeListing),
}

impl OffsetSource {
    /// The API's name as written in settings and events.
    pub fn api(&self) -> &'static str {
        match self {
            OffsetSource::Divalto(_) => "divalto",
            OffsetSource::Amienscope(_) => "amienscope",
        }
    }
}

/// Why a sync's Divalto `query` is too large to be carried by every page of the sync,
/// if it is. (An Amienscope listing is small by its type.)
pub(crate) fn check_carried_size(query: &impl Serialize) -> Result<(), String> {
    let bytes = serde_json::to_vec(query)
        .map(|json| json.len())
        .unwrap_or(usize::MAX);
    if bytes > MAX_QUERY_BYTES {
        return Err(format!(
            "invalid body: the query takes {bytes} bytes, more than the {MAX_QUERY_BYTES} \
             a sync may carry on each of its pages"
        ));
    }
    Ok(())
}

/// A Divalto RecordSql query, named as declared in the ERP's web-service settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DivaltoQuery {
    /// The RecordSql dictionary file, e.g. `gtrsart.dhoq`.
    pub dhoq: String,
    /// The query inside the dictionary, e.g. `Article`.
    pub recordsql: String,
    /// The field that identifies a record, e.g. `ART_ID`: used to detect a record served twice.
    pub id_field: String,
    /// Fields to read; empty reads every field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A sort declared in the RecordSql. Offset paging needs a stable order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderby: Option<String>,
    /// A WHERE clause declared in the RecordSql, by name, with its parameters.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<DivaltoWhere>,
}

/// A named WHERE clause of a RecordSql.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DivaltoWhere {
    /// The clause's name, e.g. `Between_Ean`.
    pub name: String,
    /// `name1=v1;name2=v2`, or positional `v1;v2`.
    #[serde(default)]
    pub parameters: String,
}

/// The Amienscope events whose data or status changed since an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AmienscopeListing {
    /// Events changed at or after this instant; the epoch reads everything.
    pub updated_since: DateTime<Utc>,
    /// Only events of this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u32>,
}

/// Body of `divalto.sync`: read every record of one RecordSql query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DivaltoSync {
    /// The query to read.
    pub query: DivaltoQuery,
    /// Page commands kept in flight; the connection's setting when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<NonZeroU32>,
}

/// Body of `amienscope.sync`: read every event changed since an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AmienscopeSync {
    /// Events changed at or after this instant; every event when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_since: Option<DateTime<Utc>>,
    /// Only events of this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u32>,
    /// Page commands kept in flight; the connection's setting when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<NonZeroU32>,
}

/// Body of `offset.page`: one page of an offset sync, published by the worker itself.
///
/// Each page asks for `limit` records at `offset = page × (limit − 1)`: consecutive
/// pages overlap by one record, so the last record of a full page must come back as
/// the first record of the next one. A mismatch shows that rows moved between the two
/// reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OffsetPage {
    /// What the job reads.
    pub source: OffsetSource,
    /// Index of the page within the job, from 0.
    pub page: u32,
    /// The first row asked for: always `page × (limit − 1)`.
    pub offset: u64,
    /// Records asked for; at least 2, so pages can overlap by one.
    pub limit: u32,
    /// Page commands the job keeps in flight.
    pub window: u32,
    /// Pages the job may read at most; a job that reaches it ends as `page_limit`.
    pub max_pages: u32,
    /// When the sync started: the resume point handed out at the end.
    pub started_at: DateTime<Utc>,
}

impl OffsetPage {
    /// Records this page advances by: one less than it asks for.
    pub fn step(&self) -> u64 {
        u64::from(self.limit.saturating_sub(1))
    }

    /// The offset of page `page` for pages of `limit` records.
    pub fn offset_of(page: u32, limit: u32) -> u64 {
        u64::from(page) * u64::from(limit.saturating_sub(1))
    }

    /// Why the page's fields do not fit together, if they do not.
    pub(crate) fn check(&self) -> Result<(), String> {
        if let OffsetSource::Divalto(query) = &self.source {
            check_carried_size(query)?;
        }
        if self.limit < 2 {
            return Err("invalid body: limit must be at least 2".into());
        }
        if !(1..=MAX_WINDOW).contains(&self.window) {
            return Err(format!("invalid body: window must be 1..={MAX_WINDOW}"));
        }
        if self.page >= self.max_pages {
            return Err("invalid body: page is past max_pages".into());
        }
        if self.offset != Self::offset_of(self.page, self.limit) {
            return Err("invalid body: offset must be page × (limit − 1)".into());
        }
        Ok(())
    }
}

/// Rows `from` (included) to `to` (excluded) of an offset listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OffsetRange {
    /// The first row.
    pub from: u64,
    /// The row after the last.
    pub to: u64,
}

impl OffsetRange {
    /// `ranges` sorted and merged where they touch or overlap.
    pub fn merged(mut ranges: Vec<OffsetRange>) -> Vec<OffsetRange> {
        ranges.retain(|range| range.from < range.to);
        ranges.sort_by_key(|range| range.from);
        let mut merged: Vec<OffsetRange> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.from <= last.to => last.to = last.to.max(range.to),
                _ => merged.push(range),
            }
        }
        merged
    }
}

/// Whether an offset sync saw the listing hold still while it was read.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Consistency {
    /// No guard fired: every record was read once, as far as can be told.
    Exact,
    /// The listing changed during the sync: see the drift counts.
    DriftDetected,
}

/// What the drift guards of an offset sync saw. All zero means [`Consistency::Exact`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct DriftCounts {
    /// Record ids served on two different pages.
    pub duplicate_records: u64,
    /// Page boundaries where the overlapping record did not match: rows were
    /// inserted or deleted before that point between the two reads.
    pub shifted_boundaries: u64,
    /// Non-empty pages served after the first short page: the end moved.
    pub pages_past_end: u64,
    /// Pages holding more records than asked for.
    pub oversized_pages: u64,
    /// Pages identical to the page before them.
    pub repeated_pages: u64,
    /// Stretches of rows before the end that no page read: the listing was not read
    /// whole (a job stopped early, or pages that came back short before the end).
    #[serde(default)]
    pub unread_gaps: u64,
}

impl DriftCounts {
    /// [`Consistency::Exact`] when every count is zero.
    pub fn consistency(&self) -> Consistency {
        let total = self.duplicate_records
            + self.shifted_boundaries
            + self.pages_past_end
            + self.oversized_pages
            + self.repeated_pages
            + self.unread_gaps;
        if total == 0 {
            Consistency::Exact
        } else {
            Consistency::DriftDetected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_where_they_touch_or_overlap_and_keep_their_gaps() {
        let range = |from, to| OffsetRange { from, to };
        let merged = OffsetRange::merged(vec![
            range(8, 12),
            range(0, 5),
            range(4, 8),
            range(20, 20),
            range(15, 18),
        ]);
        assert_eq!(merged, vec![range(0, 12), range(15, 18)]);
        assert!(OffsetRange::merged(Vec::new()).is_empty());
    }

    fn page(page: u32, offset: u64, limit: u32) -> OffsetPage {
        OffsetPage {
            source: OffsetSource::Amienscope(AmienscopeListing {
                updated_since: DateTime::UNIX_EPOCH,
                category: None,
            }),
            page,
            offset,
            limit,
            window: 4,
            max_pages: 10,
            started_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn pages_overlap_by_one_record() {
        assert_eq!(OffsetPage::offset_of(0, 50), 0);
        assert_eq!(OffsetPage::offset_of(3, 50), 147);
        assert_eq!(page(3, 147, 50).step(), 49);
        assert_eq!(page(3, 147, 50).check(), Ok(()));
    }

    #[test]
    fn inconsistent_pages_are_refused() {
        assert!(page(3, 150, 50).check().is_err());
        assert!(page(0, 0, 1).check().is_err());
        assert!(page(10, 490, 50).check().is_err());
    }

    #[test]
    fn any_drift_count_means_drift() {
        assert_eq!(DriftCounts::default().consistency(), Consistency::Exact);
        let drift = DriftCounts {
            shifted_boundaries: 1,
            ..DriftCounts::default()
        };
        assert_eq!(drift.consistency(), Consistency::DriftDetected);
    }

    #[test]
    fn sources_are_tagged_by_api() {
        let source = OffsetSource::Divalto(DivaltoQuery {
            dhoq: "gtrsart.dhoq".into(),
            recordsql: "Article".into(),
            id_field: "ART_ID".into(),
            fields: vec![],
            orderby: None,
            where_clause: Some(DivaltoWhere {
                name: "Actifs".into(),
                parameters: String::new(),
            }),
        });
        let json = serde_json::to_value(&source).expect("json");
        assert_eq!(json["api"], "divalto");
        assert_eq!(json["where"]["name"], "Actifs");
        assert_eq!(
            serde_json::from_value::<OffsetSource>(json).ok(),
            Some(source)
        );
    }
}
