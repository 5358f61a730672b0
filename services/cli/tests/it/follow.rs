//! Following a job through a lost broker connection, and taking up a job whose
//! follower was killed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use contract::WorkerKind;
use serde_json::Value;

use crate::worker::{start_worker, test_env};

/// The seeded démarche's dossiers, as a DS sync's summary counts them.
const DOSSIERS: u64 = 2_350;

/// A sandbox whose every answer takes a little while, so a sync lasts some seconds.
async fn slow_sandbox() -> sandbox::Sandbox {
    let config = sandbox::SandboxConfig {
        latency: Duration::from_millis(40),
        ..Default::default()
    };
    sandbox::Sandbox::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts")
}

/// Starts `estafette sync ds --json` and returns it once it has published its job,
/// with the job's id.
async fn start_sync(env: &[(String, String)]) -> (Child, String) {
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_estafette"))
            .args([
                "sync",
                "ds",
                "--connection",
                "sandbox",
                "--demarche",
                "4242",
                "--json",
            ])
            .envs(env)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the estafette binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let job = loop {
            let line = lines
                .next()
                .expect("estafette says it published the job")
                .expect("readable stderr");
            if let Some(rest) = line.strip_prefix("published job ") {
                break rest.split_whitespace().next().expect("a job id").to_owned();
            }
        };
        // Keep reading, so the progress bar never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (child, job)
    })
    .await
    .expect("join")
}

/// The child's summary once it exits.
async fn summary_of(child: Child) -> Value {
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("the child is waited for");
    assert!(output.status.success(), "{:?}", output.status);
    serde_json::from_slice(&output.stdout).expect("one JSON summary")
}

#[tokio::test]
async fn a_sync_follows_its_job_through_a_lost_broker_connection() {
    let sandbox = slow_sandbox().await;
    let proxy = testkit::BrokerProxy::start().await;
    let env = test_env(
        &testkit::unique_prefix(),
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL",
            sandbox.base_url(),
        )],
    );
    // The worker reaches the broker directly; only the follower goes through the proxy.
    let worker = start_worker(WorkerKind::FetchPage, &env).await;
    let mut proxied = env.clone();
    proxied.push(("AMQP_URL".to_owned(), proxy.amqp_url()));

    let (child, _job) = start_sync(&proxied).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore().await;
    let summary = summary_of(child).await;

    assert_eq!(summary["dossiers"], DOSSIERS, "{summary}");
    assert_eq!(summary["end"], "exhausted");
    worker.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn follow_takes_up_a_job_whose_follower_was_killed() {
    let sandbox = slow_sandbox().await;
    let env = test_env(
        &testkit::unique_prefix(),
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL",
            sandbox.base_url(),
        )],
    );
    let worker = start_worker(WorkerKind::FetchPage, &env).await;

    let (mut first, job) = start_sync(&env).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.kill().expect("SIGKILL the first follower");
    first.wait().expect("reaped");
    let follower = Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args(["follow", &job, "--json"])
        .envs(env.clone())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the estafette binary starts");
    let summary = summary_of(follower).await;

    assert_eq!(summary["job_id"], job.as_str(), "{summary}");
    assert_eq!(summary["dossiers"], DOSSIERS, "{summary}");
    // Followed to its end, the job's queue is gone: following again says why.
    let again = Command::new(env!("CARGO_BIN_EXE_estafette"))
        .args(["follow", &job])
        .envs(env)
        .env_remove("RUST_LOG")
        .output()
        .expect("the estafette binary runs");
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("has no follow queue"), "{stderr}");
    worker.stop().await;
    sandbox.shutdown().await;
}
