//! The shared state of a fanned-out job, kept in Redis so that every replica sees it
//! and none holds it in memory.
//!
//! Every job kind keeps a hash `<ns>:job:<id>`, opened by the job's start command with
//! the start time, its *marker*. Every page or chunk command carries that marker, and
//! every script that acts for one first checks where the job stands: a job that
//! failed (`failed` set) lets its remaining commands finish unread, and a job whose
//! hash is missing or holds another marker has lost its state (the store lost its
//! data, or the state expired). Then what the job did cannot be known:
//! [`StoreError::JobStateLost`] says so, and the job fails instead of completing from
//! partial knowledge. Nothing is ever recreated from a page's own report.
//!
//! An *offset* job keeps a window of page commands in flight. The store answers the
//! questions no single page can: is this page still due, is the end of the listing
//! known, is every issued page done, and did the listing move while it was read. It
//! uses five keys, updated only by Lua scripts, so each update is atomic:
//!
//! - `<ns>:job:<id>`: the start time, the end (lowest short page), the stop reason,
//!   the counters, and per page its first record, its overlap record and its
//!   fingerprint;
//! - `<ns>:job:<id>:pending`: pages issued and not yet finished;
//! - `<ns>:job:<id>:done`: pages finished;
//! - `<ns>:job:<id>:ids`: every record id published, with its page;
//! - `<ns>:job:<id>:counts`: records published per non-empty page;
//! - `<ns>:job:<id>:served`: records served per page read, for the rows it covered.
//!
//! The hash also keeps the job's page size (the connection's, or the server's record
//! cap when the start found it lower), that cap, and `full` once a read returned a
//! whole page: from then on a short page is the listing's end, not the cap.
//!
//! Invariants, relied on by the worker:
//! 1. A page is added to `pending` before its command is published, and moved to
//!    `done` only after everything it published was confirmed by the broker.
//! 2. A page is finished at most once: a redelivered page that is already done
//!    changes nothing.
//! 3. The job completes exactly once, in the finish of the page that leaves `pending`
//!    empty once the end is known; that page is recorded as the completer, so only
//!    its redelivery repeats the completion.
//!
//! A *chunked* job (a descriptor write split into calls of at most 50 objects) uses
//! the hash (with the chunk count and each chunk's result), `:pending` and `:done`,
//! with the same rules: a chunk finishes once, and the chunk that leaves nothing
//! pending completes the job, exactly once. See [`chunks`].
//!
//! A *cursor chain* (a démarche sync, one page after the other) needs only the hash:
//! its `head` is the first page not yet finished, so a redelivered page below it
//! was read, and its successor confirmed, before. See [`chain`].
//!
//! Keys expire after the job's time to live, counted from its last update.

pub mod chain;
pub mod chunks;
mod receipts;
mod summary;

use std::ops::Range;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use contract::{JobId, OffsetRange};
use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use secrecy::{ExposeSecret, SecretString};

pub use receipts::ReceiptCheck;
pub use summary::{JobEnd, JobSummary};

/// The store could not be reached or answered something unexpected.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not a Redis URL.
    #[error("the job state store URL is invalid: {0}")]
    InvalidUrl(String),
    /// The store did not answer, or refused the command; retry later.
    #[error("the job state store is unavailable: {0}")]
    Unavailable(#[source] RedisError),
    /// The store answered with something the scripts never return.
    #[error("the job state store answered unexpectedly: {0}")]
    Unexpected(String),
    /// The job's state is missing, or belongs to another opening of the job: the
    /// store lost its data, or the state expired. What the job did so far cannot be
    /// known; the job must fail, never complete.
    #[error("the state of job {job} is lost: {detail}")]
    JobStateLost {
        /// The job.
        job: JobId,
        /// What was found instead of the expected state.
        detail: String,
    },
}

/// What a chunk or a page of a cursor chain should do, according to its job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// Not finished yet: do the work.
    Due,
    /// Finished before; when it was the step that completed the job, the completion
    /// must be published again (it may not have been confirmed).
    Done {
        /// Whether this step completed the job.
        completed_job: bool,
    },
    /// The job failed for good: finish without doing anything.
    JobFailed,
}

/// What a page command should do, according to the job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStatus {
    /// Fetch the page.
    Due {
        /// Some read of the job already returned a whole page, so the server's record
        /// cap is not below the page size: a short page is the end of the listing.
        full_page_seen: bool,
    },
    /// The page is past the known end, or the job was stopped: finish it unfetched.
    Skip,
    /// The page was finished before; when it was the page that completed the job,
    /// the completion must be published again (it may not have been confirmed).
    Done {
        /// Whether this page completed the job.
        completed_job: bool,
    },
    /// The job failed for good: finish the page unread.
    JobFailed,
}

/// What one page read, reported once everything it published was confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchedPage {
    /// Ids of the records published, in order.
    pub published_ids: Vec<String>,
    /// How many of them were tombstones.
    pub tombstones: u32,
    /// Id of the first record served, `None` for an empty page.
    pub first_id: Option<String>,
    /// Id of the overlap record (the last of a full page, left to the next page).
    pub overlap_id: Option<String>,
    /// Records the upstream served, the overlap record included.
    pub served: u32,
    /// The page held fewer records than asked for: the listing ends here.
    pub short: bool,
    /// The page held more records than asked for.
    pub oversized: bool,
    /// The page command published to keep the window moving.
    pub next: Option<u32>,
    /// A digest of every record id served, to recognise a page served twice.
    pub fingerprint: Option<String>,
    /// The page was full but the next page would pass the job's page limit.
    pub limit_reached: bool,
}

/// How a job opens, as its start command found the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// When the job started: its marker, and the resume point it hands out.
    pub started_at: DateTime<Utc>,
    /// Records every page asks for.
    pub page_size: u32,
    /// The server's record cap, when it was found below the connection's page size.
    pub server_cap: Option<u32>,
    /// The start's own read returned a whole page.
    pub full_page_seen: bool,
    /// The pages of the first window, pending from now on.
    pub pages: Range<u32>,
}

/// A job as first opened: a start command delivered again gets these, not its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// When the job started.
    pub started_at: DateTime<Utc>,
    /// Records every page asks for.
    pub page_size: u32,
}

/// How a page finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageReport {
    /// Read and published.
    Fetched(FetchedPage),
    /// Not read: past the end, or the job was stopped.
    Skipped,
}

/// A Redis-backed store of job state, shared by every replica; cheap to clone.
#[derive(Clone)]
pub struct JobStore {
    connection: ConnectionManager,
    namespace: String,
    ttl_seconds: u64,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStore")
            .field("namespace", &self.namespace)
            .field("ttl_seconds", &self.ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl JobStore {
    /// Connects to Redis at `url`; keys are written under `namespace` and expire `ttl`
    /// after a job's last update. The connection reconnects by itself.
    pub async fn connect(
        url: &SecretString,
        namespace: &str,
        ttl: Duration,
    ) -> Result<JobStore, StoreError> {
        // The URL may carry a password: say only which part is wrong.
        let client = redis::Client::open(url.expose_secret())
            .map_err(|error| StoreError::InvalidUrl(format!("{:?}", error.kind())))?;
        let connection = ConnectionManager::new(client)
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(JobStore {
            connection,
            namespace: namespace.to_owned(),
            ttl_seconds: ttl.as_secs().max(1),
        })
    }

    /// The store's Redis connection, for the other state every replica shares, such as
    /// the connections' rate-limit budgets; clones share one multiplexed connection.
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Opens `job` with the pages of its first window as pending, before their
    /// commands are published. The first opening is kept: a start command delivered
    /// again gets the recorded start and page size, whatever it found itself.
    pub async fn open(&self, job: JobId, opening: &Opening) -> Result<Opened, StoreError> {
        let mut invocation = OPEN.prepare_invoke();
        self.keys(&mut invocation, job);
        invocation
            .arg(marker(opening.started_at))
            .arg(self.ttl_seconds)
            .arg(opening.page_size)
            .arg(
                opening
                    .server_cap
                    .map(|cap| cap.to_string())
                    .unwrap_or_default(),
            )
            .arg(if opening.full_page_seen { "1" } else { "0" });
        for page in opening.pages.clone() {
            invocation.arg(page);
        }
        let (started, page_size): (String, u32) = self.invoke(invocation).await?;
        Ok(Opened {
            started_at: parse_start(&started)?,
            page_size,
        })
    }

    /// Whether `page` of `job`, opened at `started_at`, should be fetched.
    pub async fn status(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        page: u32,
    ) -> Result<PageStatus, StoreError> {
        let mut invocation = STATUS.prepare_invoke();
        self.keys(&mut invocation, job);
        invocation.arg(page).arg(marker(started_at));
        let answer: Vec<String> = self.invoke(invocation).await?;
        match answer.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["skip"] => Ok(PageStatus::Skip),
            ["due", full] => Ok(PageStatus::Due {
                full_page_seen: full == "1",
            }),
            _ => Ok(match step_status(job, &answer)? {
                StepStatus::Due => PageStatus::Due {
                    full_page_seen: false,
                },
                StepStatus::Done { completed_job } => PageStatus::Done { completed_job },
                StepStatus::JobFailed => PageStatus::JobFailed,
            }),
        }
    }

    /// Records `page` of `job`, opened at `started_at`, as done, once; returns whether
    /// that completed the job (then read its [`JobStore::summary`] and publish the
    /// completion). A job that failed meanwhile records nothing and does not complete.
    pub async fn finish(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        page: u32,
        report: &PageReport,
    ) -> Result<bool, StoreError> {
        let mut invocation = FINISH.prepare_invoke();
        self.keys(&mut invocation, job);
        invocation.arg(page);
        let flag = |set: bool| if set { "1" } else { "0" };
        match report {
            PageReport::Skipped => {
                invocation
                    .arg("skipped")
                    .arg(0)
                    .arg(0)
                    .arg(0)
                    .arg("0")
                    .arg("0")
                    .arg("")
                    .arg("")
                    .arg("")
                    .arg("")
                    .arg("0")
                    .arg(self.ttl_seconds)
                    .arg(marker(started_at));
            }
            PageReport::Fetched(fetched) => {
                invocation
                    .arg("fetched")
                    .arg(fetched.published_ids.len())
                    .arg(fetched.served)
                    .arg(fetched.tombstones)
                    .arg(flag(fetched.short))
                    .arg(flag(fetched.oversized))
                    .arg(
                        fetched
                            .next
                            .map(|next| next.to_string())
                            .unwrap_or_default(),
                    )
                    .arg(fetched.first_id.as_deref().unwrap_or_default())
                    .arg(fetched.overlap_id.as_deref().unwrap_or_default())
                    .arg(fetched.fingerprint.as_deref().unwrap_or_default())
                    .arg(flag(fetched.limit_reached))
                    .arg(self.ttl_seconds)
                    .arg(marker(started_at));
                for id in &fetched.published_ids {
                    invocation.arg(id);
                }
            }
        }
        let answer: String = self.invoke(invocation).await?;
        completed(job, &answer)
    }

    /// What the job did, as far as it went. A job whose state is gone has no summary:
    /// [`StoreError::JobStateLost`].
    pub async fn summary(&self, job: JobId) -> Result<JobSummary, StoreError> {
        let fields: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.key(job, ""))
            .arg(&summary::FIELDS[..])
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        if fields.first().is_none_or(Option::is_none) {
            return Err(StoreError::JobStateLost {
                job,
                detail: "the job store holds no start for it".into(),
            });
        }
        JobSummary::from_fields(&fields).map_err(StoreError::Unexpected)
    }

    /// The rows the job's pages read, merged: page `k` read the rows from
    /// `k × (page_size − 1)` on, as many as it was served, at most `page_size`.
    pub async fn ranges_read(
        &self,
        job: JobId,
        page_size: u32,
    ) -> Result<Vec<OffsetRange>, StoreError> {
        let served: Vec<(u32, u64)> = redis::cmd("HGETALL")
            .arg(self.key(job, ":served"))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        let ranges = served
            .into_iter()
            .map(|(page, served)| {
                let from = u64::from(page) * u64::from(page_size.saturating_sub(1));
                OffsetRange {
                    from,
                    to: from + served.min(u64::from(page_size)),
                }
            })
            .collect();
        Ok(OffsetRange::merged(ranges))
    }

    /// Marks `job` as failed for good, with `reason`: from now on its remaining page
    /// and chunk commands finish without doing anything, and it never completes.
    /// Returns whether this call failed it (the caller then reports the job's failure),
    /// `false` when it had failed before. Works on a job whose state was lost.
    pub async fn fail(&self, job: JobId, reason: &str) -> Result<bool, StoreError> {
        let mut invocation = FAIL.prepare_invoke();
        invocation
            .key(self.key(job, ""))
            .arg(reason)
            .arg(self.ttl_seconds);
        let first: i64 = self.invoke(invocation).await?;
        Ok(first == 1)
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)
    }

    /// Runs an opening script, which returns the start time first recorded.
    async fn invoke_open(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let recorded: String = self.invoke(invocation).await?;
        parse_start(&recorded)
    }

    fn key(&self, job: JobId, suffix: &str) -> String {
        format!("{}:job:{}{suffix}", self.namespace, job.0)
    }

    fn keys(&self, invocation: &mut redis::ScriptInvocation<'_>, job: JobId) {
        for suffix in ["", ":pending", ":done", ":ids", ":counts", ":served"] {
            invocation.key(self.key(job, suffix));
        }
    }
}

/// A start time as the store recorded it.
fn parse_start(recorded: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(recorded)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| StoreError::Unexpected(format!("start time {recorded:?}: {error}")))
}

/// The form a job's start time is stored and compared in: a command's marker matches
/// the job's state only if both are this exact text.
fn marker(started_at: DateTime<Utc>) -> String {
    started_at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads the answer of a status script: `due`, `done` (with `completer`), `failed`,
/// or `lost`, which is an error.
fn step_status(job: JobId, answer: &[String]) -> Result<StepStatus, StoreError> {
    match answer.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["due"] => Ok(StepStatus::Due),
        ["done"] => Ok(StepStatus::Done {
            completed_job: false,
        }),
        ["done", "completer"] => Ok(StepStatus::Done {
            completed_job: true,
        }),
        ["failed"] => Ok(StepStatus::JobFailed),
        ["lost"] => Err(lost(job)),
        _ => Err(StoreError::Unexpected(format!("status {answer:?}"))),
    }
}

/// Reads the answer of a finishing script: whether the step completed the job. A job
/// that failed meanwhile does not complete.
fn completed(job: JobId, answer: &str) -> Result<bool, StoreError> {
    match answer {
        "completed" => Ok(true),
        "open" | "failed" => Ok(false),
        "lost" => Err(lost(job)),
        _ => Err(StoreError::Unexpected(format!("finish {answer:?}"))),
    }
}

fn lost(job: JobId) -> StoreError {
    StoreError::JobStateLost {
        job,
        detail: "the job store has no state for it, or the state of another run".into(),
    }
}

/// A script that acts for one step of a job: the functions of `scripts/step.lua`,
/// then the script's own work.
macro_rules! job_script {
    ($file:literal) => {
        std::sync::LazyLock::new(|| {
            redis::Script::new(concat!(
                include_str!("scripts/step.lua"),
                include_str!($file)
            ))
        })
    };
}
pub(crate) use job_script;

static OPEN: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("scripts/open.lua")));
static STATUS: std::sync::LazyLock<Script> = job_script!("scripts/status.lua");
static FINISH: std::sync::LazyLock<Script> = job_script!("scripts/finish.lua");
static FAIL: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("scripts/fail.lua")));
