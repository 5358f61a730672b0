//! RabbitMQ plumbing: topology, confirmed publishing and the consumer loop.
//!
//! This is the only crate that imports lapin. Workers describe what a delivery
//! caused as an [`Outcome`]; this crate publishes it, waits for the broker's
//! confirms, and only then settles the delivery.

mod consumer;
pub mod dead_letter_queue;
mod event_queue;
mod message;
mod publisher;
mod subscription;
mod topology;

use std::time::Duration;

use contract::JobId;
use lapin::options::QueueDeleteOptions;

pub use consumer::{ConsumerOptions, Handler, run_consumer};
pub use event_queue::{EventDelivery, EventQueue};
pub use message::{Incoming, Outcome, Outgoing, Settlement, Target};
pub use publisher::{CONTENT_TYPE, DELIVERY_MODE, PUBLISH_BATCH, Publisher};
pub use subscription::{FOLLOW_QUEUE_EXPIRES, Subscription};
pub use topology::{Route, Topology, TopologyOptions};

/// A failure talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The connection could not be opened or was lost.
    #[error("broker connection failed")]
    Connection(#[source] lapin::Error),
    /// Reconnecting failed for longer than the worker may go without a broker.
    #[error("the broker was unreachable for {after:?}")]
    Unreachable {
        /// How long reconnection was tried.
        after: Duration,
        /// The last attempt's failure.
        #[source]
        last: Box<BrokerError>,
    },
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
    /// consumer.
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

/// A connection to RabbitMQ with a confirming publisher channel, which
/// [`Broker::reconnect`] replaces after a loss.
pub struct Broker {
    url: String,
    connection: tokio::sync::RwLock<lapin::Connection>,
    topology: Topology,
    publisher: Publisher,
    declared: std::sync::Mutex<Vec<contract::WorkerKind>>,
}

/// The first pause between two reconnection attempts; it doubles up to
/// [`MAX_RECONNECT_PAUSE`], with jitter.
const FIRST_RECONNECT_PAUSE: Duration = Duration::from_millis(200);
/// The longest pause between two reconnection attempts.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(5);

impl Broker {
    /// Connects to `url` and opens the publisher channel in confirm mode.
    /// Nothing is declared yet: see [`Broker::declare`].
    pub async fn connect(url: &str, topology: Topology) -> Result<Broker, BrokerError> {
        let connection = open_connection(url, &topology).await?;
        let publisher = Publisher::open(&connection, topology.clone()).await?;
        Ok(Broker {
            url: url.to_owned(),
            connection: tokio::sync::RwLock::new(connection),
            topology,
            publisher,
            declared: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Replaces a lost connection: tries to connect again, with a pause that doubles
    /// (with jitter) up to 5 s, until it succeeds or `give_up_after` has passed. On
    /// the new connection it redeclares everything [`Broker::declare`] declared and
    /// moves the publisher, and every clone of it, onto a new confirming channel.
    /// Publishes that were waiting for a confirm on the old connection have failed;
    /// their deliveries were not acked, so the broker redelivers them and their
    /// handlers publish again, under the same message ids.
    pub async fn reconnect(&self, give_up_after: Duration) -> Result<(), BrokerError> {
        let started = tokio::time::Instant::now();
        let mut pause = FIRST_RECONNECT_PAUSE;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match self.replace_connection().await {
                Ok(()) => {
                    tracing::info!(attempts, "reconnected to the broker");
                    worker_metrics::broker_reconnected();
                    return Ok(());
                }
                Err(error) if started.elapsed() + pause > give_up_after => {
                    tracing::error!(%error, attempts, "the broker stayed unreachable; giving up");
                    return Err(BrokerError::Unreachable {
                        after: started.elapsed(),
                        last: Box::new(error),
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, attempts, retry_in_ms = pause.as_millis() as u64, "cannot reach the broker yet");
                    tokio::time::sleep(pause).await;
                    pause = jittered((pause * 2).min(MAX_RECONNECT_PAUSE));
                }
            }
        }
    }

    async fn replace_connection(&self) -> Result<(), BrokerError> {
        let connection = open_connection(&self.url, &self.topology).await?;
        let workers = self.declared_workers();
        self.topology.declare(&connection, &workers).await?;
        self.publisher.reopen(&connection).await?;
        let old = std::mem::replace(&mut *self.connection.write().await, connection);
        // Usually already closed by the broker; this only stops its I/O loop.
        let _ = old.close(200, "replaced after a loss".into()).await;
        Ok(())
    }

    fn declared_workers(&self) -> Vec<contract::WorkerKind> {
        self.declared
            .lock()
            .expect("the declared list lock is never poisoned")
            .clone()
    }

    /// Whether the current connection is open.
    pub async fn is_connected(&self) -> bool {
        self.connection.read().await.status().connected()
    }

    /// Declares the shared exchanges, the dead letters and the queue of every
    /// given worker kind. Idempotent: running it again changes nothing.
    /// A reconnection declares them again.
    pub async fn declare(&self, workers: &[contract::WorkerKind]) -> Result<(), BrokerError> {
        self.topology
            .declare(&*self.connection.read().await, workers)
            .await?;
        let mut declared = self
            .declared
            .lock()
            .expect("the declared list lock is never poisoned");
        for worker in workers {
            if !declared.contains(worker) {
                declared.push(*worker);
            }
        }
        Ok(())
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
        Subscription::events(&*self.connection.read().await, &self.topology, binding).await
    }

    /// Declares the durable quorum queue `<prefix>.<name>`, binds it to the events
    /// exchange with each of `bindings` (event types), and reads it with
    /// acknowledgements, at most `prefetch` events unacknowledged (see [`EventQueue`]).
    pub async fn event_queue(
        &self,
        name: &str,
        bindings: &[&str],
        prefetch: u16,
    ) -> Result<EventQueue, BrokerError> {
        EventQueue::open(
            &*self.connection.read().await,
            &self.topology,
            name,
            bindings,
            prefetch,
        )
        .await
    }

    /// Binds the durable quorum queue `<prefix>.<name>` to the events exchange with
    /// `binding` and reads it. Unlike [`Broker::subscribe_events`], the queue and
    /// what it holds outlive this subscription, its connection and a broker restart;
    /// subscribing again reads on where the last one stopped. Test code only (the
    /// `testing` feature): the fault suites' ledger.
    #[cfg(feature = "testing")]
    pub async fn subscribe_events_durably(
        &self,
        name: &str,
        binding: &str,
    ) -> Result<Subscription, BrokerError> {
        Subscription::durable_events(
            &*self.connection.read().await,
            &self.topology,
            name,
            binding,
        )
        .await
    }

    /// Reads a copy of every page or chunk command the workers publish to `worker`'s
    /// queue through the internal exchange, from now on. Test code only (the `testing`
    /// feature): the tests check each against its schema.
    #[cfg(feature = "testing")]
    pub async fn tap_internal_commands(
        &self,
        worker: contract::WorkerKind,
    ) -> Result<Subscription, BrokerError> {
        Subscription::internal_commands(&*self.connection.read().await, &self.topology, worker)
            .await
    }

    /// Reads a copy of every start command producers publish to `worker`'s queue
    /// through the commands exchange, from now on. Test code only (the `testing`
    /// feature): the scheduler's tests count the runs it publishes.
    #[cfg(feature = "testing")]
    pub async fn tap_start_commands(
        &self,
        worker: contract::WorkerKind,
    ) -> Result<Subscription, BrokerError> {
        Subscription::start_commands(&*self.connection.read().await, &self.topology, worker).await
    }

    /// Reads the events while someone follows `job`, through its follow queue
    /// `<prefix>.follow.<job>`: a durable quorum queue bound to every event, which
    /// outlives its reader, its connection and a broker restart by
    /// [`FOLLOW_QUEUE_EXPIRES`], so a follower that reconnects, or `estafette follow`,
    /// reads on where the last reader stopped. Declare it (`create`) before publishing
    /// the job's command; without `create`, a queue that does not exist (never
    /// declared, expired, or forgotten once the job ended) is an error. Every job's
    /// events pass through it: forget it with [`Broker::forget_follow`] once the job
    /// has ended.
    pub async fn follow_job(&self, job: JobId, create: bool) -> Result<Subscription, BrokerError> {
        Subscription::follow(&*self.connection.read().await, &self.topology, job, create).await
    }

    /// Deletes `job`'s follow queue; a failure is logged, the queue expires anyway.
    pub async fn forget_follow(&self, job: JobId) {
        let queue = self.topology.follow_queue(job);
        let deleted = match self.open_channel().await {
            Ok(channel) => channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .map(drop)
                .map_err(BrokerError::Connection),
            Err(error) => Err(error),
        };
        if let Err(error) = deleted {
            tracing::debug!(%error, queue, "the follow queue was not deleted; it expires");
        }
    }

    /// Reads the dead-letter queue, message by message.
    pub async fn dead_letters(&self) -> Result<Subscription, BrokerError> {
        Subscription::dead_letters(&*self.connection.read().await, &self.topology).await
    }

    /// A new channel on the current connection, for a module of this crate that needs
    /// one of its own; the caller closes it.
    pub(crate) async fn open_channel(&self) -> Result<lapin::Channel, BrokerError> {
        self.connection
            .read()
            .await
            .create_channel()
            .await
            .map_err(BrokerError::Connection)
    }

    /// Closes the connection politely (200 OK), waiting at most `grace`.
    pub async fn close(self, grace: Duration) {
        let connection = self.connection.into_inner();
        let closing = connection.close(200, "worker shutting down".into());
        if let Ok(Err(error)) = tokio::time::timeout(grace, closing).await {
            tracing::debug!(%error, "broker connection was already closed");
        }
    }
}

async fn open_connection(url: &str, topology: &Topology) -> Result<lapin::Connection, BrokerError> {
    let properties = lapin::ConnectionProperties::default()
        .with_connection_name(format!("estafette/{}", topology.prefix()).into());
    lapin::Connection::connect(url, properties)
        .await
        .map_err(BrokerError::Connection)
}

/// `pause` less up to a quarter of it, at random, so that workers that lost the
/// broker together do not all come back in the same instant.
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(1.0 - fastrand::f64() / 4.0)
}
