//! The schedules' state in Redis, changed only by Lua scripts (see the crate's doc).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use contract::JobId;
use redis::{AsyncCommands, Script, aio::ConnectionManager};
use secrecy::{ExposeSecret, SecretString};

use crate::run::{Outcome, RunEnd};

/// The store could not be reached, or holds something this build cannot read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The Redis url is not one the client accepts; the url itself is not repeated.
    #[error("the state store url is invalid ({0})")]
    InvalidUrl(String),
    /// Redis did not answer, or refused the call.
    #[error("the state store is unavailable: {0}")]
    Unavailable(#[from] redis::RedisError),
    /// A field of a schedule's hash does not hold what it should.
    #[error("schedule {schedule}: field {field} holds {value:?}, which cannot be read")]
    Corrupt {
        /// The schedule.
        schedule: String,
        /// The field.
        field: &'static str,
        /// What it holds (never a secret: times, ids and counts only).
        value: String,
    },
}

/// The run in flight of a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    /// Its job.
    pub job: JobId,
    /// The resume point it started from; none for a full sync.
    pub since: Option<DateTime<Utc>>,
    /// When it was claimed.
    pub claimed_at: DateTime<Utc>,
    /// Whether the broker confirmed its command; until then the lease holder
    /// publishes it (again, under the same ids) at each tick.
    pub published: bool,
    /// Whether a due time (`tick`) or a person (`manual`) started it.
    pub trigger: String,
    /// Its command, as published.
    pub command: String,
}

/// How the last run of a schedule ended.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    /// Its job.
    pub job: JobId,
    /// How it ended.
    pub outcome: Outcome,
    /// When its end was recorded.
    pub finished_at: DateTime<Utc>,
    /// Records it published.
    pub records: u64,
    /// Why it did not complete.
    pub reason: Option<String>,
    /// The resume point it started from; none for a full sync.
    pub since: Option<DateTime<Utc>>,
}

/// Everything the store knows of one schedule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleState {
    /// Where the last complete run ended; see [`ScheduleState::resume_point_for`].
    pub resume_point: Option<DateTime<Utc>>,
    /// The fingerprint of the schedule's definition that run was built from.
    pub resume_definition: Option<String>,
    /// How many times the resume point was reset: a run claimed before a reset does
    /// not set it again.
    pub generation: u64,
    /// When a scheduler first saw the schedule.
    pub tracked_since: Option<DateTime<Utc>>,
    /// The last due time handled, run or skipped.
    pub last_slot: Option<DateTime<Utc>>,
    /// The run in flight.
    pub running: Option<Running>,
    /// The last run that ended.
    pub last_run: Option<LastRun>,
    /// When a run last completed.
    pub last_success: Option<DateTime<Utc>>,
    /// Due times skipped because a run was still going.
    pub skips: u64,
    /// When the last of them was skipped.
    pub last_skip: Option<DateTime<Utc>>,
}

impl ScheduleState {
    /// Where the next run of a schedule whose definition has the fingerprint
    /// `definition` (see [`crate::definition`]) starts: the resume point, unless it was
    /// reached by another definition (another démarche, filter, query or connection),
    /// whose resume point says nothing of this one: then none, a full sync.
    pub fn resume_point_for(&self, definition: &str) -> Option<DateTime<Utc>> {
        self.resume_point
            .filter(|_| self.resume_definition.as_deref() == Some(definition))
    }
}

/// A run to claim.
#[derive(Debug, Clone)]
pub struct Claim<'c> {
    /// The lease holder claiming it; none for a run a person asked for.
    pub holder: Option<&'c str>,
    /// The due time it is for; none for a run a person asked for now.
    pub due: Option<DateTime<Utc>>,
    /// The command it publishes.
    pub command: &'c contract::Command,
    /// The resume point the command starts from.
    pub since: Option<DateTime<Utc>>,
    /// The generation the caller read with the resume point.
    pub generation: u64,
    /// The fingerprint of the definition the command was built from.
    pub definition: &'c str,
}

/// What came of a [`Claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// The run is the schedule's run in flight: publish its command.
    Claimed,
    /// A run is still in flight: the due time is recorded as skipped.
    Skipped,
    /// A run is still in flight: nothing started (a run asked for now).
    StillRunning,
    /// This due time was handled already, by this replica or another.
    AlreadyHandled,
    /// The resume point was reset since it was read: read it again.
    ResumePointMoved,
    /// The claimer does not hold the lease.
    NotLeaseHolder,
}

/// The schedules' state, shared by every scheduler replica and the CLI; cheap to clone.
#[derive(Clone)]
pub struct ScheduleStore {
    connection: ConnectionManager,
    namespace: String,
}

impl std::fmt::Debug for ScheduleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduleStore")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl ScheduleStore {
    /// Connects to Redis at `url`; keys are written under `namespace` (the broker
    /// prefix). The connection reconnects by itself.
    pub async fn connect(url: &SecretString, namespace: &str) -> Result<Self, StoreError> {
        // The url may carry a password: say only which part is wrong.
        let client = redis::Client::open(url.expose_secret())
            .map_err(|error| StoreError::InvalidUrl(format!("{:?}", error.kind())))?;
        let connection = ConnectionManager::new(client).await?;
        Ok(Self::with_connection(connection, namespace))
    }

    /// The store on a connection already open (a worker shell's job store's), keys
    /// under `namespace`.
    pub fn with_connection(connection: ConnectionManager, namespace: &str) -> Self {
        Self {
            connection,
            namespace: namespace.to_owned(),
        }
    }

    /// Everything the store knows of the schedule `name`.
    pub async fn state(&self, name: &str) -> Result<ScheduleState, StoreError> {
        let fields: HashMap<String, String> = self
            .connection
            .clone()
            .hgetall(self.schedule_key(name))
            .await?;
        Fields {
            schedule: name,
            fields,
        }
        .read()
    }

    /// Notes when a scheduler first saw the schedule `name`: its due times count
    /// from then. Later calls change nothing.
    pub async fn track(&self, name: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let key = self.schedule_key(name);
        let _: bool = self
            .connection
            .clone()
            .hset_nx(&key, "tracked_since", now.timestamp_millis())
            .await?;
        Ok(())
    }

    /// Claims a run of the schedule `name` (see [`Claimed`]).
    pub async fn claim(&self, name: &str, claim: &Claim<'_>) -> Result<Claimed, StoreError> {
        let mut invocation = CLAIM.prepare_invoke();
        invocation
            .key(self.schedule_key(name))
            .key(self.runs_key())
            .key(self.lease_key())
            .arg(claim.holder.unwrap_or_default())
            .arg(
                claim
                    .due
                    .map(|due| due.timestamp().to_string())
                    .unwrap_or_default(),
            )
            .arg(claim.command.meta.job_id.0.to_string())
            .arg(claim.command.to_json())
            .arg(claim.since.map(instant).unwrap_or_default())
            .arg(Utc::now().timestamp_millis())
            .arg(name)
            .arg(claim.generation)
            .arg(claim.definition);
        let answer: String = invocation
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(match answer.as_str() {
            "claimed" => Claimed::Claimed,
            "skipped" => Claimed::Skipped,
            "running" => Claimed::StillRunning,
            "done" => Claimed::AlreadyHandled,
            "moved" => Claimed::ResumePointMoved,
            _ => Claimed::NotLeaseHolder,
        })
    }

    /// Notes that the broker confirmed the command of `job`, the run in flight of the
    /// schedule `name`.
    pub async fn mark_published(&self, name: &str, job: JobId) -> Result<(), StoreError> {
        let mut invocation = PUBLISHED.prepare_invoke();
        invocation
            .key(self.schedule_key(name))
            .arg(job.0.to_string());
        let _: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    /// Records `end` for the schedule whose run in flight is its job, and returns that
    /// schedule's name; `None` when the job is no schedule's run in flight.
    pub async fn finish(&self, end: &RunEnd) -> Result<Option<String>, StoreError> {
        let job = end.job.0.to_string();
        let name: Option<String> = self.connection.clone().hget(self.runs_key(), &job).await?;
        let Some(name) = name else {
            return Ok(None);
        };
        Ok(self.finish_run(&name, end).await?.then_some(name))
    }

    /// Records `end` for the schedule `name` if its job is that schedule's run in
    /// flight (whether or not the run index still names it); returns whether it was.
    pub async fn finish_run(&self, name: &str, end: &RunEnd) -> Result<bool, StoreError> {
        let job = end.job.0.to_string();
        let mut invocation = FINISH.prepare_invoke();
        invocation
            .key(self.schedule_key(name))
            .key(self.runs_key())
            .arg(&job)
            .arg(end.outcome.as_str())
            .arg(Utc::now().timestamp_millis())
            .arg(end.records)
            .arg(end.reason.as_deref().unwrap_or_default())
            .arg(end.resume_point.map(instant).unwrap_or_default());
        let recorded: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(recorded == 1)
    }

    /// Forgets the resume point of the schedule `name`: its next run is a full sync,
    /// and a run in flight will not set it again. Returns whether there was one.
    pub async fn reset(&self, name: &str) -> Result<bool, StoreError> {
        let mut invocation = RESET.prepare_invoke();
        invocation.key(self.schedule_key(name));
        let removed: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(removed == 1)
    }

    /// Takes the publishers' lease for `holder` when nobody holds it, or renews it
    /// when `holder` does, for `lifetime`; returns whether `holder` holds it now.
    pub async fn hold_lease(&self, holder: &str, lifetime: Duration) -> Result<bool, StoreError> {
        let mut invocation = LEASE.prepare_invoke();
        invocation.key(self.lease_key()).arg(holder).arg(
            u64::try_from(lifetime.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        let held: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(held == 1)
    }

    /// Gives the lease back if `holder` holds it, so another replica takes over at its
    /// next tick rather than when the lease lapses.
    pub async fn release_lease(&self, holder: &str) -> Result<(), StoreError> {
        let mut invocation = RELEASE.prepare_invoke();
        invocation.key(self.lease_key()).arg(holder);
        let _: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    /// The replica holding the lease, if any.
    pub async fn lease_holder(&self) -> Result<Option<String>, StoreError> {
        Ok(self.connection.clone().get(self.lease_key()).await?)
    }

    fn schedule_key(&self, name: &str) -> String {
        format!("{}:schedule:{name}", self.namespace)
    }

    fn runs_key(&self) -> String {
        format!("{}:schedule-runs", self.namespace)
    }

    fn lease_key(&self) -> String {
        format!("{}:scheduler-lease", self.namespace)
    }
}

/// How an instant is written in the store: RFC 3339, UTC, as precise as it is.
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A schedule's hash, read field by field.
struct Fields<'s> {
    schedule: &'s str,
    fields: HashMap<String, String>,
}

impl Fields<'_> {
    fn read(&self) -> Result<ScheduleState, StoreError> {
        let running = match self.text("run_job") {
            None => None,
            Some(_) => Some(Running {
                job: self.job("run_job")?.expect("present"),
                since: self.instant("run_since")?,
                claimed_at: self.millis("run_claimed")?.unwrap_or_default(),
                published: self.text("run_state") == Some("published"),
                trigger: self.text("run_trigger").unwrap_or("tick").to_owned(),
                command: self.text("run_command").unwrap_or_default().to_owned(),
            }),
        };
        let last_run = match (self.job("last_job")?, self.text("last_outcome")) {
            (Some(job), Some(outcome)) => Some(LastRun {
                job,
                outcome: Outcome::parse(outcome).ok_or_else(|| self.corrupt("last_outcome"))?,
                finished_at: self.millis("last_finished")?.unwrap_or_default(),
                records: self.number("last_records")?,
                reason: self.text("last_reason").map(str::to_owned),
                since: self.instant("last_since")?,
            }),
            _ => None,
        };
        Ok(ScheduleState {
            resume_point: self.instant("resume_point")?,
            resume_definition: self.text("resume_definition").map(str::to_owned),
            generation: self.number("generation")?,
            tracked_since: self.millis("tracked_since")?,
            last_slot: self
                .number("last_slot")
                .map(|seconds| (seconds > 0).then(|| DateTime::from_timestamp(seconds as i64, 0)))?
                .flatten(),
            running,
            last_run,
            last_success: self.millis("last_success")?,
            skips: self.number("skips")?,
            last_skip: self.millis("last_skip")?,
        })
    }

    /// A field's text; an empty field counts as absent.
    fn text(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .map(String::as_str)
            .filter(|text| !text.is_empty())
    }

    fn corrupt(&self, field: &'static str) -> StoreError {
        StoreError::Corrupt {
            schedule: self.schedule.to_owned(),
            field,
            value: self.text(field).unwrap_or_default().to_owned(),
        }
    }

    fn parsed<T>(
        &self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, StoreError> {
        self.text(field)
            .map(|text| parse(text).ok_or_else(|| self.corrupt(field)))
            .transpose()
    }

    fn instant(&self, field: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.parsed(field, |text| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc))
        })
    }

    fn millis(&self, field: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.parsed(field, |text| {
            DateTime::from_timestamp_millis(text.parse().ok()?)
        })
    }

    fn number(&self, field: &'static str) -> Result<u64, StoreError> {
        Ok(self.parsed(field, |text| text.parse().ok())?.unwrap_or(0))
    }

    fn job(&self, field: &'static str) -> Result<Option<JobId>, StoreError> {
        self.parsed(field, |text| text.parse().ok().map(JobId))
    }
}

static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/claim.lua")));
static PUBLISHED: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/published.lua")));
static FINISH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/finish.lua")));
static LEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/lease.lua")));
static RESET: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/reset.lua")));
static RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/release.lua")));
