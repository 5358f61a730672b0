//! Test harness shared by the integration tests: broker isolation, event collection, and
//! where the test broker and job store are.
//!
//! Every test gets its own topology prefix, so tests share nothing on the broker and
//! run in parallel. Every receive is bounded by a timeout. With no `AMQP_URL` or
//! `REDIS_URL` and a Docker engine answering, the broker and Redis are containers the
//! test process starts (see `containers`).

pub mod chaos;
mod containers;
mod proxy;
mod worker;

use std::time::Duration;

pub use proxy::BrokerProxy;
pub use worker::{
    RunningWorker, WorkerApp, WorkerRun, sandbox_settings, settings_from_toml, worker_parts,
};

use broker::{Broker, Incoming, Subscription, Topology, TopologyOptions};
use contract::{Event, EventEnvelope};

/// The broker the tests use: `AMQP_URL`; else a container this process started (see
/// `containers`); else the local default.
pub fn amqp_url() -> String {
    if let Some(url) = std::env::var("AMQP_URL").ok().filter(|url| !url.is_empty()) {
        return url;
    }
    match containers::broker() {
        Some(broker) => format!("amqp://guest:guest@127.0.0.1:{}/%2f", broker.port(5672)),
        None => "amqp://127.0.0.1:5672/%2f".to_owned(),
    }
}

/// The Redis server that keeps job state in tests: `REDIS_URL`; else a container this
/// process started; else the local default.
pub fn redis_url() -> String {
    if let Some(url) = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        return url;
    }
    match containers::redis() {
        Some(redis) => format!("redis://127.0.0.1:{}", redis.port(6379)),
        None => "redis://127.0.0.1:6379".to_owned(),
    }
}

/// Where the test broker's Prometheus plugin answers: its container's published port,
/// else `RABBITMQ_PROMETHEUS_ADDRESS`, else 127.0.0.1:15692.
pub fn rabbitmq_prometheus_address() -> String {
    match containers::broker() {
        Some(broker) => format!("127.0.0.1:{}", broker.port(15692)),
        None => std::env::var("RABBITMQ_PROMETHEUS_ADDRESS")
            .unwrap_or_else(|_| "127.0.0.1:15692".to_owned()),
    }
}

/// A job store under `prefix` on the test Redis, whose keys expire after ten minutes.
pub async fn job_store(prefix: &str) -> job_state::JobStore {
    let url = redis_url();
    job_state::JobStore::connect(&url.clone().into(), prefix, QUEUE_EXPIRES)
        .await
        .unwrap_or_else(|e| panic!("no Redis answers at {url} (set REDIS_URL): {e}"))
}

/// Removes every key of `job` under `namespace` from the test Redis, as a Redis
/// restarted without persistence would lose them; returns how many there were.
pub async fn lose_job_state(namespace: &str, job: contract::JobId) -> usize {
    let client = redis::Client::open(redis_url()).expect("REDIS_URL is a Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("the test Redis answers");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}:job:{}*", job.0))
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    for key in &keys {
        let _: i64 = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .expect("DEL");
    }
    keys.len()
}

/// Runs `rabbitmqctl` with `args` against the test broker's node: inside its
/// container when this process started one, else the local default, or the one named
/// in `ESTAFETTE_FAULTS_RABBITMQ_NODE` (passed as `-n`) when `AMQP_URL` points at
/// another.
pub fn rabbitmqctl(args: &[&str]) {
    let mut command = match containers::broker() {
        Some(broker) => {
            let mut command = std::process::Command::new("docker");
            command.args(["exec", &broker.id, "rabbitmqctl"]);
            command
        }
        None => std::process::Command::new("rabbitmqctl"),
    };
    if let Ok(node) = std::env::var("ESTAFETTE_FAULTS_RABBITMQ_NODE") {
        command.args(["-n", &node]);
    }
    let status = command
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("rabbitmqctl {args:?} cannot run: {e}"));
    assert!(status.success(), "rabbitmqctl {args:?}: {status}");
}

/// `AMQP_URL` with its credentials replaced by `user` and `password`.
pub fn amqp_url_as(user: &str, password: &str) -> String {
    let url = amqp_url();
    let (scheme, rest) = url.split_once("://").expect("AMQP_URL has a scheme");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

/// A topology prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

/// How long a test queue outlives its last consumer.
pub const QUEUE_EXPIRES: Duration = Duration::from_secs(600);

/// Topology options for a test: queues that vanish ten minutes after their last
/// consumer left, so a failed test leaves nothing behind for long.
pub fn test_topology(prefix: &str) -> Topology {
    Topology::new(TopologyOptions {
        queue_expires: Some(QUEUE_EXPIRES),
        ..TopologyOptions::named(prefix)
    })
}

/// A connection to the test broker under `prefix`.
pub async fn connect(prefix: &str) -> Broker {
    let url = amqp_url();
    Broker::connect(&url, test_topology(prefix))
        .await
        .unwrap_or_else(|e| panic!("no broker answers at {url} (set AMQP_URL): {e}"))
}

/// Every event of a test's topology, as the worker published them.
pub struct EventLog {
    subscription: Subscription,
}

impl EventLog {
    /// Subscribes to every event under the broker's prefix. Subscribe before
    /// publishing the command, or early events are missed.
    pub async fn subscribe(broker: &Broker) -> EventLog {
        let subscription = broker
            .subscribe_events("#")
            .await
            .expect("subscribe to events");
        EventLog { subscription }
    }

    /// The next event, failing the test if none comes within `within`.
    pub async fn next(&mut self, within: Duration) -> EventEnvelope {
        let message = tokio::time::timeout(within, self.subscription.next())
            .await
            .unwrap_or_else(|_| panic!("no event within {within:?}"))
            .expect("the event subscription ended");
        read_event(&message.body)
    }

    /// The next event if one comes within `within`.
    pub async fn try_next(&mut self, within: Duration) -> Option<EventEnvelope> {
        let message = tokio::time::timeout(within, self.subscription.next())
            .await
            .ok()??;
        Some(read_event(&message.body))
    }

    /// Events up to and including the first that ends a job, or tells of a failure:
    /// `sync.completed`, `descriptors.written`, `command.failed` or `job.failed`, each
    /// arriving within `gap` of the one before.
    pub async fn until_job_ends(&mut self, gap: Duration) -> Vec<EventEnvelope> {
        self.until(gap, |event| {
            matches!(
                event,
                Event::SyncCompleted(_)
                    | Event::DescriptorsWritten(_)
                    | Event::CommandFailed(_)
                    | Event::JobFailed(_)
            )
        })
        .await
    }

    /// Events up to and including the first one `last` accepts, each arriving within
    /// `gap` of the one before.
    pub async fn until(
        &mut self,
        gap: Duration,
        last: impl Fn(&Event) -> bool,
    ) -> Vec<EventEnvelope> {
        let mut events = Vec::new();
        loop {
            let event = self.next(gap).await;
            let ends = last(&event.event);
            events.push(event);
            if ends {
                return events;
            }
        }
    }
}

/// An event as a worker published it, checked against the event schema first: every
/// event an integration test reads is a sample of what the schema promises consumers.
fn read_event(body: &[u8]) -> EventEnvelope {
    let value: serde_json::Value = serde_json::from_slice(body).expect("events are JSON");
    assert_fits_event_schema(&value);
    serde_json::from_value(value).expect("events are valid envelopes")
}

/// Fails the test unless `event` fits the event schema (`docs/schemas/event.json`,
/// generated from the contract types, which a test keeps equal to the file).
pub fn assert_fits_event_schema(event: &serde_json::Value) {
    assert_fits_schema("event.json", event);
}

/// Fails the test unless `command` fits the schema of its kind
/// (`docs/schemas/commands/<kind>.json`).
pub fn assert_fits_command_schema(command: &serde_json::Value) {
    let kind = command["kind"].as_str().expect("a command names its kind");
    assert_fits_schema(&format!("commands/{kind}.json"), command);
}

/// Fails the test unless `message` fits the schema file at `path` under
/// `docs/schemas/`, formats included.
fn assert_fits_schema(path: &str, message: &serde_json::Value) {
    static VALIDATORS: std::sync::OnceLock<
        std::collections::HashMap<String, jsonschema::Validator>,
    > = std::sync::OnceLock::new();
    let validators = VALIDATORS.get_or_init(|| {
        contract::schema::schema_files()
            .into_iter()
            .map(|file| {
                let validator = jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&file.schema)
                    .unwrap_or_else(|error| panic!("{} compiles: {error}", file.path));
                (file.path, validator)
            })
            .collect()
    });
    let validator = validators
        .get(path)
        .unwrap_or_else(|| panic!("no schema docs/schemas/{path}"));
    let problems: Vec<String> = validator
        .iter_errors(message)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect();
    assert!(
        problems.is_empty(),
        "a message does not fit docs/schemas/{path}: {problems:?}\n{message}"
    );
}

/// Every dead letter of the broker's prefix, read through a walk that leaves them all
/// in the queue.
pub async fn dead_letter_list(broker: &Broker) -> Vec<broker::dead_letter_queue::DeadLetter> {
    let mut walk = broker
        .walk_dead_letters()
        .await
        .expect("the dead letters can be walked");
    let mut letters = Vec::new();
    while let Some(letter) = walk.next().await.expect("the next dead letter") {
        letters.push(letter);
    }
    walk.finish().await;
    letters
}

/// The next dead letter of the broker's prefix, failing the test if none comes in time.
pub async fn next_dead_letter(dead_letters: &mut Subscription, within: Duration) -> Incoming {
    tokio::time::timeout(within, dead_letters.next())
        .await
        .unwrap_or_else(|_| panic!("no dead letter within {within:?}"))
        .expect("the dead-letter subscription ended")
}
