//! Publishing against a broker that stops answering.

use std::time::{Duration, Instant};

use broker::{Broker, BrokerError, Outgoing, Target, Topology, TopologyOptions};
use contract::{JobId, MessageId, WorkerKind};

#[tokio::test]
async fn a_publish_the_broker_never_confirms_fails_after_the_confirm_timeout() {
    let proxy = testkit::BrokerProxy::start().await;
    let topology = Topology::new(TopologyOptions {
        queue_expires: Some(testkit::QUEUE_EXPIRES),
        confirm_timeout: Duration::from_millis(500),
        ..TopologyOptions::named(testkit::unique_prefix())
    });
    let broker = Broker::connect(&proxy.amqp_url(), topology)
        .await
        .expect("the proxy forwards to the broker");
    broker
        .declare(&[WorkerKind::SendStatus])
        .await
        .expect("topology");
    let command = Outgoing {
        target: Target::Command(WorkerKind::SendStatus),
        message_id: MessageId::job_start(JobId::new_random()),
        kind: "test",
        body: b"{}".to_vec(),
        headers: Vec::new(),
        job_end: None,
    };
    broker
        .publisher()
        .publish(&command)
        .await
        .expect("confirmed while the broker answers");

    proxy.stall();
    let started = Instant::now();
    let stalled = tokio::time::timeout(
        Duration::from_secs(10),
        broker.publisher().publish(&command),
    )
    .await
    .expect("the publish gives up by itself");
    proxy.resume();

    assert!(
        matches!(stalled, Err(BrokerError::Unconfirmed { .. })),
        "{stalled:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
}
