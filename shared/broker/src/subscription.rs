//! Reading events and dead letters, for people and tests following a job.

use std::time::Duration;

use contract::JobId;
use futures_util::StreamExt;
use lapin::{
    options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

use crate::{BrokerError, Incoming, Topology};

/// How long a job's follow queue outlives its last follower: a follower that lost
/// its connection, or a person who ran `estafette follow`, finds there every event
/// published meanwhile.
pub const FOLLOW_QUEUE_EXPIRES: Duration = Duration::from_secs(15 * 60);

/// The most a follow queue holds, every job's events together; past it the oldest
/// go first, so the newest (a job's end among them) are kept.
const FOLLOW_QUEUE_MAX_BYTES: i64 = 64 * 1024 * 1024;

/// A stream of messages taken off a queue (auto-acknowledged: reading removes them).
pub struct Subscription {
    consumer: lapin::Consumer,
    _channel: lapin::Channel,
}

impl Subscription {
    pub(crate) async fn events(
        connection: &lapin::Connection,
        topology: &Topology,
        binding: &str,
    ) -> Result<Self, BrokerError> {
        Self::private(connection, &topology.events_exchange(), binding).await
    }

    /// A private queue bound to the internal exchange with `worker`'s routing key: a
    /// copy of every page or chunk command the workers publish for that kind.
    #[cfg(feature = "testing")]
    pub(crate) async fn internal_commands(
        connection: &lapin::Connection,
        topology: &Topology,
        worker: contract::WorkerKind,
    ) -> Result<Self, BrokerError> {
        Self::private(connection, &topology.internal_exchange(), worker.as_str()).await
    }

    /// A private queue bound to the commands exchange with `worker`'s routing key: a
    /// copy of every start command producers publish for that kind.
    #[cfg(feature = "testing")]
    pub(crate) async fn start_commands(
        connection: &lapin::Connection,
        topology: &Topology,
        worker: contract::WorkerKind,
    ) -> Result<Self, BrokerError> {
        Self::private(connection, &topology.commands_exchange(), worker.as_str()).await
    }

    /// A server-named queue of this connection alone, bound to `exchange` with
    /// `binding`, gone with the connection.
    async fn private(
        connection: &lapin::Connection,
        exchange: &str,
        binding: &str,
    ) -> Result<Self, BrokerError> {
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..Default::default()
        };
        Self::bound(
            connection,
            exchange,
            "",
            options,
            FieldTable::default(),
            binding,
        )
        .await
    }

    /// A durable quorum queue `<prefix>.<name>` bound to the events: what it gathers
    /// survives a broker restart and the subscriber's own absence, so a test can
    /// count every event of a run that restarts the broker.
    #[cfg(feature = "testing")]
    pub(crate) async fn durable_events(
        connection: &lapin::Connection,
        topology: &Topology,
        name: &str,
        binding: &str,
    ) -> Result<Self, BrokerError> {
        let queue = format!("{}.{name}", topology.prefix());
        let options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        let arguments = topology.durable_queue_arguments();
        let exchange = topology.events_exchange();
        Self::bound(connection, &exchange, &queue, options, arguments, binding).await
    }

    /// Declares `queue` (server-named when empty), binds it to `exchange` with
    /// `binding`, and reads it.
    async fn bound(
        connection: &lapin::Connection,
        exchange: &str,
        queue: &str,
        options: QueueDeclareOptions,
        arguments: FieldTable,
        binding: &str,
    ) -> Result<Self, BrokerError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(BrokerError::Connection)?;
        let queue = channel
            .queue_declare(queue.into(), options, arguments)
            .await
            .map_err(|source| BrokerError::Topology {
                what: "subscription queue".into(),
                source,
            })?;
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                binding.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|source| BrokerError::Topology {
                what: format!("binding {exchange} -> subscription"),
                source,
            })?;
        Self::consume(channel, queue.name().as_str()).await
    }

    /// The follow queue of `job` (see [`crate::Broker::follow_job`]): declared if
    /// `create`, else only found.
    pub(crate) async fn follow(
        connection: &lapin::Connection,
        topology: &Topology,
        job: JobId,
        create: bool,
    ) -> Result<Self, BrokerError> {
        let queue = topology.follow_queue(job);
        if !create {
            let channel = connection
                .create_channel()
                .await
                .map_err(BrokerError::Connection)?;
            let passive = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            channel
                .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                .await
                .map_err(|source| BrokerError::Topology {
                    what: format!("the follow queue {queue}"),
                    source,
                })?;
            return Self::consume(channel, &queue).await;
        }
        let options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        let expires = i64::try_from(FOLLOW_QUEUE_EXPIRES.as_millis()).unwrap_or(i64::MAX);
        arguments.insert("x-expires".into(), AMQPValue::LongLongInt(expires));
        arguments.insert(
            "x-max-length-bytes".into(),
            AMQPValue::LongLongInt(FOLLOW_QUEUE_MAX_BYTES),
        );
        arguments.insert(
            "x-overflow".into(),
            AMQPValue::LongString("drop-head".into()),
        );
        let exchange = topology.events_exchange();
        Self::bound(connection, &exchange, &queue, options, arguments, "#").await
    }

    pub(crate) async fn dead_letters(
        connection: &lapin::Connection,
        topology: &Topology,
    ) -> Result<Self, BrokerError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(BrokerError::Connection)?;
        Self::consume(channel, &topology.dead_letters()).await
    }

    async fn consume(channel: lapin::Channel, queue: &str) -> Result<Self, BrokerError> {
        let options = BasicConsumeOptions {
            no_ack: true,
            ..Default::default()
        };
        let consumer = channel
            .basic_consume(queue.into(), "".into(), options, FieldTable::default())
            .await
            .map_err(BrokerError::Connection)?;
        Ok(Subscription {
            consumer,
            _channel: channel,
        })
    }

    /// The next message, or `None` once the subscription or its connection has ended.
    pub async fn next(&mut self) -> Option<Incoming> {
        let delivery = self.consumer.next().await?.ok()?;
        Some(Incoming::from_delivery(delivery, None).0)
    }
}
