//! Exchange and queue names, and their idempotent declaration.

use std::time::Duration;

use contract::{JobId, WorkerKind};
use lapin::{
    ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

use crate::{BrokerError, Target};

/// How the topology is named and shaped.
#[derive(Debug, Clone)]
pub struct TopologyOptions {
    /// Prefix of every exchange and queue name; tests use a unique one each.
    pub prefix: String,
    /// Deliveries after which the broker dead-letters a message on its own
    /// (quorum queues only): the backstop against crash loops.
    pub delivery_limit: u32,
    /// Drop a queue that has had no consumer for this long (for test topologies).
    /// Delay queues carry it in their name too, so that replicas configured with and
    /// without it never declare the same queue with different arguments.
    pub queue_expires: Option<Duration>,
    /// How long a publish waits for the broker's confirm before it counts as not
    /// confirmed (a broker that blocks publishers must not hold handlers forever).
    pub confirm_timeout: Duration,
}

impl TopologyOptions {
    /// Production shape: durable queues that never expire, 20 deliveries at most.
    pub fn named(prefix: impl Into<String>) -> Self {
        TopologyOptions {
            prefix: prefix.into(),
            delivery_limit: 20,
            queue_expires: None,
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
        }
    }
}

/// How long a publish waits for its confirm unless the options say otherwise.
const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a message goes on the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'t> {
    /// The exchange it is published to.
    pub exchange: String,
    /// Its routing key: the worker kind of a command, the type of an event.
    pub routing_key: &'t str,
    /// Whether a message no queue receives is an error (commands) or dropped (events).
    pub mandatory: bool,
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

    /// How long a publish waits for the broker's confirm.
    pub fn confirm_timeout(&self) -> Duration {
        self.options.confirm_timeout
    }

    /// The durable quorum queue `<prefix>.<name>` of a service that reads chosen events
    /// with acknowledgements (see [`crate::Broker::event_queue`]).
    pub fn event_queue(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix())
    }

    /// The durable direct exchange producers publish start commands to.
    pub fn commands_exchange(&self) -> String {
        format!("{}.commands", self.options.prefix)
    }

    /// The durable direct exchange only workers publish to: the page and chunk
    /// commands of the jobs they started, and every retry coming back from a delay
    /// queue. It routes to the same work queues as the commands exchange; a worker
    /// refuses a page or chunk command that did not come through it.
    pub fn internal_exchange(&self) -> String {
        format!("{}.internal", self.options.prefix)
    }

    /// Where a message for `target` is published.
    pub fn route<'t>(&self, target: &'t Target) -> Route<'t> {
        match target {
            Target::Command(worker) => Route {
                exchange: self.commands_exchange(),
                routing_key: worker.as_str(),
                mandatory: true,
            },
            Target::Internal(worker) => Route {
                exchange: self.internal_exchange(),
                routing_key: worker.as_str(),
                mandatory: true,
            },
            Target::Event(event_type) => Route {
                exchange: self.events_exchange(),
                routing_key: event_type,
                mandatory: false,
            },
        }
    }

    /// The durable topic exchange events are published to.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.options.prefix)
    }

    /// The fanout exchange that receives dead letters, and the queue behind it.
    pub fn dead_letters(&self) -> String {
        format!("{}.dead-letters", self.options.prefix)
    }

    /// The queue that gathers the events while someone follows `job`.
    pub fn follow_queue(&self, job: JobId) -> String {
        format!("{}.follow.{job}", self.options.prefix)
    }

    /// The queue a worker kind consumes.
    pub fn work_queue(&self, worker: WorkerKind) -> String {
        format!("{}.{}", self.options.prefix, worker.as_str())
    }

    /// The delay queue where a command for `routing_key` waits `after`: one per worker
    /// kind and power-of-two rung of 100 ms (100 ms, 200 ms, 400 ms, …), the largest
    /// rung not above `after`. Each copy carries its own expiration, so a queue holds
    /// copies waiting between its rung and twice it; as a queue only lets the copy at
    /// its head expire, a copy waits at least `after` and less than twice its rung.
    /// A few queues per kind, declared on first use and kept: no queue expiry can
    /// delete one that holds a copy. Only a topology with `queue_expires` (tests,
    /// demos) lets them expire, and its delay queues say so in their name
    /// (`….100ms.expires-600s`): a queue's name fixes its arguments, so replicas
    /// with other settings use other queues instead of closing each other's channel
    /// with a conflicting declaration.
    pub fn delay_queue(&self, routing_key: &str, after: Duration) -> String {
        let name = format!(
            "{}.delay.{routing_key}.{}ms",
            self.options.prefix,
            delay_rung(after).as_millis()
        );
        match self.options.queue_expires {
            Some(expires) => format!("{name}.expires-{}s", expires.as_secs()),
            None => name,
        }
    }

    /// Declares the delay queue for `routing_key` and `after` on `channel`, returning
    /// its name: a quorum queue whose expired copies are dead-lettered, at least once,
    /// to the internal exchange under `routing_key`, back to the work queue.
    pub(crate) async fn declare_delay_queue(
        &self,
        channel: &lapin::Channel,
        routing_key: &str,
        after: Duration,
    ) -> Result<String, BrokerError> {
        let queue = self.delay_queue(routing_key, after);
        let mut arguments = FieldTable::default();
        let mut text = |key: &str, value: &str| {
            arguments.insert(key.into(), AMQPValue::LongString(value.into()));
        };
        text("x-queue-type", "quorum");
        text("x-dead-letter-exchange", &self.internal_exchange());
        text("x-dead-letter-routing-key", routing_key);
        text("x-dead-letter-strategy", "at-least-once");
        text("x-overflow", "reject-publish");
        if let Some(expires) = self.options.queue_expires {
            let millis = i64::try_from(expires.as_millis()).unwrap_or(i64::MAX);
            arguments.insert("x-expires".into(), AMQPValue::LongLongInt(millis));
        }
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
            (self.internal_exchange(), ExchangeKind::Direct),
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
            bind(&channel, &queue, &self.internal_exchange(), worker.as_str()).await?;
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

/// The rung of the shortest delays.
const SHORTEST_DELAY: Duration = Duration::from_millis(100);

/// The largest `SHORTEST_DELAY × 2^k` not above `after` (at least `SHORTEST_DELAY`).
fn delay_rung(after: Duration) -> Duration {
    let mut rung = SHORTEST_DELAY;
    while rung * 2 <= after {
        rung *= 2;
    }
    rung
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
    fn delays_share_a_queue_per_power_of_two_rung_of_100_ms() {
        let cases = [
            (0, 100),
            (99, 100),
            (199, 100),
            (200, 200),
            (2_345, 1_600),
            (60_000, 51_200),
            (65_000, 51_200),
            (110_000, 102_400),
        ];
        for (millis, rung) in cases {
            assert_eq!(
                delay_rung(Duration::from_millis(millis)),
                Duration::from_millis(rung),
                "{millis} ms"
            );
        }
    }

    #[test]
    fn delay_queues_are_named_by_routing_key_and_rung() {
        let topology = Topology::new(TopologyOptions::named("p"));
        let name = topology.delay_queue("fetch-page", Duration::from_millis(2_345));
        assert_eq!(name, "p.delay.fetch-page.1600ms");
    }

    #[test]
    fn expiring_delay_queues_never_share_a_name_with_lasting_ones() {
        let expiring = |seconds| {
            Topology::new(TopologyOptions {
                queue_expires: Some(Duration::from_secs(seconds)),
                ..TopologyOptions::named("p")
            })
            .delay_queue("fetch-page", Duration::from_millis(100))
        };
        assert_eq!(expiring(600), "p.delay.fetch-page.100ms.expires-600s");
        assert_ne!(expiring(600), expiring(60));
        let lasting = Topology::new(TopologyOptions::named("p"));
        assert_ne!(
            expiring(600),
            lasting.delay_queue("fetch-page", Duration::from_millis(100))
        );
    }
}
