//! Offset syncs fanned out over a window of pages: Divalto RecordSql and Amienscope.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    time::Duration,
};

use chrono::DateTime;
use contract::{
    AmienscopeSync, Command, CommandBody, CommandMeta, Consistency, DivaltoQuery, DivaltoSync,
    Event, EventEnvelope, FailureReason, MessageId, PageSubject, SyncCompleted, SyncEnd,
    SyncSubject, WorkerKind,
};
use sandbox::{
    AmienscopeConfig, DivaltoChange, DivaltoConfig, DivaltoTable, EventStatus, SandboxConfig,
    ScheduledChange,
};

use crate::harness::{EVENT_GAP, TestApp, spawn_app_with, spawn_app_without_worker_with};
use crate::process::start_process;

const DIVALTO: &str = "sandbox_divalto";
const AMIENSCOPE: &str = "sandbox_amienscope";

pub(crate) fn divalto_sync(window: u32) -> Command {
    Command::start_job(
        DIVALTO,
        CommandBody::DivaltoSync(DivaltoSync {
            query: DivaltoQuery {
                dhoq: DivaltoTable::Article.dhoq().into(),
                recordsql: DivaltoTable::Article.recordsql().into(),
                id_field: DivaltoTable::Article.id_field().into(),
                fields: vec![],
                orderby: None,
                where_clause: None,
            },
            window: NonZeroU32::new(window),
        }),
    )
}

fn amienscope_sync(window: u32) -> Command {
    Command::start_job(
        AMIENSCOPE,
        CommandBody::AmienscopeSync(AmienscopeSync {
            updated_since: None,
            category: None,
            window: NonZeroU32::new(window),
        }),
    )
}

/// Every distinct message of a finished offset sync, sorted out.
#[derive(Default)]
struct OffsetReport {
    /// How many distinct `page.fetched` events carried each record id.
    records: HashMap<String, u32>,
    tombstones: HashSet<String>,
    page_events: usize,
    completions: Vec<SyncCompleted>,
    failures: Vec<contract::CommandFailed>,
}

impl OffsetReport {
    fn from_events(events: &[EventEnvelope]) -> Self {
        let mut seen = HashSet::new();
        let mut report = OffsetReport::default();
        for envelope in events {
            // The same message id twice is an at-least-once redelivery, counted once.
            if !seen.insert(envelope.message_id) {
                continue;
            }
            match &envelope.event {
                Event::PageFetched(page) => {
                    report.page_events += 1;
                    assert_eq!(page.record_count as usize, page.records.len());
                    for record in page.records.iter().map(contract::Record::to_value) {
                        let id = record["id"].as_str().expect("records carry their id");
                        *report.records.entry(id.to_owned()).or_default() += 1;
                        if record["tombstone"] == true {
                            report.tombstones.insert(id.to_owned());
                        }
                    }
                }
                Event::SyncCompleted(completed) => report.completions.push(completed.clone()),
                Event::CommandFailed(failed) => report.failures.push(failed.clone()),
                other => panic!("unexpected event in an offset sync: {other:?}"),
            }
        }
        report
    }

    fn ids(&self) -> HashSet<String> {
        self.records.keys().cloned().collect()
    }

    fn repeated(&self) -> Vec<&String> {
        self.records
            .iter()
            .filter(|(_, times)| **times > 1)
            .map(|(id, _)| id)
            .collect()
    }

    fn completion(&self) -> &SyncCompleted {
        assert!(self.failures.is_empty(), "failures: {:?}", self.failures);
        let [completed] = self.completions.as_slice() else {
            panic!("one sync.completed expected, got {:?}", self.completions)
        };
        completed
    }
}

fn consistency(completed: &SyncCompleted) -> (Consistency, contract::DriftCounts, u64) {
    let SyncSubject::Offset {
        consistency,
        drift,
        tombstones,
        ..
    } = &completed.subject
    else {
        panic!("an offset sync completes with offset counts")
    };
    (*consistency, *drift, *tombstones)
}

/// Runs `command` to its end and a little past it, to catch anything published late.
async fn run_to_end(app: &mut TestApp, command: &Command) -> OffsetReport {
    app.publish(command).await;
    let mut events = app.events.until_job_ends(EVENT_GAP).await;
    events.extend(app.events.try_next(Duration::from_millis(500)).await);
    OffsetReport::from_events(&events)
}

fn article_ids(app: &TestApp) -> HashSet<String> {
    app.sandbox
        .divalto()
        .ids(DivaltoTable::Article)
        .into_iter()
        .map(|id| id.to_string())
        .collect()
}

#[tokio::test]
async fn a_divalto_sync_delivers_every_record_exactly_once() {
    let mut app = spawn_app_with(
        SandboxConfig::default(),
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "100")],
    )
    .await;
    let expected = article_ids(&app);
    assert_eq!(expected.len(), 10_000);

    let report = run_to_end(&mut app, &divalto_sync(8)).await;

    assert_eq!(report.ids(), expected);
    assert!(report.repeated().is_empty(), "{:?}", report.repeated());
    let completed = report.completion();
    assert_eq!(completed.records, 10_000);
    // 99 new records per page of 100: 102 pages, the last one short.
    assert_eq!(completed.pages, 102);
    assert_eq!(completed.pages as usize, report.page_events);
    assert_eq!(completed.end, SyncEnd::Exhausted);
    let (consistency, drift, _) = consistency(completed);
    assert_eq!(consistency, Consistency::Exact, "{drift:?}");
    assert_eq!(
        app.sandbox.divalto().auth_calls(),
        1,
        "one login for the whole sync"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_amienscope_sync_delivers_every_event_once_and_passes_on_tombstones() {
    let mut app = spawn_app_with(SandboxConfig::default(), &[]).await;
    let listing = app.sandbox.amienscope().listing(0, None);
    let expected: HashSet<String> = listing.iter().map(|event| event.id.to_string()).collect();
    let ids_in = |statuses: &[EventStatus]| -> HashSet<String> {
        listing
            .iter()
            .filter(|event| statuses.contains(&event.status))
            .map(|event| event.id.to_string())
            .collect()
    };
    // The documentation's table: pending (1), deleted (5) and archived (6) events are
    // not visible to the public; a cancelled one (3) is.
    let not_public = ids_in(&[
        EventStatus::Pending,
        EventStatus::Deleted,
        EventStatus::Archived,
    ]);
    let cancelled = ids_in(&[EventStatus::Cancelled]);
    assert!(expected.len() >= 3_000 && !not_public.is_empty() && !cancelled.is_empty());

    let report = run_to_end(&mut app, &amienscope_sync(4)).await;

    assert_eq!(report.ids(), expected);
    assert!(report.repeated().is_empty(), "{:?}", report.repeated());
    assert_eq!(
        report.tombstones, not_public,
        "cancelled events are records"
    );
    let completed = report.completion();
    assert_eq!(completed.records, expected.len() as u64);
    let (consistency, _, tombstones) = consistency(completed);
    assert_eq!(consistency, Consistency::Exact);
    assert_eq!(tombstones, not_public.len() as u64);
    assert_eq!(app.sandbox.amienscope().refused_signatures(), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn three_workers_fetch_the_pages_of_one_job_at_the_same_time() {
    let config = SandboxConfig {
        latency: Duration::from_millis(50),
        ..SandboxConfig::default()
    };
    // One delivery per worker at a time: overlapping requests can only come from
    // different workers. The three share the connection's rate limit, so it must let
    // requests overlap: 5 per second, one at a time, would space them 200 ms apart.
    let mut app = spawn_app_without_worker_with(
        config,
        &[
            ("ESTAFETTE__BROKER__PREFETCH", "1"),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__RATE_LIMIT__REQUESTS",
                "1000",
            ),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__RATE_LIMIT__PER_SECONDS",
                "1",
            ),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__RATE_LIMIT__BURST",
                "100",
            ),
        ],
    )
    .await;
    for _ in 0..3 {
        app.start_worker().await;
    }

    let report = run_to_end(&mut app, &amienscope_sync(6)).await;

    assert!(report.repeated().is_empty());
    report.completion();
    assert_eq!(
        app.sandbox.stats().max_in_flight,
        3,
        "three workers with one delivery each were all calling the upstream at once"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_worker_killed_mid_job_is_replaced_and_every_event_arrives_once() {
    let config = SandboxConfig {
        latency: Duration::from_millis(30),
        ..SandboxConfig::default()
    };
    let mut app = spawn_app_without_worker_with(config, &[]).await;
    let expected: HashSet<String> = app
        .sandbox
        .amienscope()
        .listing(0, None)
        .iter()
        .map(|event| event.id.to_string())
        .collect();
    let mut first = start_process(&app);

    let command = amienscope_sync(4);
    app.publish(&command).await;
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e: &&EventEnvelope| matches!(e.event, Event::PageFetched(_)))
        .count()
        < 10
    {
        events.push(app.events.next(EVENT_GAP).await);
    }
    first.kill().expect("SIGKILL the worker");
    first.wait().expect("the killed worker is reaped");
    let mut second = start_process(&app);
    events.extend(app.events.until_job_ends(EVENT_GAP).await);
    events.extend(app.events.try_next(Duration::from_millis(500)).await);

    let report = OffsetReport::from_events(&events);
    assert_eq!(report.ids(), expected);
    assert!(report.repeated().is_empty(), "{:?}", report.repeated());
    assert_eq!(report.completion().records, expected.len() as u64);
    second.kill().expect("stop the second worker");
    second.wait().expect("reaped");
    app.shutdown().await;
}

/// A Divalto sync with `change` applied after the third page answered.
async fn divalto_sync_with(change: DivaltoChange) -> (OffsetReport, TestApp) {
    let config = SandboxConfig {
        divalto: DivaltoConfig {
            scheduled_changes: vec![ScheduledChange::new(3, change)],
            ..DivaltoConfig::default()
        },
        ..SandboxConfig::default()
    };
    let mut app = spawn_app_with(
        config,
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "500")],
    )
    .await;
    let report = run_to_end(&mut app, &divalto_sync(2)).await;
    (report, app)
}

#[tokio::test]
async fn a_row_deleted_between_pages_is_reported_as_drift() {
    let (report, app) = divalto_sync_with(DivaltoChange::Delete {
        table: DivaltoTable::Article,
        id: 2,
    })
    .await;

    let completed = report.completion();
    let (consistency, drift, _) = consistency(completed);
    assert_eq!(consistency, Consistency::DriftDetected);
    assert!(drift.shifted_boundaries >= 1, "{drift:?}");
    // Pages read out of order around the deletion can serve a row twice: every such
    // row is counted.
    assert_eq!(report.repeated().len() as u64, drift.duplicate_records);
    app.shutdown().await;
}

#[tokio::test]
async fn a_row_inserted_between_pages_is_reported_as_drift() {
    let (report, app) = divalto_sync_with(DivaltoChange::Insert {
        table: DivaltoTable::Article,
        id: 0,
    })
    .await;

    let completed = report.completion();
    let (consistency, drift, _) = consistency(completed);
    assert_eq!(consistency, Consistency::DriftDetected);
    assert!(
        drift.shifted_boundaries + drift.duplicate_records >= 1,
        "{drift:?}"
    );
    assert_eq!(report.repeated().len() as u64, drift.duplicate_records);
    app.shutdown().await;
}

#[tokio::test]
async fn a_divalto_token_expiring_mid_sync_is_renewed_once() {
    let (report, app) = divalto_sync_with(DivaltoChange::ExpireTokens).await;

    let completed = report.completion();
    assert_eq!(completed.records, 10_000);
    assert_eq!(consistency(completed).0, Consistency::Exact);
    assert_eq!(
        app.sandbox.divalto().auth_calls(),
        2,
        "one login, one renewal"
    );
    app.shutdown().await;
}

/// The first event of a job started with `command` under the extra settings.
async fn first_event(
    config: SandboxConfig,
    extra: &[(&str, &str)],
    command: &Command,
) -> (Event, TestApp) {
    let mut app = spawn_app_with(config, extra).await;
    app.publish(command).await;
    let event = app.events.next(EVENT_GAP).await.event;
    (event, app)
}

#[tokio::test]
async fn a_wrong_divalto_password_fails_for_good() {
    let (event, app) = first_event(
        SandboxConfig::default(),
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PASSWORD",
            "not-the-password",
        )],
        &divalto_sync(2),
    )
    .await;

    let Event::CommandFailed(failed) = event else {
        panic!("expected command.failed, got {event:?}")
    };
    assert_eq!(failed.reason, FailureReason::UpstreamUnauthorized);
    assert!(
        !failed.message.contains("not-the-password"),
        "{}",
        failed.message
    );
    assert_eq!(
        failed.command_kind.as_deref(),
        Some("divalto.sync"),
        "the start reads the first page, so the sync fails before any page is planned"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_badly_signed_amienscope_request_is_refused_by_the_upstream() {
    let (event, app) = first_event(
        SandboxConfig {
            amienscope: AmienscopeConfig::default(),
            ..SandboxConfig::default()
        },
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__PRIVATE_KEY",
            "a-wrong-key",
        )],
        &amienscope_sync(1),
    )
    .await;

    let Event::CommandFailed(failed) = event else {
        panic!("expected command.failed, got {event:?}")
    };
    assert_eq!(failed.reason, FailureReason::UpstreamUnauthorized);
    assert!(app.sandbox.amienscope().refused_signatures() >= 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_sync_naming_a_connection_of_another_api_is_refused() {
    let mut command = amienscope_sync(1);
    command.meta.connection = DIVALTO.into();
    let (event, app) = first_event(SandboxConfig::default(), &[], &command).await;

    let Event::CommandFailed(failed) = event else {
        panic!("expected command.failed, got {event:?}")
    };
    assert_eq!(failed.reason, FailureReason::ConnectionApiMismatch);
    app.shutdown().await;
}

/// The page size, record cap and rows read a completed offset sync reports.
fn sizing(completed: &SyncCompleted) -> (u32, Option<u32>, Vec<contract::OffsetRange>) {
    let SyncSubject::Offset {
        page_size,
        server_cap,
        ranges_read,
        ..
    } = &completed.subject
    else {
        panic!("an offset sync completes with offset counts")
    };
    (*page_size, *server_cap, ranges_read.clone())
}

/// A sandbox whose Divalto answers at most `cap` records per request.
fn divalto_capped_at(cap: u32) -> SandboxConfig {
    SandboxConfig {
        divalto: DivaltoConfig {
            record_cap: cap,
            ..DivaltoConfig::default()
        },
        ..SandboxConfig::default()
    }
}

/// Syncs the 10,000 articles through pages of 1,000 from a server that answers at
/// most 500 records per request, with `window` pages in flight.
async fn sync_through_a_cap_of_half_the_page_size(window: u32) -> (OffsetReport, TestApp) {
    let mut app = spawn_app_with(
        divalto_capped_at(500),
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "1000")],
    )
    .await;
    let report = run_to_end(&mut app, &divalto_sync(window)).await;
    (report, app)
}

#[tokio::test]
async fn a_server_cap_of_half_the_page_size_is_learned_and_every_record_read_once() {
    for window in [1, 8] {
        let (report, app) = sync_through_a_cap_of_half_the_page_size(window).await;
        let expected = article_ids(&app);

        assert_eq!(report.ids(), expected, "window {window}");
        assert!(report.repeated().is_empty(), "{:?}", report.repeated());
        let completed = report.completion();
        assert_eq!(completed.records, 10_000);
        let (consistency, _, _) = consistency(completed);
        assert_eq!(consistency, Consistency::Exact);
        let (page_size, server_cap, ranges_read) = sizing(completed);
        assert_eq!((page_size, server_cap), (500, Some(500)));
        assert_eq!(
            ranges_read,
            [contract::OffsetRange {
                from: 0,
                to: 10_000
            }]
        );
        if window == 1 {
            // Pages of 500 overlapping by one: 20 whole ones and a short last one,
            // plus the start's read of the first page and its one-record look past it.
            assert_eq!(app.sandbox.divalto().record_sql_calls(), 21 + 2);
        }
        app.shutdown().await;
    }
}

#[tokio::test]
async fn a_server_cap_equal_to_the_page_size_costs_one_request() {
    let mut app = spawn_app_with(
        divalto_capped_at(1000),
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "1000")],
    )
    .await;
    let report = run_to_end(&mut app, &divalto_sync(1)).await;

    let completed = report.completion();
    assert_eq!(completed.records, 10_000);
    assert_eq!(sizing(completed).1, None, "no cap below the page size");
    // 10 whole pages of 1,000 overlapping by one, a short last one, and the start's
    // read of the first page.
    assert_eq!(app.sandbox.divalto().record_sql_calls(), 11 + 1);
    app.shutdown().await;
}

#[tokio::test]
async fn a_cap_that_shows_only_after_the_pages_were_planned_fails_the_job_by_name() {
    // 300 rows when the sync starts: a short first page with nothing past it, so the
    // job plans pages of 1,000. Then 700 rows come back, and the first page is cut
    // at the server's cap of 500.
    let mut config = divalto_capped_at(500);
    let app = spawn_app_with(config.clone(), &[]).await;
    let ids = app.sandbox.divalto().ids(DivaltoTable::Article);
    app.shutdown().await;
    config.divalto.scheduled_changes = ids[300..1_000]
        .iter()
        .map(|&id| {
            ScheduledChange::new(
                2,
                DivaltoChange::Insert {
                    table: DivaltoTable::Article,
                    id,
                },
            )
        })
        .collect();
    let mut app = spawn_app_with(
        config,
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "1000")],
    )
    .await;
    for &id in &ids[300..] {
        app.sandbox.divalto().delete(DivaltoTable::Article, id);
    }

    app.publish(&divalto_sync(1)).await;
    let events = app
        .events
        .until(EVENT_GAP, |event| matches!(event, Event::JobFailed(_)))
        .await;

    let Some(Event::JobFailed(failed)) = events.last().map(|envelope| &envelope.event) else {
        panic!("the job fails")
    };
    assert_eq!(failed.reason, FailureReason::ServerCapUnsupported);
    assert!(
        failed
            .message
            .contains("Set the connection's page_size to 500 or lower"),
        "{}",
        failed.message
    );
    assert!(
        !events
            .iter()
            .any(|envelope| matches!(envelope.event, Event::SyncCompleted(_))),
        "never completes"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_forged_page_command_is_refused_and_the_real_job_completes_exactly() {
    let config = SandboxConfig {
        latency: Duration::from_millis(20),
        ..SandboxConfig::default()
    };
    let mut app = spawn_app_with(
        config,
        &[("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "1000")],
    )
    .await;
    let mut dead_letters = app.dead_letters().await;
    let sync = divalto_sync(2);
    let job = sync.meta.job_id;
    app.publish(&sync).await;
    let first = app
        .events
        .until(EVENT_GAP, |event| matches!(event, Event::PageFetched(_)))
        .await;
    let Some(Event::PageFetched(page)) = first.last().map(|envelope| &envelope.event) else {
        panic!("a page of the real job")
    };
    let PageSubject::Offset { source, .. } = &page.subject else {
        panic!("an offset page")
    };
    // A producer publishes a well-formed page of the running job, far past the pages
    // the job planned, to the commands exchange that producers may write to.
    let forged = Command {
        meta: CommandMeta {
            job_id: job,
            message_id: MessageId::for_job(job, "offset/1998000"),
            connection: DIVALTO.to_owned(),
        },
        body: CommandBody::OffsetPage(contract::OffsetPage {
            source: source.clone(),
            page: 2000,
            offset: contract::OffsetPage::offset_of(2000, 1000),
            limit: 1000,
            window: 2,
            max_pages: 100_000,
            started_at: DateTime::UNIX_EPOCH,
        }),
    };
    let outgoing = broker::Outgoing {
        target: broker::Target::Command(WorkerKind::FetchPage),
        ..broker::Outgoing::command(&forged, Vec::new())
    };
    app.broker
        .publisher()
        .publish(&outgoing)
        .await
        .expect("the commands exchange takes it");

    let mut events = first;
    events.extend(app.events.until_job_ends(EVENT_GAP).await);
    while !events
        .iter()
        .any(|envelope| matches!(envelope.event, Event::SyncCompleted(_)))
    {
        events.push(app.events.next(EVENT_GAP).await);
    }
    events.extend(app.events.try_next(Duration::from_millis(500)).await);
    let report = OffsetReport::from_events(&events);
    let [refused] = report.failures.as_slice() else {
        panic!("one refusal: {:?}", report.failures)
    };
    assert_eq!(refused.reason, FailureReason::InternalCommandFromOutside);
    assert_eq!(refused.command_id, Some(forged.meta.message_id));
    let dead = testkit::next_dead_letter(&mut dead_letters, EVENT_GAP).await;
    assert_eq!(
        dead.header(contract::DEAD_LETTER_REASON_HEADER),
        Some("internal_command_from_outside")
    );
    assert_eq!(report.ids(), article_ids(&app), "every record, once");
    assert!(report.repeated().is_empty());
    let [completed] = report.completions.as_slice() else {
        panic!("one completion")
    };
    assert_eq!(completed.records, 10_000);
    assert_eq!(consistency(completed).0, Consistency::Exact);
    app.shutdown().await;
}
