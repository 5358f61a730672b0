//! The real `write_descriptors::run` under the test's own topology prefix
//! (`testkit::WorkerApp`), beside a sandbox on port 0.

use std::collections::{BTreeMap, HashSet};
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use contract::{
    ApidaeDelete, ApidaePut, Command, CommandBody, Descriptor, DescriptorsWritten, Event,
    EventEnvelope, ObjectDescriptors, ObjectRemovals, WorkerKind,
};
use sandbox::{Sandbox, SandboxConfig};
use testkit::WorkerApp;

/// The connection the defaults define for the sandbox's Apidae API.
pub(crate) const CONNECTION: &str = "sandbox_apidae";
/// Longest pause between two events of a running job.
pub(crate) const EVENT_GAP: Duration = Duration::from_secs(20);

/// The write-descriptors worker under test beside its sandbox.
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

/// Starts the sandbox with `config`, and one worker whose settings get `extra`.
pub(crate) async fn spawn_app(config: SandboxConfig, extra: &[(&str, &str)]) -> TestApp {
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sandbox starts");
    let settings = testkit::sandbox_settings(&sandbox.base_url(), extra);
    let app = WorkerApp::start(
        WorkerKind::WriteDescriptors,
        settings,
        testkit::worker_run!(write_descriptors::run),
    )
    .await;
    TestApp { sandbox, app }
}

impl TestApp {
    /// Publishes `command` and returns its events up to `descriptors.written`, or up to
    /// the `command.failed` of the command itself.
    pub(crate) async fn run(&mut self, command: &Command) -> Vec<EventEnvelope> {
        self.publish(command).await;
        self.events
            .until(EVENT_GAP, |event| match event {
                Event::DescriptorsWritten(_) => true,
                Event::CommandFailed(failed) => failed.command_id == Some(command.meta.message_id),
                _ => false,
            })
            .await
    }

    /// The first `n` objects the sandbox's Apidae knows.
    pub(crate) fn known_objects(&self, n: usize) -> Vec<u64> {
        self.sandbox
            .apidae()
            .known_objects()
            .into_iter()
            .take(n)
            .collect()
    }

    pub(crate) async fn shutdown(self) {
        self.app.shutdown().await;
        self.sandbox.shutdown().await;
    }
}

/// One descriptor per object: `name` with a French and an English text naming the id.
pub(crate) fn put(ids: &[u64], name: &str) -> Command {
    let objects = ids
        .iter()
        .map(|&id| ObjectDescriptors {
            id,
            descriptors: vec![Descriptor {
                technical_name: name.to_owned(),
                texts: BTreeMap::from([
                    ("fr".to_owned(), format!("Texte {id}")),
                    ("en".to_owned(), format!("Text {id}")),
                ]),
            }],
        })
        .collect();
    Command::start_job(CONNECTION, CommandBody::ApidaePut(ApidaePut { objects }))
}

/// Removes `names` from every object of `ids`.
pub(crate) fn delete(ids: &[u64], names: &[&str]) -> Command {
    let objects = ids
        .iter()
        .map(|&id| ObjectRemovals {
            id,
            technical_names: names.iter().map(|name| (*name).to_owned()).collect(),
        })
        .collect();
    Command::start_job(
        CONNECTION,
        CommandBody::ApidaeDelete(ApidaeDelete { objects }),
    )
}

/// The job's `descriptors.written`, which must be the last event and come once.
pub(crate) fn written(events: &[EventEnvelope]) -> DescriptorsWritten {
    let completions: Vec<_> = events
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::DescriptorsWritten(written) => Some(written.clone()),
            _ => None,
        })
        .collect();
    let [written] = completions.as_slice() else {
        panic!("one descriptors.written expected, got {events:?}")
    };
    written.clone()
}

/// The distinct message ids of `events`.
pub(crate) fn ids(events: &[EventEnvelope]) -> HashSet<contract::MessageId> {
    events.iter().map(|envelope| envelope.message_id).collect()
}
