//! Typed recording functions, one per thing a worker observes; each is a no-op
//! until the registry is installed.

use std::time::Duration;

use crate::known::{TOKEN_FAILED, TOKEN_OBTAINED};
use crate::labels::{ConnectionLabels, StatusClass, TokenLabels, UpstreamLabels};
use crate::registry::installed;

fn connection_labels(connection: &str) -> ConnectionLabels {
    ConnectionLabels {
        connection: connection.to_owned(),
    }
}

/// One upstream page was read on `connection` and its `records` published.
pub fn page_fetched(connection: &str, records: u64) {
    if let Some(metrics) = installed() {
        let labels = connection_labels(connection);
        metrics.pages.get_or_create(&labels).inc();
        metrics.records.get_or_create(&labels).inc_by(records);
    }
}

/// One upstream request on `connection` took `duration` and ended as `status`.
pub fn upstream_request(connection: &str, status: StatusClass, duration: Duration) {
    if let Some(metrics) = installed() {
        let labels = UpstreamLabels {
            connection: connection.to_owned(),
            status_class: status.as_str(),
        };
        metrics
            .upstream_duration
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }
}

/// A request on `connection` waited `waited` for the connection's rate limit.
pub fn rate_limit_waited(connection: &str, waited: Duration) {
    if let Some(metrics) = installed() {
        metrics
            .rate_limit_wait
            .get_or_create(&connection_labels(connection))
            .observe(waited.as_secs_f64());
    }
}

/// An access-token request on `connection` ended: `obtained` a token, or not.
pub fn token_refreshed(connection: &str, obtained: bool) {
    if let Some(metrics) = installed() {
        let labels = TokenLabels {
            connection: connection.to_owned(),
            outcome: if obtained {
                TOKEN_OBTAINED
            } else {
                TOKEN_FAILED
            },
        };
        metrics.token_refreshes.get_or_create(&labels).inc();
    }
}

/// The upstream of `connection` answered 429, which pauses its rate gate.
pub fn rate_limit_paused(connection: &str) {
    if let Some(metrics) = installed() {
        metrics
            .rate_limit_pauses
            .get_or_create(&connection_labels(connection))
            .inc();
    }
}

/// The broker connection was re-established after a loss.
pub fn broker_reconnected() {
    if let Some(metrics) = installed() {
        metrics.reconnects.inc();
    }
}
