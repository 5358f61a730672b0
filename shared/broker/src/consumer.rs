//! The consumer loop: prefetch-bounded deliveries, one task each, settled only after
//! every publish they caused is confirmed; on shutdown, stop consuming and drain.
//!
//! Settlement verbs: `basic.ack` once what the handler decided is confirmed (its
//! publishes, and for a retry the copy in a delay queue, for a dead letter the copy
//! in the dead letters); `basic.nack(requeue)` when that could not be done (a panic,
//! an unconfirmed publish), which the quorum queue counts against its delivery limit.
//!
//! A handler publishes only on the channel generation its delivery came with: it is
//! handed a [`Publisher::pinned`] to the publisher channel of that moment. When the
//! connection or a channel is lost, the deliveries in flight go back to the queue
//! (the broker requeues what a closed channel held), so their handlers are cancelled
//! and waited for before this function returns: no handler of a lost delivery ever
//! publishes on the next connection, and each of those deliveries is handled again,
//! once, when it comes back.
//!
//! Each delivery is counted through `worker_metrics`: consumed and in flight from
//! receipt, then settled as acked, retried or dead-lettered (with its reason), or
//! `lost` when the settlement never reached the broker (the channel closed first:
//! the broker redelivers it). The job marks of its outcome are counted once it is
//! acked or dead-lettered.

use std::{future::Future, panic::AssertUnwindSafe, sync::Arc, time::Duration};

use contract::WorkerKind;
use futures_util::{FutureExt, StreamExt};
use lapin::{
    Acker,
    options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions},
    types::FieldTable,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use worker_metrics::{Delivery, JobMark, Settled};

use crate::{Broker, BrokerError, Incoming, Outcome, Publisher, Settlement};

/// How long a delivery whose handling or publishes failed waits before going back to its queue.
const REQUEUE_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Decides what a delivery causes. Implemented by each worker.
pub trait Handler: Send + Sync + 'static {
    /// Handles one delivery. Never fails: every failure is expressed as a [`Settlement`].
    /// Whatever the handler publishes itself before returning (records it must see
    /// confirmed before it records progress) goes through `publisher`, which is held
    /// to the channel the delivery came with.
    fn handle(
        &self,
        message: &Incoming,
        publisher: &Publisher,
    ) -> impl Future<Output = Outcome> + Send;
}

/// How a worker consumes its queue.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Which queue to consume.
    pub worker: WorkerKind,
    /// Unacknowledged deliveries the broker may hand over at once; also the
    /// bound on handlers running at once.
    pub prefetch: u16,
    /// How long in-flight handlers may run once shutdown is asked for.
    pub drain_grace: Duration,
}

/// Consumes `queue` on `channel` with acknowledgements, at most `prefetch` deliveries
/// unacknowledged.
pub(crate) async fn consume_with_acks(
    channel: &lapin::Channel,
    queue: &str,
    prefetch: u16,
) -> Result<lapin::Consumer, BrokerError> {
    channel
        .basic_qos(prefetch, Default::default())
        .await
        .map_err(BrokerError::Connection)?;
    channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(BrokerError::Connection)
}

/// Consumes the worker's queue until `shutdown` is cancelled or the connection fails.
///
/// On shutdown the consumer is cancelled first, so no new delivery arrives; handlers
/// in flight then get `drain_grace` to finish and settle. Anything not settled by
/// then goes back to the queue when the channel closes, so nothing is lost.
///
/// When the connection or a channel is lost, it cancels the handlers in flight, waits
/// for them to stop, and returns the error: their deliveries are already back in the
/// queue (the broker requeues whatever a closed channel held). The caller reconnects
/// and consumes again.
pub async fn run_consumer<H: Handler>(
    broker: &Broker,
    options: ConsumerOptions,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> Result<(), BrokerError> {
    let queue = broker.topology().work_queue(options.worker);
    let channel = broker.open_channel().await?;
    let mut consumer = consume_with_acks(&channel, &queue, options.prefetch).await?;
    tracing::info!(queue, prefetch = options.prefetch, "consuming");

    let tracker = TaskTracker::new();
    // Cancelled by a handler task that finds the publisher channel closed.
    let publisher_lost = CancellationToken::new();
    // Cancelled once the connection or a channel is lost: every handler still running
    // holds a delivery the broker has taken back.
    let abandon = CancellationToken::new();
    let outcome = loop {
        tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            () = publisher_lost.cancelled() => break Err(BrokerError::ChannelLost("the publisher channel closed")),
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    let received = Delivery::received();
                    let handler = Arc::clone(&handler);
                    let publisher = broker.publisher().pinned();
                    let shutdown = shutdown.clone();
                    let publisher_lost = publisher_lost.clone();
                    let abandon = abandon.clone();
                    let queue = queue.clone();
                    let internal_exchange = broker.topology().internal_exchange();
                    tracker.spawn(async move {
                        let processing = process(delivery, &internal_exchange, &queue, &*handler, &publisher, &shutdown, &publisher_lost);
                        let settled = tokio::select! {
                            settled = processing => settled,
                            () = abandon.cancelled() => Settled::Lost,
                        };
                        received.settle(settled);
                    });
                }
                Some(Err(error)) => break Err(BrokerError::Connection(error)),
                None => break Err(BrokerError::ChannelLost("the broker cancelled the consumer")),
            },
        }
    };

    tracker.close();
    if let Err(error) = outcome {
        // The broker has requeued what the lost channel held: stop those handlers
        // before anything consumes again, so none of them publishes on a later channel.
        abandon.cancel();
        tracker.wait().await;
        tracing::warn!(%error, "consumer lost; handlers in flight were stopped and their deliveries return to the queue");
        return Err(error);
    }
    if let Err(error) = channel
        .basic_cancel(consumer.tag(), BasicCancelOptions::default())
        .await
    {
        tracing::debug!(%error, "consumer was already cancelled");
    }
    if tokio::time::timeout(options.drain_grace, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?options.drain_grace, "handlers still running after the drain grace; their deliveries return to the queue");
    }
    let _ = channel.close(200, "consumer stopped".into()).await;
    Ok(())
}

/// Handles one delivery and settles it; whatever goes wrong, the delivery is either
/// settled or returned to its queue. Returns how it was settled.
async fn process<H: Handler>(
    delivery: lapin::message::Delivery,
    internal_exchange: &str,
    queue: &str,
    handler: &H,
    publisher: &Publisher,
    shutdown: &CancellationToken,
    publisher_lost: &CancellationToken,
) -> Settled {
    let (incoming, acker) = Incoming::from_delivery(delivery, Some(internal_exchange));
    let handled = AssertUnwindSafe(handler.handle(&incoming, publisher))
        .catch_unwind()
        .await;
    let Ok(outcome) = handled else {
        tracing::error!("the handler panicked; returning the delivery to its queue");
        return requeue_after(&acker, REQUEUE_AFTER_FAILURE, shutdown).await;
    };
    match settle(&incoming, queue, &acker, outcome, publisher).await {
        Ok(settled) => settled,
        Err(error) => {
            tracing::warn!(%error, "publishes were not confirmed; returning the delivery to its queue");
            if !publisher.is_usable() {
                publisher_lost.cancel();
            }
            requeue_after(&acker, REQUEUE_AFTER_FAILURE, shutdown).await
        }
    }
}

/// Publishes what the handler decided, waits for the confirms, then acks.
/// An error means the delivery was not settled: the caller returns it to its queue.
async fn settle(
    incoming: &Incoming,
    queue: &str,
    acker: &Acker,
    outcome: Outcome,
    publisher: &Publisher,
) -> Result<Settled, BrokerError> {
    publisher.publish_all(&outcome.publish).await?;
    let jobs = outcome.jobs;
    let settled = match outcome.settlement {
        Settlement::Ack => Settled::Acked,
        Settlement::DeadLetter { reason, detail } => {
            publisher
                .dead_letter(incoming, queue, reason, &detail)
                .await?;
            Settled::DeadLettered { reason }
        }
        Settlement::Retry { after } => {
            publisher.delay(incoming, after).await?;
            Settled::Retried
        }
    };
    let settled = reached(acker.ack(BasicAckOptions::default()).await, "ack", settled);
    if matches!(settled, Settled::Acked | Settled::DeadLettered { .. }) {
        jobs.iter().for_each(JobMark::record);
    }
    Ok(settled)
}

/// Holds the delivery for `after` (less if shutdown comes first), then returns it to
/// its queue, for a failure the handler could not express: a panic, or publishes
/// that were not confirmed.
async fn requeue_after(acker: &Acker, after: Duration, shutdown: &CancellationToken) -> Settled {
    tokio::select! {
        () = tokio::time::sleep(after) => {}
        () = shutdown.cancelled() => {}
    }
    let options = BasicNackOptions {
        requeue: true,
        ..Default::default()
    };
    reached(acker.nack(options).await, "nack", Settled::Retried)
}

/// `settled` if the settlement was handed to the broker, [`Settled::Lost`] if not:
/// lapin answers `Ok(false)` when the delivery's channel is already closed, and an
/// error when it closes under the call. Either way the broker redelivers the message.
fn reached(sent: Result<bool, lapin::Error>, verb: &str, settled: Settled) -> Settled {
    match sent {
        Ok(true) => settled,
        Ok(false) => {
            tracing::warn!(
                verb,
                "the delivery's channel is closed; the broker will redeliver this message"
            );
            Settled::Lost
        }
        Err(error) => {
            tracing::warn!(verb, %error, "settlement failed; the broker will redeliver this message");
            Settled::Lost
        }
    }
}
