//! The compose stack, run for real: `docker-compose up` of the broker, Redis, the
//! sandbox, three fetch-page replicas, write-descriptors, send-status, the scheduler
//! and Prometheus; jobs of every kind through `docker-compose run --rm cli`; a run of
//! the scheduler's every-minute schedule ending completed; a replica's
//! process killed (the engine restarts it) and the broker restarted mid-sync; then `docker-compose stop` drains the
//! workers. Prints what it measured.
//!
//! Ignored by `cargo test`: it needs Docker, docker-compose and the images it names
//! (`ESTAFETTE_IMAGE`, `RABBITMQ_IMAGE`, `REDIS_IMAGE`, `PROMETHEUS_IMAGE`), which
//! `.ci/stack` builds from Debian's packages on a machine that can pull nothing,
//! then runs `cargo test -p end-to-end --test stack -- --ignored --nocapture`.
//! Every host port it publishes is a free one, on loopback only.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sandbox::ds::dataset::DossierState;
use serde_json::Value;

/// fetch-page replicas: a Divalto sync at window 8 keeps each of them busy.
const FETCH_PAGE_REPLICAS: usize = 3;
/// Longest wait for every service to be healthy.
const HEALTHY_WITHIN: Duration = Duration::from_secs(180);
/// The seeded démarche's sync.
const DS_SYNC: [&str; 6] = [
    "sync",
    "ds",
    "--connection",
    "sandbox",
    "--demarche",
    "4242",
];
/// How long `docker-compose stop` gives each container before SIGKILL.
const STOP_GRACE_SECONDS: u64 = 30;
/// The schedule of deploy/scheduler.toml: the seeded démarche's sync, every minute.
const SCHEDULE: &str = "demarche_4242";
/// Longest time from every service healthy to the schedule's first run ending
/// completed: it is due at the first whole minute after the scheduler started, and
/// its sync shares the workers with the cli's jobs.
const SCHEDULED_RUN_WITHIN: Duration = Duration::from_secs(75);

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// One compose project of the repository's docker-compose.yml.
struct Stack {
    project: String,
    env: Vec<(String, String)>,
    prometheus_port: u16,
}

impl Stack {
    fn new() -> Stack {
        let project = format!("estafette-smoke-{}", std::process::id());
        let prometheus_port = free_port();
        let mut env: Vec<(String, String)> = [
            "RABBITMQ_PORT",
            "RABBITMQ_MANAGEMENT_PORT",
            "RABBITMQ_PROMETHEUS_PORT",
            "REDIS_PORT",
            "SANDBOX_PORT",
        ]
        .into_iter()
        .map(|name| (name.to_owned(), format!("127.0.0.1:{}", free_port())))
        .collect();
        env.push((
            "PROMETHEUS_PORT".into(),
            format!("127.0.0.1:{prometheus_port}"),
        ));
        env.push((
            "FETCH_PAGE_REPLICAS".into(),
            FETCH_PAGE_REPLICAS.to_string(),
        ));
        // No trace collector runs: the workers export nothing.
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), String::new()));
        Stack {
            project,
            env,
            prometheus_port,
        }
    }

    fn compose(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker-compose");
        command
            .current_dir(repository())
            .args([
                "--project-name",
                &self.project,
                "--file",
                "docker-compose.yml",
            ])
            .args(args)
            .envs(self.env.iter().cloned());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.compose(args).output().expect("docker-compose runs");
        assert!(
            output.status.success(),
            "docker-compose {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `docker-compose run --rm cli <args> --json`, started; `mounts` are extra
    /// `-v` bind mounts.
    fn cli(&self, mounts: &[String], args: &[&str]) -> Child {
        let mut command = self.compose(&["run", "--rm", "-T"]);
        for mount in mounts {
            command.args(["-v", mount]);
        }
        command
            .args(["cli"])
            .args(args)
            .arg("--json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker-compose runs")
    }

    /// The JSON outcome of a finished `cli` run.
    fn outcome(child: Child) -> Value {
        let output = child.wait_with_output().expect("the cli run ends");
        assert!(
            output.status.success(),
            "the cli failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "not one JSON outcome ({error}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// The ids of the project's containers of `service`, or of every service.
    fn containers(&self, service: &str) -> Vec<String> {
        let mut args = vec!["ps", "-q"];
        if !service.is_empty() {
            args.push(service);
        }
        let output = self.run(&args);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .filter(|id| !id.is_empty())
            .collect()
    }

    fn inspect(container: &str, format: &str) -> String {
        let output = Command::new("docker")
            .args(["inspect", "--format", format, container])
            .output()
            .expect("docker runs");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Waits until every container with a health check is healthy and every other
    /// one runs; returns how long it took.
    fn until_healthy(&self, since: Instant) -> Duration {
        let deadline = since + HEALTHY_WITHIN;
        loop {
            let states: Vec<(String, String)> = self
                .containers("")
                .into_iter()
                .map(|id| {
                    let state = Stack::inspect(
                        &id,
                        "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
                    );
                    (id, state)
                })
                .collect();
            // The broker, Redis, the sandbox, write-descriptors, send-status and the
            // scheduler; the fetch-page replicas; Prometheus.
            let expected = 6 + FETCH_PAGE_REPLICAS + 1;
            if states.len() == expected
                && states
                    .iter()
                    .all(|(_, state)| state == "healthy" || state == "running")
            {
                return since.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "not healthy within {HEALTHY_WITHIN:?}: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A sample of a worker container's own `/metrics`, summed over the series
    /// whose labels include `labels`.
    fn worker_metric(container: &str, name: &str, labels: &str) -> f64 {
        let output = Command::new("docker")
            .args(["exec", container, "bash", "-c"])
            .arg(
                "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3",
            )
            .output()
            .expect("docker exec runs");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| line.starts_with(&format!("{name}{{")) && line.contains(labels))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    }

    /// When the scheduler's log first tells that a run of `schedule` ended completed.
    fn completed_run(&self, schedule: &str) -> Option<DateTime<Utc>> {
        let output = self.run(&["logs", "--no-color", "scheduler"]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| tells_a_completed_run(line, schedule))
            .filter_map(|line| {
                // Compose prefixes each line with the container's name and ` | `.
                let message = line.split_once(" | ").map_or(line, |(_, message)| message);
                message.split_whitespace().next()?.parse().ok()
            })
            .min()
    }

    /// Prometheus's targets and their health, once each has been scraped.
    fn prometheus_targets(&self) -> Vec<(String, String)> {
        let url = format!(
            "http://127.0.0.1:{}/api/v1/targets?state=active",
            self.prometheus_port
        );
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let Ok(answer) = reqwest::get(&url).await else {
                return Vec::new();
            };
            let Ok(body) = answer.json::<Value>().await else {
                return Vec::new();
            };
            body["data"]["activeTargets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|target| {
                    (
                        format!(
                            "{} {}",
                            target["labels"]["job"].as_str().unwrap_or_default(),
                            target["labels"]["instance"].as_str().unwrap_or_default()
                        ),
                        target["health"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self
            .compose(&["down", "--volumes", "--remove-orphans", "--timeout", "5"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Whether a line of the scheduler's log, in the text format, tells that a run of
/// `schedule` ended completed.
fn tells_a_completed_run(line: &str, schedule: &str) -> bool {
    line.contains(" run ended ")
        && line.contains(&format!(" schedule=\"{schedule}\""))
        && line.contains(" outcome=\"completed\"")
}

/// What the seeded sandbox holds, as the sandbox crate itself seeds it.
struct Seeds {
    dossier_en_construction: i64,
    apidae_objects: Vec<u64>,
    amienscope_events: u64,
}

async fn seeds() -> Seeds {
    let sandbox = sandbox::Sandbox::start(Default::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("a sandbox starts");
    let dossier_en_construction = sandbox
        .dataset()
        .demarche(4242)
        .expect("the seeded démarche")
        .first_dossier_in(DossierState::EnConstruction)
        .expect("a dossier en construction")
        .number;
    let apidae_objects = sandbox
        .apidae()
        .known_objects()
        .into_iter()
        .take(120)
        .collect();
    let amienscope_events = sandbox.amienscope().listing(0, None).len() as u64;
    sandbox.shutdown().await;
    Seeds {
        dossier_en_construction,
        apidae_objects,
        amienscope_events,
    }
}

#[test]
#[ignore = "needs Docker and the stack's images; .ci/stack runs it"]
fn the_compose_stack_runs_every_job_and_survives_a_killed_replica_and_a_broker_restart() {
    let seeds = tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(seeds());
    let stack = Stack::new();
    let mut measured: BTreeMap<&str, String> = BTreeMap::new();

    let up = Instant::now();
    stack.run(&[
        "up",
        "--detach",
        "--no-build",
        "rabbitmq",
        "redis",
        "sandbox",
        "fetch-page",
        "write-descriptors",
        "send-status",
        "scheduler",
        "prometheus",
    ]);
    let healthy = stack.until_healthy(up);
    let healthy_at = Utc::now();
    measured.insert(
        "healthy after up",
        format!("{:.1} s", healthy.as_secs_f64()),
    );
    let scheduler = stack.containers("scheduler");
    assert_eq!(scheduler.len(), 1, "one scheduler replica");
    assert_eq!(
        Stack::inspect(&scheduler[0], "{{.State.Health.Status}}"),
        "healthy"
    );

    // A DS sync.
    let started = Instant::now();
    let ds = Stack::outcome(stack.cli(&[], &DS_SYNC));
    assert_eq!(ds["dossiers"], 2_350, "{ds}");
    measured.insert(
        "ds sync",
        format!(
            "{} dossiers, {:.1} s",
            ds["dossiers"],
            started.elapsed().as_secs_f64()
        ),
    );

    // A Divalto sync at window 8: every fetch-page replica takes pages.
    let divalto_args = [
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
        "8",
    ];
    let started = Instant::now();
    let divalto = Stack::outcome(stack.cli(&[], &divalto_args));
    assert_eq!(divalto["records"], 10_000, "{divalto}");
    assert_eq!(divalto["consistency"], "exact", "{divalto}");
    let replicas = stack.containers("fetch-page");
    assert_eq!(replicas.len(), FETCH_PAGE_REPLICAS);
    let pages: Vec<f64> = replicas
        .iter()
        .map(|id| {
            Stack::worker_metric(
                id,
                "estafette_pages_fetched_total",
                r#"connection="sandbox_divalto""#,
            )
        })
        .collect();
    assert!(
        pages.iter().all(|&taken| taken > 0.0),
        "pages per replica: {pages:?}"
    );
    measured.insert(
        "divalto sync, window 8",
        format!(
            "{} records, {:.1} s, pages per replica {pages:?}",
            divalto["records"],
            started.elapsed().as_secs_f64()
        ),
    );

    // An Amienscope sync.
    let amienscope = Stack::outcome(stack.cli(
        &[],
        &[
            "sync",
            "amienscope",
            "--connection",
            "sandbox_amienscope",
            "--window",
            "4",
        ],
    ));
    assert_eq!(
        amienscope["records"], seeds.amienscope_events,
        "{amienscope}"
    );
    measured.insert(
        "amienscope sync",
        format!("{} records", amienscope["records"]),
    );

    // An Apidae write, its batch mounted into the cli container.
    let batch = std::env::temp_dir().join(format!("{}-batch.json", stack.project));
    let objects: Vec<Value> = seeds
        .apidae_objects
        .iter()
        .map(|id| {
            serde_json::json!({"id": id, "descriptors": [{"technical_name": "smoke", "texts": {"fr": "Texte"}}]})
        })
        .collect();
    std::fs::write(
        &batch,
        serde_json::json!({ "objects": objects }).to_string(),
    )
    .expect("the batch is written");
    let written = Stack::outcome(stack.cli(
        &[format!("{}:/batch.json:ro", batch.display())],
        &[
            "write",
            "apidae",
            "--connection",
            "sandbox_apidae",
            "--file",
            "/batch.json",
        ],
    ));
    let _ = std::fs::remove_file(&batch);
    assert_eq!(written["objects"], seeds.apidae_objects.len(), "{written}");
    assert_eq!(written["failed_chunks"], 0, "{written}");
    assert_eq!(written["updated"], seeds.apidae_objects.len(), "{written}");
    measured.insert(
        "apidae write",
        format!(
            "{} objects in {} chunks",
            written["updated"],
            written["chunks"].as_array().map_or(0, Vec::len)
        ),
    );

    // A DS decision.
    let dossier = seeds.dossier_en_construction.to_string();
    let sent = Stack::outcome(stack.cli(
        &[],
        &[
            "status",
            "ds",
            "send-message",
            "--connection",
            "sandbox",
            "--dossier",
            &dossier,
            "--instructeur",
            "7001",
            "--body",
            "Bien reçu.",
        ],
    ));
    assert_eq!(sent["already_applied"], false, "{sent}");
    measured.insert("ds decision", "message sent".into());

    // The scheduler's schedule: its first run, published while the jobs above ran
    // or soon after, ends completed.
    let within = chrono::Duration::from_std(SCHEDULED_RUN_WITHIN).expect("a short duration");
    let deadline = healthy_at + within;
    let completed = loop {
        if let Some(at) = stack.completed_run(SCHEDULE) {
            break at;
        }
        // A line is read a little after the scheduler writes it.
        assert!(
            Utc::now() < deadline + chrono::Duration::seconds(5),
            "no run of {SCHEDULE} ended completed within {SCHEDULED_RUN_WITHIN:?} of the stack being healthy"
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(
        completed <= deadline,
        "the first completed run of {SCHEDULE} ended at {completed}, after {deadline}"
    );
    measured.insert(
        "scheduled ds sync",
        format!(
            "{SCHEDULE} completed {:.1} s after healthy",
            (completed - healthy_at).as_seconds_f64()
        ),
    );

    // A fetch-page replica killed mid-sync: the sync still ends exact.
    let started = Instant::now();
    let sync = stack.cli(&[], &DS_SYNC);
    std::thread::sleep(Duration::from_millis(1500));
    // A crash, as the engine sees one: the worker process SIGKILLed from the host.
    // (`docker kill` would count as a stop asked for, which no restart policy undoes.)
    let victim = &stack.containers("fetch-page")[0];
    let pid = Stack::inspect(victim, "{{.State.Pid}}");
    let killed = Command::new("kill")
        .args(["-KILL", &pid])
        .output()
        .expect("kill runs");
    assert!(killed.status.success(), "{killed:?}");
    let after_kill = Stack::outcome(sync);
    assert_eq!(after_kill["dossiers"], 2_350, "{after_kill}");
    let restarts = Stack::inspect(victim, "{{.RestartCount}}");
    measured.insert(
        "ds sync, a replica SIGKILLed at 1.5 s",
        format!(
            "{} dossiers, {:.1} s, the replica restarted {restarts} time(s)",
            after_kill["dossiers"],
            started.elapsed().as_secs_f64()
        ),
    );

    // The broker restarted mid-sync: workers and the follower reconnect.
    let started = Instant::now();
    let sync = stack.cli(&[], &divalto_args);
    std::thread::sleep(Duration::from_millis(1500));
    let broker = &stack.containers("rabbitmq")[0];
    let restarted = Command::new("docker")
        .args(["restart", broker])
        .output()
        .expect("docker runs");
    assert!(restarted.status.success(), "{restarted:?}");
    let after_restart = Stack::outcome(sync);
    assert_eq!(after_restart["records"], 10_000, "{after_restart}");
    measured.insert(
        "divalto sync, broker restarted at 1.5 s",
        format!(
            "{} records, consistency {}, {:.1} s",
            after_restart["records"],
            after_restart["consistency"],
            started.elapsed().as_secs_f64()
        ),
    );

    // Prometheus scrapes every replica of every worker, the scheduler, and the
    // broker's plugin.
    let deadline = Instant::now() + Duration::from_secs(90);
    let targets = loop {
        let targets = stack.prometheus_targets();
        let workers = targets
            .iter()
            .filter(|(name, _)| name.starts_with("estafette-workers"))
            .count();
        // The other two workers and the scheduler are scraped in the same job.
        if workers == FETCH_PAGE_REPLICAS + 3 && targets.iter().all(|(_, health)| health == "up") {
            break targets;
        }
        assert!(Instant::now() < deadline, "Prometheus targets: {targets:?}");
        std::thread::sleep(Duration::from_secs(2));
    };
    measured.insert("prometheus targets up", targets.len().to_string());

    // Stopping drains every worker: none needs SIGKILL.
    let workers: Vec<String> = ["fetch-page", "write-descriptors", "send-status"]
        .iter()
        .flat_map(|service| stack.containers(service))
        .collect();
    let grace = STOP_GRACE_SECONDS.to_string();
    let stopping = Instant::now();
    stack.run(&[
        "stop",
        "--timeout",
        &grace,
        "fetch-page",
        "write-descriptors",
        "send-status",
    ]);
    let stopped = stopping.elapsed();
    for worker in &workers {
        let code = Stack::inspect(worker, "{{.State.ExitCode}}");
        assert_eq!(code, "0", "worker {worker} exited {code}, not drained");
    }
    assert!(
        stopped < Duration::from_secs(STOP_GRACE_SECONDS),
        "{stopped:?}"
    );
    measured.insert(
        "docker-compose stop of the workers",
        format!(
            "{:.1} s, {} workers exited 0",
            stopped.as_secs_f64(),
            workers.len()
        ),
    );
    let stopping = Instant::now();
    stack.run(&["stop", "--timeout", &grace]);
    measured.insert(
        "docker-compose stop of the rest",
        format!("{:.1} s", stopping.elapsed().as_secs_f64()),
    );

    for (what, value) in &measured {
        println!("{what:<45} {value}");
    }
}
