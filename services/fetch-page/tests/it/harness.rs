//! The real `fetch_page::run` under the test's own topology prefix (`testkit::WorkerApp`),
//! beside a sandbox on port 0.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    ops::{Deref, DerefMut},
    time::Duration,
};

use chrono::{DateTime, Utc};

use broker::{Outgoing, Subscription};
use contract::{
    Command, CommandBody, DsSync, Event, EventEnvelope, MessageId, PageSubject, WorkerKind,
};
use sandbox::{Sandbox, SandboxConfig};
use testkit::WorkerApp;

/// The seeded démarche with 2,350 dossiers and 40 deleted ones.
pub(crate) const DEMARCHE: u32 = 4242;
/// Longest pause between two events of a running sync.
pub(crate) const EVENT_GAP: Duration = Duration::from_secs(20);

/// The fetch-page worker under test beside its sandbox.
pub(crate) struct TestApp {
    pub(crate) sandbox: Sandbox,
    app: WorkerApp,
}

impl Deref for TestApp {
    type Target = WorkerApp;

    fn deref(&self) -> &WorkerApp {
        &self.app
    }
}

impl DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut WorkerApp {
        &mut self.app
    }
}

pub(crate) async fn spawn_app(config: SandboxConfig) -> TestApp {
    spawn_app_with(config, &[]).await
}

pub(crate) async fn spawn_app_with(config: SandboxConfig, extra: &[(&str, &str)]) -> TestApp {
    let mut app = spawn_app_without_worker_with(config, extra).await;
    app.start_worker().await;
    app
}

/// The topology, the sandbox and an event log, but no worker: the test starts its own.
pub(crate) async fn spawn_app_without_worker(config: SandboxConfig) -> TestApp {
    spawn_app_without_worker_with(config, &[]).await
}

pub(crate) async fn spawn_app_without_worker_with(
    config: SandboxConfig,
    extra: &[(&str, &str)],
) -> TestApp {
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sandbox starts");
    let settings = testkit::sandbox_settings(&sandbox.base_url(), extra);
    let app = WorkerApp::without_worker(
        WorkerKind::FetchPage,
        settings,
        testkit::worker_run!(fetch_page::run),
    )
    .await;
    TestApp { sandbox, app }
}

impl TestApp {
    pub(crate) async fn publish_raw(&self, body: &[u8]) {
        let outgoing = Outgoing {
            target: broker::Target::Command(WorkerKind::FetchPage),
            message_id: MessageId::for_unparsed(body),
            kind: "garbage",
            body: body.to_vec(),
            headers: Vec::new(),
            job_end: None,
        };
        self.broker
            .publisher()
            .publish(&outgoing)
            .await
            .expect("garbage confirmed");
    }

    pub(crate) async fn dead_letters(&self) -> Subscription {
        self.broker
            .dead_letters()
            .await
            .expect("dead letters readable")
    }

    pub(crate) async fn shutdown(self) {
        self.app.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

/// A sync command for the seeded démarche on the `sandbox` connection.
pub(crate) fn sync_command(updated_since: Option<DateTime<Utc>>) -> Command {
    sync_command_on("sandbox", updated_since)
}

pub(crate) fn sync_command_on(
    connection: &str,
    updated_since: Option<chrono::DateTime<chrono::Utc>>,
) -> Command {
    Command::start_job(
        connection,
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(DEMARCHE).expect("non-zero"),
            updated_since,
            state: None,
        }),
    )
}

/// The seeded démarche's dossier numbers, optionally only those updated since `since`.
pub(crate) fn seeded_dossiers(sandbox: &Sandbox, since: Option<DateTime<Utc>>) -> HashSet<i64> {
    let dataset = sandbox.dataset();
    let demarche = dataset
        .demarche(i64::from(DEMARCHE))
        .expect("seeded démarche");
    demarche
        .visible_dossiers()
        .filter(|d| since.is_none_or(|since| d.updated_at >= since))
        .map(|d| d.number)
        .collect()
}

/// The seeded démarche's numbers in a deletions `listing`, optionally only those
/// deleted since `since`.
pub(crate) fn seeded_deletions(
    sandbox: &Sandbox,
    listing: contract::Listing,
    since: Option<DateTime<Utc>>,
) -> HashSet<i64> {
    let dataset = sandbox.dataset();
    let demarche = dataset
        .demarche(i64::from(DEMARCHE))
        .expect("seeded démarche");
    let listed = match listing {
        contract::Listing::DeletedDossiers => &demarche.deleted_dossiers,
        contract::Listing::PendingDeletedDossiers => &demarche.pending_deleted_dossiers,
        contract::Listing::Dossiers => panic!("not a deletions listing"),
    };
    listed
        .iter()
        .filter(|d| since.is_none_or(|since| d.deleted_at >= since))
        .map(|d| d.number)
        .collect()
}

/// What a finished sync published, checked for duplicates on the way.
pub(crate) struct SyncReport {
    pub(crate) dossiers: HashMap<i64, u32>,
    pub(crate) deleted: HashMap<i64, u32>,
    pub(crate) pending_deleted: HashMap<i64, u32>,
    pub(crate) completions: Vec<contract::SyncCompleted>,
    pub(crate) page_events: usize,
}

impl SyncReport {
    /// Counts every record of every distinct `page.fetched` (events repeated under the
    /// same message id are at-least-once redeliveries and are counted once).
    pub(crate) fn from_events(events: &[EventEnvelope]) -> SyncReport {
        let mut seen = std::collections::HashSet::new();
        let mut report = SyncReport {
            dossiers: HashMap::new(),
            deleted: HashMap::new(),
            pending_deleted: HashMap::new(),
            completions: Vec::new(),
            page_events: 0,
        };
        for envelope in events {
            if !seen.insert(envelope.message_id) {
                continue;
            }
            match &envelope.event {
                Event::PageFetched(page) => {
                    report.page_events += 1;
                    let PageSubject::Ds { listing, .. } = page.subject else {
                        panic!("a démarche sync published an offset page")
                    };
                    let counts = match listing {
                        contract::Listing::Dossiers => &mut report.dossiers,
                        contract::Listing::DeletedDossiers => &mut report.deleted,
                        contract::Listing::PendingDeletedDossiers => &mut report.pending_deleted,
                    };
                    for record in &page.records {
                        let number = record.to_value()["number"]
                            .as_i64()
                            .expect("records carry their number");
                        *counts.entry(number).or_default() += 1;
                    }
                }
                Event::SyncCompleted(completed) => report.completions.push(completed.clone()),
                other => panic!("unexpected event in a démarche sync: {other:?}"),
            }
        }
        report
    }

    /// Every seeded dossier exactly once, and one completion.
    pub(crate) fn assert_complete_exactly_once(&self) {
        assert_eq!(self.dossiers.len(), 2_350, "every dossier arrived");
        assert!(
            self.duplicated_dossiers().is_empty(),
            "no dossier under two message ids"
        );
        assert_eq!(self.completions.len(), 1, "one sync.completed");
    }

    pub(crate) fn duplicated_dossiers(&self) -> Vec<i64> {
        self.dossiers
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| *k)
            .collect()
    }
}
