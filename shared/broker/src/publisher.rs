//! Publishing with publisher confirms: a publish counts only once the broker confirms it.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use lapin::{
    BasicProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable, ShortString},
};

use contract::{
    ATTEMPT_HEADER, DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_QUEUE_HEADER, DEAD_LETTER_REASON_HEADER,
};

use crate::{BrokerError, Incoming, Outgoing, Topology};

/// How many messages [`Publisher::publish_batched`] builds and publishes at once.
pub const PUBLISH_BATCH: usize = 64;

/// A channel in confirm mode. Clones share the channel, and a reconnection replaces
/// it for every clone at once, except for a [`Publisher::pinned`] one, which keeps
/// the channel it was made with.
///
/// lapin numbers a publish when it is issued but writes its frames a little later, so
/// two tasks publishing at once could reach the broker in the other order and have
/// their confirms credited to the wrong message. Issuing is therefore serialised by
/// `issue_order`; waiting for the confirms is not.
#[derive(Clone)]
pub struct Publisher {
    channel: Arc<Mutex<lapin::Channel>>,
    topology: Topology,
    issue_order: Arc<tokio::sync::Mutex<()>>,
    confirm_timeout: Duration,
}

/// One message ready to be issued.
struct Publication<'a> {
    exchange: String,
    routing_key: &'a str,
    mandatory: bool,
    body: &'a [u8],
    properties: BasicProperties,
}

impl Publisher {
    pub(crate) async fn open(
        connection: &lapin::Connection,
        topology: Topology,
    ) -> Result<Self, BrokerError> {
        Ok(Publisher {
            channel: Arc::new(Mutex::new(confirming_channel(connection).await?)),
            confirm_timeout: topology.confirm_timeout(),
            topology,
            issue_order: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Moves every clone of this publisher onto a channel of `connection`.
    pub(crate) async fn reopen(&self, connection: &lapin::Connection) -> Result<(), BrokerError> {
        let channel = confirming_channel(connection).await?;
        *self
            .channel
            .lock()
            .expect("the channel lock is never poisoned") = channel;
        Ok(())
    }

    /// A publisher held to the current channel: a reconnection does not move it, so
    /// once that channel is gone every publish through it fails. The consumer hands
    /// one to each handler, made when the delivery arrived, so that a handler whose
    /// delivery was lost with its channel can never publish on the next one.
    pub fn pinned(&self) -> Publisher {
        Publisher {
            channel: Arc::new(Mutex::new(self.channel())),
            topology: self.topology.clone(),
            issue_order: Arc::clone(&self.issue_order),
            confirm_timeout: self.confirm_timeout,
        }
    }

    fn channel(&self) -> lapin::Channel {
        self.channel
            .lock()
            .expect("the channel lock is never poisoned")
            .clone()
    }

    /// Whether the channel can still publish. Once it cannot, every publish fails
    /// until the broker is reconnected.
    pub fn is_usable(&self) -> bool {
        self.channel().status().connected()
    }

    /// Publishes every message, then waits until the broker has confirmed all of them.
    pub async fn publish_all(&self, messages: &[Outgoing]) -> Result<(), BrokerError> {
        let publications = messages.iter().map(|message| {
            let route = self.topology.route(&message.target);
            Publication {
                exchange: route.exchange,
                routing_key: route.routing_key,
                mandatory: route.mandatory,
                body: &message.body,
                properties: json_properties(&message.message_id.to_string(), Some(message.kind))
                    .with_headers(string_headers(&message.headers)),
            }
        });
        self.send(publications.collect()).await
    }

    /// Publishes `messages` [`PUBLISH_BATCH`] at a time, each batch confirmed before
    /// the next one is built: however many commands a job's start fans out, only one
    /// batch of them is in memory at once.
    pub async fn publish_batched(
        &self,
        messages: impl IntoIterator<Item = Outgoing>,
    ) -> Result<(), BrokerError> {
        let mut messages = messages.into_iter().peekable();
        while messages.peek().is_some() {
            let batch: Vec<Outgoing> = messages.by_ref().take(PUBLISH_BATCH).collect();
            self.publish_all(&batch).await?;
        }
        Ok(())
    }

    /// Publishes one message and waits for its confirm.
    pub async fn publish(&self, message: &Outgoing) -> Result<(), BrokerError> {
        self.publish_all(std::slice::from_ref(message)).await
    }

    /// Copies a delivery taken from `queue` to the dead letters, with the reason, the
    /// attempt count and the queue in its headers and the time in its `timestamp`.
    pub(crate) async fn dead_letter(
        &self,
        incoming: &Incoming,
        queue: &str,
        reason: &str,
        detail: &str,
    ) -> Result<(), BrokerError> {
        let mut headers = without(
            &incoming.headers,
            &[
                DEAD_LETTER_REASON_HEADER,
                DEAD_LETTER_DETAIL_HEADER,
                DEAD_LETTER_QUEUE_HEADER,
                ATTEMPT_HEADER,
            ],
        );
        headers.push((DEAD_LETTER_REASON_HEADER.to_owned(), reason.to_owned()));
        headers.push((DEAD_LETTER_DETAIL_HEADER.to_owned(), detail.to_owned()));
        headers.push((DEAD_LETTER_QUEUE_HEADER.to_owned(), queue.to_owned()));
        headers.push((ATTEMPT_HEADER.to_owned(), incoming.attempt().to_string()));
        let message_id = incoming.message_id.as_deref().unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.send(vec![Publication {
            exchange: self.topology.dead_letters(),
            routing_key: &incoming.routing_key,
            mandatory: true,
            body: &incoming.body,
            properties: json_properties(message_id, Some("dead-letter"))
                .with_timestamp(now)
                .with_headers(string_headers(&headers)),
        }])
        .await
    }

    /// Publishes a copy of a delivery, one attempt further and expiring after
    /// `after`, to the delay queue that sends it back to its routing key (see
    /// [`Topology::delay_queue`]), declared first.
    pub(crate) async fn delay(
        &self,
        incoming: &Incoming,
        after: Duration,
    ) -> Result<(), BrokerError> {
        let queue = self
            .topology
            .declare_delay_queue(&self.channel(), &incoming.routing_key, after)
            .await?;
        let mut headers = without(&incoming.headers, &[ATTEMPT_HEADER]);
        headers.push((
            ATTEMPT_HEADER.to_owned(),
            (incoming.attempt() + 1).to_string(),
        ));
        let message_id = incoming.message_id.as_deref().unwrap_or_default();
        self.send(vec![Publication {
            exchange: String::new(),
            routing_key: &queue,
            mandatory: true,
            body: &incoming.body,
            properties: json_properties(message_id, incoming.kind.as_deref())
                .with_expiration(after.as_millis().max(1).to_string().into())
                .with_headers(string_headers(&headers)),
        }])
        .await
    }

    /// Issues the publications in order, then waits for every confirm, for at most the
    /// confirm timeout: a broker that blocks publishers (a memory or disk alarm) must
    /// not hold a handler forever. A publish not confirmed in time counts as not
    /// confirmed; its delivery goes back to the queue.
    async fn send(&self, publications: Vec<Publication<'_>>) -> Result<(), BrokerError> {
        let count = publications.len();
        tokio::time::timeout(self.confirm_timeout, self.send_and_confirm(publications))
            .await
            .unwrap_or_else(|_| {
                Err(unconfirmed(
                    &format!("{count} messages"),
                    format!("no confirm within {:?}", self.confirm_timeout),
                ))
            })
    }

    async fn send_and_confirm(
        &self,
        publications: Vec<Publication<'_>>,
    ) -> Result<(), BrokerError> {
        let mut pending = Vec::with_capacity(publications.len());
        {
            let _in_order = self.issue_order.lock().await;
            let channel = self.channel();
            for publication in publications {
                let target = format!("{}/{}", publication.exchange, publication.routing_key);
                let options = BasicPublishOptions {
                    mandatory: publication.mandatory,
                    ..Default::default()
                };
                let confirm = channel
                    .basic_publish(
                        publication.exchange.as_str().into(),
                        publication.routing_key.into(),
                        options,
                        publication.body,
                        publication.properties,
                    )
                    .await
                    .map_err(|e| unconfirmed(&target, e.to_string()))?;
                pending.push((target, confirm));
            }
        }
        for (target, confirm) in pending {
            let confirmation = confirm
                .await
                .map_err(|e| unconfirmed(&target, e.to_string()))?;
            if confirmation.is_nack() {
                return Err(unconfirmed(&target, "the broker refused it".into()));
            }
            if let Some(returned) = confirmation.take_message() {
                let detail = format!("no queue took it ({})", returned.reply_text);
                return Err(unconfirmed(&target, detail));
            }
        }
        Ok(())
    }
}

async fn confirming_channel(connection: &lapin::Connection) -> Result<lapin::Channel, BrokerError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(BrokerError::Connection)?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(BrokerError::Connection)?;
    Ok(channel)
}

/// `headers` without the named ones.
fn without(headers: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(key, _)| !names.contains(&key.as_str()))
        .cloned()
        .collect()
}

fn unconfirmed(target: &str, detail: String) -> BrokerError {
    BrokerError::Unconfirmed {
        target: target.to_owned(),
        detail,
    }
}

/// The `content_type` property of every message Estafette publishes.
pub const CONTENT_TYPE: &str = "application/json";
/// The `delivery_mode` property of every message Estafette publishes: persistent.
pub const DELIVERY_MODE: u8 = 2;

/// The properties of every message Estafette publishes: persistent JSON, with its id
/// and kind.
pub(crate) fn json_properties(message_id: &str, kind: Option<&str>) -> BasicProperties {
    let properties = BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(DELIVERY_MODE)
        .with_message_id(ShortString::from(message_id));
    match kind {
        Some(kind) => properties.with_type(kind.into()),
        None => properties,
    }
}

/// `headers` as an AMQP table of long strings.
pub(crate) fn string_headers(headers: &[(String, String)]) -> FieldTable {
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
