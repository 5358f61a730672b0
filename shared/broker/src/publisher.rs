//! Publishing with publisher confirms: a publish counts only once the broker confirms it.

use futures_util::future::try_join_all;
use lapin::{
    BasicProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable, ShortString},
};

use contract::{DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_REASON_HEADER};

use crate::{BrokerError, Incoming, Outgoing, Target, Topology};

/// A channel in confirm mode. Clones share the channel.
#[derive(Clone)]
pub struct Publisher {
    channel: lapin::Channel,
    topology: Topology,
}

impl Publisher {
    pub(crate) async fn open(
        connection: &lapin::Connection,
        topology: Topology,
    ) -> Result<Self, BrokerError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(BrokerError::Connection)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(BrokerError::Connection)?;
        Ok(Publisher { channel, topology })
    }

    /// Publishes every message, then waits until the broker has confirmed all of them.
    pub async fn publish_all(&self, messages: &[Outgoing]) -> Result<(), BrokerError> {
        let mut pending = Vec::with_capacity(messages.len());
        for message in messages {
            let (exchange, routing_key, mandatory) = match &message.target {
                Target::Command(worker) => {
                    (self.topology.commands_exchange(), worker.as_str(), true)
                }
                Target::Event(event_type) => (self.topology.events_exchange(), *event_type, false),
            };
            let properties = json_properties(&message.message_id.to_string(), message.kind)
                .with_headers(string_headers(&message.headers));
            pending.push(self.send(exchange, routing_key, mandatory, &message.body, properties));
        }
        try_join_all(pending).await.map(drop)
    }

    /// Publishes one message and waits for its confirm.
    pub async fn publish(&self, message: &Outgoing) -> Result<(), BrokerError> {
        self.publish_all(std::slice::from_ref(message)).await
    }

    /// Copies a delivery to the dead letters with the reason in its headers.
    pub(crate) async fn dead_letter(
        &self,
        incoming: &Incoming,
        reason: &str,
        detail: &str,
    ) -> Result<(), BrokerError> {
        let mut headers = incoming.headers.clone();
        headers.retain(|(key, _)| {
            key != DEAD_LETTER_REASON_HEADER && key != DEAD_LETTER_DETAIL_HEADER
        });
        headers.push((DEAD_LETTER_REASON_HEADER.to_owned(), reason.to_owned()));
        headers.push((DEAD_LETTER_DETAIL_HEADER.to_owned(), detail.to_owned()));
        let message_id = incoming.message_id.as_deref().unwrap_or_default();
        let properties =
            json_properties(message_id, "dead-letter").with_headers(string_headers(&headers));
        let routing_key = incoming.routing_key.clone();
        self.send(
            self.topology.dead_letters(),
            &routing_key,
            true,
            &incoming.body,
            properties,
        )
        .await
    }

    async fn send(
        &self,
        exchange: String,
        routing_key: &str,
        mandatory: bool,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BrokerError> {
        let unconfirmed = |detail: String| BrokerError::Unconfirmed {
            target: format!("{exchange}/{routing_key}"),
            detail,
        };
        let options = BasicPublishOptions {
            mandatory,
            ..Default::default()
        };
        let confirmation = self
            .channel
            .basic_publish(
                exchange.as_str().into(),
                routing_key.into(),
                options,
                body,
                properties,
            )
            .await
            .map_err(|e| unconfirmed(e.to_string()))?
            .await
            .map_err(|e| unconfirmed(e.to_string()))?;
        if confirmation.is_nack() {
            return Err(unconfirmed("the broker refused it".into()));
        }
        if let Some(returned) = confirmation.take_message() {
            return Err(unconfirmed(format!(
                "no queue took it ({})",
                returned.reply_text
            )));
        }
        Ok(())
    }
}

fn json_properties(message_id: &str, kind: &str) -> BasicProperties {
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(ShortString::from(message_id))
        .with_type(kind.into())
}

fn string_headers(headers: &[(String, String)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in headers {
        table.insert(
            key.as_str().into(),
            AMQPValue::LongString(value.as_str().into()),
        );
    }
    table
}

/// String-valued headers of a delivery; other header types are not ours and are skipped.
pub(crate) fn read_string_headers(properties: &BasicProperties) -> Vec<(String, String)> {
    let Some(table) = properties.headers() else {
        return Vec::new();
    };
    table
        .inner()
        .iter()
        .filter_map(|(key, value)| match value {
            AMQPValue::LongString(text) => Some((
                key.to_string(),
                String::from_utf8_lossy(text.as_bytes()).into_owned(),
            )),
            AMQPValue::ShortString(text) => Some((key.to_string(), text.to_string())),
            _ => None,
        })
        .collect()
}

/// The `x-delivery-count` header quorum queues set on redeliveries.
pub(crate) fn delivery_count(properties: &BasicProperties) -> Option<u32> {
    let value = properties
        .headers()
        .as_ref()?
        .inner()
        .get("x-delivery-count")?;
    let count = match value {
        AMQPValue::LongLongInt(n) => i128::from(*n),
        AMQPValue::LongInt(n) => i128::from(*n),
        AMQPValue::LongUInt(n) => i128::from(*n),
        AMQPValue::ShortInt(n) => i128::from(*n),
        AMQPValue::ShortUInt(n) => i128::from(*n),
        _ => return None,
    };
    u32::try_from(count).ok()
}
