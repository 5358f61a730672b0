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
