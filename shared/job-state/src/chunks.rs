//! Chunked jobs: a fixed number of independent chunks, each finished once with its
//! result; the chunk that finishes last completes the job, exactly once.
//!
//! Keys: the job's hash (`started`, `chunks`, `completer`, `result:<chunk>`,
//! `failed`), `:pending` and `:done`.

use chrono::{DateTime, Utc};
use contract::JobId;

use crate::{JobStore, StepStatus, StoreError, completed, job_script, lost, marker, step_status};

impl JobStore {
    /// Opens a job of `chunks` chunks, all pending; reopening changes nothing.
    /// Returns the job's start as first recorded: the marker its chunk commands carry.
    pub async fn open_chunks(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        chunks: u32,
    ) -> Result<DateTime<Utc>, StoreError> {
        let mut invocation = CHUNK_OPEN.prepare_invoke();
        self.chunk_keys(&mut invocation, job);
        invocation
            .arg(marker(started_at))
            .arg(self.ttl_seconds)
            .arg(chunks);
        self.invoke_open(invocation).await
    }

    /// Whether `chunk` of `job`, opened at `started_at`, still has to be done.
    pub async fn chunk_status(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        chunk: u32,
    ) -> Result<StepStatus, StoreError> {
        let mut invocation = CHUNK_STATUS.prepare_invoke();
        self.chunk_keys(&mut invocation, job);
        invocation.arg(chunk).arg(marker(started_at));
        let answer: Vec<String> = self.invoke(invocation).await?;
        step_status(job, &answer)
    }

    /// Records `chunk` as done with its `result`, once; returns whether this chunk
    /// completed the job (then read [`JobStore::chunk_results`]).
    pub async fn finish_chunk(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
        chunk: u32,
        result: &str,
    ) -> Result<bool, StoreError> {
        let mut invocation = CHUNK_FINISH.prepare_invoke();
        self.chunk_keys(&mut invocation, job);
        invocation
            .arg(chunk)
            .arg(result)
            .arg(self.ttl_seconds)
            .arg(marker(started_at));
        let answer: String = self.invoke(invocation).await?;
        completed(job, &answer)
    }

    /// The result `chunk` finished with, if it finished.
    pub async fn chunk_result(&self, job: JobId, chunk: u32) -> Result<Option<String>, StoreError> {
        redis::cmd("HGET")
            .arg(self.key(job, ""))
            .arg(format!("result:{chunk}"))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)
    }

    /// Every chunk's result, in chunk order, for the job opened at `started_at`. Fails
    /// with [`StoreError::JobStateLost`] unless the state is the job's own and holds a
    /// result for each of its chunks: a report is never made from part of them.
    pub async fn chunk_results(
        &self,
        job: JobId,
        started_at: DateTime<Utc>,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.key(job, ""))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.as_str())
        };
        if field("started") != Some(marker(started_at).as_str()) {
            return Err(lost(job));
        }
        let chunks: Option<usize> = field("chunks").and_then(|count| count.parse().ok());
        let mut results = fields
            .iter()
            .filter_map(|(field, result)| {
                let chunk = field.strip_prefix("result:")?.parse().ok()?;
                Some((chunk, result.clone()))
            })
            .collect::<Vec<_>>();
        if chunks != Some(results.len()) {
            return Err(StoreError::JobStateLost {
                job,
                detail: format!(
                    "{} chunk results recorded for a job of {} chunks",
                    results.len(),
                    chunks.map_or("an unknown number of".to_owned(), |n| n.to_string())
                ),
            });
        }
        results.sort_by_key(|(chunk, _)| *chunk);
        Ok(results)
    }

    fn chunk_keys(&self, invocation: &mut redis::ScriptInvocation<'_>, job: JobId) {
        for suffix in ["", ":pending", ":done"] {
            invocation.key(self.key(job, suffix));
        }
    }
}

static CHUNK_OPEN: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("scripts/chunk_open.lua")));
static CHUNK_STATUS: std::sync::LazyLock<redis::Script> = job_script!("scripts/chunk_status.lua");
static CHUNK_FINISH: std::sync::LazyLock<redis::Script> = job_script!("scripts/chunk_finish.lua");
