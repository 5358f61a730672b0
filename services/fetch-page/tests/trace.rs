//! One démarche sync is one trace: the publish span is its root, every delivery a
//! consumer span under the message that caused it, every upstream request an
//! `http.client` span, and no span carries the connection's token.
//!
//! Its own test binary, because it owns the process's global subscriber: spans go
//! to an in-memory exporter the test reads. Run with `--nocapture` to see the tree.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contract::{Command, CommandBody, DsSync, Event, WorkerKind};
use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use sandbox::{DsConfig, FaultConfig, FaultPlan, Sandbox, SandboxConfig, TokenConfig};
use settings::Settings;
use tokio_util::sync::CancellationToken;

/// The seeded démarche: 2,350 dossiers, then its deletions.
const DEMARCHE: u32 = 4242;
/// A token no other value could contain by chance.
const TOKEN: &str = "tr4ce-t0ken-9f3c1e7a5b";
/// Dossiers per page: 24 pages of dossiers alone.
const PAGE_SIZE: &str = "100";
/// The sandbox request answered with a 500, in the middle of the dossiers.
const FAILING_REQUEST: u64 = 5;
/// Longest pause between two events of the running sync.
const EVENT_GAP: Duration = Duration::from_secs(20);

/// Spans as the provider ends them.
#[derive(Debug, Clone, Default)]
struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl Collected {
    fn spans(&self) -> Vec<SpanData> {
        self.0
            .lock()
            .expect("the span list is not poisoned")
            .clone()
    }
}

impl SpanExporter for Collected {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.0
            .lock()
            .expect("the span list is not poisoned")
            .extend(batch);
        std::future::ready(Ok(()))
    }
}

fn settings(sandbox: &Sandbox) -> Settings {
    let connection = |key: &str| format!("ESTAFETTE__CONNECTIONS__SANDBOX__{key}");
    let env = [
        ("AMQP_URL".to_owned(), testkit::amqp_url()),
        ("REDIS_URL".to_owned(), testkit::redis_url()),
        (connection("BASE_URL"), sandbox.base_url()),
        (connection("TOKEN"), TOKEN.to_owned()),
        (connection("PAGE_SIZE"), PAGE_SIZE.to_owned()),
        (connection("RATE_LIMIT__REQUESTS"), "50".to_owned()),
        (connection("RATE_LIMIT__PER_SECONDS"), "1".to_owned()),
        (
            "ESTAFETTE__WORKER__TRANSIENT_RETRY_DELAY_SECONDS".to_owned(),
            "0.05".to_owned(),
        ),
    ];
    Settings::load(None, env).expect("test settings are valid")
}

fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        ds: DsConfig {
            tokens: vec![TokenConfig::valid(TOKEN)],
            ..Default::default()
        },
        faults: FaultConfig {
            plan: FaultPlan {
                server_errors: [FAILING_REQUEST].into(),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key.as_str() == key)
        .map(|attribute| attribute.value.as_str().into_owned())
}

/// The span tree under `root`, one line per span: name and key attributes.
fn render_tree(spans: &[SpanData], root: SpanId) -> String {
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    for span in spans {
        children.entry(span.parent_span_id).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|span| span.start_time);
    }
    let mut text = String::new();
    let mut stack: Vec<(&SpanData, usize)> = spans
        .iter()
        .filter(|span| span.span_context.span_id() == root)
        .map(|span| (span, 0))
        .collect();
    while let Some((span, depth)) = stack.pop() {
        let _ = write!(text, "{:indent$}{}", "", span.name, indent = depth * 2);
        for key in [
            "messaging.message.id",
            "job_id",
            "page",
            "trace_id",
            "http.response.status_code",
            "error.type",
        ] {
            if let Some(value) = attribute(span, key) {
                let _ = write!(text, " {key}={value}");
            }
        }
        text.push('\n');
        if let Some(list) = children.get(&span.span_context.span_id()) {
            stack.extend(list.iter().rev().map(|child| (*child, depth + 1)));
        }
    }
    text
}

#[tokio::test]
async fn a_sync_with_a_retried_page_is_one_trace_rooted_at_its_publish_span() {
    let exported = Collected::default();
    let telemetry = telemetry::init_with_exporter(exported.clone()).expect("first subscriber");
    let sandbox = Sandbox::start(sandbox_config(), "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sandbox starts");
    let settings = settings(&sandbox);
    let prefix = testkit::unique_prefix();
    let broker = testkit::connect(&prefix).await;
    broker
        .declare(&[WorkerKind::FetchPage])
        .await
        .expect("topology");
    let mut events = testkit::EventLog::subscribe(&broker).await;
    let shutdown = CancellationToken::new();
    let worker = {
        let worker_broker = testkit::connect(&prefix).await;
        let store = testkit::job_store(&prefix).await;
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            fetch_page::run(&settings, &worker_broker, &store, shutdown)
                .await
                .expect("worker runs");
            worker_broker.close(Duration::from_secs(1)).await;
        })
    };
    let command = Command::start_job(
        "sandbox",
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(DEMARCHE).expect("non-zero"),
            updated_since: None,
            state: None,
        }),
    );

    broker
        .publish_command(&command)
        .await
        .expect("command confirmed");
    let job_events = events.until_job_ends(EVENT_GAP).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("the worker drains in time")
        .expect("the worker task did not panic");
    telemetry.flush().expect("spans flushed");
    let stats = sandbox.stats();
    sandbox.shutdown().await;

    let Some(Event::SyncCompleted(completed)) = job_events.last().map(|e| &e.event) else {
        panic!("the sync completed: {job_events:?}")
    };
    assert!(completed.pages >= 20, "{} pages", completed.pages);
    assert_eq!(
        stats.with_status(500),
        1,
        "the planned server error was served"
    );
    let spans = exported.spans();
    let [root] = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Producer)
        .collect::<Vec<_>>()[..]
    else {
        panic!("one publish span expected")
    };
    let root_id = root.span_context.span_id();
    let trace_id = root.span_context.trace_id();
    println!("{}", render_tree(&spans, root_id));

    // One trace, one tree: every span of the job, and nothing but the root at the top.
    // Outside it are only the broker library's own connection spans (`io_loop`).
    let (job, outside): (Vec<&SpanData>, Vec<&SpanData>) = spans
        .iter()
        .partition(|span| span.span_context.trace_id() == trace_id);
    for span in &outside {
        assert!(
            span.span_kind == SpanKind::Internal && attribute(span, "job_id").is_none(),
            "{} ({:?}, trace {}) is a span of the job outside its trace",
            span.name,
            span.span_kind,
            span.span_context.trace_id()
        );
    }
    let outside: BTreeSet<&str> = outside.iter().map(|span| span.name.as_ref()).collect();
    println!("spans of other traces: {outside:?}");
    assert_eq!(
        root.parent_span_id,
        SpanId::INVALID,
        "the publish span is a root"
    );
    let ids: HashSet<SpanId> = job.iter().map(|span| span.span_context.span_id()).collect();
    assert_eq!(ids.len(), job.len(), "span ids are unique");
    for span in job
        .iter()
        .filter(|span| span.span_context.span_id() != root_id)
    {
        assert!(
            ids.contains(&span.parent_span_id),
            "{} has a parent outside the tree",
            span.name
        );
    }

    // A consumer span per delivery: the start command, every page, and the retry.
    let consumers: Vec<&SpanData> = job
        .iter()
        .copied()
        .filter(|span| span.span_kind == SpanKind::Consumer)
        .collect();
    assert_eq!(consumers.len() as u64, stats.total + 1);
    let mut deliveries: HashMap<String, Vec<&SpanData>> = HashMap::new();
    for consumer in &consumers {
        let id = attribute(consumer, "messaging.message.id").expect("a message id");
        assert_eq!(
            attribute(consumer, "trace_id"),
            Some(trace_id.to_string()),
            "the consumer span shows its trace id"
        );
        deliveries.entry(id).or_default().push(consumer);
    }
    let redelivered: Vec<&Vec<&SpanData>> = deliveries
        .values()
        .filter(|attempts| attempts.len() > 1)
        .collect();
    let [attempts] = redelivered[..] else {
        panic!("one message delivered twice, found {}", redelivered.len())
    };
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        attempts[0].parent_span_id, attempts[1].parent_span_id,
        "both attempts descend from the span that published the page"
    );

    // An http.client span per upstream request, the failed one included.
    let clients: Vec<&SpanData> = job
        .iter()
        .copied()
        .filter(|span| span.span_kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len() as u64, stats.total);
    for client in &clients {
        assert_eq!(client.name, "POST /api/v2/graphql");
        assert_eq!(
            attribute(client, "url.template").as_deref(),
            Some("/api/v2/graphql")
        );
        assert_eq!(
            attribute(client, "http.request.method").as_deref(),
            Some("POST")
        );
    }
    let failed: Vec<Option<String>> = clients
        .iter()
        .filter_map(|client| {
            let status = attribute(client, "http.response.status_code");
            (status.as_deref() != Some("200")).then(|| attribute(client, "error.type"))
        })
        .collect();
    assert_eq!(failed, [Some("500".to_owned())]);

    // No trace of the token anywhere.
    for span in &spans {
        assert!(!span.name.contains(TOKEN), "{}", span.name);
        for attribute in &span.attributes {
            assert!(
                !attribute.value.as_str().contains(TOKEN),
                "{} of {} holds the token",
                attribute.key,
                span.name
            );
        }
    }
}
