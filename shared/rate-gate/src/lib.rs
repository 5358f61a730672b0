//! One rate limit per upstream connection, shared by every replica of every worker
//! through Redis: three workers on a connection limited to 20 requests per second send
//! 20 per second together, not 60.
//!
//! A [`RateGate`] lets a request go when two buckets allow it:
//!
//! 1. an in-process governor bucket with the connection's limit, which smooths the
//!    process's own requests without a round trip; then
//! 2. the connection's shared bucket, a GCRA kept under `<prefix>:rate:<connection>`
//!    and updated by one Lua script that reads the time from Redis `TIME`, so the
//!    workers' clocks never matter. The script answers how long to wait; the gate
//!    sleeps that long and asks again.
//!
//! [`RateGate::pause`] is what an upstream's 429 does: it sets
//! `<prefix>:pause:<connection>` to expire when the upstream said its window resets
//! (`Retry-After`, `RateLimit-Reset`), or after one `per` of the connection's limit
//! when it said nothing. The script checks that key first, so every worker of the
//! connection waits, not only the one that was refused. A pause lasts five minutes at
//! most, whatever the upstream asked, and never shortens a longer one. The prefix is
//! the broker's topology prefix, so the tests and benchmarks, each under a prefix of
//! their own, share nothing.
//!
//! # When Redis fails
//!
//! The gate fails open to its in-process bucket: it logs one warning, lets requests go
//! on the local bucket alone, asks Redis again a second later, and logs once more when
//! the shared bucket answers again. Each Redis call is bounded by half a second, so a
//! hung server delays a request by that much at most. It does not wait for Redis,
//! because:
//! - the local bucket still holds each process to the connection's limit, so an outage
//!   costs at most replicas × limit (how every worker behaved before the shared
//!   bucket); the upstream's 429s are still honoured, since a pause is also kept in
//!   process, and the refused messages are retried through the delay queues;
//! - waiting would stop every upstream call of every worker, and hold their
//!   deliveries, on an outage of a store that only spreads a budget; work that needs
//!   the job state in the same Redis already fails and is retried on its own.
//!
//! A gate made by [`RateGate::local`] has no shared bucket: for the clients' own tests
//! and anything that runs without Redis.

mod shared;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use redis::aio::ConnectionManager;
use settings::RateLimit;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::shared::SharedBucket;

/// The longest pause an upstream's answer can impose on a connection; a `Retry-After`
/// of a day is most likely a mistake, and the next 429 pauses again anyway.
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// The rate gates of one process: the Redis connection their shared buckets live on
/// and the prefix of their keys. Cheap to clone.
#[derive(Clone)]
pub struct RateGates {
    redis: ConnectionManager,
    prefix: String,
}

impl RateGates {
    /// Gates whose shared buckets are kept on `redis` under `prefix` (the broker's
    /// topology prefix).
    pub fn new(redis: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            redis,
            prefix: prefix.into(),
        }
    }

    /// The gate of the connection called `connection`, limited to `limit`. Build one
    /// per connection and process, and share it between that connection's clients.
    pub fn gate(&self, connection: &str, limit: RateLimit) -> Arc<RateGate> {
        let shared = SharedBucket::new(self.redis.clone(), &self.prefix, connection, limit);
        Arc::new(RateGate::with(connection, limit, Some(shared)))
    }
}

impl fmt::Debug for RateGates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateGates")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The rate limit of one upstream connection: wait on [`RateGate::until_ready`] before
/// every request, and call [`RateGate::pause`] when the upstream answers 429.
pub struct RateGate {
    connection: String,
    limit: RateLimit,
    local: DefaultDirectRateLimiter,
    /// The end of the last pause this process saw: it holds even when Redis does not
    /// answer.
    paused_until: Mutex<Option<Instant>>,
    shared: Option<SharedBucket>,
}

impl RateGate {
    /// A gate of this process alone, without Redis.
    pub fn local(limit: RateLimit) -> Self {
        Self::with("local", limit, None)
    }

    /// A gate of this process alone letting `requests` (at least 1) go per `per`, all
    /// of them back to back: for the clients' tests (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn back_to_back(requests: u32, per: Duration) -> Arc<Self> {
        let requests = std::num::NonZeroU32::new(requests).unwrap_or(std::num::NonZeroU32::MIN);
        Arc::new(Self::local(RateLimit {
            requests,
            per,
            burst: requests,
        }))
    }

    fn with(connection: &str, limit: RateLimit, shared: Option<SharedBucket>) -> Self {
        Self {
            connection: connection.to_owned(),
            limit,
            local: limit.limiter(),
            paused_until: Mutex::new(None),
            shared,
        }
    }

    /// Waits until both the in-process bucket and the connection's shared bucket let a
    /// request go, and no pause holds, in a `rate_limit.wait` span.
    pub async fn until_ready(&self) {
        self.wait_turn()
            .instrument(telemetry::http::rate_limit_wait_span())
            .await;
    }

    async fn wait_turn(&self) {
        self.local.until_ready().await;
        loop {
            if let Some(left) = self.pause_left() {
                tokio::time::sleep(left).await;
                continue;
            }
            let Some(shared) = &self.shared else {
                return;
            };
            match shared.wait(&self.connection).await {
                Some(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                // Admitted, or Redis cannot tell: the local bucket has decided.
                _ => return,
            }
        }
    }

    /// Holds every request of the connection, in every worker, for `wait`: what the
    /// upstream's 429 said (`Retry-After`, `RateLimit-Reset`), or one `per` of the
    /// limit when it said nothing. Five minutes at most; a zero wait does nothing.
    pub async fn pause(&self, wait: Option<Duration>) {
        let wait = wait.unwrap_or(self.limit.per).min(MAX_PAUSE);
        if wait.is_zero() {
            return;
        }
        tracing::debug!(
            connection = %self.connection,
            wait_ms = wait.as_millis() as u64,
            "the upstream refused a request for its rate; pausing the connection"
        );
        self.pause_locally(wait);
        if let Some(shared) = &self.shared {
            shared.pause(&self.connection, wait).await;
        }
    }

    /// Holds this process's requests for `wait`, unless a longer pause holds them.
    fn pause_locally(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused_until = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *paused_until = Some(paused_until.map_or(until, |known| known.max(until)));
    }

    /// How much of this process's last pause is left, if any.
    fn pause_left(&self) -> Option<Duration> {
        let paused_until = *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        paused_until
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }
}

impl fmt::Debug for RateGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateGate")
            .field("connection", &self.connection)
            .field("limit", &self.limit)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn per_second(requests: u32) -> RateLimit {
        RateLimit {
            requests: NonZeroU32::new(requests).expect("a positive rate"),
            per: Duration::from_secs(1),
            burst: NonZeroU32::new(requests).expect("a positive burst"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_a_local_gate_until_it_ends() {
        let gate = RateGate::local(per_second(1000));
        let started = Instant::now();

        gate.pause(Some(Duration::from_secs(7))).await;
        gate.until_ready().await;

        assert!(started.elapsed() >= Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_without_a_wait_lasts_one_window_of_the_limit() {
        let mut limit = per_second(1000);
        limit.per = Duration::from_secs(60);
        let gate = RateGate::local(limit);
        let started = Instant::now();

        gate.pause(None).await;
        gate.until_ready().await;

        assert!(started.elapsed() >= Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_pause_does_not_cut_a_longer_one_and_none_lasts_forever() {
        let gate = RateGate::local(per_second(1000));
        let started = Instant::now();

        gate.pause(Some(Duration::from_secs(86_400))).await;
        gate.pause(Some(Duration::from_secs(1))).await;
        gate.until_ready().await;

        assert!(started.elapsed() >= MAX_PAUSE);
        assert!(started.elapsed() < MAX_PAUSE + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_pause_holds_nothing() {
        let gate = RateGate::local(per_second(1000));
        let started = Instant::now();

        gate.pause(Some(Duration::ZERO)).await;
        gate.until_ready().await;

        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
