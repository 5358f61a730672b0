//! RabbitMQ plumbing: topology, confirmed publishing and the consumer loop.
//!
//! This is the only crate that imports lapin. Workers describe what a delivery
//! caused as an [`Outcome`]; this crate publishes it, waits for the broker's
//! confirms, and only then settles the delivery.

mod consumer;
mod message;
mod publisher;
mod subscription;
mod topology;

use std::time::Duration;

pub use consumer::{ConsumerOptions, Handler, run_consumer};
pub use message::{Incoming, Outcome, Outgoing, Settlement, Target};
pub use publisher::Publisher;
pub use subscription::Subscription;
pub use topology::{Topology, TopologyOptions};

/// A failure talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The connection could not be opened or was lost; restart the worker.
    #[error("broker connection failed")]
    Connection(#[source] lapin::Error),
    /// Declaring an exchange, a queue or a binding failed.
    #[error("could not declare {what}")]
    Topology {
        /// The object being declared.
        what: String,
        /// The broker's answer.
        #[source]
        source: lapin::Error,
    },
    /// A channel the worker needs was closed under it, or the broker cancelled its
    /// consumer; restart the worker.
    #[error("broker channel lost: {0}")]
    ChannelLost(&'static str),
    /// A publish was not confirmed; whatever caused it must not be acked.
    #[error("publish to {target} was not confirmed: {detail}")]
    Unconfirmed {
        /// Where the message was going.
        target: String,
        /// What went wrong.
        detail: String,
    },
}

/// An open connection to RabbitMQ with a confirming publisher channel.
pub struct Broker {
    connection: lapin::Connection,
    topology: Topology,
    publisher: Publisher,
}

impl Broker {
    /// Connects to `url` and opens the publisher channel in confirm mode.
    /// Nothing is declared yet: see [`Broker::declare`].
    pub async fn connect(url: &str, topology: Topology) -> Result<Broker, BrokerError> {
        let properties = lapin::ConnectionProperties::default()
            .with_connection_name(format!("estafette/{}", topology.prefix()).into());
        let connection = lapin::Connection::connect(url, properties)
            .await
            .map_err(BrokerError::Connection)?;
        let publisher = Publisher::open(&connection, topology.clone()).await?;
        Ok(Broker {
            connection,
            topology,
            publisher,
        })
    }

    /// Declares the shared exchanges, the dead letters and the queue of every
    /// given worker kind. Idempotent: running it again changes nothing.
    pub async fn declare(&self, workers: &[contract::WorkerKind]) -> Result<(), BrokerError> {
        self.topology.declare(&self.connection, workers).await
    }

    /// The names this broker uses.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A handle to the confirming publisher channel; cheap to clone.
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// Publishes `command` inside a producer span (OpenTelemetry's messaging
    /// conventions) that starts the job's trace, or continues the current one; the
    /// message carries the span's context, so every worker's span joins it.
    pub async fn publish_command(&self, command: &contract::Command) -> Result<(), BrokerError> {
        use tracing::Instrument as _;
        let exchange = self.topology.commands_exchange();
        let span = tracing::info_span!(
            "publish",
            otel.name = %format_args!("publish {exchange}"),
            otel.kind = "producer",
            messaging.system = "rabbitmq",
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.destination.name = %exchange,
            messaging.rabbitmq.destination.routing_key = command.body.worker().as_str(),
            messaging.message.id = %command.meta.message_id,
            job_id = %command.meta.job_id,
        );
        async {
            let headers = telemetry::propagation::inject_current();
            self.publisher
                .publish(&Outgoing::command(command, headers))
                .await
        }
        .instrument(span)
        .await
    }

    /// Binds a new private queue to the events exchange with `binding`
    /// (`#`, `sync.completed`, …), to follow what workers report.
    pub async fn subscribe_events(&self, binding: &str) -> Result<Subscription, BrokerError> {
        Subscription::events(&self.connection, &self.topology, binding).await
    }

    /// Reads the dead-letter queue, message by message.
    pub async fn dead_letters(&self) -> Result<Subscription, BrokerError> {
        Subscription::dead_letters(&self.connection, &self.topology).await
    }

    /// Closes the connection politely (200 OK), waiting at most `grace`.
    pub async fn close(self, grace: Duration) {
        let closing = self.connection.close(200, "worker shutting down".into());
        if let Ok(Err(error)) = tokio::time::timeout(grace, closing).await {
            tracing::debug!(%error, "broker connection was already closed");
        }
    }
}
