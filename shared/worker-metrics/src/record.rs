//! Typed recording functions, one per thing a worker observes; each is a no-op
//! until the registry is installed.

use std::time::Duration;

use crate::labels::{ConnectionLabels, StatusClass, UpstreamLabels};
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

/// A new access token was obtained for `connection`.
pub fn token_refreshed(connection: &str) {
    if let Some(metrics) = installed() {
        metrics
            .token_refreshes
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
