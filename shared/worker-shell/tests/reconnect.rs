//! A worker whose broker connection drops reconnects, redeclares and consumes again;
//! one that cannot reach the broker for longer than its setting gives up.
//!
//! The worker reaches the broker through a [`testkit::BrokerProxy`], so cutting its
//! connection touches nothing another test uses.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use broker::{BrokerError, Handler, Incoming, Outcome, Outgoing, Publisher, Target};
use contract::{JobId, MessageId, WorkerKind};
use settings::Settings;
use tokio_util::sync::CancellationToken;

/// Acks every delivery, remembering its message id.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<HashSet<String>>>,
}

impl Recorder {
    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Handler for Recorder {
    async fn handle(&self, message: &Incoming, _publisher: &Publisher) -> Outcome {
        let id = message.message_id.clone().unwrap_or_default();
        self.seen.lock().unwrap().insert(id);
        Outcome::ack(Vec::new())
    }
}

fn command() -> Outgoing {
    Outgoing {
        target: Target::Command(WorkerKind::SendStatus),
        message_id: MessageId::job_start(JobId::new_random()),
        kind: "test",
        body: b"{}".to_vec(),
        headers: Vec::new(),
        job_end: None,
    }
}

fn settings(prefix: &str, amqp_url: &str, reconnect_timeout_seconds: &str) -> Settings {
    let env = [
        ("AMQP_URL", amqp_url),
        ("ESTAFETTE__BROKER__PREFIX", prefix),
        ("ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS", "600"),
        (
            "ESTAFETTE__BROKER__RECONNECT_TIMEOUT_SECONDS",
            reconnect_timeout_seconds,
        ),
    ];
    Settings::load(
        None,
        env.map(|(key, value)| (key.to_owned(), value.to_owned())),
    )
    .expect("valid settings")
}

async fn eventually(what: &str, within: Duration, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_dropped_connection_is_reestablished_and_consuming_resumes() {
    let prefix = testkit::unique_prefix();
    let proxy = testkit::BrokerProxy::start().await;
    let settings = settings(&prefix, &proxy.amqp_url(), "60");
    let recorder = Recorder::default();
    let shutdown = CancellationToken::new();
    let worker = {
        let (settings, recorder, shutdown) = (settings.clone(), recorder.clone(), shutdown.clone());
        let broker = broker::Broker::connect(&proxy.amqp_url(), testkit::test_topology(&prefix))
            .await
            .expect("the proxy forwards to the broker");
        tokio::spawn(async move {
            worker_shell::consume(
                &settings,
                &broker,
                WorkerKind::SendStatus,
                recorder,
                shutdown,
            )
            .await
        })
    };
    let driver = testkit::connect(&prefix).await;
    driver
        .declare(&[WorkerKind::SendStatus])
        .await
        .expect("declared");
    let publisher = driver.publisher();
    for _ in 0..10 {
        publisher.publish(&command()).await.expect("confirmed");
    }
    eventually("the first ten", Duration::from_secs(10), || {
        recorder.count() == 10
    })
    .await;

    proxy.cut();
    for _ in 0..10 {
        publisher
            .publish(&command())
            .await
            .expect("queued while the worker is away");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(recorder.count(), 10, "nothing is consumed while cut off");
    assert!(!worker.is_finished(), "the worker waits for the broker");
    proxy.restore().await;

    eventually(
        "the ten sent while cut off",
        Duration::from_secs(20),
        || recorder.count() == 20,
    )
    .await;
    shutdown.cancel();
    worker
        .await
        .expect("the worker task ends")
        .expect("a worker that reconnected stops cleanly");
}

#[tokio::test]
async fn a_broker_unreachable_for_longer_than_the_timeout_ends_the_worker() {
    let prefix = testkit::unique_prefix();
    let proxy = testkit::BrokerProxy::start().await;
    let settings = settings(&prefix, &proxy.amqp_url(), "2");
    let broker = broker::Broker::connect(&proxy.amqp_url(), testkit::test_topology(&prefix))
        .await
        .expect("the proxy forwards to the broker");
    let worker = tokio::spawn(async move {
        worker_shell::consume(
            &settings,
            &broker,
            WorkerKind::SendStatus,
            Recorder::default(),
            CancellationToken::new(),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();

    let ended = tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("the worker gives up")
        .expect("the worker task ends");
    assert!(
        matches!(ended, Err(BrokerError::Unreachable { .. })),
        "{ended:?}"
    );
}

/// Holds each delivery until the gate opens, then publishes one event for it through
/// the publisher it was handed, and counts the publishes the broker confirmed.
#[derive(Clone)]
struct GatedRelay {
    gate: tokio::sync::watch::Receiver<bool>,
    deliveries: Arc<Mutex<usize>>,
    confirmed: Arc<Mutex<usize>>,
}

impl Handler for GatedRelay {
    async fn handle(&self, message: &Incoming, publisher: &Publisher) -> Outcome {
        *self.deliveries.lock().unwrap() += 1;
        let mut gate = self.gate.clone();
        gate.wait_for(|open| *open).await.expect("the gate stays");
        let event = Outgoing {
            target: Target::Event("relayed"),
            message_id: MessageId::job_start(JobId::new_random()),
            kind: "relayed",
            body: message.body.clone(),
            headers: Vec::new(),
            job_end: None,
        };
        if publisher.publish(&event).await.is_ok() {
            *self.confirmed.lock().unwrap() += 1;
        }
        Outcome::ack(Vec::new())
    }
}

#[tokio::test]
async fn a_handler_whose_delivery_was_lost_never_publishes_on_the_next_connection() {
    let prefix = testkit::unique_prefix();
    let proxy = testkit::BrokerProxy::start().await;
    let settings = settings(&prefix, &proxy.amqp_url(), "60");
    let (open_gate, gate) = tokio::sync::watch::channel(false);
    let relay = GatedRelay {
        gate,
        deliveries: Arc::default(),
        confirmed: Arc::default(),
    };
    let shutdown = CancellationToken::new();
    let worker = {
        let (settings, relay, shutdown) = (settings.clone(), relay.clone(), shutdown.clone());
        let broker = broker::Broker::connect(&proxy.amqp_url(), testkit::test_topology(&prefix))
            .await
            .expect("the proxy forwards to the broker");
        tokio::spawn(async move {
            worker_shell::consume(&settings, &broker, WorkerKind::SendStatus, relay, shutdown).await
        })
    };
    let driver = testkit::connect(&prefix).await;
    driver
        .declare(&[WorkerKind::SendStatus])
        .await
        .expect("declared");
    let mut relayed = driver
        .subscribe_events("relayed")
        .await
        .expect("subscribed");
    driver
        .publisher()
        .publish(&command())
        .await
        .expect("confirmed");
    let deliveries = || *relay.deliveries.lock().unwrap();
    eventually("the first delivery", Duration::from_secs(10), || {
        deliveries() == 1
    })
    .await;

    // The connection drops while the handler holds the delivery; the broker gives it
    // back and the worker, reconnected, takes it again.
    proxy.cut();
    proxy.restore().await;
    eventually("the redelivery", Duration::from_secs(20), || {
        deliveries() == 2
    })
    .await;
    open_gate.send(true).expect("the handlers listen");

    let first = tokio::time::timeout(Duration::from_secs(10), relayed.next())
        .await
        .expect("the redelivery's event comes")
        .expect("the subscription stays");
    let second = tokio::time::timeout(Duration::from_secs(2), relayed.next()).await;
    assert!(
        second.is_err(),
        "only the redelivery's handler published; the lost one's did not"
    );
    assert_eq!(first.body, b"{}");
    assert_eq!(*relay.confirmed.lock().unwrap(), 1);
    shutdown.cancel();
    worker
        .await
        .expect("the worker task ends")
        .expect("the worker stops cleanly");
}
