//! The shared state of a fanned-out job, kept in Redis so that every replica sees it
//! and none holds it in memory.
//!
//! A job that reads an offset listing keeps a window of page commands in flight. The
//! store answers the questions no single page can: is this page still due, is the end
//! of the listing known, is every issued page done, and did the listing move while it
//! was read. All of it lives under five keys per job, updated only by Lua scripts, so
//! each update is atomic:
//!
//! - `<ns>:job:<id>`: the start time, the end (lowest short page), the stop reason,
//!   the counters, and per page its first record, its overlap record and its
//!   fingerprint;
//! - `<ns>:job:<id>:pending`: pages issued and not yet finished;
//! - `<ns>:job:<id>:done`: pages finished;
//! - `<ns>:job:<id>:ids`: every record id published, with its page;
//! - `<ns>:job:<id>:counts`: records published per non-empty page.
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
//! Chunked jobs (a descriptor write split into calls of at most 50 objects) use three
//! keys under `<ns>:chunks:<id>`: the results by chunk and the completer, `:pending`
//! and `:done`, with the same rules: a chunk finishes once, and the chunk that leaves
//! nothing pending completes the job, exactly once.
//!
//! Keys expire after the job's time to live, counted from its last update.

mod chunks;
mod receipts;
mod summary;

use std::ops::Range;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contract::JobId;
use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use secrecy::{ExposeSecret, SecretString};

pub use chunks::ChunkStatus;
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
}

/// What a page command should do, according to the job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStatus {
    /// Fetch the page.
    Due,
    /// The page is past the known end, or the job was stopped: finish it unfetched.
    Skip,
    /// The page was finished before; when it was the page that completed the job,
    /// the completion must be published again (it may not have been confirmed).
    Done {
        /// Whether this page completed the job.
        completed_job: bool,
    },
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
    /// commands are published. Returns the job's start: `started_at` the first time,
    /// the recorded one when the start command is delivered again.
    pub async fn open(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        pages: Range<u32>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let mut invocation = OPEN.prepare_invoke();
        self.keys(&mut invocation, job);
        invocation
            .arg(started_at.to_rfc3339())
            .arg(self.ttl_seconds);
        for page in pages {
            invocation.arg(page);
        }
        let recorded: String = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        DateTime::parse_from_rfc3339(&recorded)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|error| StoreError::Unexpected(format!("start time {recorded:?}: {error}")))
    }

    /// Whether `page` of `job` should be fetched.
    pub async fn status(&self, job: JobId, page: u32) -> Result<PageStatus, StoreError> {
        let mut invocation = STATUS.prepare_invoke();
        self.keys(&mut invocation, job);
        invocation.arg(page);
        let answer: Vec<String> = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        match answer.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["due"] => Ok(PageStatus::Due),
            ["skip"] => Ok(PageStatus::Skip),
            ["done"] => Ok(PageStatus::Done {
                completed_job: false,
            }),
            ["done", "completer"] => Ok(PageStatus::Done {
                completed_job: true,
            }),
            _ => Err(StoreError::Unexpected(format!("page status {answer:?}"))),
        }
    }

    /// Records `page` as done, once; returns whether that completed the job (then
    /// read its [`JobStore::summary`] and publish the completion).
    pub async fn finish(
        &self,
        job: JobId,
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
                    .arg("0")
                    .arg("0")
                    .arg("")
                    .arg("")
                    .arg("")
                    .arg("")
                    .arg("0")
                    .arg(self.ttl_seconds);
            }
            PageReport::Fetched(fetched) => {
                invocation
                    .arg("fetched")
                    .arg(fetched.published_ids.len())
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
                    .arg(self.ttl_seconds);
                for id in &fetched.published_ids {
                    invocation.arg(id);
                }
            }
        }
        let completed: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(completed == 1)
    }

    /// What the job did, as far as it went.
    pub async fn summary(&self, job: JobId) -> Result<JobSummary, StoreError> {
        let fields: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.key(job, ""))
            .arg(&summary::FIELDS[..])
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        JobSummary::from_fields(&fields).map_err(StoreError::Unexpected)
    }

    fn key(&self, job: JobId, suffix: &str) -> String {
        self.key_of("job", job, suffix)
    }

    fn key_of(&self, kind: &str, job: JobId, suffix: &str) -> String {
        format!("{}:{kind}:{}{suffix}", self.namespace, job.0)
    }

    fn keys(&self, invocation: &mut redis::ScriptInvocation<'_>, job: JobId) {
        for suffix in ["", ":pending", ":done", ":ids", ":counts"] {
            invocation.key(self.key(job, suffix));
        }
    }
}

static OPEN: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("scripts/open.lua")));
static STATUS: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("scripts/status.lua")));
static FINISH: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("scripts/finish.lua")));
