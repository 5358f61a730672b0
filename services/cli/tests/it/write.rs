//! `estafette write apidae` against a write-descriptors worker and a sandbox started here.

use std::process::Command;

use contract::WorkerKind;
use serde_json::{Value, json};

use crate::worker::{start_worker, test_env};

/// Runs `estafette` with `args` while a worker serves the test's own prefix.
async fn estafette_with_worker(
    sandbox: &sandbox::Sandbox,
    args: Vec<String>,
) -> std::process::Output {
    let prefix = testkit::unique_prefix();
    let env = test_env(
        &prefix,
        &[
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__BASE_URL",
                format!("{}/apidae", sandbox.base_url()),
            ),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__TOKEN_URL",
                format!("{}/apidae/oauth/token", sandbox.base_url()),
            ),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__RATE_LIMIT__REQUESTS",
                "1000".to_owned(),
            ),
        ],
    );
    let worker = start_worker(WorkerKind::WriteDescriptors, &env).await;
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_estafette"))
            .args(args)
            .envs(env)
            .output()
            .expect("the estafette binary runs")
    })
    .await
    .expect("join");
    worker.stop().await;
    output
}

fn batch_file(name: &str, batch: &Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("estafette-{}-{name}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(batch).expect("json")).expect("write the batch");
    path
}

#[tokio::test]
async fn write_apidae_writes_a_file_of_descriptors_and_prints_the_outcome() {
    let sandbox = sandbox::Sandbox::start(Default::default(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts");
    let ids: Vec<u64> = sandbox
        .apidae()
        .known_objects()
        .into_iter()
        .take(120)
        .collect();
    let objects: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "descriptors": [
            {"technical_name": "1_ChampPrive", "texts": {"fr": format!("Texte {id}")}}]})
        })
        .collect();
    let file = batch_file("write", &json!({ "objects": objects }));
    let args = [
        "write",
        "apidae",
        "--connection",
        "sandbox_apidae",
        "--json",
        "--file",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([file.display().to_string()])
    .collect();

    let output = estafette_with_worker(&sandbox, args).await;

    assert!(
        output.status.success(),
        "write failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert!(
        written["job_id"].as_str().is_some_and(|id| id.len() == 36),
        "{written}"
    );
    assert_eq!(written["updated"], 120);
    assert_eq!(written["chunks"].as_array().map(Vec::len), Some(3));
    assert_eq!(sandbox.apidae().stored().len(), 120);
    std::fs::remove_file(file).ok();
    sandbox.shutdown().await;
}

#[test]
fn a_bad_batch_file_is_refused_before_anything_is_published() {
    let file = batch_file(
        "bad",
        &json!({"objects": [{"id": 5, "descriptors": [
        {"technical_name": "a", "texts": {"fr": ""}}]}]}),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args([
            "write",
            "apidae",
            "--connection",
            "sandbox_apidae",
            "--file",
        ])
        .arg(&file)
        .env("AMQP_URL", "amqp://127.0.0.1:1/%2f")
        .output()
        .expect("the estafette binary runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has an empty `fr` text"), "{stderr}");
    std::fs::remove_file(file).ok();
}
