//! The raw floor: a chain of hops on one durable quorum queue with lapin alone. Each
//! delivery publishes the next hop (persistent, mandatory) on a confirming channel,
//! waits for the confirm, then acks: the same broker work a page command costs.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};

use crate::error::BenchError;

use super::hop;

/// Longest wait for the next hop before the chain counts as broken.
const HOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A queue, a consumer on it and a confirming channel that feeds it.
pub(crate) struct RawChain {
    connection: Connection,
    publisher: Channel,
    consumer: Consumer,
    queue: String,
}

impl RawChain {
    /// Connects to `url` and declares the queue `<prefix>.floor`, quorum and durable,
    /// dropped ten minutes after its consumer left.
    pub(crate) async fn open(url: &str, prefix: &str) -> Result<RawChain, BenchError> {
        let connection = Connection::connect(url, ConnectionProperties::default()).await?;
        let publisher = connection.create_channel().await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let channel = connection.create_channel().await?;
        channel.basic_qos(1, BasicQosOptions::default()).await?;
        let queue = format!("{prefix}.floor");
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        let expires = i64::try_from(testkit::QUEUE_EXPIRES.as_millis()).unwrap_or(i64::MAX);
        arguments.insert("x-expires".into(), AMQPValue::LongLongInt(expires));
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.as_str().into(), durable, arguments)
            .await?;
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(RawChain {
            connection,
            publisher,
            consumer,
            queue,
        })
    }

    /// Sends hop 1 and relays every hop to the next until hop `hops` is acked; returns
    /// the time from the first publish to that ack.
    pub(crate) async fn run(&mut self, hops: u32) -> Result<Duration, BenchError> {
        let started = Instant::now();
        self.publish(1).await?;
        loop {
            let delivery = tokio::time::timeout(HOP_TIMEOUT, self.consumer.next())
                .await
                .map_err(|_| BenchError::ChainBroken(format!("no hop within {HOP_TIMEOUT:?}")))?
                .ok_or_else(|| {
                    BenchError::ChainBroken("the broker cancelled the consumer".into())
                })??;
            let number = hop::decode(&delivery.data)
                .ok_or_else(|| BenchError::ChainBroken("a message that is not a hop".into()))?;
            if number < hops {
                self.publish(number + 1).await?;
            }
            delivery.acker.ack(BasicAckOptions::default()).await?;
            if number >= hops {
                return Ok(started.elapsed());
            }
        }
    }

    /// Publishes hop `number` and waits for the broker's confirm.
    async fn publish(&self, number: u32) -> Result<(), BenchError> {
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let confirmation = self
            .publisher
            .basic_publish(
                "".into(),
                self.queue.as_str().into(),
                options,
                &hop::encode(number),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
        if confirmation.is_nack() || confirmation.take_message().is_some() {
            return Err(BenchError::ChainBroken(format!(
                "hop {number} was not confirmed"
            )));
        }
        Ok(())
    }

    /// Closes the connection politely.
    pub(crate) async fn close(self) {
        let _ = self.connection.close(200, "floor measured".into()).await;
    }
}
