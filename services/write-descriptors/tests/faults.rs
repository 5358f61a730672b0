//! The fault suite of write-descriptors: one write of 3,000 objects in 300 chunks, run
//! by three worker processes that are SIGKILLed and restarted every second while the
//! broker is restarted once. Every event goes to a durable ledger; at the end the
//! job's one `descriptors.written` must report, object by object, exactly what the
//! sandbox's Apidae stores.
//!
//! It restarts the broker every other test shares, so it is ignored by a plain
//! `cargo test` and run alone: `cargo test -p write-descriptors --test faults --
//! --ignored --nocapture` (as `.ci/run` does, after the other tests). See
//! `testkit::chaos` for the broker it restarts.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::{Duration, Instant},
};

use contract::{
    ApidaePut, Command, CommandBody, Descriptor, Event, EventEnvelope, MessageId,
    ObjectDescriptors, WorkerKind,
};
use sandbox::{Sandbox, SandboxConfig};
use testkit::chaos::{self, Fleet};

const WORKERS: usize = 3;
const OBJECTS: usize = 3_000;
const CHUNK: u32 = 10;
const CONNECTION: &str = "sandbox_apidae";
const NAME: &str = "1_ChampPrive";

fn texts(id: u64) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("fr".to_owned(), format!("Texte {id}")),
        ("en".to_owned(), format!("Text {id}")),
    ])
}

fn write_command(ids: &[u64]) -> Command {
    let objects = ids
        .iter()
        .map(|&id| ObjectDescriptors {
            id,
            descriptors: vec![Descriptor {
                technical_name: NAME.to_owned(),
                texts: texts(id),
            }],
        })
        .collect();
    Command::start_job(CONNECTION, CommandBody::ApidaePut(ApidaePut { objects }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the broker every test shares: run alone, as .ci/run does"]
async fn a_large_write_reports_exactly_what_the_api_stored_through_kills() {
    let config = SandboxConfig {
        latency: Duration::from_millis(100),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the sandbox starts");
    let ids: Vec<u64> = sandbox
        .apidae()
        .known_objects()
        .into_iter()
        .take(OBJECTS)
        .collect();
    let (prefix, driver) = chaos::topology_with_ledger(WorkerKind::WriteDescriptors).await;
    let env: Vec<(String, String)> = [
        ("AMQP_URL", testkit::amqp_url()),
        ("REDIS_URL", testkit::redis_url()),
        ("ESTAFETTE__BROKER__PREFIX", prefix.clone()),
        ("ESTAFETTE__BROKER__PREFETCH", "2".into()),
        (
            "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS",
            testkit::QUEUE_EXPIRES.as_secs().to_string(),
        ),
        ("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0".into()),
        ("ESTAFETTE__WORKER__MAX_ATTEMPTS", "20".into()),
        (
            "ESTAFETTE__WORKER__TRANSIENT_RETRY_DELAY_SECONDS",
            "0.05".into(),
        ),
        ("ESTAFETTE__WORKER__MAX_RETRY_DELAY_SECONDS", "1".into()),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__BASE_URL",
            format!("{}/apidae", sandbox.base_url()),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__TOKEN_URL",
            format!("{}/apidae/oauth/token", sandbox.base_url()),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__PAGE_SIZE",
            CHUNK.to_string(),
        ),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__RATE_LIMIT__REQUESTS",
            "1000".into(),
        ),
        (
            "RUST_LOG",
            "warn,settle=info,broker=info,write_descriptors=info".into(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    let mut fleet = Fleet::start(
        env!("CARGO_BIN_EXE_write-descriptors"),
        env,
        WORKERS,
        "faults-write",
    );
    let command = write_command(&ids);
    driver
        .publish_command(&command)
        .await
        .expect("the write is published");
    let began = Instant::now();

    // The chaos lasts until every object is stored; the last chunks then finish.
    let stored_all = async || sandbox.apidae().stored().len() >= OBJECTS;
    let chaos = chaos::unleash(
        &mut fleet,
        Duration::from_secs(1),
        &[5],
        Duration::from_secs(60),
        stored_all,
    )
    .await;
    let ends = |envelope: &EventEnvelope| {
        matches!(
            envelope.event,
            Event::DescriptorsWritten(_) | Event::JobFailed(_)
        )
    };
    let events = chaos::read_ledger(
        &prefix,
        "ledger",
        ends,
        Duration::from_secs(3),
        began + Duration::from_secs(600),
    )
    .await;
    let elapsed = began.elapsed();
    let dead_letters = chaos::dead_letters(&prefix).await;

    let distinct: HashMap<MessageId, &EventEnvelope> = events
        .iter()
        .map(|envelope| (envelope.message_id, envelope))
        .collect();
    let reports: Vec<&contract::DescriptorsWritten> = distinct
        .values()
        .filter_map(|envelope| match &envelope.event {
            Event::DescriptorsWritten(written) => Some(written),
            _ => None,
        })
        .collect();
    let chunk_events = distinct
        .values()
        .filter(|envelope| matches!(envelope.event, Event::ChunkWritten(_)))
        .count();
    let others = distinct.len() - reports.len() - chunk_events;
    let stored = sandbox.apidae().stored();
    // The API keeps a text per language under `libelle<Lang>`.
    let stored_texts = |id: u64| {
        BTreeMap::from([
            ("libelleEn".to_owned(), format!("Text {id}")),
            ("libelleFr".to_owned(), format!("Texte {id}")),
        ])
    };
    let expected: BTreeMap<u64, BTreeMap<String, BTreeMap<String, String>>> = ids
        .iter()
        .map(|&id| (id, BTreeMap::from([(NAME.to_owned(), stored_texts(id))])))
        .collect();
    println!(
        "fault suite, descriptor write: {OBJECTS} objects in chunks of {CHUNK}, {WORKERS} worker processes, {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  faults: {} SIGKILLs, {} broker restarts; {} write calls for {} chunks",
        chaos.kills,
        chaos.broker_restarts,
        sandbox.apidae().write_calls(),
        OBJECTS / CHUNK as usize
    );
    println!(
        "  ledger: {chunk_events} chunk events, {} reports, {others} other events, {} dead letters, {} messages in all",
        reports.len(),
        dead_letters.len(),
        events.len()
    );
    let logs = format!("worker logs in {}", fleet.logs().display());
    let [report] = reports.as_slice() else {
        panic!("one descriptors.written, not {}; {logs}", reports.len())
    };
    let reported: BTreeSet<u64> = report
        .chunks
        .iter()
        .flat_map(|chunk| chunk.updated.iter().copied())
        .collect();
    let stored_ids: BTreeSet<u64> = stored.keys().copied().collect();
    println!(
        "  report: {} objects updated, {} not reported, {} failed chunks; sandbox stores {} objects, {} as written",
        report.updated,
        report.not_reported,
        report.failed_chunks,
        stored.len(),
        stored
            .iter()
            .filter(|(id, descriptors)| expected.get(id) == Some(descriptors))
            .count()
    );
    assert_eq!(
        reported, stored_ids,
        "the report names exactly the stored objects; {logs}"
    );
    let first_difference = expected
        .iter()
        .find(|(id, descriptors)| stored.get(id) != Some(descriptors));
    assert!(
        first_difference.is_none() && stored.len() == expected.len(),
        "the sandbox stores every object as written, first difference {first_difference:?}; {logs}"
    );
    assert_eq!(report.updated as usize, OBJECTS);
    assert_eq!(report.failed_chunks, 0);
    assert_eq!(
        chunk_events,
        OBJECTS / CHUNK as usize,
        "one chunk.written per chunk"
    );
    assert_eq!(others, 0, "no failure of any kind; {logs}");
    assert!(dead_letters.is_empty(), "no dead letter; {logs}");
    assert!(
        chaos.kills > 0 && chaos.broker_restarts == 1,
        "the chaos ran"
    );
    fleet.stop(true);
}
