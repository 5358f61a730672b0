//! A démarche sync on demarches-simplifiees: a sequential chain of page commands per
//! cursor, over `dossiers`, then `deletedDossiers`, then `pendingDeletedDossiers`,
//! then `sync.completed`.
//!
//! Each page carries the chain's counts and cursor, and the job store keeps only the
//! chain's head (see `job_state::chain`): a page records itself there once what it
//! published is confirmed, so a redelivered page is never read again. The last page
//! records the completion with itself and publishes it as it settles; its redelivery
//! repeats it under the same id.

use broker::{Outcome, Outgoing, Publisher};
use chrono::Utc;
use contract::{
    Command, CommandBody, CommandMeta, DsDossierState, DsPage, DsSync, Event, EventEnvelope,
    Listing, MessageId, PageFetched, PageSubject, Record, SyncCompleted, SyncEnd, SyncProgress,
    SyncSubject,
};
use ds_client::{
    Cursor, DeletedDossiersPageRequest, Deletions, DemarcheNumber, DossierState,
    DossiersPageRequest, Page,
};
use job_state::{JobStore, StepStatus, StoreError};
use serde_json::value::RawValue;
use settle::CommandError;
use upstream_http::{PermanentReason, UpstreamError};

use crate::upstreams::DsUpstream;

/// Starts a sync: opens its chain in the job store, then publishes the first page
/// command. The command carries the start time, which becomes the resume point, so
/// nothing updated during the sync can be missed next time; a redelivered start
/// reuses the recorded one.
pub(crate) async fn start(
    meta: &CommandMeta,
    sync: &DsSync,
    store: &JobStore,
) -> Result<Outcome, CommandError> {
    let started_at = store.open_chain(meta.job_id, Utc::now()).await?;
    let first = DsPage {
        demarche: sync.demarche,
        updated_since: sync.updated_since,
        state: sync.state,
        listing: Listing::Dossiers,
        page: 0,
        after: None,
        started_at,
        progress: SyncProgress::default(),
        previous_page: None,
    };
    tracing::info!(demarche = sync.demarche.get(), "sync started");
    let headers = telemetry::propagation::inject_current();
    Ok(Outcome::ack(vec![Outgoing::command(
        &page_command(meta, first),
        headers,
    )]))
}

/// Reads one page unless the chain has passed it, publishes its `page.fetched` event
/// and the next page command or the `sync.completed` event, waits for the confirms,
/// then moves the chain's head past it.
pub(crate) async fn fetch(
    meta: &CommandMeta,
    page: &DsPage,
    upstream: &DsUpstream,
    store: &JobStore,
    publisher: &Publisher,
) -> Result<Outcome, CommandError> {
    match store
        .chain_status(meta.job_id, page.started_at, page.page)
        .await?
    {
        StepStatus::Due => {}
        StepStatus::Done {
            completed_job: false,
        } => {
            tracing::info!(
                page = page.page,
                "page read and confirmed before; not read again"
            );
            return Ok(Outcome::ack(Vec::new()));
        }
        StepStatus::Done {
            completed_job: true,
        } => {
            tracing::info!(
                page = page.page,
                "last page confirmed before; repeating its completion"
            );
            let completion = store.chain_completion(meta.job_id).await?;
            let completed = serde_json::from_slice::<EventEnvelope>(&completion)
                .map_err(|error| StoreError::Unexpected(format!("a stored completion: {error}")))?;
            let headers = telemetry::propagation::inject_current();
            return Ok(Outcome::ack(vec![Outgoing::event(&completed, headers)]));
        }
        StepStatus::JobFailed => {
            tracing::info!(page = page.page, "the job failed; page not read");
            return Ok(Outcome::ack(Vec::new()));
        }
    }
    let fetched = read(page, upstream).await?;
    let step = plan(page, &fetched);
    let headers = telemetry::propagation::inject_current();
    let mut publish = Vec::with_capacity(2);
    let mut completion = None;
    let mut progress = page.progress;
    if step.publish_records {
        progress.pages = progress.pages.saturating_add(1);
        let count = fetched.records.len() as u64;
        worker_shell::metrics::page_fetched(&meta.connection, count);
        match page.listing {
            Listing::Dossiers => progress.records = progress.records.saturating_add(count),
            Listing::DeletedDossiers => {
                progress.deleted_records = progress.deleted_records.saturating_add(count);
            }
            Listing::PendingDeletedDossiers => {
                progress.pending_deleted_records =
                    progress.pending_deleted_records.saturating_add(count);
            }
        }
        let event = Event::PageFetched(PageFetched {
            connection: meta.connection.clone(),
            subject: PageSubject::Ds {
                demarche: page.demarche,
                listing: page.listing,
            },
            page: page.page,
            record_count: fetched.records.len() as u32,
            records: fetched.records,
            has_next_page: fetched.has_next_page,
        });
        let id = MessageId::for_job(meta.job_id, &format!("page.fetched/{}", page.page));
        publish.push(Outgoing::event(
            &EventEnvelope::new(Some(meta.job_id), id, event),
            headers.clone(),
        ));
        tracing::info!(job_id = %meta.job_id, page = page.page, records = count, "page fetched");
    }
    if let Some(stop) = step.stopped_early {
        tracing::warn!(job_id = %meta.job_id, page = page.page, ?stop, "listing stopped by a loop guard");
        progress.stopped_early.get_or_insert(stop);
    }
    let following = |listing, after, previous_page| DsPage {
        listing,
        page: page.page + 1,
        after,
        progress,
        previous_page,
        ..page.clone()
    };
    match step.next {
        Next::Page(after) => {
            let next = following(page.listing, Some(after), Some(step.fingerprint));
            publish.push(Outgoing::command(
                &page_command(meta, next),
                headers.clone(),
            ));
        }
        Next::Listing(listing) => {
            publish.push(Outgoing::command(
                &page_command(meta, following(listing, None, None)),
                headers.clone(),
            ));
        }
        Next::Done => {
            let completed = completed(meta, page, progress);
            tracing::info!(job_id = %meta.job_id, pages = progress.pages, records = progress.records, "sync completed");
            completion = Some(completed);
        }
    }
    publisher.publish_all(&publish).await?;
    store
        .finish_chain_page(
            meta.job_id,
            page.started_at,
            page.page,
            completion.as_ref().map(EventEnvelope::to_json).as_deref(),
        )
        .await?;
    // The completion goes out with the settlement, once recorded: a redelivery of
    // this page finds it recorded and sends it again the same way.
    let publish = completion
        .map(|completed| Outgoing::event(&completed, headers))
        .into_iter()
        .collect();
    Ok(Outcome::ack(publish))
}

fn page_command(meta: &CommandMeta, page: DsPage) -> Command {
    Command {
        meta: CommandMeta {
            job_id: meta.job_id,
            message_id: MessageId::for_job(meta.job_id, &format!("page/{}", page.page)),
            connection: meta.connection.clone(),
        },
        body: CommandBody::DsPage(page),
    }
}

fn completed(meta: &CommandMeta, page: &DsPage, progress: SyncProgress) -> EventEnvelope {
    let elapsed = (Utc::now() - page.started_at).to_std().unwrap_or_default();
    let event = Event::SyncCompleted(SyncCompleted {
        connection: meta.connection.clone(),
        subject: SyncSubject::Ds {
            demarche: page.demarche,
            deleted_records: progress.deleted_records,
            pending_deleted_records: progress.pending_deleted_records,
        },
        pages: progress.pages,
        records: progress.records,
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        resume_point: page.started_at,
        end: progress.stopped_early.unwrap_or(SyncEnd::Exhausted),
    });
    EventEnvelope::new(
        Some(meta.job_id),
        MessageId::for_job(meta.job_id, "sync.completed"),
        event,
    )
}

/// One page, whatever its listing.
struct Fetched {
    records: Vec<Record>,
    numbers: Vec<i64>,
    end_cursor: Option<String>,
    has_next_page: bool,
}

impl Fetched {
    fn from_page<T>(page: Page<T>, split: impl Fn(T) -> (i64, Box<RawValue>)) -> Self {
        let (numbers, records) = page
            .nodes
            .into_iter()
            .map(split)
            .map(|(number, node)| (number, Record::from_raw(node)))
            .unzip();
        Fetched {
            records,
            numbers,
            end_cursor: page.end_cursor.map(Cursor::into_string),
            has_next_page: page.has_next_page,
        }
    }

    /// Identifies the page's content, to recognise the same page served twice.
    fn fingerprint(&self) -> String {
        match (self.numbers.first(), self.numbers.last()) {
            (Some(first), Some(last)) => format!("{first}..{last}/{}", self.numbers.len()),
            _ => "empty".to_owned(),
        }
    }
}

async fn read(page: &DsPage, upstream: &DsUpstream) -> Result<Fetched, UpstreamError> {
    let demarche = DemarcheNumber::new(page.demarche.get())
        .map_err(|e| UpstreamError::permanent(PermanentReason::BadRequest, e.to_string()))?;
    let after = page.after.clone().map(Cursor::new);
    match page.listing {
        Listing::Dossiers => {
            let request = DossiersPageRequest {
                demarche,
                first: upstream.page_size,
                after,
                updated_since: page.updated_since,
                state: page.state.map(dossier_state),
            };
            let result = upstream.client.dossiers_page(&request).await?;
            Ok(Fetched::from_page(result, |d| (d.number, d.record)))
        }
        Listing::DeletedDossiers => {
            read_deletions(Deletions::Deleted, demarche, after, page, upstream).await
        }
        Listing::PendingDeletedDossiers => {
            read_deletions(Deletions::PendingDeleted, demarche, after, page, upstream).await
        }
    }
}

/// Deletions are read since the sync's own `updated_since`, so an incremental sync
/// sees the removals of the same period.
async fn read_deletions(
    deletions: Deletions,
    demarche: DemarcheNumber,
    after: Option<Cursor>,
    page: &DsPage,
    upstream: &DsUpstream,
) -> Result<Fetched, UpstreamError> {
    let request = DeletedDossiersPageRequest {
        deletions,
        demarche,
        first: upstream.page_size,
        after,
        deleted_since: page.updated_since,
    };
    let result = upstream.client.deleted_dossiers_page(&request).await?;
    Ok(Fetched::from_page(result, |d| (d.number, d.record)))
}

fn dossier_state(state: DsDossierState) -> DossierState {
    match state {
        DsDossierState::EnConstruction => DossierState::EnConstruction,
        DsDossierState::EnInstruction => DossierState::EnInstruction,
        DsDossierState::Accepte => DossierState::Accepte,
        DsDossierState::Refuse => DossierState::Refuse,
        DsDossierState::SansSuite => DossierState::SansSuite,
    }
}

/// What comes after a page.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The same listing goes on after this cursor.
    Page(String),
    /// This listing is done; start this one.
    Listing(Listing),
    /// Every listing is done.
    Done,
}

#[derive(Debug, PartialEq, Eq)]
struct Step {
    publish_records: bool,
    stopped_early: Option<SyncEnd>,
    next: Next,
    fingerprint: String,
}

/// Decides what a page means for the chain. Handles both end-of-list forms: an empty
/// page with no cursor, and the last page served again; and never follows a cursor
/// that did not move, which would loop forever.
fn plan(page: &DsPage, fetched: &Fetched) -> Step {
    let fingerprint = fetched.fingerprint();
    let repeated =
        !fetched.numbers.is_empty() && page.previous_page.as_deref() == Some(&fingerprint);
    let (stopped_early, goes_on) = if repeated {
        (Some(SyncEnd::RepeatedPage), None)
    } else if !fetched.has_next_page {
        (None, None)
    } else {
        match &fetched.end_cursor {
            Some(cursor) if page.after.as_ref() != Some(cursor) => (None, Some(cursor.clone())),
            _ => (Some(SyncEnd::StalledCursor), None),
        }
    };
    let next = match (goes_on, page.listing) {
        (Some(cursor), _) => Next::Page(cursor),
        (None, Listing::Dossiers) => Next::Listing(Listing::DeletedDossiers),
        (None, Listing::DeletedDossiers) => Next::Listing(Listing::PendingDeletedDossiers),
        (None, Listing::PendingDeletedDossiers) => Next::Done,
    };
    Step {
        publish_records: !repeated,
        stopped_early,
        next,
        fingerprint,
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn page(listing: Listing, after: Option<&str>, previous_page: Option<&str>) -> DsPage {
        DsPage {
            demarche: NonZeroU32::new(1).expect("non-zero"),
            updated_since: None,
            state: None,
            listing,
            page: 3,
            after: after.map(str::to_owned),
            started_at: Utc::now(),
            progress: SyncProgress::default(),
            previous_page: previous_page.map(str::to_owned),
        }
    }

    fn fetched(numbers: &[i64], end_cursor: Option<&str>, has_next_page: bool) -> Fetched {
        Fetched {
            records: numbers
                .iter()
                .map(|n| Record::of(n).expect("a number serialises"))
                .collect(),
            numbers: numbers.to_vec(),
            end_cursor: end_cursor.map(str::to_owned),
            has_next_page,
        }
    }

    #[test]
    fn a_full_page_with_a_new_cursor_continues_the_listing() {
        let step = plan(
            &page(Listing::Dossiers, Some("a"), None),
            &fetched(&[1, 2], Some("b"), true),
        );
        assert_eq!(step.next, Next::Page("b".into()));
        assert!(step.publish_records);
        assert_eq!(step.stopped_early, None);
    }

    #[test]
    fn the_last_page_of_dossiers_moves_on_to_deleted_dossiers() {
        let step = plan(
            &page(Listing::Dossiers, Some("a"), None),
            &fetched(&[1], Some("b"), false),
        );
        assert_eq!(step.next, Next::Listing(Listing::DeletedDossiers));
        assert!(step.publish_records);
    }

    #[test]
    fn the_last_page_of_deleted_dossiers_moves_on_to_pending_deletions() {
        let step = plan(
            &page(Listing::DeletedDossiers, None, None),
            &fetched(&[], None, false),
        );
        assert_eq!(step.next, Next::Listing(Listing::PendingDeletedDossiers));
    }

    #[test]
    fn the_last_page_of_pending_deletions_ends_the_sync() {
        let step = plan(
            &page(Listing::PendingDeletedDossiers, None, None),
            &fetched(&[], None, false),
        );
        assert_eq!(step.next, Next::Done);
        assert_eq!(step.stopped_early, None);
    }

    #[test]
    fn an_empty_page_with_a_null_cursor_ends_the_listing_without_a_guard() {
        let step = plan(
            &page(Listing::Dossiers, Some("z"), Some("1..2/2")),
            &fetched(&[], None, false),
        );
        assert_eq!(step.next, Next::Listing(Listing::DeletedDossiers));
        assert_eq!(step.stopped_early, None);
    }

    #[test]
    fn the_previous_page_served_again_is_not_published_twice() {
        let step = plan(
            &page(Listing::Dossiers, Some("b"), Some("1..2/2")),
            &fetched(&[1, 2], Some("b"), true),
        );
        assert!(!step.publish_records);
        assert_eq!(step.stopped_early, Some(SyncEnd::RepeatedPage));
        assert_eq!(step.next, Next::Listing(Listing::DeletedDossiers));
    }

    #[test]
    fn a_next_page_claimed_with_the_same_cursor_stops_instead_of_looping() {
        let step = plan(
            &page(Listing::Dossiers, Some("b"), None),
            &fetched(&[3, 4], Some("b"), true),
        );
        assert_eq!(step.stopped_early, Some(SyncEnd::StalledCursor));
        assert!(step.publish_records);
        assert_eq!(step.next, Next::Listing(Listing::DeletedDossiers));
    }

    #[test]
    fn a_next_page_claimed_without_a_cursor_stops_instead_of_looping() {
        let step = plan(
            &page(Listing::PendingDeletedDossiers, Some("b"), None),
            &fetched(&[3], None, true),
        );
        assert_eq!(step.stopped_early, Some(SyncEnd::StalledCursor));
        assert_eq!(step.next, Next::Done);
    }
}
