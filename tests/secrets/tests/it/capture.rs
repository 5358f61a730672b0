//! What the run produces, kept as it came out: log lines as the telemetry writes them,
//! spans as the exporter receives them, events and dead letters as the broker delivers
//! them. Also a listener that counts the connections nobody should make.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::{Broker, Incoming, Subscription};
use contract::{Event, EventEnvelope, JobId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Longest wait for the next event of a running job, or for a dead letter.
const GAP: Duration = Duration::from_secs(20);
/// How long the broker must stay quiet before the run counts as over.
const QUIET: Duration = Duration::from_millis(500);

/// Every log line of the process: an `io::Write` the telemetry's JSON layer writes to.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogLines(Arc<Mutex<Vec<u8>>>);

impl LogLines {
    /// The writer to hand to the telemetry: each line it writes lands here.
    pub(crate) fn writer(&self) -> impl Fn() -> LogLines + Send + Sync + 'static {
        let lines = self.clone();
        move || lines.clone()
    }

    /// The lines written so far.
    pub(crate) fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("the log buffer is not poisoned");
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl io::Write for LogLines {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("the log buffer is not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Spans as the tracer provider exports them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spans(Arc<Mutex<Vec<SpanData>>>);

impl Spans {
    /// The spans exported so far.
    pub(crate) fn exported(&self) -> Vec<SpanData> {
        self.0
            .lock()
            .expect("the span list is not poisoned")
            .clone()
    }
}

impl SpanExporter for Spans {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.0
            .lock()
            .expect("the span list is not poisoned")
            .extend(batch);
        std::future::ready(Ok(()))
    }
}

/// Every event and dead letter of the test's topology, kept as delivered.
pub(crate) struct Traffic {
    events: Subscription,
    dead_letters: Subscription,
    /// The events read so far.
    pub(crate) events_seen: Vec<Incoming>,
    /// The dead letters read so far.
    pub(crate) dead_letters_seen: Vec<Incoming>,
}

impl Traffic {
    /// Subscribes to every event and to the dead letters; do it before publishing.
    pub(crate) async fn subscribe(broker: &Broker) -> Traffic {
        Traffic {
            events: broker.subscribe_events("#").await.expect("events readable"),
            dead_letters: broker.dead_letters().await.expect("dead letters readable"),
            events_seen: Vec::new(),
            dead_letters_seen: Vec::new(),
        }
    }

    /// The events of `job` (`None`: of a command too broken to name one) up to the
    /// first that `last` accepts, each arriving within [`GAP`] of the one before.
    /// Events of other jobs are kept but not returned.
    pub(crate) async fn until(
        &mut self,
        job: Option<JobId>,
        last: impl Fn(&Event) -> bool,
    ) -> Vec<EventEnvelope> {
        let mut events = Vec::new();
        loop {
            let incoming = next(&mut self.events, GAP)
                .await
                .unwrap_or_else(|| panic!("no event of job {job:?} within {GAP:?}"));
            let envelope: EventEnvelope =
                serde_json::from_slice(&incoming.body).expect("events are valid envelopes");
            self.events_seen.push(incoming);
            if envelope.job_id == job {
                let ends = last(&envelope.event);
                events.push(envelope);
                if ends {
                    return events;
                }
            }
        }
    }

    /// Reads dead letters until each mark of `wanted` is in the body of one of them,
    /// then reads events and dead letters until the broker has been quiet for [`QUIET`].
    pub(crate) async fn settle(&mut self, wanted: &[String]) {
        let missing = |seen: &[Incoming]| -> Vec<String> {
            wanted
                .iter()
                .filter(|mark| {
                    !seen
                        .iter()
                        .any(|dead| contains(&dead.body, mark.as_bytes()))
                })
                .cloned()
                .collect()
        };
        while !missing(&self.dead_letters_seen).is_empty() {
            let dead = next(&mut self.dead_letters, GAP).await.unwrap_or_else(|| {
                panic!(
                    "no dead letter for {:?} within {GAP:?}",
                    missing(&self.dead_letters_seen)
                )
            });
            self.dead_letters_seen.push(dead);
        }
        loop {
            if let Some(dead) = next(&mut self.dead_letters, QUIET).await {
                self.dead_letters_seen.push(dead);
            } else if let Some(event) = next(&mut self.events, QUIET).await {
                self.events_seen.push(event);
            } else {
                return;
            }
        }
    }
}

async fn next(subscription: &mut Subscription, within: Duration) -> Option<Incoming> {
    tokio::time::timeout(within, subscription.next())
        .await
        .ok()
        .map(|incoming| incoming.expect("the subscription is open"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A message as text: its routing key, properties, string headers and body.
pub(crate) fn render(incoming: &Incoming) -> String {
    format!(
        "{} kind={:?} message_id={:?} headers={:?} body={}",
        incoming.routing_key,
        incoming.kind,
        incoming.message_id,
        incoming.headers,
        String::from_utf8_lossy(&incoming.body)
    )
}

/// A listener on a free port that accepts and counts connections, and answers none:
/// the address commands name to lure a worker into calling it.
pub(crate) struct Trap {
    address: SocketAddr,
    calls: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Trap {
    pub(crate) async fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port for the trap");
        let address = listener.local_addr().expect("the trap's address");
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let task = tokio::spawn(async move {
            while listener.accept().await.is_ok() {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        Trap {
            address,
            calls,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops listening and tells how many connections were made.
    pub(crate) fn close(self) -> usize {
        self.task.abort();
        self.calls.load(Ordering::SeqCst)
    }
}
