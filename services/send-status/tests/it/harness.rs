//! The real `send_status::run` under the test's own topology prefix (`testkit::WorkerApp`),
//! beside a sandbox on port 0.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use contract::{
    Command, CommandBody, CommandFailed, DossierRef, DsStatus, Event, JobId, StatusAction,
    StatusSent, WorkerKind,
};
use ds_client::{DsClient, DsEndpoint};
use rate_gate::RateGate;
use sandbox::ds::dataset::DossierState;
use sandbox::{Sandbox, SandboxConfig};
use testkit::WorkerApp;

/// The connection the defaults define for the sandbox's DS API.
pub(crate) const CONNECTION: &str = "sandbox";
/// The seeded démarche the dossiers are picked from.
pub(crate) const DEMARCHE: i64 = 4242;
/// Longest wait for a command's event.
pub(crate) const EVENT_GAP: Duration = Duration::from_secs(20);

/// The send-status worker under test beside its sandbox.
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

/// Starts the sandbox and one worker whose settings get `extra`.
pub(crate) async fn spawn_app(extra: &[(&str, &str)]) -> TestApp {
    let sandbox = Sandbox::start(
        SandboxConfig::default(),
        "127.0.0.1:0".parse().expect("address"),
    )
    .await
    .expect("sandbox starts");
    let settings = testkit::sandbox_settings(&sandbox.base_url(), extra);
    let app = WorkerApp::start(
        WorkerKind::SendStatus,
        settings,
        testkit::worker_run!(send_status::run),
    )
    .await;
    TestApp { sandbox, app }
}

/// What the worker reported for one command.
#[derive(Debug, Clone)]
pub(crate) enum Reported {
    Sent(StatusSent),
    Failed(CommandFailed),
}

impl Reported {
    pub(crate) fn sent(self) -> StatusSent {
        match self {
            Reported::Sent(sent) => sent,
            Reported::Failed(failed) => panic!("status.sent expected, got {failed:?}"),
        }
    }

    pub(crate) fn failed(self) -> CommandFailed {
        match self {
            Reported::Failed(failed) => failed,
            Reported::Sent(sent) => panic!("command.failed expected, got {sent:?}"),
        }
    }
}

impl TestApp {
    /// Publishes `command` and waits for what the worker reports about it.
    pub(crate) async fn run(&mut self, command: &Command) -> Reported {
        self.publish(command).await;
        let mut reports = self.reports(&[command.meta.job_id]).await;
        reports
            .remove(&command.meta.job_id)
            .expect("a report of the command")
    }

    /// Waits for one report of each of `jobs`.
    pub(crate) async fn reports(&mut self, jobs: &[JobId]) -> HashMap<JobId, Reported> {
        let mut reports = HashMap::new();
        while reports.len() < jobs.len() {
            let envelope = self.events.next(EVENT_GAP).await;
            let Some(job) = envelope.job_id.filter(|job| jobs.contains(job)) else {
                continue;
            };
            let report = match envelope.event {
                Event::StatusSent(sent) => Reported::Sent(sent),
                Event::CommandFailed(failed) => Reported::Failed(failed),
                other => panic!("unexpected event {other:?}"),
            };
            assert!(
                reports.insert(job, report).is_none(),
                "one report per job expected"
            );
        }
        reports
    }

    /// The `count` first visible dossiers of the seeded démarche in `state`, after
    /// skipping `skip` of them.
    pub(crate) fn dossiers_in(&self, state: DossierState, skip: usize, count: usize) -> Vec<u32> {
        let dataset = self.sandbox.dataset();
        let found: Vec<u32> = dataset
            .demarche(DEMARCHE)
            .expect("seeded démarche")
            .visible_dossiers()
            .filter(|dossier| dossier.state == state && dossier.pending_correction.is_none())
            .skip(skip)
            .take(count)
            .map(|dossier| u32::try_from(dossier.number).expect("a small number"))
            .collect();
        assert_eq!(found.len(), count, "enough dossiers in {state:?}");
        found
    }

    pub(crate) fn state_of(&self, dossier: u32) -> DossierState {
        self.sandbox
            .dataset()
            .dossier_state(i64::from(dossier))
            .expect("a visible dossier")
    }

    /// A DS client on the sandbox, as the worker's connection has it.
    pub(crate) fn client(&self) -> DsClient {
        let connection = self
            .settings
            .connections
            .get(CONNECTION)
            .expect("the sandbox connection");
        let settings::Credentials::Ds { token } = &connection.credentials else {
            panic!("the sandbox connection speaks ds");
        };
        let endpoint = DsEndpoint {
            base_url: connection.base_url.clone(),
            token: token.clone(),
            timeout: connection.request_timeout,
        };
        DsClient::new(endpoint, Arc::new(RateGate::local(connection.rate_limit))).expect("a client")
    }

    pub(crate) async fn shutdown(self) {
        self.app.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

/// The global id of a sandbox object: base64 of `<Type>-<number>`.
pub(crate) fn global_id(type_name: &str, number: i64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{type_name}-{number}"))
}

/// The instructeur every test acts as.
pub(crate) fn instructeur() -> String {
    global_id("Instructeur", 7001)
}

/// A `ds.status` command about dossier `number`, starting a job of its own.
pub(crate) fn status(number: u32, action: StatusAction) -> Command {
    status_of(
        DossierRef::Number(NonZeroU32::new(number).expect("non-zero")),
        action,
    )
}

/// A `ds.status` command about `dossier`, starting a job of its own.
pub(crate) fn status_of(dossier: DossierRef, action: StatusAction) -> Command {
    Command::start_job(
        CONNECTION,
        CommandBody::DsStatus(DsStatus {
            dossier,
            instructeur: instructeur(),
            action,
        }),
    )
}
