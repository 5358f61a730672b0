//! The fault suite: one large offset sync, run by real worker processes while they are
//! SIGKILLed and restarted, the broker is restarted, and the upstream answers 500,
//! 429 or drops the connection. At the end the sandbox's records and the events'
//! ledger are compared, in the spirit of Jepsen's queue checker:
//!
//! - `ok`: a record delivered under exactly one `page.fetched` message id;
//! - `lost`: a record of the sandbox that no event delivered;
//! - `duplicated`: a record delivered under two or more different message ids (the
//!   same message id twice is an allowed at-least-once redelivery);
//! - `unexpected`: a record the sandbox does not hold, or an event or dead letter a
//!   clean run does not produce.
//!
//! It restarts the broker every other test shares, so it is ignored by a plain
//! `cargo test` and run alone: `cargo test -p fetch-page --test faults -- --ignored
//! --nocapture` (as `.ci/run` does, after the other tests). The broker is the one of
//! `AMQP_URL`, restarted with `rabbitmqctl`; when that is not the local default node,
//! name it in `ESTAFETTE_FAULTS_RABBITMQ_NODE` (passed as `rabbitmqctl -n`).

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use contract::{
    Command as EstafetteCommand, CommandBody, DivaltoQuery, DivaltoSync, Event, EventEnvelope,
    MessageId, WorkerKind,
};
use job_state::{JobEnd, JobStore};
use sandbox::{DivaltoTable, FaultConfig, Sandbox, SandboxConfig};

/// Worker processes running at once.
const WORKERS: usize = 3;
/// Records per page: each page adds `PAGE_SIZE - 1` new records (one overlaps).
const PAGE_SIZE: &str = "5";
/// How long the chaos lasts; the job then finishes undisturbed.
const CHAOS: Duration = Duration::from_secs(60);
/// Pause between two chaos steps.
const STEP: Duration = Duration::from_millis(1500);
/// Chaos steps at which the broker is restarted.
const BROKER_RESTART_STEPS: [u32; 2] = [4, 16];
/// The limit every worker shares on the upstream connection: requests per second,
/// and the burst allowed after an idle spell.
const RATE_LIMIT: (u32, u32) = (100, 10);
/// The longest the whole job may take, its retries held up by a broker restart included.
const JOB_DEADLINE: Duration = Duration::from_secs(600);

const CONNECTION: &str = "sandbox_divalto";

/// The faults the upstream injects, drawn per request.
fn upstream_faults() -> FaultConfig {
    FaultConfig {
        seed: 7,
        server_error_rate: 0.03,
        rate_limited_rate: 0.02,
        dropped_connection_rate: 0.02,
        ..FaultConfig::default()
    }
}

/// A running `fetch-page` process; its log is `worker-<n>.log` in the rig's `logs`.
struct Worker {
    child: Child,
}

struct Rig {
    prefix: String,
    sandbox: Sandbox,
    logs: PathBuf,
    started: u32,
}

impl Rig {
    fn start_worker(&mut self) -> Worker {
        self.started += 1;
        let log = self.logs.join(format!("worker-{}.log", self.started));
        let file = std::fs::File::create(&log).expect("a log file");
        let also = file.try_clone().expect("a second handle on the log file");
        let child = Command::new(env!("CARGO_BIN_EXE_fetch-page"))
            .env("AMQP_URL", testkit::amqp_url())
            .env("REDIS_URL", testkit::redis_url())
            .env("ESTAFETTE__BROKER__PREFIX", &self.prefix)
            .env(
                "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS",
                testkit::QUEUE_EXPIRES.as_secs().to_string(),
            )
            .env("ESTAFETTE__BROKER__RECONNECT_TIMEOUT_SECONDS", "120")
            .env("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0")
            .env("ESTAFETTE__WORKER__MAX_ATTEMPTS", "20")
            .env("ESTAFETTE__WORKER__TRANSIENT_RETRY_DELAY_SECONDS", "0.05")
            .env("ESTAFETTE__WORKER__MAX_RETRY_DELAY_SECONDS", "1")
            .env(
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__BASE_URL",
                format!("{}/divalto", self.sandbox.base_url()),
            )
            .env(
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE",
                PAGE_SIZE,
            )
            .env("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__WINDOW", "16")
            .env(
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__RATE_LIMIT__REQUESTS",
                RATE_LIMIT.0.to_string(),
            )
            .env(
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__RATE_LIMIT__PER_SECONDS",
                "1",
            )
            .env(
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__RATE_LIMIT__BURST",
                RATE_LIMIT.1.to_string(),
            )
            .env("RUST_LOG", "warn,settle=info,broker=info,fetch_page=info")
            .env("LOG_FORMAT", "json")
            .stdout(file)
            .stderr(also)
            .spawn()
            .expect("the fetch-page binary starts");
        Worker { child }
    }
}

fn sync_command() -> EstafetteCommand {
    EstafetteCommand::start_job(
        CONNECTION,
        CommandBody::DivaltoSync(DivaltoSync {
            query: DivaltoQuery {
                dhoq: DivaltoTable::Article.dhoq().into(),
                recordsql: DivaltoTable::Article.recordsql().into(),
                id_field: DivaltoTable::Article.id_field().into(),
                fields: vec![],
                orderby: None,
                where_clause: None,
            },
            window: NonZeroU32::new(16),
        }),
    )
}

fn rabbitmqctl(verb: &str) {
    let mut command = Command::new("rabbitmqctl");
    if let Ok(node) = std::env::var("ESTAFETTE_FAULTS_RABBITMQ_NODE") {
        command.args(["-n", &node]);
    }
    let status = command
        .arg(verb)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("rabbitmqctl {verb} cannot run: {e}"));
    assert!(status.success(), "rabbitmqctl {verb}: {status}");
}

/// Stops the broker's application, waits, and starts it again.
fn restart_broker() {
    rabbitmqctl("stop_app");
    std::thread::sleep(Duration::from_secs(3));
    rabbitmqctl("start_app");
}

/// What the chaos did.
#[derive(Default)]
struct Chaos {
    kills: u32,
    broker_restarts: u32,
}

/// Kills and restarts workers, and restarts the broker, until `CHAOS` has passed or
/// the job has ended.
async fn unleash(
    rig: &mut Rig,
    workers: &mut [Worker],
    store: &JobStore,
    job: contract::JobId,
) -> Chaos {
    let mut chaos = Chaos::default();
    let started = Instant::now();
    let mut step = 0u32;
    while started.elapsed() < CHAOS && !job_ended(store, job).await {
        tokio::time::sleep(STEP).await;
        step += 1;
        let victim = step as usize % workers.len();
        workers[victim].child.kill().expect("SIGKILL a worker");
        workers[victim]
            .child
            .wait()
            .expect("the killed worker is reaped");
        chaos.kills += 1;
        workers[victim] = rig.start_worker();
        if BROKER_RESTART_STEPS.contains(&step) {
            tokio::task::spawn_blocking(restart_broker)
                .await
                .expect("the restart runs");
            chaos.broker_restarts += 1;
        }
    }
    chaos
}

async fn job_ended(store: &JobStore, job: contract::JobId) -> bool {
    match store.summary(job).await {
        Ok(summary) => summary.end != JobEnd::Running,
        Err(_) => false,
    }
}

/// The ledger's verdict.
#[derive(Debug, Default)]
struct Verdict {
    ok: usize,
    lost: usize,
    duplicated: usize,
    unexpected: usize,
    redeliveries: usize,
    completions: usize,
    page_events: usize,
}

fn judge(expected: &HashSet<String>, events: &[EventEnvelope], dead_letters: usize) -> Verdict {
    let mut verdict = Verdict {
        unexpected: dead_letters,
        ..Verdict::default()
    };
    let mut seen: HashSet<MessageId> = HashSet::new();
    let mut carriers: HashMap<String, HashSet<MessageId>> = HashMap::new();
    for envelope in events {
        if !seen.insert(envelope.message_id) {
            verdict.redeliveries += 1;
            continue;
        }
        match &envelope.event {
            Event::PageFetched(page) => {
                verdict.page_events += 1;
                for record in &page.records {
                    let id = record["id"].as_str().unwrap_or_default().to_owned();
                    carriers.entry(id).or_default().insert(envelope.message_id);
                }
            }
            Event::SyncCompleted(_) => verdict.completions += 1,
            other => {
                eprintln!("unexpected event: {other:?}");
                verdict.unexpected += 1;
            }
        }
    }
    for id in expected {
        match carriers.get(id).map(HashSet::len) {
            None => verdict.lost += 1,
            Some(1) => verdict.ok += 1,
            Some(_) => verdict.duplicated += 1,
        }
    }
    verdict.unexpected += carriers.keys().filter(|id| !expected.contains(*id)).count();
    verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the broker every test shares: run alone, as .ci/run does"]
async fn a_large_offset_sync_survives_kills_broker_restarts_and_upstream_faults() {
    let config = SandboxConfig {
        latency: Duration::from_millis(5),
        faults: upstream_faults(),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the sandbox starts");
    let expected: HashSet<String> = sandbox
        .divalto()
        .ids(DivaltoTable::Article)
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    let logs = std::env::temp_dir().join(format!("estafette-faults-{}", std::process::id()));
    std::fs::create_dir_all(&logs).expect("a log directory");
    let mut rig = Rig {
        prefix: testkit::unique_prefix(),
        sandbox,
        logs,
        started: 0,
    };
    let store = testkit::job_store(&rig.prefix).await;

    let driver = testkit::connect(&rig.prefix).await;
    driver
        .declare(&[WorkerKind::FetchPage])
        .await
        .expect("topology");
    // Declared now, so that it gathers every event; read once the job has ended.
    drop(
        driver
            .subscribe_events_durably("ledger", "#")
            .await
            .expect("the ledger queue"),
    );
    let mut workers: Vec<Worker> = (0..WORKERS).map(|_| rig.start_worker()).collect();
    let command = sync_command();
    let job = command.meta.job_id;
    driver
        .publish_command(&command)
        .await
        .expect("the sync is published");
    let began = Instant::now();

    let chaos = unleash(&mut rig, &mut workers, &store, job).await;

    // The chaos is over. The job may still wait on retries that were in a delay queue
    // when the broker restarted: RabbitMQ 3.10 can start a queue's dead-letter worker
    // before the work queue takes messages ("Cannot forward any dead-letter messages"),
    // and it tries again only minutes later. So the ledger is read until
    // `sync.completed`, for as long as `JOB_DEADLINE` allows.
    // The driver's connection died with the broker restarts: read through a new one.
    let reader = testkit::connect(&rig.prefix).await;
    let mut ledger = reader
        .subscribe_events_durably("ledger", "#")
        .await
        .expect("the ledger queue");
    let mut events = Vec::new();
    let mut completed = false;
    loop {
        let gap = if completed {
            Duration::from_secs(3)
        } else {
            JOB_DEADLINE.saturating_sub(began.elapsed())
        };
        let Ok(Some(message)) = tokio::time::timeout(gap, ledger.next()).await else {
            break;
        };
        let envelope: EventEnvelope =
            serde_json::from_slice(&message.body).expect("events are valid envelopes");
        completed |= matches!(envelope.event, Event::SyncCompleted(_));
        events.push(envelope);
    }
    let elapsed = began.elapsed();
    let mut dead = reader.dead_letters().await.expect("the dead letters");
    let mut dead_letters = 0;
    while let Ok(Some(letter)) = tokio::time::timeout(Duration::from_secs(1), dead.next()).await {
        eprintln!(
            "dead letter: {:?} {}",
            letter.headers,
            String::from_utf8_lossy(&letter.body)
        );
        dead_letters += 1;
    }
    for worker in &mut workers {
        let _ = worker.child.kill();
        let _ = worker.child.wait();
    }

    let stats = rig.sandbox.stats();
    let verdict = judge(&expected, &events, dead_letters);
    println!(
        "fault suite: one Divalto sync of {} records, page size {PAGE_SIZE}, {WORKERS} worker processes, {:.1} s",
        expected.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  faults: {} SIGKILLs, {} broker restarts, upstream {} x 500, {} x 429, {} dropped connections, of {} requests",
        chaos.kills,
        chaos.broker_restarts,
        stats.with_status(500),
        stats.with_status(429),
        stats.dropped_connections,
        stats.total
    );
    let busiest_second = stats.max_in_any_window(Duration::from_secs(1));
    println!(
        "  upstream limit: {} requests/s (burst {}) shared by every worker; busiest second {busiest_second}",
        RATE_LIMIT.0, RATE_LIMIT.1
    );
    println!(
        "  ledger: {} page events, {} completions, {} redeliveries under the same id, {} dead letters",
        verdict.page_events, verdict.completions, verdict.redeliveries, dead_letters
    );
    println!(
        "  lost {} | duplicated {} | unexpected {} | ok {}",
        verdict.lost, verdict.duplicated, verdict.unexpected, verdict.ok
    );
    let logs_hint = format!("worker logs in {}", rig.logs.display());
    assert_eq!(verdict.lost, 0, "{logs_hint}");
    assert_eq!(verdict.duplicated, 0, "{logs_hint}");
    assert_eq!(verdict.unexpected, 0, "{logs_hint}");
    assert_eq!(verdict.completions, 1, "one sync.completed; {logs_hint}");
    assert_eq!(verdict.ok, expected.len());
    // Grants are spaced in Redis; a request reaches the sandbox a few milliseconds
    // after its grant, and those delays differ, so a one-second window of arrivals may
    // hold a grant or two from just outside it. Never a replica's worth more.
    let most = (RATE_LIMIT.0 + RATE_LIMIT.1) as usize + 3;
    assert!(
        busiest_second <= most,
        "{busiest_second} requests in one second, above the shared limit ({most})"
    );
    assert!(
        chaos.kills > 0 && chaos.broker_restarts > 0,
        "the chaos ran: {} kills, {} restarts",
        chaos.kills,
        chaos.broker_restarts
    );
    assert!(
        stats.with_status(500) > 0 && stats.with_status(429) > 0 && stats.dropped_connections > 0,
        "every upstream fault was injected"
    );
    let _ = std::fs::remove_dir_all(&rig.logs);
}
