//! The dashboard and the alert rules, checked by a real Prometheus: Debian's
//! `prometheus` scrapes real worker processes (two fetch-page replicas,
//! write-descriptors, send-status) every second while they run six jobs against
//! sandboxes that inject failures. Then every panel's and every rule's PromQL is
//! evaluated through Prometheus's HTTP API and compared with what the run did, as
//! the sandboxes and the broker tell it: errors, 429s, token requests, dead letters
//! and jobs counted exactly, pages and records within Prometheus's extrapolation.
//! No scheduler runs: the schedule panels and the schedule alert return nothing.
//!
//! The RabbitMQ panels are checked when the test broker's Prometheus plugin answers
//! (`testkit::rabbitmq_prometheus_address`, 127.0.0.1:15692 for the machine's own
//! broker, where `.ci/run` enables it); otherwise the run says they were not.
//!
//! The test binary is also the workers: started with [`ROLE`] set, it runs that
//! worker through `worker_shell::main`, exactly as the worker binaries do. So the
//! test needs no binary of another package, and no harness (`harness = false`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::process::{Child, Command as Process, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[path = "common/deploy.rs"]
mod deploy;

use base64::Engine as _;
use contract::{
    AmienscopeSync, ApidaePut, Command, CommandBody, Descriptor, DivaltoQuery, DivaltoSync,
    DossierRef, DsStatus, DsSync, Event, EventEnvelope, JobId, ObjectDescriptors, StatusAction,
    WorkerKind,
};
use sandbox::ds::dataset::DossierState;
use sandbox::{DivaltoTable, FaultConfig, FaultPlan, Sandbox, SandboxConfig};
use serde_json::Value;
use strum::VariantArray as _;

/// Set on a child process: the worker it runs.
const ROLE: &str = "ESTAFETTE_E2E_WORKER";
/// How often Prometheus scrapes and evaluates.
const SCRAPE: Duration = Duration::from_secs(1);
/// Longest wait for one job's last event.
const JOB_WITHIN: Duration = Duration::from_secs(120);
/// The demarche the DS sandbox seeds.
const DEMARCHE: u32 = 4242;
/// The connection whose Amienscope key is wrong: its sync fails.
const BROKEN: &str = "broken_amienscope";
/// Counts up to this are compared exactly (rounded); Prometheus's extrapolation to
/// the window's end adds less than half of one to them over this run's length.
const EXACT_UP_TO: f64 = 10.0;
/// Larger counts may differ by this share: `increase()` extrapolates to the
/// window's end by up to one scrape interval over a span of tens of seconds.
const EXTRAPOLATION: f64 = 0.05;

fn main() -> ExitCode {
    if let Ok(worker) = std::env::var(ROLE) {
        return run_worker(&worker);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list") {
        println!("prometheus: test");
        return ExitCode::SUCCESS;
    }
    let filters: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
    if !filters.is_empty()
        && !filters
            .iter()
            .any(|filter| "prometheus".contains(filter.as_str()))
    {
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(dashboard_and_alerts_tell_what_the_run_did());
    println!("test prometheus ... ok");
    ExitCode::SUCCESS
}

fn run_worker(worker: &str) -> ExitCode {
    match worker {
        "fetch-page" => worker_shell::main(WorkerKind::FetchPage, fetch_page::run),
        "write-descriptors" => {
            worker_shell::main(WorkerKind::WriteDescriptors, write_descriptors::run)
        }
        "send-status" => worker_shell::main(WorkerKind::SendStatus, send_status::run),
        other => panic!("no worker {other}"),
    }
}

/// The three sandboxes: one per connection whose failures are counted apart.
struct Upstreams {
    /// Amienscope (both connections) and Apidae; injects nothing.
    clean: Sandbox,
    /// Divalto: its first request (a login) fails with 500, its fourth with 429.
    divalto: Sandbox,
    /// DS (the sync and the decision): three 500s early in the sync.
    ds: Sandbox,
}

impl Upstreams {
    async fn start() -> Upstreams {
        let start = |plan: FaultPlan| async move {
            let config = SandboxConfig {
                latency: Duration::from_millis(10),
                faults: FaultConfig {
                    plan,
                    ..FaultConfig::default()
                },
                ..SandboxConfig::default()
            };
            Sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
                .await
                .expect("a sandbox starts")
        };
        Upstreams {
            clean: start(FaultPlan::default()).await,
            divalto: start(FaultPlan {
                server_errors: BTreeSet::from([1]),
                rate_limited: BTreeSet::from([4]),
                ..FaultPlan::default()
            })
            .await,
            ds: start(FaultPlan {
                server_errors: BTreeSet::from([3, 7, 11]),
                ..FaultPlan::default()
            })
            .await,
        }
    }

    /// The settings every worker gets for them.
    fn env(&self) -> Vec<(String, String)> {
        let clean = self.clean.base_url();
        let pairs = [
            ("SANDBOX__BASE_URL", self.ds.base_url()),
            (
                "SANDBOX_DIVALTO__BASE_URL",
                format!("{}/divalto", self.divalto.base_url()),
            ),
            (
                "SANDBOX_AMIENSCOPE__BASE_URL",
                format!("{clean}/amienscope"),
            ),
            ("SANDBOX_APIDAE__BASE_URL", format!("{clean}/apidae")),
            (
                "SANDBOX_APIDAE__TOKEN_URL",
                format!("{clean}/apidae/oauth/token"),
            ),
            ("BROKEN_AMIENSCOPE__API", "amienscope".to_owned()),
            ("BROKEN_AMIENSCOPE__BASE_URL", format!("{clean}/amienscope")),
            (
                "BROKEN_AMIENSCOPE__PUBLIC_KEY",
                "sandboxpublickey0123456789abcdef".to_owned(),
            ),
            (
                "BROKEN_AMIENSCOPE__PRIVATE_KEY",
                "not-the-private-key".to_owned(),
            ),
            ("BROKEN_AMIENSCOPE__EMAIL", "sandbox@example.org".to_owned()),
            ("BROKEN_AMIENSCOPE__WINDOW", "1".to_owned()),
        ];
        pairs
            .into_iter()
            .map(|(key, value)| (format!("ESTAFETTE__CONNECTIONS__{key}"), value))
            .collect()
    }

    /// Answers of `status` the sandbox gave.
    fn answered(sandbox: &Sandbox, status: u16) -> f64 {
        count(sandbox.stats().with_status(status))
    }

    /// Requests the sandbox received.
    fn requests(sandbox: &Sandbox) -> f64 {
        count(sandbox.stats().total)
    }

    /// Requests the sandbox answered with anything but 2xx.
    fn not_2xx(sandbox: &Sandbox) -> f64 {
        let stats = sandbox.stats();
        let failed: u64 = stats
            .by_status
            .iter()
            .filter(|(status, _)| !(200..300).contains(*status))
            .map(|(_, answers)| answers)
            .sum();
        count(failed + stats.dropped_connections)
    }
}

fn count(n: u64) -> f64 {
    f64::from(u32::try_from(n).expect("a small count"))
}

/// The worker processes and where each serves its metrics.
struct Workers {
    children: Vec<(&'static str, SocketAddr, Child)>,
}

impl Workers {
    fn start(prefix: &str, upstreams: &Upstreams, logs: &Path) -> Workers {
        let mut env: Vec<(String, String)> = vec![
            ("AMQP_URL".into(), testkit::amqp_url()),
            ("REDIS_URL".into(), testkit::redis_url()),
            ("ESTAFETTE__BROKER__PREFIX".into(), prefix.into()),
            (
                "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS".into(),
                testkit::QUEUE_EXPIRES.as_secs().to_string(),
            ),
            (
                "ESTAFETTE__WORKER__TRANSIENT_RETRY_DELAY_SECONDS".into(),
                "1".into(),
            ),
            ("RUST_LOG".into(), "warn".into()),
        ];
        env.extend(upstreams.env());
        let me = std::env::current_exe().expect("the test binary's path");
        let children = [
            "fetch-page",
            "fetch-page",
            "write-descriptors",
            "send-status",
        ]
        .into_iter()
        .enumerate()
        .map(|(index, worker)| {
            let listen = free_port();
            let log = std::fs::File::create(logs.join(format!("{worker}-{index}.log")))
                .expect("a log file");
            let child = Process::new(&me)
                .env(ROLE, worker)
                .envs(env.iter().cloned())
                .env("ESTAFETTE__METRICS__LISTEN", listen.to_string())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("a worker process starts");
            (worker, listen, child)
        })
        .collect();
        Workers { children }
    }

    fn targets(&self) -> Vec<String> {
        self.children
            .iter()
            .map(|(_, listen, _)| listen.to_string())
            .collect()
    }

    /// Ends every worker with SIGTERM and reaps it.
    fn stop(mut self) {
        for (_, _, child) in &mut self.children {
            terminate(child);
        }
    }
}

fn terminate(child: &mut Child) {
    let _ = Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A loopback address whose port was free a moment ago.
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}

/// A Prometheus server of the test's own, and its HTTP API.
struct Prometheus {
    child: Child,
    api: String,
    http: reqwest::Client,
}

/// One series of a query's answer: its labels and its value.
type Sample = (BTreeMap<String, String>, f64);

impl Prometheus {
    async fn start(dir: &Path, workers: &[String], rabbitmq: bool) -> Prometheus {
        let rules = deploy::path("prometheus-alerts.yml");
        let mut config = format!(
            "global:\n  scrape_interval: {s}s\n  evaluation_interval: {s}s\n\
             rule_files:\n  - {rules}\n\
             scrape_configs:\n  - job_name: estafette-workers\n    static_configs:\n      - targets: [{targets}]\n",
            s = SCRAPE.as_secs(),
            rules = rules.display(),
            targets = workers.join(", "),
        );
        if rabbitmq {
            config.push_str(
                &format!("  - job_name: rabbitmq\n    metrics_path: /metrics/per-object\n    static_configs:\n      - targets: [{}]\n", testkit::rabbitmq_prometheus_address()),
            );
        }
        let file = dir.join("prometheus.yml");
        std::fs::write(&file, config).expect("the Prometheus configuration is written");
        let listen = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("a log file");
        let child = Process::new("prometheus")
            .arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start prometheus ({error}): install Debian's prometheus package (.ci/run does)")
            });
        let prometheus = Prometheus {
            child,
            api: format!("http://{listen}"),
            http: reqwest::Client::new(),
        };
        prometheus.until_ready().await;
        prometheus
    }

    async fn until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = self
                .http
                .get(format!("{}/-/ready", self.api))
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "prometheus did not get ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn get(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.api), params)
            .expect("a valid URL");
        let answer: Value = self
            .http
            .get(url)
            .send()
            .await
            .expect("prometheus answers")
            .json()
            .await
            .expect("a JSON answer");
        assert_eq!(answer["status"], "success", "{path} {params:?}: {answer}");
        answer["data"].clone()
    }

    /// Every series `expr` returns now.
    async fn query(&self, expr: &str) -> Vec<Sample> {
        let data = self.get("/api/v1/query", &[("query", expr)]).await;
        data["result"]
            .as_array()
            .expect("a vector")
            .iter()
            .map(|series| {
                let labels = series["metric"]
                    .as_object()
                    .expect("labels")
                    .iter()
                    .map(|(name, value)| (name.clone(), value.as_str().unwrap_or("").to_owned()))
                    .collect();
                let value = series["value"][1]
                    .as_str()
                    .and_then(|value| value.parse().ok())
                    .expect("a sample value");
                (labels, value)
            })
            .collect()
    }

    /// Waits until every worker target is up and scraped a few times.
    async fn until_scraping(&self, targets: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = self.query(r#"sum(up{job="estafette-workers"})"#).await;
            if up
                .first()
                .is_some_and(|(_, value)| *value == count(targets as u64))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the workers are not all up: {up:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tokio::time::sleep(SCRAPE * 3).await;
    }

    fn stop(mut self) {
        terminate(&mut self.child);
    }
}

/// What the run did, as the events and the upstreams tell it.
#[derive(Debug, Default)]
struct Run {
    pages: BTreeMap<String, f64>,
    records: BTreeMap<String, f64>,
    started: BTreeMap<String, f64>,
    completed: BTreeMap<(String, String, String), f64>,
    failed: BTreeMap<(String, String), f64>,
}

impl Run {
    fn start(&mut self, command: &Command) {
        *self
            .started
            .entry(command.body.kind().to_owned())
            .or_default() += 1.0;
    }

    /// Reads one job's events, up to the one that ends it.
    fn read(&mut self, command: &Command, events: &[EventEnvelope]) {
        let kind = command.body.kind().to_owned();
        for envelope in events {
            match &envelope.event {
                Event::PageFetched(page) => {
                    *self.pages.entry(page.connection.clone()).or_default() += 1.0;
                    *self.records.entry(page.connection.clone()).or_default() +=
                        f64::from(page.record_count);
                }
                Event::SyncCompleted(sync) => {
                    let consistency = match &sync.subject {
                        contract::SyncSubject::Offset { consistency, .. } => {
                            <&str>::from(*consistency)
                        }
                        contract::SyncSubject::Ds { .. } => "unchecked",
                    };
                    let end = <&str>::from(sync.end);
                    *self
                        .completed
                        .entry((kind.clone(), end.to_owned(), consistency.to_owned()))
                        .or_default() += 1.0;
                }
                Event::DescriptorsWritten(_) | Event::StatusSent(_) => {
                    *self
                        .completed
                        .entry((kind.clone(), "done".into(), "unchecked".into()))
                        .or_default() += 1.0;
                }
                Event::JobFailed(failed) => {
                    *self
                        .failed
                        .entry((kind.clone(), failed.reason.as_str().to_owned()))
                        .or_default() += 1.0;
                }
                Event::CommandFailed(failed)
                    if failed.command_id == Some(command.meta.message_id) =>
                {
                    *self
                        .failed
                        .entry((kind.clone(), failed.reason.as_str().to_owned()))
                        .or_default() += 1.0;
                }
                _ => {}
            }
        }
    }
}

/// Whether `event` ends the job `command` started.
fn ends_job(command: &Command, event: &Event) -> bool {
    match event {
        Event::SyncCompleted(_)
        | Event::DescriptorsWritten(_)
        | Event::StatusSent(_)
        | Event::JobFailed(_) => true,
        Event::CommandFailed(failed) => failed.command_id == Some(command.meta.message_id),
        _ => false,
    }
}

/// Publishes `command` and reads the job's events up to its end.
async fn run_job(
    broker: &broker::Broker,
    events: &mut testkit::EventLog,
    run: &mut Run,
    command: Command,
) {
    broker.publish_command(&command).await.expect("published");
    run.start(&command);
    let job: JobId = command.meta.job_id;
    let deadline = Instant::now() + JOB_WITHIN;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let envelope = events.next(left).await;
        if envelope.job_id != Some(job) {
            continue;
        }
        let ends = ends_job(&command, &envelope.event);
        seen.push(envelope);
        if ends {
            break;
        }
    }
    run.read(&command, &seen);
}

fn jobs(upstreams: &Upstreams) -> Vec<Command> {
    let demarche = NonZeroU32::new(DEMARCHE).expect("non-zero");
    let dossier = upstreams
        .ds
        .dataset()
        .demarche(i64::from(DEMARCHE))
        .expect("the seeded démarche")
        .visible_dossiers()
        .find(|dossier| {
            dossier.state == DossierState::EnConstruction && dossier.pending_correction.is_none()
        })
        .map(|dossier| u32::try_from(dossier.number).expect("a small number"))
        .expect("a dossier en construction");
    let object = *upstreams
        .clean
        .apidae()
        .known_objects()
        .first()
        .expect("a known Apidae object");
    vec![
        Command::start_job(
            "sandbox",
            CommandBody::DsSync(DsSync {
                demarche,
                updated_since: None,
                state: None,
            }),
        ),
        Command::start_job(
            "sandbox_divalto",
            CommandBody::DivaltoSync(DivaltoSync {
                query: DivaltoQuery {
                    dhoq: DivaltoTable::Article.dhoq().into(),
                    recordsql: DivaltoTable::Article.recordsql().into(),
                    id_field: DivaltoTable::Article.id_field().into(),
                    fields: vec![],
                    orderby: None,
                    where_clause: None,
                },
                window: NonZeroU32::new(2),
            }),
        ),
        Command::start_job(
            BROKEN,
            CommandBody::AmienscopeSync(AmienscopeSync {
                updated_since: None,
                category: None,
                window: None,
            }),
        ),
        // No connection has this name: refused at once, counted as unconfigured.
        Command::start_job(
            "nowhere",
            CommandBody::DsSync(DsSync {
                demarche,
                updated_since: None,
                state: None,
            }),
        ),
        Command::start_job(
            "sandbox_apidae",
            CommandBody::ApidaePut(ApidaePut {
                objects: vec![ObjectDescriptors {
                    id: object,
                    descriptors: vec![Descriptor {
                        technical_name: "estafette".into(),
                        texts: BTreeMap::from([("fr".into(), "Texte".into())]),
                    }],
                }],
            }),
        ),
        Command::start_job(
            "sandbox",
            CommandBody::DsStatus(DsStatus {
                dossier: DossierRef::Number(NonZeroU32::new(dossier).expect("non-zero")),
                instructeur: base64::engine::general_purpose::STANDARD.encode("Instructeur-7001"),
                action: StatusAction::SendMessage {
                    body: "Votre dossier est bien reçu.".into(),
                    attachment: None,
                    correction: None,
                },
            }),
        ),
    ]
}

/// Whether RabbitMQ's Prometheus plugin answers here.
async fn rabbitmq_plugin_answers() -> bool {
    reqwest::get(format!(
        "http://{}/metrics",
        testkit::rabbitmq_prometheus_address()
    ))
    .await
    .is_ok_and(|answer| answer.status().is_success())
}

/// One checked value, for the table the run prints.
struct Checked {
    panel: String,
    series: String,
    shown: f64,
    implied: f64,
}

/// Compares what a panel shows with what the run implies, and keeps both.
#[derive(Default)]
struct Checks {
    rows: Vec<Checked>,
    failures: Vec<String>,
}

impl Checks {
    /// A count: exact up to [`EXACT_UP_TO`], within [`EXTRAPOLATION`] above; exact
    /// whatever its size when it is a counter read as it stands (`(raw)`).
    fn count(&mut self, panel: &str, series: &str, shown: f64, implied: f64) {
        let agrees = if implied <= EXACT_UP_TO || panel.ends_with("(raw)") {
            shown.round() == implied
        } else {
            (shown - implied).abs() <= implied * EXTRAPOLATION
        };
        self.keep(panel, series, shown, implied, agrees);
    }

    /// A ratio or a level, within `tolerance`.
    fn near(&mut self, panel: &str, series: &str, shown: f64, implied: f64, tolerance: f64) {
        let agrees = (shown - implied).abs() <= tolerance;
        self.keep(panel, series, shown, implied, agrees);
    }

    fn keep(&mut self, panel: &str, series: &str, shown: f64, implied: f64, agrees: bool) {
        if !agrees {
            self.failures.push(format!(
                "{panel} / {series}: shows {shown}, the run implies {implied}"
            ));
        }
        self.rows.push(Checked {
            panel: panel.into(),
            series: series.into(),
            shown,
            implied,
        });
    }

    /// Every series of `samples`, keyed by `labels`, against `implied` (absent: 0),
    /// each value first multiplied by `scale` (a rate's window, 1 for an increase).
    fn counts(
        &mut self,
        panel: &str,
        samples: &[Sample],
        labels: &[&str],
        scale: f64,
        implied: &BTreeMap<String, f64>,
    ) {
        let mut shown: BTreeMap<String, f64> = BTreeMap::new();
        for (series, value) in samples {
            let key = labels
                .iter()
                .map(|label| series.get(*label).map_or("", String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            *shown.entry(key).or_default() += value * scale;
        }
        let keys: BTreeSet<&String> = shown.keys().chain(implied.keys()).collect();
        for key in keys {
            let value = shown.get(key).copied().unwrap_or(0.0);
            let expected = implied.get(key).copied().unwrap_or(0.0);
            if !shown.contains_key(key) && expected > 0.0 {
                self.failures.push(format!(
                    "{panel} / {key}: no series, the run implies {expected}"
                ));
            }
            self.count(panel, key, value, expected);
        }
    }
}

fn keyed<K: std::fmt::Display>(pairs: impl IntoIterator<Item = (K, f64)>) -> BTreeMap<String, f64> {
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// The panels' queries, with the dashboard's variables set: every worker and
/// connection, the test's prefix, and `window` for the rate interval.
fn panel_queries(prefix: &str, window: &str) -> Vec<(String, Vec<String>)> {
    let dashboard = deploy::dashboard();
    deploy::panels(&dashboard)
        .into_iter()
        .map(|panel| {
            let exprs = panel["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .map(|target| {
                    target["expr"]
                        .as_str()
                        .expect("an expression")
                        .replace("$__rate_interval", window)
                        .replace("$worker", ".*")
                        .replace("$connection", ".*")
                        .replace("$prefix", prefix)
                })
                .collect();
            (panel["title"].as_str().expect("a title").to_owned(), exprs)
        })
        .collect()
}

async fn dashboard_and_alerts_tell_what_the_run_did() {
    let rules = deploy::path("prometheus-alerts.yml");
    let checked = Process::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool runs: install Debian's prometheus package (.ci/run does)");
    assert!(checked.status.success(), "{checked:?}");

    let dir = std::env::temp_dir().join(format!("estafette-prometheus-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let prefix = testkit::unique_prefix();
    let broker = testkit::connect(&prefix).await;
    broker
        .declare(WorkerKind::VARIANTS)
        .await
        .expect("topology");
    let mut events = testkit::EventLog::subscribe(&broker).await;
    let upstreams = Upstreams::start().await;
    let workers = Workers::start(&prefix, &upstreams, &dir);
    let rabbitmq = rabbitmq_plugin_answers().await;
    let started = Instant::now();
    let prometheus = Prometheus::start(&dir, &workers.targets(), rabbitmq).await;
    prometheus.until_scraping(workers.children.len()).await;

    let mut run = Run::default();
    for command in jobs(&upstreams) {
        run_job(&broker, &mut events, &mut run, command).await;
    }
    // Let every settlement land and be scraped a few times, and the broker refresh
    // its queue statistics (every 5 s by default) twice.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let dead_letters = testkit::dead_letter_list(&broker).await;
    let window_secs = started.elapsed().as_secs() + 30;
    let window = format!("{window_secs}s");

    let mut checks = Checks::default();
    let panels = panel_queries(&prefix, &window);
    let mut answers: BTreeMap<String, Vec<Vec<Sample>>> = BTreeMap::new();
    for (title, exprs) in &panels {
        let mut results = Vec::new();
        for expr in exprs {
            results.push(prometheus.query(expr).await);
        }
        answers.insert(title.clone(), results);
    }
    let rate = count(window_secs);
    let answer = |title: &str, target: usize| -> &Vec<Sample> {
        &answers
            .get(title)
            .unwrap_or_else(|| panic!("no panel {title:?}"))[target]
    };

    // Jobs.
    let started_jobs = keyed(run.started.clone());
    let completed_jobs = keyed(
        run.completed
            .iter()
            .map(|((kind, _, _), n)| (kind.clone(), *n)),
    );
    let failed_jobs = keyed(run.failed.iter().map(|((kind, _), n)| (kind.clone(), *n)));
    let title = "Jobs started / completed / failed";
    checks.counts(title, answer(title, 0), &["kind"], 1.0, &started_jobs);
    checks.counts(title, answer(title, 1), &["kind"], 1.0, &completed_jobs);
    checks.counts(title, answer(title, 2), &["kind"], 1.0, &failed_jobs);
    let title = "Jobs completed by end and consistency";
    let by_end = keyed(
        run.completed
            .iter()
            .map(|((kind, end, consistency), n)| (format!("{kind} {end} {consistency}"), *n)),
    );
    checks.counts(
        title,
        answer(title, 0),
        &["kind", "end", "consistency"],
        1.0,
        &by_end,
    );
    let title = "Jobs failed by reason";
    let by_reason = keyed(
        run.failed
            .iter()
            .map(|((kind, reason), n)| (format!("{kind} {reason}"), *n)),
    );
    checks.counts(
        title,
        answer(title, 0),
        &["kind", "reason"],
        1.0,
        &by_reason,
    );

    // Deliveries: none left in flight; what was consumed was settled.
    for title in ["Messages in flight", "Oldest unacked delivery age"] {
        for (series, value) in answer(title, 0) {
            checks.near(title, &series["worker"], *value, 0.0, 0.0);
        }
    }
    let settled = prometheus
        .query(&format!(
            "sum by (worker) (increase(estafette_messages_settled_total[{window}]))"
        ))
        .await;
    // Counts, read back through `increase()`: whole numbers before its extrapolation.
    let settled_by_worker = keyed(
        settled
            .iter()
            .map(|(series, value)| (series["worker"].clone(), value.round())),
    );
    let title = "Messages consumed / s";
    checks.counts(
        title,
        answer(title, 0),
        &["worker"],
        rate,
        &settled_by_worker,
    );

    // The counters themselves, read as they stand (no window, no extrapolation):
    // every delivery consumed was settled once, every page and record counted once.
    let raw = |expr: &'static str| prometheus.query(expr);
    let consumed = raw("sum by (worker) (estafette_messages_consumed_total)").await;
    let settled_now = raw("sum by (worker) (estafette_messages_settled_total)").await;
    let settled_now = keyed(
        settled_now
            .iter()
            .map(|(series, value)| (series["worker"].clone(), *value)),
    );
    checks.counts(
        "estafette_messages_consumed_total (raw)",
        &consumed,
        &["worker"],
        1.0,
        &settled_now,
    );
    let pages_now = raw("sum by (connection) (estafette_pages_fetched_total) > 0").await;
    checks.counts(
        "estafette_pages_fetched_total (raw)",
        &pages_now,
        &["connection"],
        1.0,
        &keyed(run.pages.clone()),
    );
    let records_now = raw("sum by (connection) (estafette_records_fetched_total) > 0").await;
    checks.counts(
        "estafette_records_fetched_total (raw)",
        &records_now,
        &["connection"],
        1.0,
        &keyed(run.records.clone()),
    );

    // Upstreams.
    let title = "Pages / s";
    checks.counts(
        title,
        answer(title, 0),
        &["connection"],
        rate,
        &keyed(run.pages.clone()),
    );
    let title = "Records / s";
    checks.counts(
        title,
        answer(title, 0),
        &["connection"],
        rate,
        &keyed(run.records.clone()),
    );
    let title = "Upstream latency p50 / p95";
    let p50 = answer(title, 0);
    let p95 = answer(title, 1);
    let measured: Vec<&Sample> = p50
        .iter()
        .chain(p95)
        .filter(|(_, value)| value.is_finite())
        .collect();
    assert!(!measured.is_empty(), "no latency for any connection");
    for (series, value) in measured {
        // The sandboxes add 10 ms to every request; none takes seconds.
        let within = (0.005..=2.0).contains(value);
        checks.keep(title, &series["connection"], *value, 0.01, within);
    }
    let (clean, divalto, ds) = (&upstreams.clean, &upstreams.divalto, &upstreams.ds);
    let errors = keyed([
        ("sandbox 5xx", Upstreams::answered(ds, 500)),
        ("sandbox_divalto 5xx", Upstreams::answered(divalto, 500)),
        ("sandbox_divalto 4xx", Upstreams::answered(divalto, 429)),
        ("broken_amienscope 4xx", Upstreams::not_2xx(clean)),
    ]);
    let title = "Upstream errors / s";
    checks.counts(
        title,
        answer(title, 0),
        &["connection", "status_class"],
        rate,
        &errors,
    );
    let title = "Upstream error ratio";
    let apidae_requests = count(clean.apidae().token_calls() + clean.apidae().write_calls());
    let implied_ratio = [
        ("sandbox", Upstreams::not_2xx(ds) / Upstreams::requests(ds)),
        (
            "sandbox_divalto",
            Upstreams::not_2xx(divalto) / Upstreams::requests(divalto),
        ),
        (BROKEN, 1.0),
        ("sandbox_apidae", 0.0),
    ];
    assert_eq!(
        Upstreams::requests(clean),
        apidae_requests + Upstreams::not_2xx(clean),
        "the clean sandbox served Apidae and refused the broken connection, nothing else"
    );
    for (connection, implied) in implied_ratio {
        let shown = answer(title, 0)
            .iter()
            .find(|(series, _)| series["connection"] == connection)
            .map_or(f64::NAN, |(_, value)| *value);
        checks.near(title, connection, shown, implied, 0.01);
    }
    let title = "Rate-limit pauses (429)";
    let pauses = keyed([("sandbox_divalto", Upstreams::answered(divalto, 429))]);
    checks.counts(title, answer(title, 0), &["connection"], 1.0, &pauses);
    let title = "Rate-limit waits";
    // DS allows one request per 150 ms: the gate held the sync's pages for seconds.
    let waited = answer(title, 0)
        .iter()
        .find(|(series, _)| series["connection"] == "sandbox")
        .map_or(0.0, |(_, value)| value * rate);
    checks.keep(title, "waiting sandbox (s)", waited, 0.5, waited > 0.5);
    for (series, value) in answer(title, 1)
        .iter()
        .filter(|(_, value)| value.is_finite())
    {
        // No wait outlasts the longest rate-limit wait a worker accepts (65 s).
        let within = (0.0..=65.0).contains(value);
        checks.keep(
            title,
            &format!("p95 {}", series["connection"]),
            *value,
            0.0,
            within,
        );
    }
    let title = "Token refreshes";
    let refreshes = keyed([
        (
            "sandbox_divalto obtained",
            count(divalto.divalto().auth_calls()),
        ),
        // Each fetch-page replica logs in; a planned fault may land on any login.
        (
            "sandbox_divalto failed",
            count(divalto.divalto().auth_faults()),
        ),
        (
            "sandbox_apidae obtained",
            count(clean.apidae().token_calls()),
        ),
    ]);
    checks.counts(
        title,
        answer(title, 0),
        &["connection", "outcome"],
        1.0,
        &refreshes,
    );

    // Settlements.
    let transient = Upstreams::not_2xx(ds) + Upstreams::not_2xx(divalto);
    let mut by_reason: BTreeMap<String, f64> = BTreeMap::new();
    for letter in &dead_letters {
        *by_reason.entry(letter.reason.clone()).or_default() += 1.0;
    }
    let dead = count(dead_letters.len() as u64);
    let title = "Settlements / s";
    let outcomes = keyed([
        ("fetch-page retried", transient),
        ("fetch-page dead_lettered", dead),
        (
            "fetch-page acked",
            settled_by_worker.get("fetch-page").copied().unwrap_or(0.0) - transient - dead,
        ),
        (
            "write-descriptors acked",
            settled_by_worker
                .get("write-descriptors")
                .copied()
                .unwrap_or(0.0),
        ),
        (
            "send-status acked",
            settled_by_worker.get("send-status").copied().unwrap_or(0.0),
        ),
    ]);
    checks.counts(
        title,
        answer(title, 0),
        &["worker", "outcome"],
        rate,
        &outcomes,
    );
    let title = "Dead letters by reason";
    checks.counts(title, answer(title, 0), &["reason"], 1.0, &by_reason);
    let title = "Broker reconnects";
    checks.counts(title, answer(title, 0), &[], 1.0, &keyed([("", 0.0)]));

    // Replicas.
    let title = "Replicas up / ready";
    checks.counts(title, answer(title, 0), &[], 1.0, &keyed([("", 4.0)]));
    let ready = keyed([
        ("fetch-page", 2.0),
        ("write-descriptors", 1.0),
        ("send-status", 1.0),
    ]);
    checks.counts(title, answer(title, 1), &["worker"], 1.0, &ready);
    let title = "Settlements / s per replica";
    assert_eq!(answer(title, 0).len(), 4, "one series per replica");
    checks.counts(
        title,
        answer(title, 0),
        &["worker"],
        rate,
        &settled_by_worker,
    );
    let title = "In flight per replica";
    for target in 0..2 {
        for (series, value) in answer(title, target) {
            checks.near(title, &series["instance"], *value, 0.0, 0.0);
        }
    }

    // Schedules: only the scheduler exports their series, and none runs here.
    for title in [
        "Time since last successful run",
        "Last outcome per schedule",
        "Runs in flight and skips",
        "Scheduler lease holder",
    ] {
        let results = answers
            .get(title)
            .unwrap_or_else(|| panic!("no panel {title:?}"));
        for (target, samples) in results.iter().enumerate() {
            let series = count(samples.len() as u64);
            checks.near(
                title,
                &format!("series of query {target}"),
                series,
                0.0,
                0.0,
            );
        }
    }

    // Queues, from the RabbitMQ plugin.
    let queue_panels = [
        "Work queues: ready",
        "Work queues: unacked",
        "Dead-letter queue depth",
        "Delay queues depth",
    ];
    if rabbitmq {
        let work_queues = keyed(
            ["fetch-page", "write-descriptors", "send-status"]
                .map(|worker| (format!("{prefix}.{worker}"), 0.0)),
        );
        for title in &queue_panels[..2] {
            checks.counts(title, answer(title, 0), &["queue"], 1.0, &work_queues);
        }
        let title = "Dead-letter queue depth";
        let depth = keyed([(format!("{prefix}.dead-letters"), dead)]);
        checks.counts(title, answer(title, 0), &["queue"], 1.0, &depth);
        let title = "Delay queues depth";
        for (series, value) in answer(title, 0) {
            checks.near(title, &series["queue"], *value, 0.0, 0.0);
        }
    } else {
        println!(
            "RabbitMQ's Prometheus plugin does not answer on {}: not checked: {queue_panels:?}",
            testkit::rabbitmq_prometheus_address()
        );
    }
    let checked_titles: BTreeSet<&str> = checks.rows.iter().map(|row| row.panel.as_str()).collect();
    for (title, _) in &panels {
        assert!(
            checked_titles.contains(title.as_str())
                || (!rabbitmq && queue_panels.contains(&title.as_str())),
            "panel {title:?} was not checked"
        );
    }

    // Alert rules: each expression as Prometheus evaluates it now.
    let alerts = deploy::alert_rules();
    let failed_job_labels: BTreeSet<String> = run
        .failed
        .keys()
        .map(|(kind, reason)| {
            let connection = if kind == "ds.sync" {
                "unconfigured"
            } else {
                BROKEN
            };
            format!("{kind} {connection} {reason}")
        })
        .collect();
    let dead_reasons: BTreeSet<String> = by_reason.keys().cloned().collect();
    let error_connections: BTreeSet<String> = implied_ratio
        .iter()
        .filter(|(_, ratio)| *ratio > 0.05)
        .map(|(connection, _)| (*connection).to_owned())
        .collect();
    for (alert, expr) in &alerts {
        let fired: BTreeSet<String> = prometheus
            .query(expr)
            .await
            .into_iter()
            .map(|(series, _)| {
                let label = |name: &str| series.get(name).cloned().unwrap_or_default();
                match alert.as_str() {
                    "EstafetteJobFailed" => {
                        format!(
                            "{} {} {}",
                            label("kind"),
                            label("connection"),
                            label("reason")
                        )
                    }
                    "EstafetteDeadLettersGrowing" => label("reason"),
                    "EstafetteUpstreamErrorRatio" => label("connection"),
                    "EstafetteScheduleNotSucceeding" => label("schedule"),
                    _ => label("instance"),
                }
            })
            .collect();
        let implied = match alert.as_str() {
            "EstafetteJobFailed" => failed_job_labels.clone(),
            "EstafetteDeadLettersGrowing" => dead_reasons.clone(),
            "EstafetteUpstreamErrorRatio" => error_connections.clone(),
            "EstafetteReplicaNotReady" | "EstafetteReplicaDown" => BTreeSet::new(),
            // No scheduler runs: no schedule is tracked.
            "EstafetteScheduleNotSucceeding" => BTreeSet::new(),
            other => panic!("alert {other} has no expectation here"),
        };
        println!("alert {alert}: returns {fired:?}, the run implies {implied:?}");
        assert_eq!(fired, implied, "{alert}: {expr}");
    }
    let groups = prometheus.get("/api/v1/rules", &[]).await;
    let loaded: Vec<(String, String)> = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().into_iter().flatten())
        .map(|rule| {
            (
                rule["name"].as_str().unwrap_or_default().to_owned(),
                rule["health"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(loaded.len(), alerts.len(), "{loaded:?}");
    for (name, health) in &loaded {
        assert_eq!(health, "ok", "rule {name}");
    }

    println!(
        "{:<40} {:<55} {:>10} {:>10}",
        "panel", "series", "shown", "implied"
    );
    for row in &checks.rows {
        println!(
            "{:<40} {:<55} {:>10.3} {:>10.3}",
            row.panel, row.series, row.shown, row.implied
        );
    }
    prometheus.stop();
    workers.stop();
    upstreams.clean.shutdown().await;
    upstreams.divalto.shutdown().await;
    upstreams.ds.shutdown().await;
    assert!(
        checks.failures.is_empty(),
        "panels disagree with the run (logs in {}):\n{}",
        dir.display(),
        checks.failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
