//! Messages as workers see them, free of AMQP types.

use std::time::Duration;

use contract::{ATTEMPT_HEADER, Command, EventEnvelope, JobEnd, MessageId, WorkerKind};
use worker_metrics::JobMark;

/// A delivery handed to a [`crate::Handler`].
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The raw body.
    pub body: Vec<u8>,
    /// The `message_id` property, if the producer set one.
    pub message_id: Option<String>,
    /// Headers whose values are strings (trace context, retry bookkeeping).
    pub headers: Vec<(String, String)>,
    /// The routing key it was published with.
    pub routing_key: String,
    /// The AMQP `type` property: the command kind, when the producer set it.
    pub kind: Option<String>,
    /// Whether it came through the internal exchange, which only workers may publish
    /// to: a page or chunk command that did not is not a worker's.
    pub internal: bool,
}

impl Incoming {
    /// Splits a lapin delivery into our view of it and the handle that settles it;
    /// `internal_exchange` is the name of the exchange only workers publish to, for a
    /// delivery of a work queue.
    pub(crate) fn from_delivery(
        delivery: lapin::message::Delivery,
        internal_exchange: Option<&str>,
    ) -> (Incoming, lapin::Acker) {
        let incoming = Incoming {
            internal: internal_exchange == Some(delivery.exchange.as_str()),
            message_id: delivery
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.to_string()),
            headers: crate::publisher::read_string_headers(&delivery.properties),
            routing_key: delivery.routing_key.to_string(),
            kind: delivery
                .properties
                .kind()
                .as_ref()
                .map(|kind| kind.to_string()),
            body: delivery.data,
        };
        (incoming, delivery.acker)
    }

    /// Which attempt at the command this delivery is: 1 unless it came back from a
    /// delay queue, which counts in the [`ATTEMPT_HEADER`]. A redelivery after a crash
    /// is the same attempt; the quorum queue's delivery limit bounds those.
    pub fn attempt(&self) -> u32 {
        self.header(ATTEMPT_HEADER)
            .and_then(|value| value.parse().ok())
            .filter(|attempt| *attempt >= 1)
            .unwrap_or(1)
    }

    /// The value of a string header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The commands exchange, routed to a worker kind's queue: what producers publish.
    /// Unroutable is an error.
    Command(WorkerKind),
    /// The internal exchange, routed to a worker kind's queue: a page or chunk command
    /// a worker publishes for a job it started. Unroutable is an error.
    Internal(WorkerKind),
    /// The events topic exchange, with the event type as routing key.
    Event(&'static str),
}

/// A message a handler wants published before its delivery is settled.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Where it goes.
    pub target: Target,
    /// Its deterministic id, set as the AMQP `message_id` property.
    pub message_id: MessageId,
    /// The AMQP `type` property: the command kind or event type.
    pub kind: &'static str,
    /// JSON body.
    pub body: Vec<u8>,
    /// String headers, typically the W3C trace context.
    pub headers: Vec<(String, String)>,
    /// How the message ends its job, for an event that does (`Event::job_end`).
    pub job_end: Option<JobEnd>,
}

impl Outgoing {
    /// A command for the worker kind that handles it: a page or chunk command of a
    /// job through the internal exchange, any other through the commands exchange.
    pub fn command(command: &Command, headers: Vec<(String, String)>) -> Self {
        let worker = command.body.worker();
        Outgoing {
            target: if command.body.is_job_step() {
                Target::Internal(worker)
            } else {
                Target::Command(worker)
            },
            message_id: command.meta.message_id,
            kind: command.body.kind(),
            body: command.to_json(),
            headers,
            job_end: None,
        }
    }

    /// An event, routed by its type.
    pub fn event(event: &EventEnvelope, headers: Vec<(String, String)>) -> Self {
        Outgoing {
            target: Target::Event(event.routing_key()),
            message_id: event.message_id,
            kind: event.routing_key(),
            body: event.to_json(),
            headers,
            job_end: event.event.job_end(),
        }
    }
}

/// What a handler decided for its delivery, and what must be published first.
#[derive(Debug)]
pub struct Outcome {
    /// Messages to publish and have confirmed before the delivery is settled.
    pub publish: Vec<Outgoing>,
    /// How to settle the delivery once they are confirmed.
    pub settlement: Settlement,
    /// What the delivery did to its job's life (started it, completed it, failed
    /// it), counted once the delivery is acked or dead-lettered.
    pub jobs: Vec<JobMark>,
}

/// How a delivery is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Done: ack.
    Ack,
    /// Failed for good: copy the delivery to the dead letters with the reason, its
    /// attempt count and its queue, then ack.
    DeadLetter {
        /// A short, closed-set reason code (`invalid_body`, `upstream_forbidden`, …).
        reason: &'static str,
        /// A human-readable explanation, without credentials.
        detail: String,
    },
    /// Failed for now: publish a copy, one attempt further, to a delay queue that
    /// returns it to its work queue after `after`, then ack.
    Retry {
        /// How long the copy waits before it is tried again.
        after: Duration,
    },
}

impl Outcome {
    /// Publish these messages, then ack.
    pub fn ack(publish: Vec<Outgoing>) -> Self {
        Outcome {
            publish,
            settlement: Settlement::Ack,
            jobs: Vec::new(),
        }
    }

    /// Publish nothing; try the command again after `after`, through a delay queue.
    pub fn retry(after: Duration) -> Self {
        Outcome {
            publish: Vec::new(),
            settlement: Settlement::Retry { after },
            jobs: Vec::new(),
        }
    }
}
