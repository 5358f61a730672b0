//! The dead-letter queue as people act on it: browse it without taking anything,
//! replay what a fix has made worth retrying, purge what is not.
//!
//! Two sorts of message land there. A worker's copy carries the worker's reason in
//! `x-estafette-*` headers; a command the broker dead-lettered itself (a crash loop
//! that reached the work queue's delivery limit) carries the broker's `x-death`
//! header instead. Both read as one [`DeadLetter`].
//!
//! Every operation walks the queue once on a channel of its own ([`DeadLetterWalk`]),
//! taking message after message with `basic.get` and manual acks, so it holds one
//! message at a time whatever the queue holds. What it removes it acks; everything else
//! goes back to the queue when the channel closes. Nothing is ever nacked with requeue,
//! which quorum queues count as a failed delivery.

use std::time::{Duration, SystemTime};

use contract::{
    ATTEMPT_HEADER, Command, DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_QUEUE_HEADER,
    DEAD_LETTER_REASON_HEADER,
};
use lapin::{
    BasicProperties,
    message::Delivery,
    options::{
        BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
        QueueDeclareOptions, QueuePurgeOptions,
    },
    types::{AMQPValue, FieldTable, ShortString},
};

use crate::{Broker, BrokerError};

/// The kind shown for a dead letter whose body names no command kind.
const UNREADABLE_KIND: &str = "unreadable";

/// The reason shown for a dead letter that carries none.
const UNKNOWN_REASON: &str = "unknown";

/// The longest wait, after an operation, for the dead letters it did not remove to be
/// counted in the queue again, so that the next operation sees them.
const RETURN_WAIT: Duration = Duration::from_secs(5);

/// Prefixes of the headers the broker sets when it dead-letters a message.
const BROKER_DEATH_HEADERS: [&str; 3] = ["x-death", "x-first-death-", "x-last-death-"];

/// One message of the dead-letter queue.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The command's `message_id`; empty if its producer set none.
    pub id: String,
    /// The command kind named by the body's `kind`, or `unreadable`.
    pub kind: String,
    /// Whether the body is a valid command. Replaying one that is not only
    /// dead-letters it again.
    pub is_command: bool,
    /// The closed-set reason: the worker's, or the broker's (`delivery_limit`, …).
    pub reason: String,
    /// The reason in words, when known.
    pub detail: Option<String>,
    /// The attempts made at the command before it was dead-lettered.
    pub attempts: u32,
    /// The work queue it was taken from, when known.
    pub queue: Option<String>,
    /// When it was dead-lettered, when known.
    pub dead_lettered_at: Option<SystemTime>,
    /// The routing key it was published with: the worker kind.
    pub routing_key: String,
    /// The body as the worker received it.
    pub body: Vec<u8>,
    /// Its string headers, trace context included.
    pub headers: Vec<(String, String)>,
    /// The broker's `x-death` entries, most recent first; empty for a worker's copy.
    pub deaths: Vec<Death>,
}

/// One entry of the broker's `x-death` header: a queue that dead-lettered the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Death {
    /// The queue the message left.
    pub queue: String,
    /// Why: `delivery_limit`, `rejected`, `expired` or `maxlen`.
    pub reason: String,
    /// How many times it left this queue for this reason.
    pub count: u64,
    /// When it first did.
    pub time: Option<SystemTime>,
}

/// Which dead letters an operation applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Those with this message id.
    Id(String),
    /// Those dead-lettered for this reason.
    Reason(String),
    /// All of them.
    All,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replayed {
    /// Dead letters republished, confirmed and removed.
    pub replayed: usize,
    /// How many of them were not valid commands, and will be dead-lettered again.
    pub not_commands: usize,
}

/// Why a dead-letter operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The broker could not be reached, or the queue read or settled.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// A replayed message was not confirmed, or its dead letter not removed: it and
    /// every dead letter not reached yet stay in the queue, to replay again.
    #[error("the replay stopped after {} replayed dead letters", .replayed.replayed)]
    ReplayStopped {
        /// What was replayed before it stopped.
        replayed: Replayed,
        /// What stopped it.
        #[source]
        source: BrokerError,
    },
}

impl Selector {
    /// Whether `letter` is one of those selected.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        match self {
            Selector::Id(id) => letter.id == *id,
            Selector::Reason(reason) => letter.reason == *reason,
            Selector::All => true,
        }
    }
}

impl DeadLetter {
    /// Reads a message of the dead-letter queue, of either sort.
    fn read(routing_key: &str, properties: &BasicProperties, body: Vec<u8>) -> DeadLetter {
        let headers = crate::publisher::read_string_headers(properties);
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let deaths = read_deaths(properties);
        let latest = deaths.first();
        let (kind, is_command) = match Command::from_json(&body) {
            Ok(command) => (command.body.kind().to_owned(), true),
            Err(rejection) => (
                rejection
                    .command_kind
                    .unwrap_or_else(|| UNREADABLE_KIND.to_owned()),
                false,
            ),
        };
        let reason = header(DEAD_LETTER_REASON_HEADER)
            .or_else(|| latest.map(|death| death.reason.clone()))
            .unwrap_or_else(|| UNKNOWN_REASON.to_owned());
        let detail = header(DEAD_LETTER_DETAIL_HEADER).or_else(|| {
            header(DEAD_LETTER_REASON_HEADER)
                .is_none()
                .then(|| broker_detail(&reason))
                .flatten()
                .map(str::to_owned)
        });
        DeadLetter {
            id: properties
                .message_id()
                .as_ref()
                .map(ShortString::to_string)
                .unwrap_or_default(),
            kind,
            is_command,
            detail,
            attempts: header(ATTEMPT_HEADER)
                .and_then(|attempt| attempt.trim().parse().ok())
                .unwrap_or(1),
            queue: header(DEAD_LETTER_QUEUE_HEADER)
                .or_else(|| latest.map(|death| death.queue.clone())),
            dead_lettered_at: properties
                .timestamp()
                .map(from_epoch_seconds)
                .or_else(|| latest.and_then(|death| death.time)),
            reason,
            routing_key: routing_key.to_owned(),
            body,
            headers,
            deaths,
        }
    }

    /// The headers a replay carries: the original ones (trace context included)
    /// without what dead-lettering added, so the attempt count starts again.
    pub fn replay_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(key, _)| {
                let added_by_a_worker = [
                    DEAD_LETTER_REASON_HEADER,
                    DEAD_LETTER_DETAIL_HEADER,
                    ATTEMPT_HEADER,
                    DEAD_LETTER_QUEUE_HEADER,
                ]
                .contains(&key.as_str());
                let added_by_the_broker = BROKER_DEATH_HEADERS
                    .iter()
                    .any(|prefix| key.starts_with(prefix));
                !added_by_a_worker && !added_by_the_broker
            })
            .cloned()
            .collect()
    }

    /// The properties of the replayed command.
    fn replay_properties(&self) -> BasicProperties {
        let kind = (self.kind != UNREADABLE_KIND).then_some(self.kind.as_str());
        crate::publisher::json_properties(&self.id, kind)
            .with_headers(crate::publisher::string_headers(&self.replay_headers()))
    }
}

/// What the broker's reason means, for a dead letter no worker explained.
fn broker_detail(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "delivery_limit" => {
            "delivered too many times without being settled: a worker crashed or stalled on it"
        }
        "rejected" => "a consumer rejected it without requeueing it",
        "expired" => "it stayed in its queue longer than its time to live",
        "maxlen" => "its queue was full",
        _ => return None,
    })
}

/// The entries of the `x-death` header; entries that do not read are skipped.
fn read_deaths(properties: &BasicProperties) -> Vec<Death> {
    let Some(AMQPValue::FieldArray(entries)) = properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get("x-death"))
    else {
        return Vec::new();
    };
    entries
        .as_slice()
        .iter()
        .filter_map(|entry| {
            let AMQPValue::FieldTable(entry) = entry else {
                return None;
            };
            let field = |name: &str| entry.inner().get(name);
            Some(Death {
                queue: field("queue").and_then(text)?,
                reason: field("reason").and_then(text)?,
                count: field("count").and_then(whole_number).unwrap_or(1),
                time: match field("time") {
                    Some(AMQPValue::Timestamp(seconds)) => Some(from_epoch_seconds(*seconds)),
                    _ => None,
                },
            })
        })
        .collect()
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        AMQPValue::ShortString(text) => Some(text.to_string()),
        _ => None,
    }
}

fn whole_number(value: &AMQPValue) -> Option<u64> {
    match value {
        AMQPValue::LongLongInt(n) => u64::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u64::try_from(*n).ok(),
        AMQPValue::LongUInt(n) => Some(u64::from(*n)),
        AMQPValue::ShortInt(n) => u64::try_from(*n).ok(),
        AMQPValue::ShortUInt(n) => Some(u64::from(*n)),
        _ => None,
    }
}

fn from_epoch_seconds(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The dead-letter queue walked once, message by message: each is taken with
/// `basic.get` and left unacknowledged, so the broker hands out every message once and
/// holds them all, while this side holds only the one at hand. A message the walk
/// acks is removed; [`DeadLetterWalk::finish`] closes the channel, which returns every
/// other one to the queue. However many dead letters there are, and however large,
/// memory stays that of one.
///
/// A walk covers the letters the queue held when it began. One dead-lettered while it
/// runs (a replayed command that fails again at once, say) waits for the next walk, so
/// a replay never takes its own output for more work.
pub struct DeadLetterWalk<'b> {
    broker: &'b Broker,
    channel: lapin::Channel,
    queue: String,
    /// Letters left of those the queue held when the walk began.
    left: usize,
    taken: usize,
    removed: usize,
}

impl DeadLetterWalk<'_> {
    /// The next dead letter, in queue order; `None` once every one was seen. It stays
    /// in the queue.
    pub async fn next(&mut self) -> Result<Option<DeadLetter>, BrokerError> {
        Ok(self.next_taken().await?.map(|(letter, _)| letter))
    }

    async fn next_taken(&mut self) -> Result<Option<(DeadLetter, lapin::Acker)>, BrokerError> {
        if self.left == 0 {
            return Ok(None);
        }
        let got = self
            .channel
            .basic_get(self.queue.as_str().into(), BasicGetOptions::default())
            .await
            .map_err(BrokerError::Connection)?;
        let Some(got) = got else {
            return Ok(None);
        };
        self.taken += 1;
        self.left -= 1;
        let Delivery {
            routing_key,
            properties,
            data,
            acker,
            ..
        } = got.delivery;
        Ok(Some((
            DeadLetter::read(routing_key.as_str(), &properties, data),
            acker,
        )))
    }

    /// Removes the dead letter `acker` took.
    async fn remove(&mut self, acker: &lapin::Acker) -> Result<(), BrokerError> {
        acker
            .ack(BasicAckOptions::default())
            .await
            .map_err(BrokerError::Connection)?;
        self.removed += 1;
        Ok(())
    }

    /// Ends the walk: every dead letter not removed goes back to the queue. The broker
    /// counts them again a moment later; waiting for that means the next operation
    /// finds them all.
    pub async fn finish(self) {
        let returned = self.taken.saturating_sub(self.removed);
        close(&self.channel).await;
        if returned == 0 {
            return;
        }
        let Ok(channel) = self.broker.open_channel().await else {
            return;
        };
        let deadline = tokio::time::Instant::now() + RETURN_WAIT;
        loop {
            match ready_count(&channel, &self.queue).await {
                Ok(ready) if ready >= returned => break,
                Ok(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(ready) => {
                    tracing::debug!(ready, returned, "dead letters still on their way back");
                    break;
                }
                Err(error) => {
                    tracing::debug!(%error, "cannot count the dead letters given back");
                    break;
                }
            }
        }
        close(&channel).await;
    }
}

impl Broker {
    /// Walks the dead letters, one at a time; nothing is removed.
    pub async fn walk_dead_letters(&self) -> Result<DeadLetterWalk<'_>, BrokerError> {
        let channel = self.open_channel().await?;
        if let Err(error) = channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
        {
            close(&channel).await;
            return Err(BrokerError::Connection(error));
        }
        let queue = self.topology().dead_letters();
        let left = match ready_count(&channel, &queue).await {
            Ok(left) => left,
            Err(error) => {
                close(&channel).await;
                return Err(error);
            }
        };
        Ok(DeadLetterWalk {
            broker: self,
            channel,
            queue,
            left,
            taken: 0,
            removed: 0,
        })
    }

    /// Republishes the selected dead letters to the commands exchange (a page or chunk
    /// command to the internal exchange, as workers publish it), each with its
    /// routing key, message id and original headers, and removes each once the broker
    /// has confirmed its copy. The attempt count starts again; workers recognise a
    /// command they already handled by its message id, so a replay repeats no work
    /// that was done.
    pub async fn replay_dead_letters(
        &self,
        selector: &Selector,
    ) -> Result<Replayed, DeadLetterError> {
        let mut walk = self.walk_dead_letters().await?;
        let outcome = self.replay_walked(&mut walk, selector).await;
        walk.finish().await;
        outcome
    }

    /// Removes the selected dead letters for good; returns how many.
    pub async fn purge_dead_letters(&self, selector: &Selector) -> Result<usize, DeadLetterError> {
        if *selector == Selector::All {
            let channel = self.open_channel().await?;
            let purged = channel
                .queue_purge(
                    self.topology().dead_letters().as_str().into(),
                    QueuePurgeOptions::default(),
                )
                .await
                .map_err(BrokerError::Connection);
            close(&channel).await;
            return Ok(usize::try_from(purged?).unwrap_or(usize::MAX));
        }
        let mut walk = self.walk_dead_letters().await?;
        let mut outcome = Ok(());
        loop {
            let (letter, acker) = match walk.next_taken().await {
                Ok(Some(taken)) => taken,
                Ok(None) => break,
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            };
            if !selector.matches(&letter) {
                continue;
            }
            if let Err(error) = walk.remove(&acker).await {
                outcome = Err(error);
                break;
            }
        }
        let purged = walk.removed;
        walk.finish().await;
        outcome?;
        Ok(purged)
    }

    async fn replay_walked(
        &self,
        walk: &mut DeadLetterWalk<'_>,
        selector: &Selector,
    ) -> Result<Replayed, DeadLetterError> {
        let mut replayed = Replayed::default();
        loop {
            let (letter, acker) = match walk.next_taken().await {
                Ok(Some(taken)) => taken,
                Ok(None) => return Ok(replayed),
                Err(source) => return Err(DeadLetterError::ReplayStopped { replayed, source }),
            };
            if !selector.matches(&letter) {
                continue;
            }
            // A page or chunk command is a worker's own: it goes back the way workers
            // publish it, which takes a worker's permissions on the broker.
            let exchange = if contract::JOB_STEP_KINDS.contains(&letter.kind.as_str()) {
                self.topology().internal_exchange()
            } else {
                self.topology().commands_exchange()
            };
            let removed = match republish(&walk.channel, &exchange, &letter).await {
                Ok(()) => walk.remove(&acker).await,
                Err(error) => Err(error),
            };
            if let Err(source) = removed {
                return Err(DeadLetterError::ReplayStopped { replayed, source });
            }
            replayed.replayed += 1;
            replayed.not_commands += usize::from(!letter.is_command);
        }
    }
}

async fn close(channel: &lapin::Channel) {
    if let Err(error) = channel.close(200, "dead letters read".into()).await {
        tracing::debug!(%error, "the dead-letter channel was already closed");
    }
}

/// How many messages `queue` holds that no consumer has taken.
async fn ready_count(channel: &lapin::Channel, queue: &str) -> Result<usize, BrokerError> {
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|source| BrokerError::Topology {
            what: format!("queue {queue}"),
            source,
        })?;
    Ok(usize::try_from(declared.message_count()).unwrap_or(usize::MAX))
}

/// Publishes `letter` as a command and waits for the broker's confirm; a message no
/// queue took counts as unconfirmed.
async fn republish(
    channel: &lapin::Channel,
    exchange: &str,
    letter: &DeadLetter,
) -> Result<(), BrokerError> {
    let target = format!("{exchange}/{}", letter.routing_key);
    let unconfirmed = |detail: String| BrokerError::Unconfirmed {
        target: target.clone(),
        detail,
    };
    let confirmation = channel
        .basic_publish(
            exchange.into(),
            letter.routing_key.as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            &letter.body,
            letter.replay_properties(),
        )
        .await
        .map_err(|error| unconfirmed(error.to_string()))?
        .await
        .map_err(|error| unconfirmed(error.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn string_table(pairs: &[(&str, &str)]) -> FieldTable {
        let mut table = FieldTable::default();
        for (key, value) in pairs {
            table.insert((*key).into(), AMQPValue::LongString((*value).into()));
        }
        table
    }

    fn command_body() -> Vec<u8> {
        Command::start_job(
            "sandbox",
            contract::CommandBody::DsSync(contract::DsSync {
                demarche: std::num::NonZeroU32::new(4242).expect("non-zero"),
                updated_since: None,
                state: None,
            }),
        )
        .to_json()
    }

    #[test]
    fn a_workers_copy_reads_from_its_headers_and_timestamp() {
        let properties = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_type("dead-letter".into())
            .with_timestamp(1_700_000_000)
            .with_headers(string_table(&[
                ("traceparent", "00-abc-def-01"),
                (DEAD_LETTER_REASON_HEADER, "upstream_unauthorized"),
                (DEAD_LETTER_DETAIL_HEADER, "the token was refused"),
                (ATTEMPT_HEADER, "3"),
                (DEAD_LETTER_QUEUE_HEADER, "p.fetch-page"),
            ]));

        let letter = DeadLetter::read("fetch-page", &properties, command_body());

        assert_eq!(letter.id, "m-1");
        assert_eq!(letter.kind, "ds.sync");
        assert!(letter.is_command);
        assert_eq!(letter.reason, "upstream_unauthorized");
        assert_eq!(letter.detail.as_deref(), Some("the token was refused"));
        assert_eq!(letter.attempts, 3);
        assert_eq!(letter.queue.as_deref(), Some("p.fetch-page"));
        assert_eq!(
            letter.dead_lettered_at,
            Some(from_epoch_seconds(1_700_000_000))
        );
        assert!(letter.deaths.is_empty());
    }

    #[test]
    fn a_copy_without_the_newer_headers_still_reads() {
        let properties = BasicProperties::default()
            .with_headers(string_table(&[(DEAD_LETTER_REASON_HEADER, "invalid_body")]));

        let letter = DeadLetter::read("send-status", &properties, b"not json".to_vec());

        assert_eq!(letter.id, "");
        assert_eq!(letter.kind, UNREADABLE_KIND);
        assert!(!letter.is_command);
        assert_eq!(letter.reason, "invalid_body");
        assert_eq!(letter.detail, None);
        assert_eq!(letter.attempts, 1);
        assert_eq!(letter.queue, None);
        assert_eq!(letter.dead_lettered_at, None);
    }

    #[test]
    fn a_command_the_broker_dead_lettered_reads_from_x_death() {
        let mut latest = FieldTable::default();
        latest.insert(
            "queue".into(),
            AMQPValue::LongString("p.send-status".into()),
        );
        latest.insert(
            "reason".into(),
            AMQPValue::LongString("delivery_limit".into()),
        );
        latest.insert("count".into(), AMQPValue::LongLongInt(1));
        latest.insert("time".into(), AMQPValue::Timestamp(1_600_000_000));
        let mut older = FieldTable::default();
        older.insert("queue".into(), AMQPValue::LongString("p.other".into()));
        older.insert("reason".into(), AMQPValue::LongString("expired".into()));
        let mut headers = string_table(&[("x-first-death-queue", "p.other")]);
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(
                vec![AMQPValue::FieldTable(latest), AMQPValue::FieldTable(older)].into(),
            ),
        );
        let properties = BasicProperties::default()
            .with_type("ds.sync".into())
            .with_headers(headers);

        let letter = DeadLetter::read("send-status", &properties, command_body());

        assert_eq!(letter.reason, "delivery_limit");
        assert_eq!(letter.queue.as_deref(), Some("p.send-status"));
        assert_eq!(
            letter.dead_lettered_at,
            Some(from_epoch_seconds(1_600_000_000))
        );
        assert!(
            letter
                .detail
                .is_some_and(|detail| detail.contains("too many times"))
        );
        assert_eq!(letter.deaths.len(), 2);
        assert_eq!(letter.deaths[1].reason, "expired");
        assert_eq!(letter.deaths[1].count, 1);
        assert_eq!(letter.deaths[1].time, None);
    }

    #[test]
    fn a_json_body_that_is_not_a_valid_command_keeps_its_kind() {
        let body = br#"{"version": 1, "kind": "ds.explode"}"#.to_vec();

        let letter = DeadLetter::read("fetch-page", &BasicProperties::default(), body);

        assert_eq!(letter.kind, "ds.explode");
        assert!(!letter.is_command);
        assert_eq!(letter.reason, UNKNOWN_REASON);
    }

    #[test]
    fn a_replay_keeps_the_trace_context_and_drops_what_dead_lettering_added() {
        let properties = BasicProperties::default().with_headers(string_table(&[
            ("traceparent", "00-abc-def-01"),
            ("tracestate", "vendor=1"),
            (DEAD_LETTER_REASON_HEADER, "retries_exhausted"),
            (DEAD_LETTER_DETAIL_HEADER, "gave up"),
            (ATTEMPT_HEADER, "5"),
            (DEAD_LETTER_QUEUE_HEADER, "p.fetch-page"),
            ("x-first-death-queue", "p.fetch-page"),
            ("x-first-death-reason", "delivery_limit"),
            ("x-last-death-exchange", ""),
        ]));

        let letter = DeadLetter::read("fetch-page", &properties, command_body());

        let mut kept = letter.replay_headers();
        kept.sort();
        assert_eq!(
            kept,
            vec![
                ("traceparent".to_owned(), "00-abc-def-01".to_owned()),
                ("tracestate".to_owned(), "vendor=1".to_owned()),
            ]
        );
    }

    #[test]
    fn a_selector_picks_by_id_reason_or_everything() {
        let properties = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_headers(string_table(&[(DEAD_LETTER_REASON_HEADER, "a")]));
        let letter = DeadLetter::read("fetch-page", &properties, Vec::new());

        assert!(Selector::Id("m-1".into()).matches(&letter));
        assert!(!Selector::Id("m-2".into()).matches(&letter));
        assert!(Selector::Reason("a".into()).matches(&letter));
        assert!(!Selector::Reason("b".into()).matches(&letter));
        assert!(Selector::All.matches(&letter));
    }
}
