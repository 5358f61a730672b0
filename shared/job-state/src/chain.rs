//! Cursor chains: pages read one after the other, each command naming the next. The
//! chain's hash (`started`, `head`, `completer`, `completion`, `failed`) makes each
//! page idempotent: `head` is the first page not yet finished, and a page finishes
//! only after everything it published (its records and the next page, or the
//! completion) was confirmed. So a redelivered page below `head` is not read again,
//! and the last page's redelivery publishes the very completion it published before.

use chrono::{DateTime, Utc};
use contract::JobId;

use crate::{JobStore, StepStatus, StoreError, completed, job_script, marker, step_status};

impl JobStore {
    /// Opens a chain whose first page is 0; reopening changes nothing. Returns the
    /// job's start as first recorded: the marker its page commands carry.
    pub async fn open_chain(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let mut invocation = CHAIN_OPEN.prepare_invoke();
        invocation
            .key(self.key(job, ""))
            .arg(marker(started_at))
            .arg(self.ttl_seconds);
        self.invoke_open(invocation).await
    }

    /// Whether `page` of the chain opened at `started_at` still has to be read.
    pub async fn chain_status(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        page: u32,
    ) -> Result<StepStatus, StoreError> {
        let mut invocation = CHAIN_STATUS.prepare_invoke();
        invocation
            .key(self.key(job, ""))
            .arg(page)
            .arg(marker(started_at));
        let answer: Vec<String> = self.invoke(invocation).await?;
        step_status(job, &answer)
    }

    /// Records `page` as finished: everything it published was confirmed. The last
    /// page passes the `completion` it published. Returns whether `page` completed
    /// the chain.
    pub async fn finish_chain_page(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        page: u32,
        completion: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let mut invocation = CHAIN_FINISH.prepare_invoke();
        invocation
            .key(self.key(job, ""))
            .arg(page)
            .arg(marker(started_at))
            .arg(completion.unwrap_or_default())
            .arg(self.ttl_seconds);
        let answer: String = self.invoke(invocation).await?;
        completed(job, &answer)
    }

    /// The completion the chain's last page published, exactly as it was published.
    pub async fn chain_completion(&self, job: JobId) -> Result<Vec<u8>, StoreError> {
        let completion: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(self.key(job, ""))
            .arg("completion")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        completion.ok_or_else(|| StoreError::JobStateLost {
            job,
            detail: "its last page is recorded without the completion it published".into(),
        })
    }
}

static CHAIN_OPEN: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("scripts/chain_open.lua")));
static CHAIN_STATUS: std::sync::LazyLock<redis::Script> = job_script!("scripts/chain_status.lua");
static CHAIN_FINISH: std::sync::LazyLock<redis::Script> = job_script!("scripts/chain_finish.lua");
