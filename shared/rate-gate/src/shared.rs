//! The Redis side of a gate: the connection's shared bucket and pause, and what the
//! gate does while Redis does not answer.

use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use settings::RateLimit;
use tokio::time::Instant;

/// The longest a gate waits for one answer of Redis before it goes on without it.
const REDIS_DEADLINE: Duration = Duration::from_millis(500);
/// How long a gate leaves Redis alone after a failure before it asks again.
const OUTAGE_RETRY: Duration = Duration::from_secs(1);

static ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/acquire.lua")));
static PAUSE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/pause.lua")));

/// A connection's bucket and pause in Redis, as one gate sees them.
pub(crate) struct SharedBucket {
    redis: ConnectionManager,
    rate_key: String,
    pause_key: String,
    /// Microseconds the bucket takes to refill one request, at least one.
    interval_micros: u64,
    burst: u32,
    /// Set while Redis fails: until when the gate goes on without it.
    outage: Mutex<Option<Instant>>,
}

impl SharedBucket {
    pub(crate) fn new(
        redis: ConnectionManager,
        prefix: &str,
        connection: &str,
        limit: RateLimit,
    ) -> Self {
        let interval_micros = u64::try_from(limit.interval().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        Self {
            redis,
            rate_key: format!("{prefix}:rate:{connection}"),
            pause_key: format!("{prefix}:pause:{connection}"),
            interval_micros,
            burst: limit.burst.get(),
            outage: Mutex::new(None),
        }
    }

    /// How long to wait before asking again; zero when a request was admitted and
    /// counted, none when Redis cannot tell (the gate then goes on without it).
    pub(crate) async fn wait(&self, connection: &str) -> Option<Duration> {
        if self.in_outage() {
            return None;
        }
        let mut invocation = ACQUIRE.prepare_invoke();
        invocation
            .key(&self.rate_key)
            .key(&self.pause_key)
            .arg(self.interval_micros)
            .arg(self.burst);
        let mut redis = self.redis.clone();
        let answer =
            tokio::time::timeout(REDIS_DEADLINE, invocation.invoke_async::<i64>(&mut redis)).await;
        let micros = self.settle(connection, answer)?;
        Some(Duration::from_micros(u64::try_from(micros).unwrap_or(0)))
    }

    /// Sets the connection's pause for `wait`, unless a longer one is set already.
    pub(crate) async fn pause(&self, connection: &str, wait: Duration) {
        if self.in_outage() {
            return;
        }
        let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = PAUSE.prepare_invoke();
        invocation.key(&self.pause_key).arg(millis);
        let mut redis = self.redis.clone();
        let answer =
            tokio::time::timeout(REDIS_DEADLINE, invocation.invoke_async::<i64>(&mut redis)).await;
        self.settle(connection, answer);
    }

    fn in_outage(&self) -> bool {
        let outage = self.outage.lock().unwrap_or_else(PoisonError::into_inner);
        outage.is_some_and(|until| Instant::now() < until)
    }

    /// The answer, or none after recording the failure; says once when an outage
    /// starts and once when it ends.
    fn settle(
        &self,
        connection: &str,
        answer: Result<Result<i64, RedisError>, tokio::time::error::Elapsed>,
    ) -> Option<i64> {
        let mut outage = self.outage.lock().unwrap_or_else(PoisonError::into_inner);
        match answer {
            Ok(Ok(value)) => {
                if outage.take().is_some() {
                    tracing::info!(
                        connection,
                        "the shared rate limit answers again; it holds every replica"
                    );
                }
                Some(value)
            }
            Ok(Err(error)) => {
                self.fail(&mut outage, connection, &error);
                None
            }
            Err(_) => {
                self.fail(&mut outage, connection, &"no answer within the deadline");
                None
            }
        }
    }

    fn fail(&self, outage: &mut Option<Instant>, connection: &str, error: &dyn std::fmt::Display) {
        if outage.is_none() {
            tracing::warn!(
                connection,
                key = %self.rate_key,
                %error,
                "the shared rate limit is unreachable; this process limits itself alone \
                 until redis answers"
            );
        }
        *outage = Some(Instant::now() + OUTAGE_RETRY);
    }
}
