//! `estafette demo`: a sandbox and a worker inside the tool (the default `demo` feature).

use std::process::Command;

use serde_json::Value;

fn estafette(args: &[&str], amqp_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args(args)
        .env("AMQP_URL", amqp_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("the estafette binary runs")
}

#[test]
fn the_demo_syncs_every_seeded_dossier_and_prints_a_json_summary() {
    let output = estafette(&["demo", "--json"], &testkit::amqp_url());

    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value =
        serde_json::from_slice(&output.stdout).expect("the summary is one JSON object");
    assert_eq!(summary["dossiers"], 2_350);
    assert_eq!(summary["deleted_dossiers"], 40);
    assert_eq!(summary["pending_deleted_dossiers"], 12);
    assert_eq!(summary["end"], "exhausted");
    assert!(summary["pages"].as_u64().expect("pages") >= 24);
}

#[test]
fn the_demo_explains_how_to_get_a_broker_when_none_answers() {
    let output = estafette(&["demo"], "amqp://127.0.0.1:1/%2f");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no RabbitMQ answers at amqp://127.0.0.1:1/%2f"),
        "{stderr}"
    );
    assert!(stderr.contains("docker compose up -d rabbitmq"), "{stderr}");
}
