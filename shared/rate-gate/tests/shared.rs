//! Gates of separate replicas against a real Redis (`REDIS_URL`, or 127.0.0.1:6379),
//! each replica with its own connection, under a prefix no other test uses.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rate_gate::RateGates;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use settings::RateLimit;

/// Longer than any wait a passing test makes; only a hung gate reaches it.
const HANG: Duration = Duration::from_secs(30);

/// The gates of one replica: a connection of its own to the test Redis.
async fn replica(prefix: &str) -> RateGates {
    let url = testkit::redis_url();
    let client = redis::Client::open(url.as_str()).expect("a redis url");
    let redis = ConnectionManager::new(client)
        .await
        .unwrap_or_else(|e| panic!("no Redis answers at {url} (set REDIS_URL): {e}"));
    RateGates::new(redis, prefix)
}

fn limit(requests: u32, per: Duration, burst: u32) -> RateLimit {
    RateLimit {
        requests: NonZeroU32::new(requests).expect("a positive rate"),
        per,
        burst: NonZeroU32::new(burst).expect("a positive burst"),
    }
}

#[tokio::test]
async fn replicas_on_one_connection_share_one_budget() {
    const RATE: u32 = 50;
    const BURST: u32 = 5;
    const REPLICAS: usize = 3;
    const RUN: Duration = Duration::from_secs(2);
    let prefix = testkit::unique_prefix();
    let mut gates = Vec::new();
    for _ in 0..REPLICAS {
        let replica = replica(&prefix).await;
        gates.push(replica.gate("ds-main", limit(RATE, Duration::from_secs(1), BURST)));
    }
    let granted = Arc::new(AtomicU64::new(0));

    let started = Instant::now();
    let mut loops = Vec::new();
    for gate in gates {
        let granted = granted.clone();
        loops.push(tokio::spawn(async move {
            while started.elapsed() < RUN {
                gate.until_ready().await;
                granted.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for replica_loop in loops {
        tokio::time::timeout(HANG, replica_loop)
            .await
            .expect("the loops end")
            .expect("no loop panics");
    }
    let elapsed = started.elapsed().as_secs_f64();

    // Every grant happened between `started` and now, so a GCRA allows at most the
    // burst plus one request per interval of that span; each replica alone would allow
    // as much again.
    let granted = granted.load(Ordering::SeqCst) as f64;
    let most = f64::from(BURST) + f64::from(RATE) * elapsed + 1.0;
    assert!(
        granted <= most,
        "{granted} grants in {elapsed:.3} s, at most {most:.1} allowed"
    );
    let least = f64::from(RATE) * elapsed / 2.0;
    assert!(
        granted > least,
        "{granted} grants in {elapsed:.3} s, more than {least:.1} expected"
    );
}

#[tokio::test]
async fn a_pause_set_by_one_replica_holds_the_others_until_it_ends() {
    const PAUSE: Duration = Duration::from_millis(500);
    let prefix = testkit::unique_prefix();
    let generous = limit(1000, Duration::from_secs(1), 1000);
    let refused = replica(&prefix).await.gate("divalto-erp", generous);
    let other = replica(&prefix).await.gate("divalto-erp", generous);

    let started = Instant::now();
    refused.pause(Some(PAUSE)).await;
    tokio::time::timeout(HANG, other.until_ready())
        .await
        .expect("the pause ends");

    // Redis keeps expiry times in whole milliseconds, so the key may vanish up to a
    // millisecond before `PAUSE` has passed; allow that much, and no more.
    let waited = started.elapsed();
    assert!(
        waited + Duration::from_millis(2) >= PAUSE,
        "the other replica went after {waited:?}"
    );
}

#[tokio::test]
async fn distinct_connections_share_neither_budget_nor_pause() {
    let prefix = testkit::unique_prefix();
    let once_an_hour = limit(1, Duration::from_secs(3600), 1);
    let first = replica(&prefix).await;
    let second = replica(&prefix).await;
    let spent = first.gate("amienscope", once_an_hour);
    let same_connection = second.gate("amienscope", once_an_hour);
    let other_connection = second.gate("apidae", once_an_hour);

    tokio::time::timeout(HANG, spent.until_ready())
        .await
        .expect("the first request of the hour goes");
    spent.pause(Some(Duration::from_secs(60))).await;

    tokio::time::timeout(HANG, other_connection.until_ready())
        .await
        .expect("another connection has its own budget and no pause");
    // The same connection in another replica has neither request nor time left; its
    // wait is an hour, so this bound cannot be reached by a slow machine.
    let held =
        tokio::time::timeout(Duration::from_millis(300), same_connection.until_ready()).await;
    assert!(
        held.is_err(),
        "the shared budget was spent by the other replica"
    );
}

#[tokio::test]
async fn without_redis_a_gate_falls_back_to_its_own_bucket() {
    // Nothing listens on port 1: every Redis call fails, fast.
    let client = redis::Client::open("redis://127.0.0.1:1").expect("a redis url");
    let config = ConnectionManagerConfig::new().set_number_of_retries(0);
    let redis = ConnectionManager::new_lazy_with_config(client, config).expect("a lazy manager");
    let gate = RateGates::new(redis, testkit::unique_prefix())
        .gate("ds-main", limit(1000, Duration::from_secs(1), 10));

    for _ in 0..3 {
        tokio::time::timeout(HANG, gate.until_ready())
            .await
            .expect("the local bucket lets requests go");
    }
    let started = Instant::now();
    tokio::time::timeout(HANG, gate.pause(Some(Duration::from_millis(200))))
        .await
        .expect("a pause does not hang on a missing redis");
    tokio::time::timeout(HANG, gate.until_ready())
        .await
        .expect("the pause ends");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "the pause is kept in process"
    );
}
