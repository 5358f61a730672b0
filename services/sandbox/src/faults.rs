//! Injected failures: an explicit plan of request ordinals, plus rates drawn
//! deterministically from a seed, so that every run repeats exactly.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::rng::SplitMix64;
use crate::server::DropConnection;

/// Which failures to inject, and how often.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Seed of the draws that apply the rates.
    pub seed: u64,
    /// Share of requests (0.0 to 1.0) answered with HTTP 500.
    pub server_error_rate: f64,
    /// Share of requests (0.0 to 1.0) answered with HTTP 429.
    pub rate_limited_rate: f64,
    /// Share of requests (0.0 to 1.0) whose connection is closed without a response.
    pub dropped_connection_rate: f64,
    /// Request ordinals that fail whatever the rates say.
    pub plan: FaultPlan,
}

/// Failures pinned to request ordinals: the first request the sandbox
/// receives is number 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Ordinals answered with HTTP 500.
    pub server_errors: BTreeSet<u64>,
    /// Ordinals answered with HTTP 429.
    pub rate_limited: BTreeSet<u64>,
    /// Ordinals whose connection is closed without a response.
    pub dropped_connections: BTreeSet<u64>,
}

/// A failure to inject into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// HTTP 500 carrying this exception id.
    ServerError {
        exception_id: uuid::Uuid,
    },
    RateLimited,
    DroppedConnection,
}

impl FaultConfig {
    /// The failure, if any, for the request with this ordinal.
    pub(crate) fn fault_for(&self, ordinal: u64) -> Option<Fault> {
        let mut rng = SplitMix64::for_stream(self.seed, ordinal);
        let exception_id = exception_id(&mut rng);
        if self.plan.dropped_connections.contains(&ordinal) {
            return Some(Fault::DroppedConnection);
        }
        if self.plan.server_errors.contains(&ordinal) {
            return Some(Fault::ServerError { exception_id });
        }
        if self.plan.rate_limited.contains(&ordinal) {
            return Some(Fault::RateLimited);
        }
        let draw = rng.next_unit();
        let dropped = self.dropped_connection_rate;
        let server_error = dropped + self.server_error_rate;
        let rate_limited = server_error + self.rate_limited_rate;
        if draw < dropped {
            Some(Fault::DroppedConnection)
        } else if draw < server_error {
            Some(Fault::ServerError { exception_id })
        } else if draw < rate_limited {
            Some(Fault::RateLimited)
        } else {
            None
        }
    }
}

impl Fault {
    /// The answer of an API with no error shape of its own: a bare status with
    /// a plain-text reason, or a closed connection.
    pub(crate) fn plain_response(self) -> Response {
        match self {
            Self::DroppedConnection => DropConnection.into_response(),
            Self::ServerError { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
            }
            Self::RateLimited => {
                (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response()
            }
        }
    }
}

fn exception_id(rng: &mut SplitMix64) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_ordinals_fail_and_the_others_do_not() {
        let config = FaultConfig {
            plan: FaultPlan {
                server_errors: [3, 7].into(),
                rate_limited: [4].into(),
                dropped_connections: [5].into(),
            },
            ..FaultConfig::default()
        };
        let faults: Vec<_> = (1..=8).map(|n| config.fault_for(n)).collect();
        assert!(matches!(faults[2], Some(Fault::ServerError { .. })));
        assert_eq!(faults[3], Some(Fault::RateLimited));
        assert_eq!(faults[4], Some(Fault::DroppedConnection));
        assert!(matches!(faults[6], Some(Fault::ServerError { .. })));
        for ordinal in [1, 2, 6, 8] {
            assert_eq!(faults[ordinal - 1], None, "ordinal {ordinal}");
        }
    }

    #[test]
    fn rates_are_repeatable_and_roughly_respected() {
        let config = FaultConfig {
            seed: 11,
            server_error_rate: 0.1,
            rate_limited_rate: 0.2,
            dropped_connection_rate: 0.05,
            plan: FaultPlan::default(),
        };
        let run = || {
            (1..=10_000)
                .map(|n| config.fault_for(n))
                .collect::<Vec<_>>()
        };
        let faults = run();
        assert_eq!(faults, run());
        let count =
            |wanted: fn(&Option<Fault>) -> bool| faults.iter().filter(|f| wanted(f)).count();
        let errors = count(|f| matches!(f, Some(Fault::ServerError { .. })));
        let throttled = count(|f| matches!(f, Some(Fault::RateLimited)));
        let dropped = count(|f| matches!(f, Some(Fault::DroppedConnection)));
        assert!((800..1200).contains(&errors), "{errors} server errors");
        assert!((1800..2200).contains(&throttled), "{throttled} throttled");
        assert!((350..650).contains(&dropped), "{dropped} dropped");
    }

    #[test]
    fn no_rates_and_no_plan_means_no_fault() {
        let config = FaultConfig::default();
        assert!((1..=1000).all(|n| config.fault_for(n).is_none()));
    }
}
