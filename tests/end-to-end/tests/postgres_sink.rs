//! The PostgreSQL sink example, `examples/postgres-sink/sink.py`, run for real beside a
//! fetch-page worker and the sandbox, under a topology prefix, a queue and a database of
//! the test's own: a consumer written in another language keeps a table equal to the
//! démarche's visible dossiers through full and incremental syncs, and redeliveries
//! change nothing.
//!
//! It needs `python3` with `pika` and `psycopg` (`pip install -r
//! examples/postgres-sink/requirements.txt`), and PostgreSQL on 127.0.0.1:5432 where the
//! `postgres` user may create databases, reached through `psql`. Without them the test
//! says it was skipped and passes, unless `ESTAFETTE_REQUIRE_PYTHON` is set, as in CI,
//! where it fails.

#[path = "common/sync_worker.rs"]
mod sync_worker;

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use broker::{Outgoing, Subscription};
use chrono::{DateTime, SecondsFormat, Utc};
use contract::{
    Command, CommandBody, DsSync, Event, EventEnvelope, JobId, Listing, PageSubject, SyncCompleted,
};
use sandbox::Sandbox;
use sandbox::ds::dataset::{DossierState, global_id};
use serde_json::{Value, json};
use testkit::WorkerApp;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The seeded démarche the syncs read.
const DEMARCHE: u32 = 4242;
/// The sandbox connection of the workers' test settings.
const CONNECTION: &str = "sandbox";
/// The sink's `sync_state` key for the démarche's syncs on that connection.
const SYNC_KEY: &str = "ds:sandbox:4242";
/// The sandbox's token with every right on the démarche.
const SANDBOX_TOKEN: &str = "sandbox-token";
/// An instructeur of the démarche, who makes the changes.
const INSTRUCTEUR: i64 = 7001;
/// Where the tests' PostgreSQL answers, as `psql` options.
const PSQL_SERVER: [&str; 4] = ["-h", "127.0.0.1", "-U", "postgres"];
/// The database the test connects to when it creates and drops its own: one every
/// PostgreSQL server has.
const MAINTENANCE_DATABASE: &str = "postgres";
/// Seconds without a message after which the sink exits, as the test runs it: longer
/// than the test takes between two syncs.
const SINK_IDLE_SECONDS: u64 = 10;
/// Longest pause between two events of a running sync.
const EVENT_GAP: Duration = Duration::from_secs(20);
/// How long the sink may take to apply a sync the worker has completed.
const APPLIED_WITHIN: Duration = Duration::from_secs(60);
/// How long the sink may take to start consuming.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The example script, from the repository's root.
fn sink_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/postgres-sink/sink.py")
}

/// Whether the sink can run here: `python3` imports `pika` and `psycopg`, and PostgreSQL
/// answers. When it cannot, fails if `ESTAFETTE_REQUIRE_PYTHON` is set, else says the
/// test is skipped.
async fn sink_can_run() -> bool {
    let mut python = tokio::process::Command::new("python3");
    python.args(["-c", "import pika, psycopg"]);
    let (missing, remedy) = if !succeeds(python).await {
        (
            "python3 cannot import pika and psycopg",
            "pip install -r examples/postgres-sink/requirements.txt",
        )
    } else if !succeeds(psql_command(MAINTENANCE_DATABASE, "SELECT 1")).await {
        (
            "PostgreSQL does not answer on 127.0.0.1:5432 through psql",
            "start it with trust for the postgres user, and install psql",
        )
    } else {
        return true;
    };
    assert!(
        std::env::var_os("ESTAFETTE_REQUIRE_PYTHON").is_none(),
        "ESTAFETTE_REQUIRE_PYTHON is set but {missing} ({remedy})"
    );
    eprintln!("skipped: {missing} ({remedy})");
    false
}

/// Whether `command` runs and exits 0, its output discarded.
async fn succeeds(mut command: tokio::process::Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success())
}

/// `psql` running one statement on `database`, unaligned and without headers.
fn psql_command(database: &str, statement: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("psql");
    command
        .args(PSQL_SERVER)
        .args(["-d", database, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA"])
        .args(["-c", statement])
        .env("PGCONNECT_TIMEOUT", "5");
    command
}

/// A database of the test's own, dropped when the test ends, passed or failed.
struct TestDatabase {
    name: String,
}

impl TestDatabase {
    /// Creates a database of a new name.
    async fn create() -> TestDatabase {
        let name = format!("sink_{}", uuid::Uuid::new_v4().simple());
        run_psql(MAINTENANCE_DATABASE, &format!("CREATE DATABASE {name}")).await;
        TestDatabase { name }
    }

    /// The URL the sink connects with.
    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// What `statement` prints, trimmed; the test fails if it fails.
    async fn query(&self, statement: &str) -> String {
        run_psql(&self.name, statement).await
    }

    /// The dossier numbers the sink holds for the démarche.
    async fn dossier_numbers(&self) -> BTreeSet<i64> {
        self.query(&format!(
            "SELECT number FROM ds_dossiers WHERE demarche = {DEMARCHE}"
        ))
        .await
        .lines()
        .map(|line| line.parse().expect("a dossier number"))
        .collect()
    }

    /// Everything the sink wrote for the démarche, as one digest.
    async fn dossiers_digest(&self) -> String {
        self.query(&format!(
            "SELECT md5(coalesce(string_agg(number || ' ' || updated_at || ' ' || record::text, \
             ',' ORDER BY number), '')) FROM ds_dossiers WHERE demarche = {DEMARCHE}"
        ))
        .await
    }

    /// A row count.
    async fn count(&self, from_where: &str) -> u64 {
        self.query(&format!("SELECT count(*) FROM {from_where}"))
            .await
            .parse()
            .expect("a count")
    }

    /// Waits until the sink has stored the completion of `job`.
    async fn wait_for_completion(&self, job: JobId) {
        let deadline = tokio::time::Instant::now() + APPLIED_WITHIN;
        let applied = format!("sync_state WHERE key = '{SYNC_KEY}' AND job_id = '{job}'");
        while self.count(&applied).await == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sink did not store the completion of job {job} within {APPLIED_WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Prints how many rows the sink holds, for the record of a run.
    async fn print_counts(&self, after: &str) {
        eprintln!(
            "after the {after}: ds_dossiers {} rows, processed_messages {} rows, sync_state {} rows",
            self.count("ds_dossiers").await,
            self.count("processed_messages").await,
            self.count("sync_state").await,
        );
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = std::process::Command::new("psql")
            .args(PSQL_SERVER)
            .args(["-d", MAINTENANCE_DATABASE, "-X", "-q", "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .status();
        if !dropped.is_ok_and(|status| status.success()) {
            eprintln!("the test database {} was not dropped", self.name);
        }
    }
}

/// What `statement` prints on `database`, trimmed; the test fails if it fails.
async fn run_psql(database: &str, statement: &str) -> String {
    let output = psql_command(database, statement)
        .output()
        .await
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql failed on {statement}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("psql prints UTF-8")
        .trim()
        .to_owned()
}

/// The sink's queue, a durable one of the test's own name, deleted when the test ends.
struct SinkQueue {
    name: String,
}

impl SinkQueue {
    fn new() -> SinkQueue {
        SinkQueue {
            name: format!("producer.sink-test-{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

impl Drop for SinkQueue {
    fn drop(&mut self) {
        const DELETE_QUEUE: &str = "import os, sys, pika\n\
            connection = pika.BlockingConnection(pika.URLParameters(os.environ['AMQP_URL']))\n\
            connection.channel().queue_delete(sys.argv[1])\n\
            connection.close()";
        let deleted = std::process::Command::new("python3")
            .args(["-c", DELETE_QUEUE, &self.name])
            .env("AMQP_URL", testkit::amqp_url())
            .status();
        if !deleted.is_ok_and(|status| status.success()) {
            eprintln!("the sink queue {} was not deleted", self.name);
        }
    }
}

/// The sink running as its own process, its stderr echoed and kept.
struct SinkProcess {
    child: Child,
    lines: JoinHandle<Vec<String>>,
}

impl SinkProcess {
    /// Starts the sink under `prefix` and waits until it consumes: its tables exist and
    /// its queue is bound.
    async fn start(prefix: &str, queue: &SinkQueue, database: &TestDatabase) -> SinkProcess {
        let mut child = tokio::process::Command::new("python3")
            .arg(sink_script())
            .args(["--once-idle", &SINK_IDLE_SECONDS.to_string()])
            .env("AMQP_URL", testkit::amqp_url())
            .env("DATABASE_URL", database.url())
            .env("ESTAFETTE_PREFIX", prefix)
            .env("SINK_QUEUE", &queue.name)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the sink");
        let stderr = child.stderr.take().expect("the sink's stderr is piped");
        let (ready, consuming) = oneshot::channel();
        let lines = tokio::spawn(async move {
            let mut ready = Some(ready);
            let mut kept = Vec::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("sink: {line}");
                if line.starts_with("consuming ")
                    && let Some(ready) = ready.take()
                {
                    // Fails only when the test has stopped waiting already.
                    let _ = ready.send(());
                }
                kept.push(line);
            }
            kept
        });
        tokio::time::timeout(READY_WITHIN, consuming)
            .await
            .expect("the sink consumes in time")
            .expect("the sink started consuming (its lines are above)");
        SinkProcess { child, lines }
    }

    /// Waits until the sink exits on its own, once idle, and returns its lines.
    async fn wait_until_idle(mut self) -> Vec<String> {
        let within = Duration::from_secs(SINK_IDLE_SECONDS) + APPLIED_WITHIN;
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .expect("the sink exits once idle")
            .expect("the sink's status");
        assert!(status.success(), "the sink exited with {status}");
        self.lines.await.expect("the sink's lines")
    }
}

/// The démarche's dossiers the administration sees, as the sandbox holds them now.
fn visible_dossiers(sandbox: &Sandbox) -> BTreeSet<i64> {
    sandbox
        .dataset()
        .demarche(i64::from(DEMARCHE))
        .expect("the seeded démarche")
        .visible_dossiers()
        .map(|dossier| dossier.number)
        .collect()
}

/// The démarche's deleted dossiers, of both deletion listings.
fn deleted_dossiers(sandbox: &Sandbox) -> BTreeSet<i64> {
    let dataset = sandbox.dataset();
    let demarche = dataset
        .demarche(i64::from(DEMARCHE))
        .expect("the seeded démarche");
    demarche
        .deleted_dossiers
        .iter()
        .chain(&demarche.pending_deleted_dossiers)
        .map(|dossier| dossier.number)
        .collect()
}

/// The first `count` visible dossiers of the démarche in `state`.
fn dossiers_in(sandbox: &Sandbox, state: DossierState, count: usize) -> Vec<i64> {
    sandbox
        .dataset()
        .demarche(i64::from(DEMARCHE))
        .expect("the seeded démarche")
        .visible_dossiers()
        .filter(|dossier| dossier.state == state)
        .map(|dossier| dossier.number)
        .take(count)
        .collect()
}

/// Runs the state mutation `field` (`dossierAccepter`, …) on `dossier` through the
/// sandbox's GraphQL API, as an instructeur would.
async fn change_state(sandbox: &Sandbox, field: &str, dossier: i64) {
    let input_type = format!("{}{}Input", field[..1].to_uppercase(), &field[1..]);
    let query = format!(
        "mutation Change($input: {input_type}!) {{ {field}(input: $input) {{ errors {{ message }} }} }}"
    );
    let input = json!({
        "dossierId": global_id("Dossier", dossier),
        "instructeurId": global_id("Instructeur", INSTRUCTEUR),
    });
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/api/v2/graphql", sandbox.base_url()))
        .bearer_auth(SANDBOX_TOKEN)
        .json(&json!({ "query": query, "variables": { "input": input } }))
        .send()
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("a JSON answer");
    assert!(answer.get("errors").is_none(), "{answer}");
    assert!(
        answer["data"][field]["errors"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{answer}"
    );
}

/// Changes a few dossiers: three en construction go into instruction, two en
/// instruction are accepted. Returns each changed dossier with its new state.
async fn change_dossiers(sandbox: &Sandbox) -> HashMap<i64, &'static str> {
    let to_instruct = dossiers_in(sandbox, DossierState::EnConstruction, 3);
    let to_accept = dossiers_in(sandbox, DossierState::EnInstruction, 2);
    for &dossier in &to_instruct {
        change_state(sandbox, "dossierPasserEnInstruction", dossier).await;
    }
    for &dossier in &to_accept {
        change_state(sandbox, "dossierAccepter", dossier).await;
    }
    let dataset = sandbox.dataset();
    to_instruct
        .into_iter()
        .chain(to_accept)
        .map(|number| {
            let state = dataset
                .dossier_state(number)
                .and_then(DossierState::graphql_name)
                .expect("a changed dossier is visible");
            (number, state)
        })
        .collect()
}

/// Publishes a démarche sync and returns its events, up to its completion; fails the
/// test if the job fails instead.
async fn sync(app: &mut WorkerApp, updated_since: Option<DateTime<Utc>>) -> Vec<EventEnvelope> {
    let command = Command::start_job(
        CONNECTION,
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(DEMARCHE).expect("non-zero"),
            updated_since,
            state: None,
        }),
    );
    app.publish(&command).await;
    let events = app.events.until_job_ends(EVENT_GAP).await;
    assert!(
        events
            .iter()
            .all(|event| event.job_id == Some(command.meta.job_id)),
        "only the job's own events"
    );
    completion(&events);
    events
}

/// The completion closing `events`.
fn completion(events: &[EventEnvelope]) -> &SyncCompleted {
    match events.last().map(|envelope| &envelope.event) {
        Some(Event::SyncCompleted(completed)) => completed,
        other => panic!("the sync did not complete: {other:?}"),
    }
}

/// The job of the completion closing `events`.
fn job_of(events: &[EventEnvelope]) -> JobId {
    events
        .last()
        .and_then(|envelope| envelope.job_id)
        .expect("a completion names its job")
}

/// The `page.fetched` of the dossiers listing in `events` that carries `dossier`.
fn page_with(events: &[EventEnvelope], dossier: i64) -> &EventEnvelope {
    events
        .iter()
        .find(|envelope| match &envelope.event {
            Event::PageFetched(page) => {
                matches!(
                    page.subject,
                    PageSubject::Ds {
                        listing: Listing::Dossiers,
                        ..
                    }
                ) && page
                    .records
                    .iter()
                    .any(|record| record.to_value()["number"] == dossier)
            }
            _ => false,
        })
        .expect("a page carried the dossier")
}

/// The bodies of the events on the wire up to the completion of `job`, by message id.
async fn bodies_until_completion(wire: &mut Subscription, job: JobId) -> HashMap<String, Vec<u8>> {
    let mut bodies = HashMap::new();
    loop {
        let message = tokio::time::timeout(EVENT_GAP, wire.next())
            .await
            .expect("the job's events keep coming")
            .expect("the subscription is open");
        let event: Value = serde_json::from_slice(&message.body).expect("an event");
        let id = event["message_id"]
            .as_str()
            .expect("a message id")
            .to_owned();
        let completes = event["type"] == "sync.completed" && event["job_id"] == job.to_string();
        bodies.insert(id, message.body);
        if completes {
            return bodies;
        }
    }
}

/// The sink keeps `ds_dossiers` equal to the démarche's visible dossiers. A full sync
/// stores every one of them and removes the rows of dossiers its deletion listings name
/// (rows for the seeded deleted dossiers are put in the table first, as an earlier sync
/// would have left them). Then dossiers change and two are deleted: an incremental sync
/// from the full sync's resume point replaces exactly the dossiers changed since, with
/// their new state and date, and removes the deleted ones. A `page.fetched` and a
/// `sync.completed` delivered a second time, byte for byte, are skipped on their
/// message id: the table, the sync state and the processed ids stay as they were.
#[tokio::test]
async fn the_sink_keeps_the_visible_dossiers_through_full_and_incremental_syncs() {
    if !sink_can_run().await {
        return;
    }
    let database = TestDatabase::create().await;
    let queue = SinkQueue::new();
    let (sandbox, mut app) = sync_worker::start_sandbox_and_worker().await;
    let sink = SinkProcess::start(&app.prefix, &queue, &database).await;
    let stale = deleted_dossiers(&sandbox);
    let stale_rows = stale
        .iter()
        .map(|number| {
            format!("({DEMARCHE}, {number}, '{{\"stale\": true}}', '2025-01-01T00:00:00Z')")
        })
        .collect::<Vec<_>>()
        .join(", ");
    database
        .query(&format!(
            "INSERT INTO ds_dossiers (demarche, number, record, updated_at) VALUES {stale_rows}"
        ))
        .await;

    let mut wire = app
        .broker
        .subscribe_events("#")
        .await
        .expect("subscribe to the events");
    let full = sync(&mut app, None).await;
    let full_job = job_of(&full);
    let full_bodies = bodies_until_completion(&mut wire, full_job).await;
    database.wait_for_completion(full_job).await;

    database.print_counts("full sync").await;
    let visible = visible_dossiers(&sandbox);
    assert_eq!(visible.len(), 2_350, "the seeded démarche");
    assert_eq!(
        database.dossier_numbers().await,
        visible,
        "the table holds the visible dossiers, and none of the {} deleted",
        stale.len()
    );

    let deleted = dossiers_in(&sandbox, DossierState::Refuse, 2);
    for &dossier in &deleted {
        assert!(
            sandbox.delete_dossier(dossier),
            "dossier {dossier} is deleted"
        );
    }
    let changed = change_dossiers(&sandbox).await;
    let resume_point = completion(&full).resume_point;
    let incremental = sync(&mut app, Some(resume_point)).await;
    database.wait_for_completion(job_of(&incremental)).await;

    database.print_counts("incremental sync").await;
    assert_eq!(completion(&incremental).records, changed.len() as u64);
    let contract::SyncSubject::Ds {
        deleted_records, ..
    } = &completion(&incremental).subject
    else {
        panic!("a démarche sync")
    };
    assert_eq!(
        *deleted_records,
        deleted.len() as u64,
        "the deletions were listed"
    );
    let now_visible = visible_dossiers(&sandbox);
    assert_eq!(now_visible.len(), 2_350 - deleted.len());
    assert_eq!(
        database.dossier_numbers().await,
        now_visible,
        "the table holds the visible dossiers again, without the deleted ones"
    );
    let since = resume_point.to_rfc3339_opts(SecondsFormat::Micros, true);
    let stored_changes = database
        .query(&format!(
            "SELECT number || ' ' || (record->>'state') FROM ds_dossiers \
             WHERE demarche = {DEMARCHE} AND updated_at >= date_trunc('second', '{since}'::timestamptz)"
        ))
        .await;
    let stored_changes: HashMap<i64, String> = stored_changes
        .lines()
        .map(|line| {
            let (number, state) = line.split_once(' ').expect("a number and a state");
            (number.parse().expect("a number"), state.to_owned())
        })
        .collect();
    let expected_changes: HashMap<i64, String> = changed
        .iter()
        .map(|(number, state)| (*number, (*state).to_owned()))
        .collect();
    assert_eq!(
        stored_changes, expected_changes,
        "exactly the changed dossiers carry a date after the first sync, and their new state"
    );

    let digest = database.dossiers_digest().await;
    let processed = database.count("processed_messages").await;
    let changed_dossier = *changed.keys().min().expect("dossiers changed");
    let repeated = [
        page_with(&full, changed_dossier),
        full.last().expect("the full sync's completion"),
    ];
    for envelope in repeated {
        // The bytes the worker published: the event log's envelopes were read through
        // a JSON value, which does not keep the order of a record's keys.
        let body = full_bodies[&envelope.message_id.to_string()].clone();
        let outgoing = Outgoing {
            body,
            ..Outgoing::event(envelope, Vec::new())
        };
        app.publish_outgoing(&outgoing).await;
    }
    let lines = sink.wait_until_idle().await;

    assert_eq!(
        database.dossiers_digest().await,
        digest,
        "the table is unchanged"
    );
    assert_eq!(
        database
            .query(&format!(
                "SELECT job_id FROM sync_state WHERE key = '{SYNC_KEY}'"
            ))
            .await,
        job_of(&incremental).to_string(),
        "the sync state still names the incremental sync"
    );
    assert_eq!(database.count("processed_messages").await, processed);
    for envelope in repeated {
        let id = envelope.message_id.to_string();
        let mentions = |verb: &str| {
            let prefix = format!("{verb} {} {id}", envelope.routing_key());
            lines
                .iter()
                .filter(|line| line.starts_with(&prefix))
                .count()
        };
        assert_eq!(mentions("applied"), 1, "{id} applied once");
        assert_eq!(mentions("skipped"), 1, "{id} skipped when delivered again");
        assert_eq!(
            database
                .count(&format!("processed_messages WHERE message_id = '{id}'"))
                .await,
            1
        );
    }
    app.shutdown().await;
    sandbox.shutdown().await;
}
