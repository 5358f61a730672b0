//! `estafette schedules list|run|reset` against a scheduler and a fetch-page worker run
//! in the test process, the test broker and Redis, and the sandbox.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use contract::WorkerKind;
use serde_json::Value;
use testkit::RunningWorker;

use crate::worker::{start_worker, test_env};

/// A schedule whose due times are a year apart: every run here is asked for.
const SETTINGS: &str = "[scheduler]\nlease_seconds = 3\ntick_seconds = 0.2\n\n\
[schedules.dossiers]\nkind = \"ds.sync\"\nconnection = \"sandbox\"\ncron = \"0 0 1 1 *\"\n\
body = { demarche = 4242 }\n";

struct Scene {
    env: Vec<(String, String)>,
    config: std::path::PathBuf,
    sandbox: sandbox::Sandbox,
}

impl Scene {
    async fn new() -> Scene {
        let sandbox = sandbox::Sandbox::start(
            sandbox::SandboxConfig::default(),
            "127.0.0.1:0".parse().expect("an address"),
        )
        .await
        .expect("the sandbox starts");
        let prefix = testkit::unique_prefix();
        let config = std::env::temp_dir().join(format!("{prefix}.toml"));
        std::fs::write(&config, SETTINGS).expect("the settings file");
        let mut env = test_env(
            &prefix,
            &[
                (
                    "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL",
                    sandbox.base_url(),
                ),
                (
                    "ESTAFETTE__CONNECTIONS__SANDBOX__RATE_LIMIT__REQUESTS",
                    "100000".to_owned(),
                ),
            ],
        );
        env.push(("ESTAFETTE_CONFIG".to_owned(), config.display().to_string()));
        Scene {
            env,
            config,
            sandbox,
        }
    }

    fn estafette(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_estafette"))
            .args(args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .env_remove("RUST_LOG")
            .output()
            .expect("the estafette binary runs")
    }

    /// `schedules list --json`, parsed.
    fn listing(&self) -> Value {
        let output = self.estafette(&["schedules", "list", "--json"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("one JSON object")
    }

    async fn start_scheduler(&self) -> RunningWorker {
        let settings =
            settings::Settings::load(Some(&self.config), self.env.clone()).expect("settings");
        let scheduler = RunningWorker::start(settings, testkit::worker_run!(scheduler::run)).await;
        let waited = Instant::now();
        while self.listing()["lease_holder"].is_null() {
            assert!(
                waited.elapsed() < Duration::from_secs(20),
                "the scheduler never took the lease"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        scheduler
    }

    async fn finish(self) {
        let _ = std::fs::remove_file(&self.config);
        self.sandbox.shutdown().await;
    }
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

/// The binary runs while the scheduler and the worker run on the test's runtime: it
/// needs threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_asked_for_now_moves_the_resume_point_and_a_reset_forgets_it() {
    let scene = Scene::new().await;
    let worker = start_worker(WorkerKind::FetchPage, &scene.env).await;
    let scheduler = scene.start_scheduler().await;

    let before = scene.listing();
    let schedule = &before["schedules"][0];
    assert_eq!(schedule["name"], "dossiers");
    assert_eq!(schedule["kind"], "ds.sync");
    assert_eq!(schedule["timing"], "cron 0 0 1 1 *");
    assert!(schedule["resume_point"].is_null() && schedule["last_run"].is_null());
    assert!(
        schedule["next_run"]
            .as_str()
            .is_some_and(|next| next.ends_with("-01-01T00:00:00Z"))
    );

    let full = stdout_json(&scene.estafette(&["schedules", "run", "dossiers", "--json"]));
    assert_eq!(full["dossiers"], 2350);
    let after_full = scene.listing();
    let schedule = &after_full["schedules"][0];
    let last = &schedule["last_run"];
    assert_eq!(
        (&last["outcome"], &last["records"]),
        (&Value::from("completed"), &Value::from(2350))
    );
    assert!(last["since"].is_null(), "the first run is a full sync");
    let resume_point = schedule["resume_point"]
        .as_str()
        .expect("a resume point")
        .to_owned();

    let quiet = stdout_json(&scene.estafette(&["schedules", "run", "dossiers", "--json"]));
    assert_eq!(
        quiet["dossiers"], 0,
        "nothing changed since the resume point"
    );
    let after_quiet = scene.listing();
    assert_eq!(
        after_quiet["schedules"][0]["last_run"]["since"].as_str(),
        Some(resume_point.as_str())
    );

    let table = scene.estafette(&["schedules", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("NAME "), "{table}");
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|line| line.starts_with("dossiers ") && line.contains("completed")),
        "{table}"
    );
    assert!(table.contains("publishing: scheduler replica "), "{table}");

    let reset = scene.estafette(&["schedules", "reset", "dossiers"]);
    assert!(reset.status.success());
    assert!(String::from_utf8_lossy(&reset.stdout).contains("forgot the resume point of dossiers"));
    assert!(scene.listing()["schedules"][0]["resume_point"].is_null());

    scheduler.stop().await;
    worker.stop().await;
    scene.finish().await;
}

#[tokio::test]
async fn a_run_nobody_would_publish_or_of_an_unknown_schedule_is_refused() {
    let scene = Scene::new().await;

    let unknown = scene.estafette(&["schedules", "run", "nowhere"]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no schedule named `nowhere`; configured: dossiers"),
        "{stderr}"
    );

    let unpublished = scene.estafette(&["schedules", "run", "dossiers"]);
    assert!(!unpublished.status.success());
    let stderr = String::from_utf8_lossy(&unpublished.stderr);
    assert!(
        stderr.contains("no scheduler replica holds the lease"),
        "{stderr}"
    );
    assert!(
        scene.listing()["schedules"][0]["running"].is_null(),
        "nothing was claimed"
    );
    scene.finish().await;
}
