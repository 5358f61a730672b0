//! Browsing, replaying and purging the dead letters, of both sorts: copies a worker
//! made, and commands the broker dead-lettered after its delivery limit.

use std::num::NonZeroU32;
use std::time::{Duration, SystemTime};

use broker::dead_letter_queue::{DeadLetter, DeadLetterError, Replayed, Selector};
use broker::{Broker, BrokerError, Topology, TopologyOptions};
use contract::{
    ATTEMPT_HEADER, Command, CommandBody, DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_QUEUE_HEADER,
    DEAD_LETTER_REASON_HEADER, DsSync, TRACEPARENT_HEADER, WorkerKind,
};
use lapin::{
    BasicProperties,
    message::Delivery,
    options::{BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable},
};

/// The worker kind every test routes its commands to.
const WORKER: WorkerKind = WorkerKind::FetchPage;
/// Longest wait for the broker to do what it was asked.
const WITHIN: Duration = Duration::from_secs(10);
/// When the copies these tests make were dead-lettered.
const DEAD_LETTERED_AT: u64 = 1_700_000_000;

/// A declared topology, the [`Broker`] under test, and a raw channel that plays the
/// part of workers and of the worker kind's queue.
struct Rig {
    broker: Broker,
    topology: Topology,
    channel: lapin::Channel,
    _connection: lapin::Connection,
}

impl Rig {
    async fn start() -> Rig {
        Rig::with_delivery_limit(20).await
    }

    async fn with_delivery_limit(delivery_limit: u32) -> Rig {
        let topology = Topology::new(TopologyOptions {
            delivery_limit,
            queue_expires: Some(testkit::QUEUE_EXPIRES),
            ..TopologyOptions::named(testkit::unique_prefix())
        });
        let broker = Broker::connect(&testkit::amqp_url(), topology.clone())
            .await
            .expect("the test broker answers");
        broker.declare(&[WORKER]).await.expect("topology");
        let connection = lapin::Connection::connect(
            &testkit::amqp_url(),
            lapin::ConnectionProperties::default(),
        )
        .await
        .expect("the test broker answers");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm mode");
        Rig {
            broker,
            topology,
            channel,
            _connection: connection,
        }
    }

    /// Dead-letters `body` as a worker does: a copy to the dead-letter exchange with
    /// the reason, the attempt count and the queue in its headers.
    async fn worker_copy(&self, id: &str, reason: &str, routing_key: &str, body: &[u8]) {
        let headers = strings(&[
            (TRACEPARENT_HEADER, &traceparent(id)),
            (DEAD_LETTER_REASON_HEADER, reason),
            (DEAD_LETTER_DETAIL_HEADER, "the upstream said no"),
            (ATTEMPT_HEADER, "4"),
            (DEAD_LETTER_QUEUE_HEADER, &self.topology.work_queue(WORKER)),
        ]);
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_message_id(id.into())
            .with_type("dead-letter".into())
            .with_timestamp(DEAD_LETTERED_AT)
            .with_headers(headers);
        self.publish(&self.topology.dead_letters(), routing_key, body, properties)
            .await;
    }

    async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) {
        let confirmation = self
            .channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                properties,
            )
            .await
            .expect("published")
            .await
            .expect("confirmed");
        assert!(
            confirmation.is_ack() && confirmation.take_message().is_none(),
            "the test message was not routed"
        );
    }

    /// The next command waiting in the worker kind's queue, taken off it.
    async fn next_command(&self) -> Delivery {
        let deadline = tokio::time::Instant::now() + WITHIN;
        loop {
            let got = self
                .channel
                .basic_get(
                    self.topology.work_queue(WORKER).as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .expect("basic.get");
            if let Some(message) = got {
                return message.delivery;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no command came within {WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the worker kind's queue holds no command.
    async fn no_command_waits(&self) -> bool {
        self.channel
            .basic_get(
                self.topology.work_queue(WORKER).as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get")
            .is_none()
    }

    async fn browse(&self) -> Vec<DeadLetter> {
        testkit::dead_letter_list(&self.broker).await
    }
}

fn strings(pairs: &[(&str, &str)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in pairs {
        table.insert((*key).into(), AMQPValue::LongString((*value).into()));
    }
    table
}

fn traceparent(id: &str) -> String {
    format!("00-{:0>32}-00f067aa0ba902b7-01", id.len())
}

fn command() -> Command {
    Command::start_job(
        "sandbox",
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(4242).expect("non-zero"),
            updated_since: None,
            state: None,
        }),
    )
}

fn string_header(delivery: &Delivery, name: &str) -> Option<String> {
    match delivery.properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        other => panic!("header {name} is not a string: {other:?}"),
    }
}

/// The headers of a delivery, but for the count quorum queues add to every delivery.
fn header_names(delivery: &Delivery) -> Vec<String> {
    delivery
        .properties
        .headers()
        .as_ref()
        .map(|headers| {
            headers
                .inner()
                .keys()
                .map(ToString::to_string)
                .filter(|name| name != "x-delivery-count")
                .collect()
        })
        .unwrap_or_default()
}

fn ids(letters: &[DeadLetter]) -> Vec<&str> {
    letters.iter().map(|letter| letter.id.as_str()).collect()
}

#[tokio::test]
async fn browsing_reads_every_dead_letter_and_removes_none() {
    let rig = Rig::start().await;
    let first = command();
    rig.worker_copy(
        "a",
        "upstream_unauthorized",
        WORKER.as_str(),
        &first.to_json(),
    )
    .await;
    rig.worker_copy(
        "b",
        "retries_exhausted",
        WORKER.as_str(),
        &command().to_json(),
    )
    .await;
    rig.worker_copy("c", "invalid_body", WORKER.as_str(), b"\x00 not json")
        .await;

    let browsed = rig.browse().await;
    let browsed_again = rig.browse().await;

    assert_eq!(ids(&browsed), ["a", "b", "c"]);
    assert_eq!(ids(&browsed_again), ["a", "b", "c"]);
    let a = &browsed[0];
    assert_eq!(a.kind, "ds.sync");
    assert!(a.is_command);
    assert_eq!(a.reason, "upstream_unauthorized");
    assert_eq!(a.detail.as_deref(), Some("the upstream said no"));
    assert_eq!(a.attempts, 4);
    assert_eq!(
        a.queue.as_deref(),
        Some(rig.topology.work_queue(WORKER).as_str())
    );
    assert_eq!(
        a.dead_lettered_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(DEAD_LETTERED_AT))
    );
    assert_eq!(a.routing_key, WORKER.as_str());
    assert_eq!(a.body, first.to_json());
    let unreadable = &browsed[2];
    assert_eq!(unreadable.kind, "unreadable");
    assert!(!unreadable.is_command);
    assert_eq!(unreadable.body, b"\x00 not json");
}

#[tokio::test]
async fn an_empty_dead_letter_queue_browses_as_nothing() {
    let rig = Rig::start().await;

    assert!(rig.browse().await.is_empty());
    assert_eq!(
        rig.broker
            .replay_dead_letters(&Selector::All)
            .await
            .expect("replayed"),
        Replayed::default()
    );
}

#[tokio::test]
async fn a_replay_by_id_sends_that_command_back_with_its_trace_and_a_fresh_attempt_count() {
    let rig = Rig::start().await;
    let replayed = command();
    let id = replayed.meta.message_id.to_string();
    rig.worker_copy(
        &id,
        "upstream_unauthorized",
        WORKER.as_str(),
        &replayed.to_json(),
    )
    .await;
    rig.worker_copy(
        "other",
        "upstream_unauthorized",
        WORKER.as_str(),
        &command().to_json(),
    )
    .await;

    let outcome = rig
        .broker
        .replay_dead_letters(&Selector::Id(id.clone()))
        .await
        .expect("replayed");

    assert_eq!(
        outcome,
        Replayed {
            replayed: 1,
            not_commands: 0
        }
    );
    let sent = rig.next_command().await;
    assert_eq!(sent.data, replayed.to_json());
    assert_eq!(sent.routing_key.as_str(), WORKER.as_str());
    assert_eq!(
        sent.properties.message_id().as_ref().map(|id| id.as_str()),
        Some(id.as_str())
    );
    assert_eq!(
        sent.properties.kind().as_ref().map(|kind| kind.as_str()),
        Some("ds.sync")
    );
    assert_eq!(
        string_header(&sent, TRACEPARENT_HEADER),
        Some(traceparent(&id))
    );
    assert_eq!(header_names(&sent), [TRACEPARENT_HEADER]);
    assert!(rig.no_command_waits().await);
    assert_eq!(ids(&rig.browse().await), ["other"]);
}

#[tokio::test]
async fn a_walk_covers_what_the_queue_held_when_it_began() {
    let rig = Rig::start().await;
    let body = command().to_json();
    rig.worker_copy("a", "retries_exhausted", WORKER.as_str(), &body)
        .await;
    rig.worker_copy("b", "retries_exhausted", WORKER.as_str(), &body)
        .await;

    let mut walk = rig.broker.walk_dead_letters().await.expect("walk");
    let first = walk.next().await.expect("taken").expect("a letter");
    // Dead-lettered while the walk runs, as a replayed command that fails at once is.
    rig.worker_copy("late", "retries_exhausted", WORKER.as_str(), &body)
        .await;
    let second = walk.next().await.expect("taken").expect("a letter");
    let after = walk.next().await.expect("taken").map(|letter| letter.id);
    walk.finish().await;

    assert_eq!([first.id.as_str(), second.id.as_str()], ["a", "b"]);
    assert!(after.is_none(), "the walk went past its start: {after:?}");
    assert_eq!(ids(&rig.browse().await), ["a", "b", "late"]);
}

#[tokio::test]
async fn a_replay_by_reason_sends_back_only_the_dead_letters_of_that_reason() {
    let rig = Rig::start().await;
    for (id, reason) in [
        ("a", "upstream_unauthorized"),
        ("b", "retries_exhausted"),
        ("c", "upstream_unauthorized"),
    ] {
        rig.worker_copy(id, reason, WORKER.as_str(), &command().to_json())
            .await;
    }

    let outcome = rig
        .broker
        .replay_dead_letters(&Selector::Reason("upstream_unauthorized".into()))
        .await
        .expect("replayed");

    assert_eq!(outcome.replayed, 2);
    let mut sent = Vec::new();
    for _ in 0..2 {
        let delivery = rig.next_command().await;
        sent.push(
            delivery
                .properties
                .message_id()
                .clone()
                .expect("id")
                .to_string(),
        );
    }
    sent.sort();
    assert_eq!(sent, ["a", "c"]);
    assert!(rig.no_command_waits().await);
    assert_eq!(ids(&rig.browse().await), ["b"]);
}

#[tokio::test]
async fn a_replay_of_all_empties_the_queue_and_warns_of_what_is_no_command() {
    let rig = Rig::start().await;
    rig.worker_copy(
        "a",
        "upstream_unauthorized",
        WORKER.as_str(),
        &command().to_json(),
    )
    .await;
    rig.worker_copy("b", "invalid_body", WORKER.as_str(), b"not json")
        .await;

    let outcome = rig
        .broker
        .replay_dead_letters(&Selector::All)
        .await
        .expect("replayed");

    assert_eq!(
        outcome,
        Replayed {
            replayed: 2,
            not_commands: 1
        }
    );
    let readable = rig.next_command().await;
    let unreadable = rig.next_command().await;
    assert_eq!(unreadable.data, b"not json");
    assert_eq!(unreadable.properties.kind(), &None);
    assert!(readable.properties.kind().is_some());
    assert!(rig.browse().await.is_empty());
}

#[tokio::test]
async fn a_replay_no_queue_takes_leaves_its_dead_letter_in_place() {
    let rig = Rig::start().await;
    rig.worker_copy(
        "lost",
        "retries_exhausted",
        "no-such-worker",
        &command().to_json(),
    )
    .await;

    let outcome = rig.broker.replay_dead_letters(&Selector::All).await;

    match outcome {
        Err(DeadLetterError::ReplayStopped {
            replayed,
            source: BrokerError::Unconfirmed { .. },
        }) => assert_eq!(replayed, Replayed::default()),
        other => panic!("expected an unconfirmed replay, got {other:?}"),
    }
    let left = rig.browse().await;
    assert_eq!(ids(&left), ["lost"]);
    assert_eq!(
        left[0].reason, "retries_exhausted",
        "the dead letter is untouched"
    );
}

#[tokio::test]
async fn a_purge_by_reason_removes_only_those_and_a_full_purge_the_rest() {
    let rig = Rig::start().await;
    for (id, reason) in [
        ("a", "invalid_body"),
        ("b", "retries_exhausted"),
        ("c", "invalid_body"),
    ] {
        rig.worker_copy(id, reason, WORKER.as_str(), &command().to_json())
            .await;
    }

    let by_reason = rig
        .broker
        .purge_dead_letters(&Selector::Reason("invalid_body".into()))
        .await
        .expect("purged");
    let left = rig.browse().await;
    let everything = rig
        .broker
        .purge_dead_letters(&Selector::All)
        .await
        .expect("purged");

    assert_eq!(by_reason, 2);
    assert_eq!(ids(&left), ["b"]);
    assert_eq!(everything, 1);
    assert!(rig.browse().await.is_empty());
    assert!(rig.no_command_waits().await, "a purge replays nothing");
}

#[tokio::test]
async fn a_command_the_broker_dead_lettered_after_its_delivery_limit_lists_and_replays() {
    let rig = Rig::with_delivery_limit(1).await;
    let crashing = command();
    let id = crashing.meta.message_id.to_string();
    let properties = BasicProperties::default()
        .with_message_id(id.as_str().into())
        .with_type("ds.sync".into())
        .with_headers(strings(&[(TRACEPARENT_HEADER, &traceparent(&id))]));
    rig.publish(
        &rig.topology.commands_exchange(),
        WORKER.as_str(),
        &crashing.to_json(),
        properties,
    )
    .await;
    // A worker that crashes on it: every delivery goes back unsettled, until the
    // broker gives up on it.
    let work_queue = rig.topology.work_queue(WORKER);
    let mut deliveries = 0;
    let deadline = tokio::time::Instant::now() + WITHIN;
    let letters = loop {
        let letters = rig.browse().await;
        if !letters.is_empty() {
            break letters;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker did not dead-letter it within {WITHIN:?}"
        );
        if let Some(message) = rig
            .channel
            .basic_get(work_queue.as_str().into(), BasicGetOptions::default())
            .await
            .expect("basic.get")
        {
            deliveries += 1;
            message
                .delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
                .expect("nack");
        }
    };

    assert_eq!(deliveries, 2);
    let [letter] = letters.as_slice() else {
        panic!("one dead letter expected, got {letters:?}")
    };
    assert_eq!(letter.id, id);
    assert_eq!(letter.kind, "ds.sync");
    assert_eq!(letter.reason, "delivery_limit");
    assert_eq!(letter.queue.as_deref(), Some(work_queue.as_str()));
    assert_eq!(letter.routing_key, WORKER.as_str());
    assert!(letter.dead_lettered_at.is_some());
    assert_eq!(letter.deaths.len(), 1);

    let outcome = rig
        .broker
        .replay_dead_letters(&Selector::Id(letter.id.clone()))
        .await
        .expect("replayed");

    assert_eq!(outcome.replayed, 1);
    let sent = rig.next_command().await;
    assert_eq!(sent.data, crashing.to_json());
    assert_eq!(
        sent.properties.kind().as_ref().map(|kind| kind.as_str()),
        Some("ds.sync")
    );
    let names = header_names(&sent);
    assert!(
        names
            .iter()
            .all(|name| !name.starts_with("x-death") && !name.contains("-death-")),
        "the broker's dead-letter headers are dropped: {names:?}"
    );
    assert_eq!(
        string_header(&sent, TRACEPARENT_HEADER),
        Some(traceparent(&id))
    );
    assert!(rig.browse().await.is_empty());
}
