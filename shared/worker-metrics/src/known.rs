//! The label values a worker knows when it starts, registered at 0 so that every
//! series exists before its first increment: `rate()` and `increase()` then see that
//! step, where a series born at 1 would hide it.

use crate::jobs::JobMark;
use crate::labels::{ConnectionLabels, ReasonLabels, StatusClass, TokenLabels, UpstreamLabels};
use crate::registry::installed;

/// Every `outcome` of a token request.
pub(crate) const TOKEN_OUTCOMES: [&str; 2] = [TOKEN_OBTAINED, TOKEN_FAILED];
/// A token request that got a token.
pub(crate) const TOKEN_OBTAINED: &str = "obtained";
/// A token request that got none.
pub(crate) const TOKEN_FAILED: &str = "failed";

/// What a worker knows of its series before doing any work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownSeries {
    /// The connections it calls: request durations by status class, rate-limit
    /// waits and pauses; the only connections its job marks name.
    pub connections: Vec<String>,
    /// The connections whose pages it reads: pages and records fetched.
    pub paged_connections: Vec<String>,
    /// The connections that log in for a token: token requests by outcome.
    pub token_connections: Vec<String>,
    /// Every closed-set failure reason: dead letters.
    pub dead_letter_reasons: Vec<&'static str>,
    /// Every job counter it may increment, as the marks that would (those of
    /// [`crate::UNCONFIGURED_CONNECTION`] included).
    pub jobs: Vec<JobMark>,
}

/// Registers every series `known` names, at 0 unless already counted; a no-op
/// until the registry is installed. From then on, a job mark that names none of the
/// connections counts under [`crate::UNCONFIGURED_CONNECTION`].
pub fn register_known(known: &KnownSeries) {
    let Some(metrics) = installed() else {
        return;
    };
    metrics.know_connections(known.connections.iter());
    for connection in &known.connections {
        let labels = ConnectionLabels {
            connection: connection.clone(),
        };
        drop(metrics.rate_limit_wait.get_or_create(&labels));
        drop(metrics.rate_limit_pauses.get_or_create(&labels));
        for class in StatusClass::ALL {
            drop(metrics.upstream_duration.get_or_create(&UpstreamLabels {
                connection: connection.clone(),
                status_class: class.as_str(),
            }));
        }
    }
    for connection in &known.paged_connections {
        let labels = ConnectionLabels {
            connection: connection.clone(),
        };
        drop(metrics.pages.get_or_create(&labels));
        drop(metrics.records.get_or_create(&labels));
    }
    for connection in &known.token_connections {
        for outcome in TOKEN_OUTCOMES {
            drop(metrics.token_refreshes.get_or_create(&TokenLabels {
                connection: connection.clone(),
                outcome,
            }));
        }
    }
    for &reason in &known.dead_letter_reasons {
        drop(metrics.dead_letters.get_or_create(&ReasonLabels { reason }));
    }
    for mark in &known.jobs {
        mark.register(metrics);
    }
}
