//! The parts of the fault suites: worker processes to SIGKILL and restart, a broker to
//! restart, a Redis of the suite's own to kill, and a durable ledger of every event.
//!
//! The broker is the one of `AMQP_URL`, restarted with [`crate::rabbitmqctl`].

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use broker::Broker;
use contract::EventEnvelope;

/// Worker processes of one binary, each writing its log to a file of its own.
pub struct Fleet {
    binary: PathBuf,
    env: Vec<(String, String)>,
    logs: PathBuf,
    started: u32,
    workers: Vec<(Child, PathBuf)>,
}

impl Fleet {
    /// Starts `count` processes of `binary` with `env` added to the test's environment.
    /// Their logs go to `worker-<n>.log` in a fresh folder under the temp dir named by
    /// `suite`.
    pub fn start(binary: &str, env: Vec<(String, String)>, count: usize, suite: &str) -> Fleet {
        let logs = std::env::temp_dir().join(format!(
            "estafette-{suite}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&logs).expect("a log folder");
        let mut fleet = Fleet {
            binary: PathBuf::from(binary),
            env,
            logs,
            started: 0,
            workers: Vec::new(),
        };
        for _ in 0..count {
            let worker = fleet.spawn();
            fleet.workers.push(worker);
        }
        fleet
    }

    /// SIGKILLs worker `index` (modulo the fleet's size) and starts another in its place.
    pub fn kill_and_replace(&mut self, index: usize) {
        let index = index % self.workers.len();
        let (worker, _) = &mut self.workers[index];
        worker.kill().expect("SIGKILL a worker");
        worker.wait().expect("the killed worker is reaped");
        self.workers[index] = self.spawn();
    }

    /// The log file of worker `index` (modulo the fleet's size), as it runs now.
    pub fn log_of(&self, index: usize) -> &Path {
        &self.workers[index % self.workers.len()].1
    }

    /// How many workers run.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Whether the fleet has no worker.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Where the workers' logs are, for a failure message.
    pub fn logs(&self) -> &Path {
        &self.logs
    }

    /// Kills every worker; removes their logs when `passed`.
    pub fn stop(mut self, passed: bool) {
        self.kill_all();
        if passed {
            let _ = std::fs::remove_dir_all(&self.logs);
        }
    }

    fn kill_all(&mut self) {
        for (worker, _) in &mut self.workers {
            let _ = worker.kill();
            let _ = worker.wait();
        }
    }

    fn spawn(&mut self) -> (Child, PathBuf) {
        self.started += 1;
        let log = self.logs.join(format!("worker-{}.log", self.started));
        let file = std::fs::File::create(&log).expect("a log file");
        let also = file.try_clone().expect("a second handle on the log file");
        let child = Command::new(&self.binary)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .env("LOG_FORMAT", "json")
            .stdout(file)
            .stderr(also)
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", self.binary.display()));
        (child, log)
    }
}

/// A test that panics drops its fleet without stopping it: its workers must not outlive
/// the test process. Their logs stay, for the failure.
impl Drop for Fleet {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// A topology under a fresh prefix for `worker`, with the durable ledger queue `ledger`
/// bound to every event, declared before anything runs so that it gathers every
/// event. Returns the prefix and the connection that declared it.
pub async fn topology_with_ledger(worker: contract::WorkerKind) -> (String, Broker) {
    let prefix = crate::unique_prefix();
    let driver = crate::connect(&prefix).await;
    driver.declare(&[worker]).await.expect("topology");
    drop(
        driver
            .subscribe_events_durably("ledger", "#")
            .await
            .expect("the ledger queue"),
    );
    (prefix, driver)
}

/// What the chaos did.
#[derive(Debug, Default)]
pub struct Chaos {
    /// Workers SIGKILLed (each replaced at once).
    pub kills: u32,
    /// Broker restarts.
    pub broker_restarts: u32,
}

/// Kills a worker of `fleet` every `step`, and restarts the broker at the listed
/// steps (counted from 1), for at most `length` or until `ended` says the job is over.
pub async fn unleash(
    fleet: &mut Fleet,
    step: Duration,
    broker_restarts_at: &[u32],
    length: Duration,
    ended: impl AsyncFn() -> bool,
) -> Chaos {
    let mut chaos = Chaos::default();
    let started = Instant::now();
    let mut count = 0u32;
    while started.elapsed() < length && !ended().await {
        tokio::time::sleep(step).await;
        count += 1;
        fleet.kill_and_replace(count as usize);
        chaos.kills += 1;
        if broker_restarts_at.contains(&count) {
            tokio::task::spawn_blocking(restart_broker)
                .await
                .expect("the restart runs");
            chaos.broker_restarts += 1;
        }
    }
    chaos
}

/// Stops the broker's application, waits three seconds, and starts it again.
pub fn restart_broker() {
    crate::rabbitmqctl(&["stop_app"]);
    std::thread::sleep(Duration::from_secs(3));
    crate::rabbitmqctl(&["start_app"]);
}

/// A Redis server of the suite's own, on a free loopback port, that the suite may
/// kill: with its append-only file (fsync every second) or keeping nothing.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    persistent: bool,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` in a fresh folder; `persistent` turns the append-only
    /// file on, as the shipped deployments run it.
    pub fn start(persistent: bool) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("estafette-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a Redis folder");
        let mut server = RedisServer {
            port,
            dir,
            persistent,
            child: None,
        };
        server.run();
        server
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL: what it had not written to its file is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL redis-server");
            child.wait().expect("redis-server is reaped");
        }
    }

    /// Starts the server again on the same port and folder, where a persistent one
    /// reloads its append-only file.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }

    fn run(&mut self) {
        let appendonly = if self.persistent { "yes" } else { "no" };
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", appendonly])
            .args(["--appendfsync", "everysec", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server starts: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server answers");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads the durable ledger queue `name` (see [`Broker::subscribe_events_durably`])
/// through a new connection until `ends` accepts an event, then for `linger` more, or
/// until `deadline` has passed.
pub async fn read_ledger(
    prefix: &str,
    name: &str,
    ends: impl Fn(&EventEnvelope) -> bool,
    linger: Duration,
    deadline: Instant,
) -> Vec<EventEnvelope> {
    // The connection that declared the ledger may have died with a broker restart.
    let reader: Broker = crate::connect(prefix).await;
    let mut ledger = reader
        .subscribe_events_durably(name, "#")
        .await
        .expect("the ledger queue");
    let mut events = Vec::new();
    let mut ended = false;
    loop {
        let gap = if ended {
            linger
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        let Ok(Some(message)) = tokio::time::timeout(gap, ledger.next()).await else {
            break;
        };
        let envelope = crate::read_event(&message.body);
        ended |= ends(&envelope);
        events.push(envelope);
    }
    events
}

/// Every dead letter of `prefix`, read until none comes for a second.
pub async fn dead_letters(prefix: &str) -> Vec<broker::Incoming> {
    let reader: Broker = crate::connect(prefix).await;
    let mut dead = reader.dead_letters().await.expect("the dead letters");
    let mut letters = Vec::new();
    while let Ok(Some(letter)) = tokio::time::timeout(Duration::from_secs(1), dead.next()).await {
        letters.push(letter);
    }
    letters
}
