//! An offset sync: a window of page commands in flight, spread over every replica by
//! the broker, with the job's progress in the shared job store.
//!
//! Page `k` asks for `limit` records at `k × (limit − 1)`, so consecutive pages
//! overlap by one record: a full page publishes all but its last record, which must
//! come back first on the next page. A full page issues page `k + window`; a short
//! page marks the end. The page whose finish leaves no page pending once the end is
//! known publishes the one `sync.completed`.
//!
//! A server may return fewer records per request than asked, without a word (Divalto's
//! record cap, 1000 by default and possibly lower; Amienscope cuts every limit to
//! 50). A short page would then look like the end while rows remain. So the start
//! reads the first page itself before it plans any: a whole page shows the cap is not
//! below the page size; a short one is followed by a one-record read just past it,
//! and a record there shows the short page's size is the cap, which the job's pages
//! then ask for. A page that comes back short while no read has yet returned a whole
//! page makes the same check, and a cap found that late fails the job
//! (`server_cap_unsupported`): its pages were planned for a larger size.

use broker::{Outcome, Outgoing, Publisher};
use chrono::Utc;
use contract::{
    AmienscopeListing, Command, CommandBody, CommandMeta, Event, EventEnvelope, FailureReason,
    MessageId, OffsetPage, OffsetRange, OffsetSource, PageFetched, PageSubject, SyncCompleted,
    SyncEnd, SyncSubject,
};
use job_state::{FetchedPage, JobEnd, JobStore, Opening, PageReport, PageStatus, StoreError};
use sha2::{Digest, Sha256};

use crate::offset_reader::OffsetRecord;
use crate::upstreams::OffsetUpstream;
use settle::CommandError;

/// What a sync command asks for, before the connection's settings fill the gaps.
pub(crate) struct SyncRequest {
    pub(crate) source: OffsetSource,
    pub(crate) window: Option<u32>,
}

impl SyncRequest {
    pub(crate) fn divalto(sync: &contract::DivaltoSync) -> Self {
        SyncRequest {
            source: OffsetSource::Divalto(sync.query.clone()),
            window: sync.window.map(|window| window.get()),
        }
    }

    pub(crate) fn amienscope(sync: &contract::AmienscopeSync) -> Self {
        SyncRequest {
            source: OffsetSource::Amienscope(AmienscopeListing {
                updated_since: sync.updated_since.unwrap_or_default(),
                category: sync.category,
            }),
            window: sync.window.map(|window| window.get()),
        }
    }
}

/// Reads the first page to learn the server's record cap, opens the job in the store
/// with the page size to use, then publishes the first window of page commands, a
/// batch at a time (a window may hold up to 1,000 pages).
pub(crate) async fn start(
    meta: &CommandMeta,
    request: SyncRequest,
    upstream: &OffsetUpstream,
    store: &JobStore,
    publisher: &Publisher,
) -> Result<Outcome, CommandError> {
    let window = request.window.unwrap_or(upstream.window);
    let first_window = window.min(upstream.max_pages);
    let asked = upstream.limit;
    let first = upstream.reader.read(&request.source, 0, asked).await?.len();
    let past_first = if (1..asked as usize).contains(&first) {
        let offset = first as u64;
        Some(
            upstream
                .reader
                .read(&request.source, offset, 1)
                .await?
                .len(),
        )
    } else {
        None
    };
    let sizing = page_sizing(asked, first, past_first)?;
    let opened = store
        .open(
            meta.job_id,
            &Opening {
                started_at: Utc::now(),
                page_size: sizing.page_size,
                server_cap: sizing.server_cap,
                full_page_seen: sizing.full_page_seen,
                pages: 0..first_window,
            },
        )
        .await?;
    let (started_at, limit) = (opened.started_at, opened.page_size);
    tracing::info!(
        api = request.source.api(),
        window,
        limit,
        server_cap = sizing.server_cap,
        "offset sync started"
    );
    let headers = telemetry::propagation::inject_current();
    let commands = (0..first_window).map(|page| {
        let page = OffsetPage {
            source: request.source.clone(),
            page,
            offset: OffsetPage::offset_of(page, limit),
            limit,
            window,
            max_pages: upstream.max_pages,
            started_at,
        };
        Outgoing::command(&page_command(meta, page), headers.clone())
    });
    publisher.publish_batched(commands).await?;
    Ok(Outcome::ack(Vec::new()))
}

/// Reads one page unless the job says it is done or past the end, publishes its
/// records and the next page command, records it in the store, and publishes the
/// completion when this page ended the job.
pub(crate) async fn fetch(
    meta: &CommandMeta,
    page: &OffsetPage,
    upstream: &OffsetUpstream,
    store: &JobStore,
    publisher: &Publisher,
) -> Result<Outcome, CommandError> {
    let job = meta.job_id;
    let completed = match store.status(job, page.started_at, page.page).await? {
        PageStatus::Done { completed_job } => completed_job,
        PageStatus::JobFailed => {
            tracing::info!(page = page.page, "the job failed; page not read");
            false
        }
        PageStatus::Skip => {
            tracing::debug!(page = page.page, "past the end of the listing; skipped");
            store
                .finish(job, page.started_at, page.page, &PageReport::Skipped)
                .await?
        }
        PageStatus::Due { full_page_seen } => {
            let records = upstream
                .reader
                .read(&page.source, page.offset, page.limit)
                .await?;
            let served = records.len();
            if !full_page_seen && (1..page.limit as usize).contains(&served) {
                let past = page.offset + served as u64;
                let more = upstream.reader.read(&page.source, past, 1).await?.len();
                if more > 0 {
                    return Err(cap_found_late(page.limit, served));
                }
            }
            let (publish, report) = plan(meta, page, records);
            publisher.publish_all(&publish).await?;
            // A page past the end of the listing was read but published nothing.
            if !report.published_ids.is_empty() {
                worker_shell::metrics::page_fetched(
                    &meta.connection,
                    report.published_ids.len() as u64,
                );
            }
            store
                .finish(
                    job,
                    page.started_at,
                    page.page,
                    &PageReport::Fetched(report),
                )
                .await?
        }
    };
    if !completed {
        return Ok(Outcome::ack(Vec::new()));
    }
    let completion = completion(meta, page, store).await?;
    Ok(Outcome::ack(vec![Outgoing::event(
        &completion,
        telemetry::propagation::inject_current(),
    )]))
}

/// What a page read causes: the messages to publish and the report for the store.
fn plan(
    meta: &CommandMeta,
    page: &OffsetPage,
    mut records: Vec<OffsetRecord>,
) -> (Vec<Outgoing>, FetchedPage) {
    let limit = page.limit as usize;
    let served = records.len();
    let full = served >= limit;
    let fingerprint = (!records.is_empty()).then(|| fingerprint(&records));
    let first_id = records.first().map(|record| record.id.clone());
    // A full page leaves its overlap record, and anything past it, to the next page.
    let overlap_id = full.then(|| records[limit - 1].id.clone());
    if full {
        records.truncate(limit - 1);
    }
    let following = page.page.saturating_add(page.window);
    let next = (full && following < page.max_pages).then_some(following);
    let headers = telemetry::propagation::inject_current();
    let tombstones = records.iter().filter(|record| record.tombstone).count() as u32;
    let published_ids = records.iter().map(|record| record.id.clone()).collect();
    let mut publish = Vec::with_capacity(2);
    if !records.is_empty() {
        tracing::info!(
            page = page.page,
            offset = page.offset,
            records = records.len(),
            "page fetched"
        );
        let event = Event::PageFetched(PageFetched {
            connection: meta.connection.clone(),
            subject: PageSubject::Offset {
                source: page.source.clone(),
                offset: page.offset,
            },
            page: page.page,
            record_count: records.len() as u32,
            records: records.into_iter().map(|record| record.json).collect(),
            has_next_page: full,
        });
        let id = MessageId::for_job(meta.job_id, &format!("page.fetched/{}", page.offset));
        publish.push(Outgoing::event(
            &EventEnvelope::new(Some(meta.job_id), id, event),
            headers.clone(),
        ));
    }
    if let Some(next) = next {
        let command = OffsetPage {
            page: next,
            offset: OffsetPage::offset_of(next, page.limit),
            ..page.clone()
        };
        publish.push(Outgoing::command(&page_command(meta, command), headers));
    }
    let report = FetchedPage {
        served: u32::try_from(served).unwrap_or(u32::MAX),
        tombstones,
        published_ids,
        first_id,
        overlap_id,
        short: !full,
        oversized: served > limit,
        next,
        fingerprint,
        limit_reached: full && next.is_none(),
    };
    (publish, report)
}

/// How the job pages, from what its start read.
#[derive(Debug, PartialEq, Eq)]
struct PageSizing {
    page_size: u32,
    server_cap: Option<u32>,
    full_page_seen: bool,
}

/// Decides the page size from the first page's `first` records, asked `asked`, and
/// the records found just past them (`past_first`, read only when the first page was
/// short but not empty). Records past a short page show the server caps its answers
/// at the short page's size: the job asks for that. A cap below 2 cannot be paged with
/// overlapping pages.
fn page_sizing(
    asked: u32,
    first: usize,
    past_first: Option<usize>,
) -> Result<PageSizing, CommandError> {
    let whole = PageSizing {
        page_size: asked,
        server_cap: None,
        full_page_seen: first >= asked as usize,
    };
    match past_first {
        Some(more) if more > 0 => {
            let cap = u32::try_from(first).unwrap_or(u32::MAX);
            if cap < 2 {
                return Err(CommandError::permanent(
                    FailureReason::ServerCapUnsupported,
                    format!(
                        "the server returns {cap} record per request: pages that overlap by \
                         one record cannot move forward"
                    ),
                ));
            }
            tracing::warn!(
                asked,
                cap,
                "the server caps its answers below the page size; paging with its cap"
            );
            Ok(PageSizing {
                page_size: cap,
                server_cap: Some(cap),
                full_page_seen: true,
            })
        }
        _ => Ok(whole),
    }
}

/// A short page with records past it, found after the job planned its pages.
fn cap_found_late(asked: u32, served: usize) -> CommandError {
    CommandError::permanent(
        FailureReason::ServerCapUnsupported,
        format!(
            "the server returned {served} records where {asked} were asked, and more follow: \
             its record cap is below the page size the job planned with. Set the connection's \
             page_size to {served} or lower and sync again"
        ),
    )
}

/// Stretches of rows that no page read before the last range read: none when the
/// pages read every row from 0 on.
fn unread_gaps(ranges: &[OffsetRange]) -> u64 {
    let gaps = ranges.len().saturating_sub(1);
    let leading = ranges.first().is_some_and(|range| range.from > 0);
    (gaps + usize::from(leading)) as u64
}

/// A digest of the ids a page served, to recognise the same page served twice.
fn fingerprint(records: &[OffsetRecord]) -> String {
    let mut digest = Sha256::new();
    for record in records {
        digest.update(record.id.as_bytes());
        digest.update([0]);
    }
    hex::encode(&digest.finalize()[..16])
}

/// A page command's id is derived from the job and the page's offset.
fn page_command(meta: &CommandMeta, page: OffsetPage) -> Command {
    Command {
        meta: CommandMeta {
            job_id: meta.job_id,
            message_id: MessageId::for_job(meta.job_id, &format!("offset/{}", page.offset)),
            connection: meta.connection.clone(),
        },
        body: CommandBody::OffsetPage(page),
    }
}

async fn completion(
    meta: &CommandMeta,
    page: &OffsetPage,
    store: &JobStore,
) -> Result<EventEnvelope, CommandError> {
    let summary = store.summary(meta.job_id).await?;
    if summary.started_at != page.started_at {
        return Err(StoreError::JobStateLost {
            job: meta.job_id,
            detail: "the job store holds another run of it".into(),
        }
        .into());
    }
    let elapsed = (Utc::now() - summary.started_at)
        .to_std()
        .unwrap_or_default();
    let end = match summary.end {
        JobEnd::Exhausted => SyncEnd::Exhausted,
        JobEnd::RepeatedPage => SyncEnd::RepeatedPage,
        JobEnd::PageLimit => SyncEnd::PageLimit,
        JobEnd::Running => {
            return Err(CommandError::Transient {
                reason: "job_state_store",
                detail: "the store reported a completed job without an end".into(),
            });
        }
    };
    let ranges_read = store.ranges_read(meta.job_id, summary.page_size).await?;
    let mut drift = summary.drift;
    drift.unread_gaps = unread_gaps(&ranges_read);
    let consistency = drift.consistency();
    tracing::info!(
        pages = summary.pages,
        records = summary.records,
        ?consistency,
        ?end,
        "offset sync completed"
    );
    let event = Event::SyncCompleted(SyncCompleted {
        connection: meta.connection.clone(),
        subject: SyncSubject::Offset {
            source: Box::new(page.source.clone()),
            tombstones: summary.tombstones,
            consistency,
            drift,
            page_size: summary.page_size,
            server_cap: summary.server_cap,
            ranges_read,
        },
        pages: summary.pages,
        records: summary.records,
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        resume_point: summary.started_at,
        end,
    });
    Ok(EventEnvelope::new(
        Some(meta.job_id),
        MessageId::for_job(meta.job_id, "sync.completed"),
        event,
    ))
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use contract::JobId;
    use serde_json::json;

    use super::*;

    fn meta() -> CommandMeta {
        let job_id = JobId::new_random();
        CommandMeta {
            job_id,
            message_id: MessageId::job_start(job_id),
            connection: "amiens".into(),
        }
    }

    fn page(page: u32, window: u32, max_pages: u32) -> OffsetPage {
        OffsetPage {
            source: OffsetSource::Amienscope(AmienscopeListing {
                updated_since: DateTime::UNIX_EPOCH,
                category: None,
            }),
            page,
            offset: OffsetPage::offset_of(page, 5),
            limit: 5,
            window,
            max_pages,
            started_at: DateTime::UNIX_EPOCH,
        }
    }

    fn records(ids: &[&str]) -> Vec<OffsetRecord> {
        ids.iter()
            .map(|id| OffsetRecord {
                id: (*id).to_owned(),
                tombstone: id.starts_with('x'),
                json: contract::Record::of(&json!({ "id": id })).expect("serialises"),
            })
            .collect()
    }

    #[test]
    fn a_full_page_keeps_its_overlap_record_back_and_moves_the_window() {
        let (publish, report) = plan(
            &meta(),
            &page(2, 3, 100),
            records(&["a", "x", "c", "d", "e"]),
        );
        assert_eq!(publish.len(), 2, "page.fetched and the page three ahead");
        assert_eq!(report.published_ids, ["a", "x", "c", "d"]);
        assert_eq!(report.overlap_id.as_deref(), Some("e"));
        assert_eq!(report.first_id.as_deref(), Some("a"));
        assert_eq!(report.tombstones, 1);
        assert_eq!(report.next, Some(5));
        assert!(!report.short && !report.oversized && !report.limit_reached);
    }

    #[test]
    fn a_short_page_publishes_everything_and_nothing_more() {
        let (publish, report) = plan(&meta(), &page(7, 3, 100), records(&["a", "b"]));
        assert_eq!(publish.len(), 1);
        assert_eq!(report.published_ids, ["a", "b"]);
        assert!(report.short);
        assert_eq!(report.next, None);
        assert_eq!(report.overlap_id, None);
    }

    #[test]
    fn an_empty_page_publishes_nothing() {
        let (publish, report) = plan(&meta(), &page(7, 3, 100), Vec::new());
        assert!(publish.is_empty());
        assert!(report.short);
        assert_eq!(report.first_id, None);
        assert_eq!(report.fingerprint, None);
    }

    #[test]
    fn a_longer_page_than_asked_is_flagged_and_cut_at_the_overlap() {
        let (_, report) = plan(
            &meta(),
            &page(0, 1, 100),
            records(&["a", "b", "c", "d", "e", "f"]),
        );
        assert!(report.oversized);
        assert_eq!(report.published_ids.len(), 4);
        assert_eq!(report.overlap_id.as_deref(), Some("e"));
    }

    #[test]
    fn no_page_is_issued_at_or_past_the_page_limit() {
        let (publish, report) = plan(
            &meta(),
            &page(8, 2, 10),
            records(&["a", "b", "c", "d", "e"]),
        );
        assert_eq!(publish.len(), 1, "only page.fetched");
        assert_eq!(report.next, None);
        assert!(report.limit_reached);
    }

    #[test]
    fn the_start_pages_with_the_servers_cap_when_records_follow_a_short_first_page() {
        let sizing = |first, past| page_sizing(1000, first, past).expect("a page size");
        assert_eq!(
            sizing(1000, None),
            PageSizing {
                page_size: 1000,
                server_cap: None,
                full_page_seen: true
            },
            "a whole first page: the cap is not below the page size"
        );
        assert_eq!(
            sizing(500, Some(1)),
            PageSizing {
                page_size: 500,
                server_cap: Some(500),
                full_page_seen: true
            },
            "records past a short page: its size is the cap"
        );
        assert_eq!(
            sizing(300, Some(0)),
            PageSizing {
                page_size: 1000,
                server_cap: None,
                full_page_seen: false
            },
            "nothing past a short page: the listing is that short"
        );
        assert_eq!(sizing(0, None).page_size, 1000, "an empty listing");
        let Err(CommandError::Permanent { reason, .. }) = page_sizing(1000, 1, Some(1)) else {
            panic!("a cap of one record is refused")
        };
        assert_eq!(reason, FailureReason::ServerCapUnsupported);
    }

    #[test]
    fn gaps_count_the_stretches_no_page_read() {
        let range = |from, to| OffsetRange { from, to };
        assert_eq!(unread_gaps(&[range(0, 10_000)]), 0);
        assert_eq!(unread_gaps(&[]), 0);
        assert_eq!(unread_gaps(&[range(0, 500), range(999, 1_499)]), 1);
        assert_eq!(unread_gaps(&[range(5, 10)]), 1);
    }

    #[test]
    fn page_commands_are_named_by_job_and_offset() {
        let meta = meta();
        let first = page_command(&meta, page(3, 2, 10));
        let again = page_command(&meta, page(3, 2, 10));
        assert_eq!(first.meta.message_id, again.meta.message_id);
        assert_ne!(
            first.meta.message_id,
            page_command(&meta, page(4, 2, 10)).meta.message_id
        );
    }
}
