//! A scene: the sandbox, a fetch-page worker under the test's own prefix, scheduler
//! processes running one schedule of démarche 4242, a tap on the start commands they
//! publish, and the schedule store they share.

use std::collections::BTreeSet;
use std::time::Duration;

use broker::Subscription;
use chrono::{DateTime, Utc};
use contract::{
    Command, CommandBody, Event, JobId, Listing, PageSubject, SyncCompleted, WorkerKind,
};
use sandbox::{Sandbox, SandboxConfig};
use schedule::ScheduleStore;
use testkit::{WorkerApp, chaos::Fleet};

/// The schedule's name in every scene.
pub(crate) const SCHEDULE: &str = "dossiers";

/// Longest wait for the next start command or event.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// How the scheduler replicas of a scene run.
pub(crate) struct Timing {
    pub(crate) every_seconds: u32,
    pub(crate) lease_seconds: f64,
    pub(crate) tick_seconds: f64,
    pub(crate) max_run_seconds: f64,
}

impl Timing {
    /// Due every `every_seconds`, a 2 s lease, 0.2 s ticks, and runs given an hour.
    pub(crate) fn every(every_seconds: u32) -> Timing {
        Timing {
            every_seconds,
            lease_seconds: 2.0,
            tick_seconds: 0.2,
            max_run_seconds: 3600.0,
        }
    }
}

pub(crate) struct Scene {
    pub(crate) sandbox: Sandbox,
    pub(crate) app: WorkerApp,
    pub(crate) fleet: Fleet,
    pub(crate) store: ScheduleStore,
    starts: Subscription,
    config: std::path::PathBuf,
}

/// One run as the test saw it: its start command and its job's events.
pub(crate) struct Run {
    pub(crate) command: Command,
    pub(crate) completed: SyncCompleted,
    /// Dossier numbers of the `dossiers` listing's pages.
    pub(crate) dossiers: BTreeSet<i64>,
    /// Dossier numbers of the `deletedDossiers` listing's pages.
    pub(crate) deleted: BTreeSet<i64>,
}

impl Run {
    pub(crate) fn since(&self) -> Option<DateTime<Utc>> {
        match &self.command.body {
            CommandBody::DsSync(sync) => sync.updated_since,
            other => panic!("the schedule publishes ds.sync, not {}", other.kind()),
        }
    }
}

impl Scene {
    pub(crate) async fn start(config: SandboxConfig, timing: Timing, replicas: usize) -> Scene {
        let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("the sandbox starts");
        let settings = testkit::sandbox_settings(
            &sandbox.base_url(),
            &[(
                "ESTAFETTE__CONNECTIONS__SANDBOX__RATE_LIMIT__REQUESTS",
                "100000",
            )],
        );
        let app = WorkerApp::start(
            WorkerKind::FetchPage,
            settings,
            testkit::worker_run!(fetch_page::run),
        )
        .await;
        let starts = app
            .broker
            .tap_start_commands(WorkerKind::FetchPage)
            .await
            .expect("a tap on the start commands");
        let config = std::env::temp_dir().join(format!("{}-scheduler.toml", app.prefix));
        std::fs::write(
            &config,
            format!(
                "[scheduler]\nlease_seconds = {}\ntick_seconds = {}\nmax_run_seconds = {}\n\n\
                 [schedules.{SCHEDULE}]\nkind = \"ds.sync\"\nconnection = \"sandbox\"\n\
                 every_seconds = {}\nbody = {{ demarche = 4242 }}\n",
                timing.lease_seconds,
                timing.tick_seconds,
                timing.max_run_seconds,
                timing.every_seconds
            ),
        )
        .expect("the scheduler's settings file");
        let env = [
            ("AMQP_URL", testkit::amqp_url()),
            ("REDIS_URL", testkit::redis_url()),
            ("ESTAFETTE_CONFIG", config.display().to_string()),
            ("ESTAFETTE__BROKER__PREFIX", app.prefix.clone()),
            (
                "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS",
                testkit::QUEUE_EXPIRES.as_secs().to_string(),
            ),
            ("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        let fleet = Fleet::start(env!("CARGO_BIN_EXE_scheduler"), env, replicas, "scheduler");
        let store = ScheduleStore::connect(&testkit::redis_url().into(), &app.prefix)
            .await
            .expect("the schedule store");
        Scene {
            sandbox,
            app,
            fleet,
            store,
            starts,
            config,
        }
    }

    /// The next start command a replica published.
    pub(crate) async fn next_start(&mut self) -> Command {
        let message = tokio::time::timeout(PATIENCE, self.starts.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no run published within {PATIENCE:?}; logs in {}",
                    self.fleet.logs().display()
                )
            })
            .expect("the tap is open");
        testkit::assert_fits_command_schema(
            &serde_json::from_slice(&message.body).expect("a JSON command"),
        );
        Command::from_json(&message.body).expect("a valid command")
    }

    /// The next run: its start command, then its job's events up to its completion.
    pub(crate) async fn next_run(&mut self) -> Run {
        let command = self.next_start().await;
        self.run_of(command).await
    }

    /// The events of `command`'s job up to its completion (events of other jobs are
    /// not expected: runs never overlap).
    pub(crate) async fn run_of(&mut self, command: Command) -> Run {
        let job = command.meta.job_id;
        let mut dossiers = BTreeSet::new();
        let mut deleted = BTreeSet::new();
        loop {
            let event = self.app.events.next(PATIENCE).await;
            assert_eq!(
                event.job_id,
                Some(job),
                "an event of another job: {event:?}"
            );
            match event.event {
                Event::PageFetched(page) => {
                    let PageSubject::Ds { listing, .. } = page.subject else {
                        panic!("a démarche page, not {:?}", page.subject);
                    };
                    let numbers = page.records.iter().map(|record| {
                        record.to_value()["number"]
                            .as_i64()
                            .expect("a dossier number")
                    });
                    match listing {
                        Listing::Dossiers => dossiers.extend(numbers),
                        Listing::DeletedDossiers => deleted.extend(numbers),
                        Listing::PendingDeletedDossiers => {}
                    }
                }
                Event::SyncCompleted(completed) => {
                    return Run {
                        command,
                        completed,
                        dossiers,
                        deleted,
                    };
                }
                other => panic!("the run failed: {other:?}"),
            }
        }
    }

    /// The completion of `job`, other jobs' events passed over.
    pub(crate) async fn completion_of(&mut self, job: JobId) -> SyncCompleted {
        loop {
            let event = self.app.events.next(PATIENCE).await;
            match event.event {
                Event::SyncCompleted(completed) if event.job_id == Some(job) => return completed,
                Event::PageFetched(_) | Event::SyncCompleted(_) => {}
                other => panic!("a run failed: {other:?}"),
            }
        }
    }

    /// The schedule's state once the end of `job`'s run is recorded.
    pub(crate) async fn recorded(&self, job: JobId) -> schedule::ScheduleState {
        let waited = std::time::Instant::now();
        loop {
            let state = self.store.state(SCHEDULE).await.expect("the store answers");
            if state.last_run.as_ref().is_some_and(|run| run.job == job) {
                return state;
            }
            assert!(
                waited.elapsed() < PATIENCE,
                "the end of {job:?} was never recorded"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Which replica holds the lease, by its index in the fleet, as its log names it.
    pub(crate) async fn lease_holder(&self) -> Option<(usize, String)> {
        let holder = self
            .store
            .lease_holder()
            .await
            .expect("the store answers")?;
        (0..self.fleet.len())
            .find(|&index| {
                std::fs::read_to_string(self.fleet.log_of(index))
                    .is_ok_and(|log| log.contains(&holder))
            })
            .map(|index| (index, holder))
    }

    /// The `/metrics` text of replica `index`, at the address its log names.
    pub(crate) async fn metrics_of(&self, index: usize) -> String {
        let log = std::fs::read_to_string(self.fleet.log_of(index)).expect("the replica's log");
        let address = log
            .lines()
            .filter(|line| line.contains("serving /metrics"))
            .find_map(|line| {
                let event: serde_json::Value = serde_json::from_str(line).ok()?;
                event["fields"]["local_addr"].as_str().map(str::to_owned)
            })
            .expect("the replica logged its metrics address");
        reqwest::get(format!("http://{address}/metrics"))
            .await
            .expect("the replica serves /metrics")
            .text()
            .await
            .expect("a text exposition")
    }

    /// The run ids of every start command published so far and not read yet.
    pub(crate) async fn remaining_starts(&mut self) -> Vec<JobId> {
        let mut jobs = Vec::new();
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(500), self.starts.next()).await
        {
            jobs.push(
                Command::from_json(&message.body)
                    .expect("a valid command")
                    .meta
                    .job_id,
            );
        }
        jobs
    }

    pub(crate) async fn finish(self, passed: bool) {
        self.fleet.stop(passed);
        let _ = std::fs::remove_file(&self.config);
        self.app.shutdown().await;
        self.sandbox.shutdown().await;
    }
}
