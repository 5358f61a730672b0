//! The floor of Estafette's own plumbing: the same chain of hops through the `broker`
//! crate, with `run_consumer` and a handler whose outcome publishes the next hop as a
//! command to its own queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::{
    Broker, ConsumerOptions, Handler, Incoming, Outcome, Outgoing, Publisher, Settlement, Target,
    run_consumer,
};
use contract::{MessageId, WorkerKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;

use super::hop;

/// The queue the chain runs on, under the suite's own prefix.
const QUEUE: WorkerKind = WorkerKind::FetchPage;
/// Longest wait for a chain's last hop before it counts as broken.
const CHAIN_TIMEOUT: Duration = Duration::from_secs(120);

/// Relays every hop to the next, and reports the last one.
struct Relay {
    hops: u32,
    last: mpsc::UnboundedSender<()>,
}

impl Handler for Relay {
    async fn handle(&self, message: &Incoming, _publisher: &Publisher) -> Outcome {
        match hop::decode(&message.body) {
            Some(number) if number < self.hops => Outcome::ack(vec![hop_command(number + 1)]),
            Some(_) => {
                let _ = self.last.send(());
                Outcome::ack(Vec::new())
            }
            None => Outcome {
                publish: Vec::new(),
                settlement: Settlement::DeadLetter {
                    reason: "invalid_body",
                    detail: "not a hop".into(),
                },
                jobs: Vec::new(),
            },
        }
    }
}

/// Hop `number` as a command to [`QUEUE`].
fn hop_command(number: u32) -> Outgoing {
    let body = hop::encode(number);
    Outgoing {
        target: Target::Command(QUEUE),
        message_id: MessageId::for_unparsed(&body),
        kind: "floor.hop",
        body,
        headers: Vec::new(),
        job_end: None,
    }
}

/// Declares a topology under `prefix`, consumes its queue with prefetch 1, and times
/// `runs` chains of `hops` hops, one after the other.
pub(crate) async fn time_chains(
    url: &str,
    prefix: &str,
    hops: u32,
    runs: u32,
) -> Result<Vec<Duration>, BenchError> {
    let broker = Broker::connect(url, testkit::test_topology(prefix)).await?;
    broker.declare(&[QUEUE]).await?;
    let (last, mut lasts) = mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let options = ConsumerOptions {
        worker: QUEUE,
        prefetch: 1,
        drain_grace: Duration::from_secs(5),
    };
    let consumer = run_consumer(
        &broker,
        options,
        Arc::new(Relay { hops, last }),
        shutdown.clone(),
    );
    let chains = async {
        let timed = drive(&broker, &mut lasts, runs).await;
        shutdown.cancel();
        timed
    };
    let (consumed, timed) = tokio::join!(consumer, chains);
    broker.close(Duration::from_secs(1)).await;
    consumed?;
    timed
}

/// Starts each chain with hop 1 and waits for its last hop.
async fn drive(
    broker: &Broker,
    lasts: &mut mpsc::UnboundedReceiver<()>,
    runs: u32,
) -> Result<Vec<Duration>, BenchError> {
    let mut walls = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        let started = Instant::now();
        broker.publisher().publish(&hop_command(1)).await?;
        tokio::time::timeout(CHAIN_TIMEOUT, lasts.recv())
            .await
            .map_err(|_| BenchError::ChainBroken(format!("no last hop within {CHAIN_TIMEOUT:?}")))?
            .ok_or_else(|| BenchError::ChainBroken("the relay stopped".into()))?;
        walls.push(started.elapsed());
    }
    Ok(walls)
}
