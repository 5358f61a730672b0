//! The job store against a real Redis (`REDIS_URL`, or 127.0.0.1:6379).

use std::time::Duration;

use chrono::{DateTime, Utc};
use contract::{DriftCounts, JobId};
use job_state::{
    FetchedPage, JobEnd, JobStore, Opening, PageReport, PageStatus, StepStatus, StoreError,
};

async fn store() -> JobStore {
    let url = testkit::redis_url();
    JobStore::connect(&url.into(), "estafette-test", Duration::from_secs(600))
        .await
        .expect("a Redis server is needed: set REDIS_URL or run one on 127.0.0.1:6379")
}

fn ids(page: u32, count: u32) -> Vec<String> {
    (0..count).map(|i| format!("r{}", page * 10 + i)).collect()
}

/// A page of a stable listing of ten-record steps: `served` records from page × 10,
/// where a full page (11 records) leaves its last record to the next page.
fn page(page: u32, served: u32, next: Option<u32>) -> PageReport {
    let all = ids(page, served);
    let full = served == 11;
    let published = if full {
        all[..10].to_vec()
    } else {
        all.clone()
    };
    PageReport::Fetched(FetchedPage {
        served,
        first_id: all.first().cloned(),
        overlap_id: full.then(|| all[10].clone()),
        short: served < 11,
        next,
        fingerprint: (!all.is_empty()).then(|| all.join(",")),
        published_ids: published,
        ..FetchedPage::default()
    })
}

/// A job of pages of 11 records, opened at `started_at` with `pages` pending.
fn opening(started_at: DateTime<Utc>, pages: std::ops::Range<u32>) -> Opening {
    Opening {
        started_at,
        page_size: 11,
        server_cap: None,
        full_page_seen: false,
        pages,
    }
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .expect("date")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_job_completes_once_when_its_last_pending_page_finishes() {
    let store = store().await;
    let job = JobId::new_random();
    assert_eq!(
        store
            .open(job, &opening(start(), 0..2))
            .await
            .expect("open")
            .started_at,
        start()
    );
    // Reopening keeps the first start.
    let later = start() + chrono::Duration::minutes(5);
    assert_eq!(
        store
            .open(job, &opening(later, 0..2))
            .await
            .expect("reopen")
            .started_at,
        start()
    );

    assert_eq!(
        store.status(job, start(), 1).await.expect("status"),
        PageStatus::Due {
            full_page_seen: false
        },
        "no whole page read yet: a short page might be the server's cap"
    );
    // Page 1 finishes first and issues page 3; page 0 issues page 2.
    assert!(
        !store
            .finish(job, start(), 1, &page(1, 11, Some(3)))
            .await
            .expect("finish")
    );
    assert!(
        !store
            .finish(job, start(), 0, &page(0, 11, Some(2)))
            .await
            .expect("finish")
    );
    assert_eq!(
        store.status(job, start(), 2).await.expect("status"),
        PageStatus::Due {
            full_page_seen: true
        },
        "a whole page was read: a short page is the end"
    );
    // Page 2 is short: the end is known, but page 3 is still pending.
    assert!(
        !store
            .finish(job, start(), 2, &page(2, 4, None))
            .await
            .expect("finish")
    );
    assert_eq!(
        store.status(job, start(), 3).await.expect("status"),
        PageStatus::Skip
    );
    let ranges = store.ranges_read(job, 11).await.expect("ranges");
    assert_eq!(
        ranges,
        [contract::OffsetRange { from: 0, to: 24 }],
        "pages 0 and 1 read 11 rows each from offsets 0 and 10, page 2 read 4 from 20"
    );
    assert!(
        store
            .finish(job, start(), 3, &PageReport::Skipped)
            .await
            .expect("finish")
    );

    let summary = store.summary(job).await.expect("summary");
    assert_eq!(summary.pages, 3);
    assert_eq!(summary.records, 24);
    assert_eq!(summary.drift, DriftCounts::default());
    assert_eq!(summary.end, JobEnd::Exhausted);
    assert_eq!(summary.started_at, start());
    assert_eq!((summary.page_size, summary.server_cap), (11, None));

    // Redelivered pages change nothing; only the completer repeats the completion.
    assert!(
        store
            .finish(job, start(), 3, &PageReport::Skipped)
            .await
            .expect("again")
    );
    assert!(
        !store
            .finish(job, start(), 1, &page(1, 11, Some(3)))
            .await
            .expect("again")
    );
    assert_eq!(
        store.status(job, start(), 3).await.expect("status"),
        PageStatus::Done {
            completed_job: true
        }
    );
    assert_eq!(
        store.status(job, start(), 0).await.expect("status"),
        PageStatus::Done {
            completed_job: false
        }
    );
    assert_eq!(store.summary(job).await.expect("summary"), summary);
}

#[tokio::test]
async fn moved_rows_are_counted_as_drift() {
    let store = store().await;
    let job = JobId::new_random();
    store
        .open(job, &opening(start(), 0..3))
        .await
        .expect("open");
    // Page 0 as expected; page 1 starts one row early (a row was inserted before
    // it): its first record is page 0's last published one.
    store
        .finish(job, start(), 0, &page(0, 11, Some(3)))
        .await
        .expect("0");
    let mut shifted = ids(1, 11);
    shifted.insert(0, "r9".into());
    shifted.truncate(11);
    let report = PageReport::Fetched(FetchedPage {
        first_id: Some(shifted[0].clone()),
        overlap_id: Some(shifted[10].clone()),
        published_ids: shifted[..10].to_vec(),
        fingerprint: Some(shifted.join(",")),
        next: Some(4),
        ..FetchedPage::default()
    });
    store.finish(job, start(), 1, &report).await.expect("1");
    store
        .finish(job, start(), 2, &page(2, 3, None))
        .await
        .expect("2");
    // Page 3 came back with records although page 2 was short.
    store
        .finish(job, start(), 3, &page(3, 2, None))
        .await
        .expect("3");
    assert!(
        store
            .finish(job, start(), 4, &PageReport::Skipped)
            .await
            .expect("4")
    );

    let drift = store.summary(job).await.expect("summary").drift;
    assert_eq!(drift.duplicate_records, 1, "r9 was published twice");
    // 0|1 (r10 expected, r9 served) and 1|2 (r19 left over, r20 served).
    assert_eq!(drift.shifted_boundaries, 2);
    assert_eq!(drift.pages_past_end, 1);
}

#[tokio::test]
async fn a_page_served_twice_stops_the_job() {
    let store = store().await;
    let job = JobId::new_random();
    store
        .open(job, &opening(start(), 0..3))
        .await
        .expect("open");
    let same = |next| {
        PageReport::Fetched(FetchedPage {
            first_id: Some("a".into()),
            overlap_id: Some("k".into()),
            published_ids: vec!["a".into(), "b".into()],
            fingerprint: Some("a,b,k".into()),
            next: Some(next),
            ..FetchedPage::default()
        })
    };
    store.finish(job, start(), 0, &same(3)).await.expect("0");
    store.finish(job, start(), 1, &same(4)).await.expect("1");
    for pending in [2, 3] {
        assert_eq!(
            store.status(job, start(), pending).await.expect("status"),
            PageStatus::Skip
        );
        assert!(
            !store
                .finish(job, start(), pending, &PageReport::Skipped)
                .await
                .expect("skip")
        );
    }
    assert!(
        store
            .finish(job, start(), 4, &PageReport::Skipped)
            .await
            .expect("last")
    );
    let summary = store.summary(job).await.expect("summary");
    assert_eq!(summary.end, JobEnd::RepeatedPage);
    assert_eq!(summary.drift.repeated_pages, 1);
}

#[tokio::test]
async fn full_pages_at_the_page_limit_end_the_job() {
    let store = store().await;
    let job = JobId::new_random();
    store
        .open(job, &opening(start(), 0..1))
        .await
        .expect("open");
    let mut last = page(0, 11, None);
    if let PageReport::Fetched(fetched) = &mut last {
        fetched.limit_reached = true;
    }
    assert!(store.finish(job, start(), 0, &last).await.expect("finish"));
    let summary = store.summary(job).await.expect("summary");
    assert_eq!(summary.end, JobEnd::PageLimit);
    assert_eq!(summary.records, 10);
}

#[tokio::test]
async fn an_unreachable_store_is_reported_as_unavailable() {
    let error = JobStore::connect(
        &"redis://127.0.0.1:1".to_owned().into(),
        "estafette-test",
        Duration::from_secs(1),
    )
    .await
    .expect_err("nothing listens on port 1");
    assert!(
        matches!(error, job_state::StoreError::Unavailable(_)),
        "{error}"
    );
}

#[tokio::test]
async fn a_chunked_job_completes_once_with_every_result_in_order() {
    let store = store().await;
    let job = JobId::new_random();
    assert_eq!(
        store.open_chunks(job, start(), 3).await.expect("open"),
        start()
    );
    let later = start() + chrono::Duration::minutes(5);
    assert_eq!(
        store.open_chunks(job, later, 5).await.expect("reopen"),
        start(),
        "reopening keeps the first start and count"
    );
    let finish = |chunk, result| store.finish_chunk(job, start(), chunk, result);
    assert!(!finish(2, "two").await.expect("2"));
    assert!(!finish(0, "zero").await.expect("0"));
    // A chunk finished again keeps its first result.
    assert!(!finish(0, "zero again").await.expect("0"));
    assert_eq!(
        store.chunk_status(job, start(), 1).await.expect("status"),
        StepStatus::Due
    );
    assert!(finish(1, "one").await.expect("1"));
    assert!(
        finish(1, "one").await.expect("again"),
        "the completer repeats"
    );
    assert_eq!(
        store.chunk_status(job, start(), 1).await.expect("status"),
        StepStatus::Done {
            completed_job: true
        }
    );
    assert_eq!(
        store.chunk_results(job, start()).await.expect("results"),
        vec![(0, "zero".into()), (1, "one".into()), (2, "two".into())]
    );
}

#[tokio::test]
async fn a_chain_reads_each_page_once_and_remembers_its_completion() {
    let store = store().await;
    let job = JobId::new_random();
    assert_eq!(store.open_chain(job, start()).await.expect("open"), start());
    let later = start() + chrono::Duration::minutes(5);
    assert_eq!(store.open_chain(job, later).await.expect("reopen"), start());
    let status = |page| store.chain_status(job, start(), page);

    assert_eq!(status(0).await.expect("0"), StepStatus::Due);
    assert!(
        !store
            .finish_chain_page(job, start(), 0, None)
            .await
            .expect("0")
    );
    assert_eq!(
        status(0).await.expect("0 again"),
        StepStatus::Done {
            completed_job: false
        },
        "a redelivered page whose successor was confirmed is not read again"
    );
    // Page 1 died after its confirms, before recording itself; page 2 finishing
    // proves page 1's work was confirmed.
    assert!(
        !store
            .finish_chain_page(job, start(), 2, None)
            .await
            .expect("2")
    );
    assert_eq!(
        status(1).await.expect("1"),
        StepStatus::Done {
            completed_job: false
        }
    );
    assert!(
        store
            .finish_chain_page(job, start(), 3, Some(b"{\"done\":3}"))
            .await
            .expect("3")
    );
    assert_eq!(
        status(3).await.expect("3 again"),
        StepStatus::Done {
            completed_job: true
        }
    );
    assert_eq!(
        store.chain_completion(job).await.expect("completion"),
        b"{\"done\":3}"
    );
}

/// Removes every key of `job`, as a Redis restarted without persistence would.
async fn lose(job: JobId) {
    assert!(testkit::lose_job_state("estafette-test", job).await > 0);
}

fn assert_lost<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::JobStateLost { .. })),
        "expected lost state, got {result:?}"
    );
}

#[tokio::test]
async fn lost_state_is_reported_and_never_recreated_by_a_page() {
    let store = store().await;
    let job = JobId::new_random();
    store
        .open(job, &opening(start(), 0..2))
        .await
        .expect("open");
    lose(job).await;

    assert_lost(store.status(job, start(), 0).await);
    assert_lost(store.finish(job, start(), 1, &page(1, 4, None)).await);
    assert_lost(store.summary(job).await);
    assert_lost(store.status(job, start(), 0).await);
}

#[tokio::test]
async fn a_job_reopened_after_a_loss_is_not_the_one_its_pages_belong_to() {
    let store = store().await;
    let job = JobId::new_random();
    store
        .open(job, &opening(start(), 0..2))
        .await
        .expect("open");
    lose(job).await;
    // The start command comes back after the loss: a new run with a new start.
    let rerun = start() + chrono::Duration::seconds(1);
    assert_eq!(
        store
            .open(job, &opening(rerun, 0..2))
            .await
            .expect("reopen")
            .started_at,
        rerun
    );

    assert_lost(store.status(job, start(), 1).await);
    assert_lost(store.finish(job, start(), 1, &page(1, 4, None)).await);
}

#[tokio::test]
async fn lost_chunk_and_chain_state_is_reported() {
    let store = store().await;
    let chunked = JobId::new_random();
    store.open_chunks(chunked, start(), 3).await.expect("open");
    assert!(
        !store
            .finish_chunk(chunked, start(), 0, "zero")
            .await
            .expect("0")
    );
    lose(chunked).await;
    assert_lost(store.chunk_status(chunked, start(), 1).await);
    assert_lost(store.finish_chunk(chunked, start(), 1, "one").await);
    assert_lost(store.chunk_results(chunked, start()).await);

    let chain = JobId::new_random();
    store.open_chain(chain, start()).await.expect("open");
    lose(chain).await;
    assert_lost(store.chain_status(chain, start(), 4).await);
    assert_lost(store.finish_chain_page(chain, start(), 4, None).await);
}

#[tokio::test]
async fn a_failed_job_fails_once_and_its_steps_do_nothing_more() {
    let store = store().await;
    let job = JobId::new_random();
    store
        .open(job, &opening(start(), 0..2))
        .await
        .expect("open");
    assert!(store.fail(job, "retries_exhausted").await.expect("fail"));
    assert!(!store.fail(job, "job_state_lost").await.expect("again"));

    assert_eq!(
        store.status(job, start(), 1).await.expect("status"),
        PageStatus::JobFailed
    );
    assert!(
        !store
            .finish(job, start(), 1, &page(1, 4, None))
            .await
            .expect("finish"),
        "a failed job never completes"
    );

    // A job whose state was lost is failed by its first step that notices; the
    // steps after it find it failed, not lost.
    let chain = JobId::new_random();
    store.open_chain(chain, start()).await.expect("open");
    lose(chain).await;
    assert!(store.fail(chain, "job_state_lost").await.expect("fail"));
    assert_eq!(
        store.chain_status(chain, start(), 3).await.expect("status"),
        StepStatus::JobFailed
    );
}

#[tokio::test]
async fn a_receipt_is_found_by_every_attempt_after_it_is_recorded() {
    let store = store().await;
    let key = format!("receipt-test-{}", uuid::Uuid::new_v4());
    assert_eq!(
        store.begin_attempt(&key, start()).await.expect("begin"),
        job_state::ReceiptCheck::FirstAttempt
    );
    store
        .record_receipt(&key, "message-1")
        .await
        .expect("record");
    store
        .record_receipt(&key, "message-2")
        .await
        .expect("record again");
    let later = start() + chrono::Duration::minutes(1);
    assert_eq!(
        store.begin_attempt(&key, later).await.expect("begin again"),
        job_state::ReceiptCheck::Recorded("message-1".into())
    );
}

#[tokio::test]
async fn an_attempt_without_receipt_tells_later_attempts_when_it_started() {
    let store = store().await;
    let key = format!("receipt-test-{}", uuid::Uuid::new_v4());
    assert_eq!(
        store.begin_attempt(&key, start()).await.expect("begin"),
        job_state::ReceiptCheck::FirstAttempt
    );
    for minutes in [1, 2] {
        let later = start() + chrono::Duration::minutes(minutes);
        assert_eq!(
            store.begin_attempt(&key, later).await.expect("begin again"),
            job_state::ReceiptCheck::EarlierAttempt { since: start() }
        );
    }
}
