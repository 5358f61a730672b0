//! The fault suite of fetch-page: real worker processes, SIGKILLed and restarted, a
//! broker restarted, an upstream that fails, and a job store that loses its data.
//! Every event goes to a durable ledger queue, read once the job has ended and judged
//! in the spirit of Jepsen's queue checker:
//!
//! - `ok`: a record delivered under exactly one `page.fetched` message id;
//! - `lost`: a record of the sandbox that no event delivered;
//! - `duplicated`: a record delivered under two or more different message ids (the
//!   same message id twice is an allowed at-least-once redelivery);
//! - `unexpected`: a record the sandbox does not hold, or an event or dead letter a
//!   clean run does not produce.
//!
//! Three parts: a large Divalto offset sync through kills, broker restarts and
//! upstream faults; a démarche cursor chain through kills and broker restarts, which
//! must read each page once unless a read was never confirmed; and a Divalto sync
//! whose Redis is killed and restarted, without persistence (the job must fail once
//! as `job_state_lost`) and with its append-only file (the job must complete exactly).
//!
//! It restarts the broker every other test shares, so it is ignored by a plain
//! `cargo test` and run alone, one test at a time: `cargo test -p fetch-page --test
//! faults -- --ignored --nocapture --test-threads=1` (as `.ci/run` does, after the
//! other tests). See `testkit::chaos` for the broker it restarts.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    num::NonZeroU32,
    time::{Duration, Instant},
};

use contract::{
    Command, CommandBody, DivaltoQuery, DivaltoSync, DsSync, Event, EventEnvelope, FailureReason,
    Listing, MessageId, PageSubject, WorkerKind,
};
use sandbox::{DivaltoTable, DsConfig, FaultConfig, RateLimitConfig, Sandbox, SandboxConfig};
use testkit::chaos::{self, Fleet, RedisServer};

/// Worker processes running at once.
const WORKERS: usize = 3;
/// The longest a job may take, retries held up by a broker restart included: RabbitMQ
/// 3.10 can start a delay queue's dead-letter worker before the work queue takes
/// messages ("Cannot forward any dead-letter messages") and tries again only minutes
/// later, so a retry waiting at a restart is late, never lost.
const JOB_DEADLINE: Duration = Duration::from_secs(600);
/// How long the ledger is read after the event that ends a job, for stragglers.
const LINGER: Duration = Duration::from_secs(3);

const DIVALTO: &str = "sandbox_divalto";
const DS: &str = "sandbox";
/// The seeded démarche with 2,350 dossiers.
const DEMARCHE: u32 = 4242;

/// What every worker process of a suite is given: the test broker under `prefix`, the
/// job store at `redis_url`, short retries, and the connection's variables.
fn worker_env(
    prefix: &str,
    redis_url: &str,
    connection: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AMQP_URL", testkit::amqp_url()),
        ("REDIS_URL", redis_url.to_owned()),
        ("ESTAFETTE__BROKER__PREFIX", prefix.to_owned()),
        (
            "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS",
            testkit::QUEUE_EXPIRES.as_secs().to_string(),
        ),
        ("ESTAFETTE__BROKER__RECONNECT_TIMEOUT_SECONDS", "120".into()),
        ("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0".into()),
        ("ESTAFETTE__WORKER__MAX_ATTEMPTS", "20".into()),
        (
            "ESTAFETTE__WORKER__TRANSIENT_RETRY_DELAY_SECONDS",
            "0.05".into(),
        ),
        ("ESTAFETTE__WORKER__MAX_RETRY_DELAY_SECONDS", "1".into()),
        (
            "RUST_LOG",
            "warn,settle=info,broker=info,fetch_page=info".into(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    env.extend(
        connection
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone())),
    );
    env
}

/// The variables of the sandbox's Divalto connection, at `page_size` and limited to
/// `limit` requests per second (burst 10) across every worker.
fn divalto_connection(
    sandbox: &Sandbox,
    page_size: u32,
    limit: u32,
) -> Vec<(&'static str, String)> {
    vec![
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__BASE_URL",
            format!("{}/divalto", sandbox.base_url()),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE",
            page_size.to_string(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__WINDOW",
            "16".into(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__RATE_LIMIT__REQUESTS",
            limit.to_string(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__RATE_LIMIT__PER_SECONDS",
            "1".into(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__RATE_LIMIT__BURST",
            "10".into(),
        ),
    ]
}

fn divalto_sync() -> Command {
    Command::start_job(
        DIVALTO,
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

fn article_ids(sandbox: &Sandbox) -> HashSet<String> {
    sandbox
        .divalto()
        .ids(DivaltoTable::Article)
        .into_iter()
        .map(|id| id.to_string())
        .collect()
}

/// The ledger's verdict on a job's records.
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

/// Judges `events` against the `expected` record keys; `key` names a record of a
/// page, `None` for a record that cannot belong to the job.
fn judge(
    expected: &HashSet<String>,
    events: &[EventEnvelope],
    dead_letters: usize,
    key: impl Fn(&contract::PageFetched, &serde_json::Value) -> String,
) -> Verdict {
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
                    carriers
                        .entry(key(page, &record.to_value()))
                        .or_default()
                        .insert(envelope.message_id);
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

fn print_verdict(verdict: &Verdict, dead_letters: usize) {
    println!(
        "  ledger: {} page events, {} completions, {} redeliveries under the same id, {dead_letters} dead letters",
        verdict.page_events, verdict.completions, verdict.redeliveries
    );
    println!(
        "  lost {} | duplicated {} | unexpected {} | ok {}",
        verdict.lost, verdict.duplicated, verdict.unexpected, verdict.ok
    );
}

fn assert_exact(verdict: &Verdict, expected: usize, fleet: &Fleet) {
    let logs = format!("worker logs in {}", fleet.logs().display());
    assert_eq!(verdict.lost, 0, "{logs}");
    assert_eq!(verdict.duplicated, 0, "{logs}");
    assert_eq!(verdict.unexpected, 0, "{logs}");
    assert_eq!(verdict.completions, 1, "one sync.completed; {logs}");
    assert_eq!(verdict.ok, expected, "{logs}");
}

fn is_completion(envelope: &EventEnvelope) -> bool {
    matches!(envelope.event, Event::SyncCompleted(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the broker every test shares: run alone, as .ci/run does"]
async fn a_large_offset_sync_survives_kills_broker_restarts_and_upstream_faults() {
    const PAGE_SIZE: u32 = 5;
    const LIMIT: u32 = 100;
    let config = SandboxConfig {
        latency: Duration::from_millis(5),
        faults: FaultConfig {
            seed: 7,
            server_error_rate: 0.03,
            rate_limited_rate: 0.02,
            dropped_connection_rate: 0.02,
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the sandbox starts");
    let expected = article_ids(&sandbox);
    let (prefix, driver) = chaos::topology_with_ledger(WorkerKind::FetchPage).await;
    let store = testkit::job_store(&prefix).await;
    let env = worker_env(
        &prefix,
        &testkit::redis_url(),
        &divalto_connection(&sandbox, PAGE_SIZE, LIMIT),
    );
    let mut fleet = Fleet::start(
        env!("CARGO_BIN_EXE_fetch-page"),
        env,
        WORKERS,
        "faults-offset",
    );
    let command = divalto_sync();
    let job = command.meta.job_id;
    driver
        .publish_command(&command)
        .await
        .expect("the sync is published");
    let began = Instant::now();

    let ended = async || {
        store
            .summary(job)
            .await
            .is_ok_and(|summary| summary.end != job_state::JobEnd::Running)
    };
    let chaos = chaos::unleash(
        &mut fleet,
        Duration::from_millis(1500),
        &[4, 16],
        Duration::from_secs(60),
        ended,
    )
    .await;
    let events = chaos::read_ledger(
        &prefix,
        "ledger",
        is_completion,
        LINGER,
        began + JOB_DEADLINE,
    )
    .await;
    let elapsed = began.elapsed();
    let dead_letters = chaos::dead_letters(&prefix).await;

    let stats = sandbox.stats();
    let verdict = judge(&expected, &events, dead_letters.len(), |_, record| {
        record["id"].as_str().unwrap_or_default().to_owned()
    });
    println!(
        "fault suite, offset: one Divalto sync of {} records, page size {PAGE_SIZE}, {WORKERS} worker processes, {:.1} s",
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
        "  upstream limit: {LIMIT} requests/s (burst 10) shared by every worker; busiest second {busiest_second}"
    );
    print_verdict(&verdict, dead_letters.len());
    assert_exact(&verdict, expected.len(), &fleet);
    // Grants are spaced in Redis; a request reaches the sandbox a few milliseconds
    // after its grant, and those delays differ, so a one-second window of arrivals may
    // hold a grant or two from just outside it. Never a replica's worth more.
    let most = (LIMIT + 10) as usize + 3;
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
    fleet.stop(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the broker every test shares: run alone, as .ci/run does"]
async fn a_demarche_chain_reads_each_page_once_through_kills_and_broker_restarts() {
    const PAGE_SIZE: u32 = 20;
    let config = SandboxConfig {
        latency: Duration::from_millis(150),
        ds: DsConfig {
            rate_limit: RateLimitConfig {
                limit: 10_000,
                window: Duration::from_secs(60),
            },
            ..DsConfig::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the sandbox starts");
    let dataset = sandbox.dataset();
    let demarche = dataset
        .demarche(i64::from(DEMARCHE))
        .expect("the seeded démarche");
    let keyed = |listing: Listing, number: i64| format!("{listing:?}/{number}");
    let expected: HashSet<String> = demarche
        .visible_dossiers()
        .map(|dossier| keyed(Listing::Dossiers, dossier.number))
        .chain(
            demarche
                .deleted_dossiers
                .iter()
                .map(|d| keyed(Listing::DeletedDossiers, d.number)),
        )
        .chain(
            demarche
                .pending_deleted_dossiers
                .iter()
                .map(|d| keyed(Listing::PendingDeletedDossiers, d.number)),
        )
        .collect();
    let (prefix, driver) = chaos::topology_with_ledger(WorkerKind::FetchPage).await;
    let connection = vec![
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL",
            sandbox.base_url(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX__PAGE_SIZE",
            PAGE_SIZE.to_string(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX__RATE_LIMIT__REQUESTS",
            "100".into(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX__RATE_LIMIT__PER_SECONDS",
            "1".into(),
        ),
    ];
    let env = worker_env(&prefix, &testkit::redis_url(), &connection);
    let mut fleet = Fleet::start(env!("CARGO_BIN_EXE_fetch-page"), env, WORKERS, "faults-ds");
    let command = Command::start_job(
        DS,
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(DEMARCHE).expect("non-zero"),
            updated_since: None,
            state: None,
        }),
    );
    driver
        .publish_command(&command)
        .await
        .expect("the sync is published");
    let began = Instant::now();

    let store = testkit::job_store(&prefix).await;
    let job = command.meta.job_id;
    let ended = async || store.chain_completion(job).await.is_ok();
    let chaos = chaos::unleash(
        &mut fleet,
        Duration::from_millis(1500),
        &[2, 6],
        Duration::from_secs(60),
        ended,
    )
    .await;
    let events = chaos::read_ledger(
        &prefix,
        "ledger",
        is_completion,
        LINGER,
        began + JOB_DEADLINE,
    )
    .await;
    let elapsed = began.elapsed();
    let dead_letters = chaos::dead_letters(&prefix).await;

    let stats = sandbox.stats();
    let verdict = judge(&expected, &events, dead_letters.len(), |page, record| {
        let PageSubject::Ds { listing, .. } = page.subject else {
            return "an offset page".to_owned();
        };
        keyed(listing, record["number"].as_i64().unwrap_or_default())
    });
    let raw_completions = events
        .iter()
        .filter(|envelope| is_completion(envelope))
        .count();
    // Every request of the chain asks for one page; the same page asked twice has the
    // same body, so the sandbox's count per distinct request is the reads per page.
    let mut reads_per_page: BTreeMap<u64, usize> = BTreeMap::new();
    for reads in stats.by_content.values() {
        *reads_per_page.entry(*reads).or_default() += 1;
    }
    let pages = stats.by_content.len() as u64;
    let extra_reads = stats.total - pages;
    println!(
        "fault suite, démarche chain: {} dossiers, page size {PAGE_SIZE}, {WORKERS} worker processes, {:.1} s",
        expected.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  faults: {} SIGKILLs, {} broker restarts; {} upstream requests for {pages} pages",
        chaos.kills, chaos.broker_restarts, stats.total
    );
    println!(
        "  reads per page: {}",
        reads_per_page
            .iter()
            .map(|(reads, pages)| format!("{pages} pages read {reads}x"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  sync.completed published {raw_completions} times");
    print_verdict(&verdict, dead_letters.len());
    assert_exact(&verdict, expected.len(), &fleet);
    // One page of the chain is in flight at a time, so each kill or restart can cost
    // at most that page's read: the one whose result it kept from being recorded.
    let faults = u64::from(chaos.kills + chaos.broker_restarts);
    assert!(
        extra_reads <= faults,
        "{extra_reads} pages read again for {faults} kills and restarts: the chain forked"
    );
    assert!(chaos.broker_restarts == 2, "both broker restarts ran");
    fleet.stop(true);
}

/// How many upstream requests the Redis parts let through before they kill Redis.
const KILL_AFTER_REQUESTS: u64 = 150;

/// Runs a Divalto sync whose Redis, of the suite's own, is killed with SIGKILL once
/// the sync is under way and restarted a second later. Returns the ledger and the
/// dead letters.
async fn sync_through_a_redis_kill(
    persistent: bool,
) -> (
    HashSet<String>,
    Vec<EventEnvelope>,
    Vec<broker::Incoming>,
    Fleet,
) {
    let sandbox = Sandbox::start(
        SandboxConfig {
            latency: Duration::from_millis(5),
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().expect("address"),
    )
    .await
    .expect("the sandbox starts");
    let expected = article_ids(&sandbox);
    let mut redis = RedisServer::start(persistent);
    let (prefix, driver) = chaos::topology_with_ledger(WorkerKind::FetchPage).await;
    let env = worker_env(
        &prefix,
        &redis.url(),
        &divalto_connection(&sandbox, 20, 200),
    );
    let suite = if persistent {
        "faults-aof"
    } else {
        "faults-redis"
    };
    let fleet = Fleet::start(env!("CARGO_BIN_EXE_fetch-page"), env, WORKERS, suite);
    let command = divalto_sync();
    driver
        .publish_command(&command)
        .await
        .expect("the sync is published");
    let began = Instant::now();
    // Under way: some of the sync's 527 pages read.
    while sandbox.stats().total < KILL_AFTER_REQUESTS {
        assert!(began.elapsed() < Duration::from_secs(60), "the sync starts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.restart();
    let ends = |envelope: &EventEnvelope| {
        matches!(
            envelope.event,
            Event::SyncCompleted(_) | Event::JobFailed(_)
        )
    };
    let events = chaos::read_ledger(
        &prefix,
        "ledger",
        ends,
        Duration::from_secs(5),
        began + JOB_DEADLINE,
    )
    .await;
    let dead_letters = chaos::dead_letters(&prefix).await;
    println!(
        "  {:.1} s, {} upstream requests; Redis killed after {} requests and restarted 1 s later",
        began.elapsed().as_secs_f64(),
        sandbox.stats().total,
        KILL_AFTER_REQUESTS
    );
    (expected, events, dead_letters, fleet)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "kills a Redis of its own and runs worker processes: run alone, as .ci/run does"]
async fn a_job_whose_redis_restarts_empty_fails_once_as_state_lost() {
    println!("fault suite, Redis restarted without persistence: one Divalto sync of 10000 records");
    let (_, events, dead_letters, fleet) = sync_through_a_redis_kill(false).await;

    let distinct: HashMap<MessageId, &EventEnvelope> = events
        .iter()
        .map(|envelope| (envelope.message_id, envelope))
        .collect();
    let count =
        |matches: fn(&Event) -> bool| distinct.values().filter(|e| matches(&e.event)).count();
    let job_failures = count(|event| matches!(event, Event::JobFailed(_)));
    let completions = count(|event| matches!(event, Event::SyncCompleted(_)));
    let command_failures: Vec<FailureReason> = distinct
        .values()
        .filter_map(|envelope| match &envelope.event {
            Event::CommandFailed(failed) => Some(failed.reason),
            _ => None,
        })
        .collect();
    let dead_reasons: Vec<&str> = dead_letters
        .iter()
        .filter_map(|letter| letter.header(contract::DEAD_LETTER_REASON_HEADER))
        .collect();
    let job_failed = distinct
        .values()
        .find_map(|envelope| match &envelope.event {
            Event::JobFailed(failed) => Some(failed.clone()),
            _ => None,
        });
    println!(
        "  ledger: {} page events, {completions} completions, {job_failures} job.failed, {} command.failed, {} dead letters",
        count(|event| matches!(event, Event::PageFetched(_))),
        command_failures.len(),
        dead_letters.len()
    );
    if let Some(failed) = &job_failed {
        println!(
            "  job.failed: {} at {}: {}",
            failed.reason.as_str(),
            failed.command_kind,
            failed.message
        );
    }
    let logs = format!("worker logs in {}", fleet.logs().display());
    assert_eq!(
        completions, 0,
        "a job whose state was lost never completes; {logs}"
    );
    assert_eq!(job_failures, 1, "the job fails once; {logs}");
    assert_eq!(
        job_failed.map(|failed| failed.reason),
        Some(FailureReason::JobStateLost)
    );
    assert_eq!(
        command_failures,
        [FailureReason::JobStateLost],
        "one step reports the loss; the others end with the failed job"
    );
    assert_eq!(dead_reasons, ["job_state_lost"]);
    fleet.stop(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "kills a Redis of its own and runs worker processes: run alone, as .ci/run does"]
async fn a_job_whose_redis_restarts_from_its_append_only_file_completes_exactly() {
    println!(
        "fault suite, Redis restarted from its append-only file: one Divalto sync of 10000 records"
    );
    let (expected, events, dead_letters, fleet) = sync_through_a_redis_kill(true).await;

    let verdict = judge(&expected, &events, dead_letters.len(), |_, record| {
        record["id"].as_str().unwrap_or_default().to_owned()
    });
    print_verdict(&verdict, dead_letters.len());
    let consistent = events.iter().any(|envelope| {
        matches!(&envelope.event, Event::SyncCompleted(completed)
            if matches!(completed.subject, contract::SyncSubject::Offset { consistency: contract::Consistency::Exact, .. }))
    });
    assert_exact(&verdict, expected.len(), &fleet);
    assert!(
        consistent,
        "the completion says the listing was read exactly"
    );
    fleet.stop(true);
}
