//! The Python producer example, `examples/python/producer.py`, run for real against a
//! fetch-page worker and the sandbox, under a topology prefix of the test's own: a
//! system written in another language starts a sync and follows it with nothing but
//! an AMQP client and the published contract.
//!
//! It needs `python3` with `pika` (`pip install -r examples/python/requirements.txt`).
//! Without it each test says it was skipped and passes, unless `ESTAFETTE_REQUIRE_PYTHON`
//! is set, as in CI, where it fails.

#[path = "common/sync_worker.rs"]
mod sync_worker;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The seeded démarche the example syncs.
const DEMARCHE: i64 = 4242;

/// The example script, from the repository's root.
fn producer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python/producer.py")
}

/// Whether `python3` can import `pika`. When it cannot, fails if
/// `ESTAFETTE_REQUIRE_PYTHON` is set, else says the test is skipped.
fn pika_available() -> bool {
    let available = Command::new("python3")
        .args(["-c", "import pika"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        assert!(
            std::env::var_os("ESTAFETTE_REQUIRE_PYTHON").is_none(),
            "ESTAFETTE_REQUIRE_PYTHON is set but python3 cannot import pika \
             (pip install -r examples/python/requirements.txt)"
        );
        eprintln!("skipped: pika missing (pip install -r examples/python/requirements.txt)");
    }
    available
}

/// Runs the example on the seeded démarche under `prefix`, with `arguments` added, and
/// the test broker's URL in `AMQP_URL`.
async fn run_producer(prefix: &str, arguments: &[&str]) -> Output {
    let mut producer = Command::new("python3");
    producer
        .arg(producer_script())
        .args(["--demarche", &DEMARCHE.to_string(), "--prefix", prefix])
        .args(arguments)
        .env("AMQP_URL", testkit::amqp_url());
    tokio::task::spawn_blocking(move || producer.output())
        .await
        .expect("the producer's thread finishes")
        .expect("python3 runs")
}

/// A count as the summary writes it.
fn count(value: usize) -> Value {
    Value::from(u64::try_from(value).expect("a count fits in u64"))
}

/// The example publishes a `ds.sync` the worker accepts (envelope, message id recipe,
/// properties), keeps its own job's events, and its summary counts every listing of
/// the seeded démarche exactly as the sandbox holds them, up to `sync.completed`.
#[tokio::test]
async fn the_python_producer_syncs_the_seeded_demarche_and_counts_every_listing() {
    if !pika_available() {
        return;
    }
    let (sandbox, app) = sync_worker::start_sandbox_and_worker().await;

    let output = run_producer(&app.prefix, &["--json"]).await;

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", output.status);
    let summary: Value = serde_json::from_slice(&output.stdout).expect("one JSON summary");
    let dataset = sandbox.dataset();
    let demarche = dataset.demarche(DEMARCHE).expect("the seeded démarche");
    let dossiers = count(demarche.visible_dossiers().count());
    assert_eq!(summary["records"]["dossiers"], dossiers, "{summary}");
    assert_eq!(
        summary["records"]["deleted_dossiers"],
        count(demarche.deleted_dossiers.len()),
        "{summary}"
    );
    assert_eq!(
        summary["records"]["pending_deleted_dossiers"],
        count(demarche.pending_deleted_dossiers.len()),
        "{summary}"
    );
    assert_eq!(summary["completed"]["records"], dossiers, "{summary}");
    assert_eq!(summary["completed"]["end"], "exhausted", "{summary}");
    assert!(summary["pages"].as_u64().is_some_and(|pages| pages > 0));
    app.shutdown().await;
    sandbox.shutdown().await;
}

/// A sync naming a connection the workers do not have ends the example with exit
/// status 1 and the `command.failed` reason on stderr: it recognises the failure of
/// its own start command instead of waiting for its timeout.
#[tokio::test]
async fn the_python_producer_fails_with_the_reason_of_an_unknown_connection() {
    if !pika_available() {
        return;
    }
    let (sandbox, app) = sync_worker::start_sandbox_and_worker().await;

    let output = run_producer(&app.prefix, &["--connection", "nowhere"]).await;

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unknown_connection"), "{stderr}");
    app.shutdown().await;
    sandbox.shutdown().await;
}
