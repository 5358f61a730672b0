//! The fixed-window rate limit per `Authorization` header value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use sandbox::{RateLimitConfig, SandboxConfig, TokenConfig};
use serde_json::json;

use crate::harness::{TOKEN, spawn_sandbox};

const QUERY: &str = "{ demarche(number: 1717) { number } }";

/// A window so long that no test run crosses its boundary.
fn three_per_decade() -> SandboxConfig {
    let mut config = SandboxConfig::default();
    config.ds.rate_limit = RateLimitConfig {
        limit: 3,
        window: Duration::from_secs(10 * 365 * 24 * 3600),
    };
    config.ds.tokens.push(TokenConfig::valid("other-token"));
    config
}

#[tokio::test]
async fn the_request_over_the_limit_gets_a_plain_429_with_an_absolute_reset_and_no_retry_after() {
    let app = spawn_sandbox(three_per_decade()).await;
    for _ in 0..3 {
        assert_eq!(
            app.query(TOKEN, QUERY, json!({})).await.status,
            StatusCode::OK
        );
    }

    let throttled = app.query(TOKEN, QUERY, json!({})).await;

    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        throttled
            .text
            .contains("Calm down, cowboy! You're making too many requests.")
    );
    assert_eq!(throttled.headers["ratelimit-remaining"], "0");
    let reset: u64 = throttled.headers["ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset > now, "reset {reset} is not after {now}");
    assert!(throttled.headers.get("retry-after").is_none());
    assert_eq!(app.sandbox.stats().with_status(429), 1);
}

#[tokio::test]
async fn each_authorization_value_has_its_own_counter() {
    let app = spawn_sandbox(three_per_decade()).await;
    for _ in 0..4 {
        app.query(TOKEN, QUERY, json!({})).await;
    }

    let other = app.query("other-token", QUERY, json!({})).await;

    assert_eq!(other.status, StatusCode::OK);
}
