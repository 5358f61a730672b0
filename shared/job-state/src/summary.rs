//! A job's totals, read back from its hash.

use chrono::{DateTime, Utc};
use contract::DriftCounts;

/// The hash fields a summary is read from, in [`JobSummary::from_fields`] order.
pub(crate) const FIELDS: [&str; 14] = [
    "started",
    "pages",
    "records",
    "tombstones",
    "duplicates",
    "shifted",
    "past_end",
    "oversized",
    "repeated",
    "stop",
    "end",
    "truncated",
    "page_size",
    "server_cap",
];

/// Why a job stopped reading pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// A short page marked the end of the listing.
    Exhausted,
    /// A page came back identical to its neighbour: stopped to avoid a loop.
    RepeatedPage,
    /// Pages were still full at the job's page limit.
    PageLimit,
    /// Not ended yet.
    Running,
}

/// What a job published and what its drift guards saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// When the job started; the resume point of the next sync.
    pub started_at: DateTime<Utc>,
    /// Non-empty pages published.
    pub pages: u32,
    /// Records published.
    pub records: u64,
    /// Records published as tombstones.
    pub tombstones: u64,
    /// What the drift guards counted.
    pub drift: DriftCounts,
    /// Why the job stopped.
    pub end: JobEnd,
    /// Records every page asked for.
    pub page_size: u32,
    /// The server's record cap, when the start found it below the connection's page
    /// size.
    pub server_cap: Option<u32>,
}

impl JobSummary {
    /// Reads the values of [`FIELDS`], in order; absent counters are zero.
    pub(crate) fn from_fields(fields: &[Option<String>]) -> Result<JobSummary, String> {
        let [
            started,
            pages,
            records,
            tombstones,
            duplicates,
            shifted,
            past_end,
            oversized,
            repeated,
            stop,
            end,
            truncated,
            page_size,
            server_cap,
        ] = fields
        else {
            return Err(format!("{} summary fields, expected 14", fields.len()));
        };
        let count = |value: &Option<String>| -> Result<u64, String> {
            value.as_deref().map_or(Ok(0), |text| {
                text.parse().map_err(|_| format!("count {text:?}"))
            })
        };
        let started = started.as_deref().ok_or("the job was never opened")?;
        let started_at = DateTime::parse_from_rfc3339(started)
            .map_err(|error| format!("start time {started:?}: {error}"))?
            .with_timezone(&Utc);
        let end = match (stop.as_deref(), end, truncated) {
            (Some(_), _, _) => JobEnd::RepeatedPage,
            (None, Some(_), _) => JobEnd::Exhausted,
            (None, None, Some(_)) => JobEnd::PageLimit,
            (None, None, None) => JobEnd::Running,
        };
        Ok(JobSummary {
            started_at,
            pages: u32::try_from(count(pages)?).unwrap_or(u32::MAX),
            records: count(records)?,
            tombstones: count(tombstones)?,
            drift: DriftCounts {
                duplicate_records: count(duplicates)?,
                shifted_boundaries: count(shifted)?,
                pages_past_end: count(past_end)?,
                oversized_pages: count(oversized)?,
                repeated_pages: count(repeated)?,
                unread_gaps: 0,
            },
            end,
            page_size: u32::try_from(count(page_size)?).unwrap_or(u32::MAX),
            server_cap: server_cap
                .as_deref()
                .map(|cap| cap.parse().map_err(|_| format!("server cap {cap:?}")))
                .transpose()?,
        })
    }
}
