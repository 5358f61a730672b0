//! Exchange and queue names, and their idempotent declaration.

use std::time::Duration;

use contract::WorkerKind;
use lapin::{
    ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

use crate::BrokerError;

/// How the topology is named and shaped.
#[derive(Debug, Clone)]
pub struct TopologyOptions {
    /// Prefix of every exchange and queue name; tests use a unique one each.
    pub prefix: String,
    /// Deliveries after which the broker dead-letters a message on its own
    /// (quorum queues only): the backstop against crash loops.
    pub delivery_limit: u32,
    /// Drop a queue that has had no consumer for this long (for test topologies).
    pub queue_expires: Option<Duration>,
}

impl TopologyOptions {
    /// Production shape: durable queues that never expire, 20 deliveries at most.
    pub fn named(prefix: impl Into<String>) -> Self {
        TopologyOptions {
            prefix: prefix.into(),
            delivery_limit: 20,
            queue_expires: None,
        }
    }
}

/// The names of everything Estafette declares on the broker.
#[derive(Debug, Clone)]
pub struct Topology {
    options: TopologyOptions,
}

impl Topology {
    /// Names derived from the options' prefix.
    pub fn new(options: TopologyOptions) -> Self {
        Topology { options }
    }

    /// The common prefix.
    pub fn prefix(&self) -> &str {
        &self.options.prefix
    }

    /// The durable direct exchange commands are published to.
    pub fn commands_exchange(&self) -> String {
        format!("{}.commands", self.options.prefix)
    }

    /// The durable topic exchange events are published to.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.options.prefix)
    }

    /// The fanout exchange that receives dead letters, and the queue behind it.
    pub fn dead_letters(&self) -> String {
        format!("{}.dead-letters", self.options.prefix)
    }

    /// The queue a worker kind consumes.
    pub fn work_queue(&self, worker: WorkerKind) -> String {
        format!("{}.{}", self.options.prefix, worker.as_str())
    }

    /// The delay queue that holds commands for `routing_key` for about `after`, and
    /// the exact hold: `after` rounded up to two significant digits of milliseconds
    /// (at least 100 ms), so that jittered delays share a few dozen queues per decade.
    pub fn delay_queue(&self, routing_key: &str, after: Duration) -> (String, Duration) {
        let hold = Duration::from_millis(round_up_to_two_digits(after.as_millis()));
        let name = format!(
            "{}.delay.{routing_key}.{}ms",
            self.options.prefix,
            hold.as_millis()
        );
        (name, hold)
    }

    /// Declares the delay queue for `routing_key` and `after` on `channel`, returning
    /// its name. A quorum queue whose messages expire after the hold and are then
    /// dead-lettered, at least once, to the commands exchange under `routing_key`:
    /// back to the work queue. It deletes itself once unused for twice the hold plus a
    /// minute; every copy published to it redeclares it first, so no copy outlives it.
    pub(crate) async fn declare_delay_queue(
        &self,
        channel: &lapin::Channel,
        routing_key: &str,
        after: Duration,
    ) -> Result<String, BrokerError> {
        let (queue, hold) = self.delay_queue(routing_key, after);
        let millis = |duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        let mut arguments = FieldTable::default();
        let mut text = |key: &str, value: &str| {
            arguments.insert(key.into(), AMQPValue::LongString(value.into()));
        };
        text("x-queue-type", "quorum");
        text("x-dead-letter-exchange", &self.commands_exchange());
        text("x-dead-letter-routing-key", routing_key);
        text("x-dead-letter-strategy", "at-least-once");
        text("x-overflow", "reject-publish");
        arguments.insert("x-message-ttl".into(), AMQPValue::LongLongInt(millis(hold)));
        let unused_for = hold * 2 + Duration::from_secs(60);
        arguments.insert(
            "x-expires".into(),
            AMQPValue::LongLongInt(millis(unused_for)),
        );
        let options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare(queue.as_str().into(), options, arguments)
            .await
            .map_err(|source| BrokerError::Topology {
                what: format!("delay queue {queue}"),
                source,
            })?;
        Ok(queue)
    }

    pub(crate) async fn declare(
        &self,
        connection: &lapin::Connection,
        workers: &[WorkerKind],
    ) -> Result<(), BrokerError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(BrokerError::Connection)?;
        let exchanges = [
            (self.commands_exchange(), ExchangeKind::Direct),
            (self.events_exchange(), ExchangeKind::Topic),
            (self.dead_letters(), ExchangeKind::Fanout),
        ];
        for (name, kind) in exchanges {
            let options = ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            };
            channel
                .exchange_declare(name.as_str().into(), kind, options, FieldTable::default())
                .await
                .map_err(|source| BrokerError::Topology {
                    what: format!("exchange {name}"),
                    source,
                })?;
        }
        self.declare_queue(connection, &self.dead_letters(), None)
            .await?;
        bind(&channel, &self.dead_letters(), &self.dead_letters(), "").await?;
        for worker in workers {
            let queue = self.work_queue(*worker);
            self.declare_queue(connection, &queue, Some(&self.dead_letters()))
                .await?;
            bind(&channel, &queue, &self.commands_exchange(), worker.as_str()).await?;
        }
        let _ = channel.close(200, "declared".into()).await;
        Ok(())
    }

    /// Declares a durable queue, quorum where the broker supports it. A broker that
    /// refuses quorum queues closes the channel, so each attempt gets its own.
    async fn declare_queue(
        &self,
        connection: &lapin::Connection,
        queue: &str,
        dead_letter_exchange: Option<&str>,
    ) -> Result<(), BrokerError> {
        let quorum = self.queue_arguments(dead_letter_exchange, true);
        match declare_durable(connection, queue, quorum).await {
            Ok(()) => Ok(()),
            Err(quorum_error) => {
                tracing::warn!(queue, error = %quorum_error, "quorum queue refused; declaring a classic queue");
                let classic = self.queue_arguments(dead_letter_exchange, false);
                declare_durable(connection, queue, classic)
                    .await
                    .map_err(|source| BrokerError::Topology {
                        what: format!("queue {queue}"),
                        source,
                    })
            }
        }
    }

    /// The arguments of a durable quorum queue with no dead-letter exchange, expiring
    /// like the work queues when the options say so.
    pub(crate) fn durable_queue_arguments(&self) -> FieldTable {
        self.queue_arguments(None, true)
    }

    fn queue_arguments(&self, dead_letter_exchange: Option<&str>, quorum: bool) -> FieldTable {
        let mut arguments = FieldTable::default();
        if quorum {
            arguments.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
            if dead_letter_exchange.is_some() {
                let limit = i64::from(self.options.delivery_limit);
                arguments.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(limit));
            }
        }
        if let Some(exchange) = dead_letter_exchange {
            arguments.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(exchange.into()),
            );
        }
        if let Some(expires) = self.options.queue_expires {
            let millis = i64::try_from(expires.as_millis()).unwrap_or(i64::MAX);
            arguments.insert("x-expires".into(), AMQPValue::LongLongInt(millis));
        }
        arguments
    }
}

/// `millis` rounded up to its two leading digits, and at least 100.
fn round_up_to_two_digits(millis: u128) -> u64 {
    let millis = u64::try_from(millis).unwrap_or(u64::MAX).max(100);
    let step = 10u64.pow(millis.ilog10() - 1);
    millis.div_ceil(step).saturating_mul(step)
}

async fn declare_durable(
    connection: &lapin::Connection,
    queue: &str,
    arguments: FieldTable,
) -> Result<(), lapin::Error> {
    let channel = connection.create_channel().await?;
    let options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(queue.into(), options, arguments)
        .await?;
    let _ = channel.close(200, "declared".into()).await;
    Ok(())
}

async fn bind(
    channel: &lapin::Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
) -> Result<(), BrokerError> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            routing_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|source| BrokerError::Topology {
            what: format!("binding {exchange} -> {queue}"),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_to_two_significant_digits_and_at_least_100_ms() {
        let cases = [
            (0, 100),
            (99, 100),
            (100, 100),
            (101, 110),
            (1_234, 1_300),
            (2_000, 2_000),
            (59_999, 60_000),
            (123_456, 130_000),
        ];
        for (millis, rounded) in cases {
            assert_eq!(round_up_to_two_digits(millis), rounded, "{millis} ms");
        }
    }

    #[test]
    fn delay_queues_are_named_by_routing_key_and_rounded_hold() {
        let topology = Topology::new(TopologyOptions::named("p"));
        let (name, hold) = topology.delay_queue("fetch-page", Duration::from_millis(2_345));
        assert_eq!(name, "p.delay.fetch-page.2400ms");
        assert_eq!(hold, Duration::from_millis(2_400));
    }
}
