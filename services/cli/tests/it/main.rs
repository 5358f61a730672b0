//! The `estafette` binary, run as a person would run it.

mod dead;
#[cfg(feature = "demo")]
mod demo;
mod follow;
mod schedules;
mod worker;
mod write;

use std::process::Command;

use contract::WorkerKind;
use serde_json::Value;

use worker::{start_worker, test_env};

#[test]
fn a_sync_of_an_unknown_connection_is_refused_before_anything_is_published() {
    let output = Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args([
            "sync",
            "ds",
            "--connection",
            "nowhere",
            "--demarche",
            "4242",
        ])
        .env("AMQP_URL", testkit::amqp_url())
        .output()
        .expect("the estafette binary runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no connection named `nowhere`"), "{stderr}");
}

/// `--dry-run` prints the message as it would be published, and needs no broker: the
/// broker URL here answers nothing.
#[test]
fn a_dry_run_prints_the_command_as_it_would_be_published_and_connects_to_nothing() {
    let output = Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args([
            "sync",
            "ds",
            "--connection",
            "sandbox",
            "--demarche",
            "4242",
            "--since",
            "2026-03-01T00:00:00Z",
            "--dry-run",
        ])
        .env("AMQP_URL", "amqp://127.0.0.1:1/%2f")
        .env_remove("RUST_LOG")
        .output()
        .expect("the estafette binary runs");

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(printed["exchange"], "estafette.commands");
    assert_eq!(printed["routing_key"], "fetch-page");
    assert_eq!(printed["mandatory"], true);
    assert_eq!(printed["properties"]["content_type"], "application/json");
    assert_eq!(printed["properties"]["delivery_mode"], 2);
    assert_eq!(printed["properties"]["type"], "ds.sync");
    let body = serde_json::to_vec(&printed["body"]).expect("the body");
    let command = contract::Command::from_json(&body).expect("the worker would accept it");
    assert_eq!(
        printed["properties"]["message_id"],
        command.meta.message_id.to_string()
    );
    assert_eq!(command.meta.connection, "sandbox");
    let contract::CommandBody::DsSync(sync) = command.body else {
        panic!("a ds.sync, got {:?}", command.body)
    };
    assert_eq!(sync.demarche.get(), 4242);
    assert_eq!(
        sync.updated_since.map(|since| since.to_rfc3339()),
        Some("2026-03-01T00:00:00+00:00".to_owned())
    );
}

/// A dry run refuses what the worker would refuse, with the worker's reason.
#[test]
fn a_dry_run_of_a_command_the_worker_would_refuse_fails_with_the_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args([
            "sync",
            "divalto",
            "--connection",
            "sandbox_divalto",
            "--dhoq",
            "gtrsart.dhoq",
            "--recordsql",
            "Article",
            "--id-field",
            "ART_ID",
            "--window",
            "1000000",
            "--dry-run",
        ])
        .env("AMQP_URL", "amqp://127.0.0.1:1/%2f")
        .env_remove("RUST_LOG")
        .output()
        .expect("the estafette binary runs");

    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("window"), "{stderr}");
}

#[test]
fn a_sync_of_one_api_on_a_connection_of_another_is_refused_before_publishing() {
    let output = Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args([
            "sync",
            "divalto",
            "--connection",
            "sandbox_amienscope",
            "--dhoq",
            "gtrsart.dhoq",
            "--recordsql",
            "Article",
            "--id-field",
            "ART_ID",
        ])
        .env("AMQP_URL", testkit::amqp_url())
        .output()
        .expect("the estafette binary runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("connection `sandbox_amienscope` speaks amienscope, not divalto"),
        "{stderr}"
    );
}

/// `estafette sync amienscope --json` against a worker and a sandbox started here.
#[tokio::test]
async fn sync_amienscope_follows_the_job_and_prints_its_summary() {
    let sandbox = sandbox::Sandbox::start(Default::default(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts");
    let env = test_env(
        &testkit::unique_prefix(),
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__BASE_URL",
            format!("{}/amienscope", sandbox.base_url()),
        )],
    );
    let worker = start_worker(WorkerKind::FetchPage, &env).await;
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_estafette"))
            .args([
                "sync",
                "amienscope",
                "--connection",
                "sandbox_amienscope",
                "--window",
                "4",
                "--json",
            ])
            .envs(env)
            .output()
            .expect("the estafette binary runs")
    })
    .await
    .expect("join");

    assert!(
        output.status.success(),
        "sync failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let expected = sandbox.amienscope().listing(0, None).len();
    assert_eq!(summary["api"], "amienscope");
    assert_eq!(summary["records"], expected);
    assert_eq!(summary["consistency"], "exact");
    assert_eq!(summary["end"], "exhausted");
    worker.stop().await;
    sandbox.shutdown().await;
}

/// `estafette status ds accept --json` against a send-status worker and a sandbox
/// started here: the dossier is accepted and the outcome printed as one JSON object.
#[tokio::test]
async fn status_ds_accept_changes_the_dossier_and_prints_the_outcome() {
    use sandbox::ds::dataset::DossierState;

    let sandbox = sandbox::Sandbox::start(Default::default(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts");
    let dossier = sandbox
        .dataset()
        .demarche(4242)
        .expect("seeded démarche")
        .first_dossier_in(DossierState::EnInstruction)
        .expect("a dossier en instruction")
        .number;
    let env = test_env(
        &testkit::unique_prefix(),
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL",
            sandbox.base_url(),
        )],
    );
    let worker = start_worker(WorkerKind::SendStatus, &env).await;
    let number = dossier.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_estafette"))
            .args([
                "status",
                "ds",
                "accept",
                "--connection",
                "sandbox",
                "--dossier",
                &number,
                "--instructeur",
                "SW5zdHJ1Y3RldXItNzAwMQ==",
                "--motivation",
                "Dossier complet",
                "--json",
            ])
            .envs(env)
            .output()
            .expect("the estafette binary runs")
    })
    .await
    .expect("join");

    assert!(
        output.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcome: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(outcome["action"], "accept");
    assert_eq!(outcome["dossier"], dossier);
    assert_eq!(outcome["already_applied"], false);
    assert_eq!(outcome["state"], "accepte");
    assert!(outcome["job_id"].is_string(), "{outcome}");
    assert_eq!(
        sandbox.dataset().dossier_state(dossier),
        Some(DossierState::Accepte)
    );
    worker.stop().await;
    sandbox.shutdown().await;
}

/// `estafette sync divalto` while the job's state is removed from Redis, as a Redis
/// restarted without persistence would lose it: the command exits 1 and says the job
/// failed as `job_state_lost`, and what to do.
#[tokio::test]
async fn a_sync_whose_job_state_is_lost_ends_with_the_reason_and_what_to_do() {
    let sandbox = sandbox::Sandbox::start(
        sandbox::SandboxConfig {
            latency: std::time::Duration::from_millis(100),
            ..Default::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sandbox starts");
    let prefix = testkit::unique_prefix();
    let env = test_env(
        &prefix,
        &[
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__BASE_URL",
                format!("{}/divalto", sandbox.base_url()),
            ),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE",
                "50".to_owned(),
            ),
        ],
    );
    let broker = testkit::connect(&prefix).await;
    broker
        .declare(&[WorkerKind::FetchPage])
        .await
        .expect("topology");
    let mut events = testkit::EventLog::subscribe(&broker).await;
    let worker = start_worker(WorkerKind::FetchPage, &env).await;
    let sync = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_estafette"))
            .args([
                "sync",
                "divalto",
                "--connection",
                "sandbox_divalto",
                "--dhoq",
                "gtrsart.dhoq",
                "--recordsql",
                "Article",
                "--id-field",
                "ART_ID",
                "--window",
                "2",
            ])
            .envs(env)
            .output()
            .expect("the estafette binary runs")
    });
    let first_page = events
        .until(std::time::Duration::from_secs(30), |event| {
            matches!(event, contract::Event::PageFetched(_))
        })
        .await;
    let job = first_page
        .last()
        .and_then(|event| event.job_id)
        .expect("the page names its job");
    assert!(testkit::lose_job_state(&prefix, job).await > 0);
    let output = sync.await.expect("join");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "job {job} failed (job_state_lost) at its offset.page command"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Start it again"), "{stderr}");
    assert!(
        stderr.contains("What it published so far is incomplete"),
        "{stderr}"
    );
    worker.stop().await;
    sandbox.shutdown().await;
}
