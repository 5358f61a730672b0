//! Chunked jobs: a fixed number of independent chunks, each finished once with its
//! result; the chunk that finishes last completes the job, exactly once.

use contract::JobId;

use crate::{JobStore, StoreError};

/// Where a chunk of a chunked job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkStatus {
    /// Not finished yet: do the work.
    Due,
    /// Finished before; when it was the chunk that completed the job, the completion
    /// must be published again (it may not have been confirmed).
    Done {
        /// Whether this chunk completed the job.
        completed_job: bool,
    },
}

impl JobStore {
    /// Opens a job of `chunks` chunks, all pending; reopening changes nothing.
    /// Returns the job's chunk count as first recorded.
    pub async fn open_chunks(&self, job: JobId, chunks: u32) -> Result<u32, StoreError> {
        let mut invocation = CHUNK_OPEN.prepare_invoke();
        self.chunk_keys(&mut invocation, job);
        invocation.arg(self.ttl_seconds).arg(chunks);
        invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)
    }

    /// Whether `chunk` still has to be done.
    pub async fn chunk_status(&self, job: JobId, chunk: u32) -> Result<ChunkStatus, StoreError> {
        let (done, completer): (bool, Option<u32>) = redis::pipe()
            .sismember(self.key_of("chunks", job, ":done"), chunk)
            .hget(self.key_of("chunks", job, ""), "completer")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(if done {
            ChunkStatus::Done {
                completed_job: completer == Some(chunk),
            }
        } else {
            ChunkStatus::Due
        })
    }

    /// Records `chunk` as done with its `result`, once; returns whether this chunk
    /// completed the job (then read [`JobStore::chunk_results`]).
    pub async fn finish_chunk(
        &self,
        job: JobId,
        chunk: u32,
        result: &str,
    ) -> Result<bool, StoreError> {
        let mut invocation = CHUNK_FINISH.prepare_invoke();
        self.chunk_keys(&mut invocation, job);
        invocation.arg(chunk).arg(result).arg(self.ttl_seconds);
        let completed: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(completed == 1)
    }

    /// The result `chunk` finished with, if it finished.
    pub async fn chunk_result(&self, job: JobId, chunk: u32) -> Result<Option<String>, StoreError> {
        redis::cmd("HGET")
            .arg(self.key_of("chunks", job, ""))
            .arg(format!("result:{chunk}"))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)
    }

    /// Every finished chunk's result, in chunk order.
    pub async fn chunk_results(&self, job: JobId) -> Result<Vec<(u32, String)>, StoreError> {
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.key_of("chunks", job, ""))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(StoreError::Unavailable)?;
        let mut results = fields
            .into_iter()
            .filter_map(|(field, result)| {
                let chunk = field.strip_prefix("result:")?.parse().ok()?;
                Some((chunk, result))
            })
            .collect::<Vec<_>>();
        results.sort_by_key(|(chunk, _)| *chunk);
        Ok(results)
    }

    fn chunk_keys(&self, invocation: &mut redis::ScriptInvocation<'_>, job: JobId) {
        for suffix in ["", ":pending", ":done"] {
            invocation.key(self.key_of("chunks", job, suffix));
        }
    }
}

static CHUNK_OPEN: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("scripts/chunk_open.lua")));
static CHUNK_FINISH: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("scripts/chunk_finish.lua")));
