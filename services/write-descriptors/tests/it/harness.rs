//! A sandbox, a worker (the real `run`) under its own topology prefix, and the events.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use broker::{Broker, Outgoing};
use contract::{
    ApidaeDelete, ApidaePut, Command, CommandBody, Descriptor, DescriptorsWritten, Event,
    EventEnvelope, ObjectDescriptors, ObjectRemovals, WorkerKind,
};
use sandbox::{Sandbox, SandboxConfig};
use testkit::EventLog;
use tokio_util::sync::CancellationToken;

/// The connection the defaults define for the sandbox's Apidae API.
pub(crate) const CONNECTION: &str = "sandbox_apidae";
/// Longest pause between two events of a running job.
pub(crate) const EVENT_GAP: Duration = Duration::from_secs(20);

pub(crate) struct TestApp {
    pub(crate) prefix: String,
    pub(crate) sandbox: Sandbox,
    pub(crate) broker: Broker,
    pub(crate) events: EventLog,
    shutdown: CancellationToken,
}

/// Starts the sandbox with `config`, and one worker whose settings get `extra`.
pub(crate) async fn spawn_app(config: SandboxConfig, extra: &[(&str, &str)]) -> TestApp {
    telemetry::init_for_tests();
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sandbox starts");
    let prefix = testkit::unique_prefix();
    let mut env = vec![
        ("AMQP_URL".to_owned(), testkit::amqp_url()),
        ("REDIS_URL".to_owned(), testkit::redis_url()),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__BASE_URL".to_owned(),
            format!("{}/apidae", sandbox.base_url()),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__TOKEN_URL".to_owned(),
            format!("{}/apidae/oauth/token", sandbox.base_url()),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__RATE_LIMIT__REQUESTS".to_owned(),
            "1000".to_owned(),
        ),
        (
            "ESTAFETTE__WORKER__TRANSIENT_RETRY_DELAY_SECONDS".to_owned(),
            "0.05".to_owned(),
        ),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = settings::Settings::load(None, env).expect("test settings are valid");
    let broker = testkit::connect(&prefix).await;
    broker
        .declare(&[WorkerKind::WriteDescriptors])
        .await
        .expect("topology");
    let events = EventLog::subscribe(&broker).await;
    let worker_broker = testkit::connect(&prefix).await;
    let store = testkit::job_store(&prefix).await;
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        write_descriptors::run(&settings, &worker_broker, &store, token)
            .await
            .expect("worker runs");
        worker_broker.close(Duration::from_secs(1)).await;
    });
    TestApp {
        prefix,
        sandbox,
        broker,
        events,
        shutdown,
    }
}

impl TestApp {
    pub(crate) async fn publish(&self, command: &Command) {
        self.broker
            .publisher()
            .publish(&Outgoing::command(command, Vec::new()))
            .await
            .expect("command confirmed");
    }

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
        self.shutdown.cancel();
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
