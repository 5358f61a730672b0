//! A durable queue of chosen events, read with acknowledgements: for a service that
//! must not lose an event between reading it and recording what it says.

use futures_util::StreamExt;
use lapin::{
    options::{BasicAckOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
};

use crate::{BrokerError, Incoming, Topology};

/// The durable quorum queue `<prefix>.<name>`, bound to some event types. What it
/// holds outlives its readers, their connections and a broker restart; every reader
/// of one name shares it, each event going to one of them.
pub struct EventQueue {
    consumer: lapin::Consumer,
    _channel: lapin::Channel,
}

/// One event taken off an [`EventQueue`]; the broker delivers it again (to this
/// reader or another) unless it is acknowledged.
pub struct EventDelivery {
    /// The event as it arrived.
    pub message: Incoming,
    acker: lapin::Acker,
}

impl EventDelivery {
    /// Removes the event from the queue, once what it says is recorded.
    pub async fn ack(self) -> Result<(), BrokerError> {
        self.acker
            .ack(BasicAckOptions::default())
            .await
            .map(drop)
            .map_err(BrokerError::Connection)
    }
}

impl EventQueue {
    pub(crate) async fn open(
        connection: &lapin::Connection,
        topology: &Topology,
        name: &str,
        bindings: &[&str],
        prefetch: u16,
    ) -> Result<Self, BrokerError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(BrokerError::Connection)?;
        let queue = topology.event_queue(name);
        let options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare(
                queue.as_str().into(),
                options,
                topology.durable_queue_arguments(),
            )
            .await
            .map_err(|source| BrokerError::Topology {
                what: format!("the event queue {queue}"),
                source,
            })?;
        let exchange = topology.events_exchange();
        for binding in bindings {
            channel
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    (*binding).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|source| BrokerError::Topology {
                    what: format!("binding {exchange} -> {queue} ({binding})"),
                    source,
                })?;
        }
        let consumer = crate::consumer::consume_with_acks(&channel, &queue, prefetch).await?;
        Ok(Self {
            consumer,
            _channel: channel,
        })
    }

    /// The next event, or `None` once the queue's channel or connection has ended.
    pub async fn next(&mut self) -> Option<EventDelivery> {
        let delivery = self.consumer.next().await?.ok()?;
        let (message, acker) = Incoming::from_delivery(delivery, None);
        Some(EventDelivery { message, acker })
    }
}
