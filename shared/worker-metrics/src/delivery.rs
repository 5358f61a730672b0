//! Deliveries from receipt to settlement: consumed, in flight, settled, and the
//! age of the oldest one still unacknowledged.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::labels::{OutcomeLabels, ReasonLabels};
use crate::registry::{Metrics, installed};

/// How a delivery was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Acked: done.
    Acked,
    /// Returned to its queue for another try.
    Retried,
    /// Copied to the dead letters, then acked; `reason` is the closed-set
    /// failure reason (`contract::FailureReason::as_str`).
    DeadLettered {
        /// The failure reason, a bounded label value.
        reason: &'static str,
    },
    /// Never settled: its channel was lost first, so the broker redelivers it.
    Lost,
}

impl Settled {
    /// Every `outcome` label value, so each series exists from the start.
    pub(crate) const OUTCOMES: [&'static str; 4] = ["acked", "retried", "dead_lettered", "lost"];

    fn outcome(self) -> &'static str {
        match self {
            Settled::Acked => "acked",
            Settled::Retried => "retried",
            Settled::DeadLettered { .. } => "dead_lettered",
            Settled::Lost => "lost",
        }
    }
}

/// One delivery in flight: counted as consumed when received, in flight until
/// it is settled or dropped. Does nothing when no registry is installed.
#[derive(Debug)]
#[must_use = "a delivery is in flight until this is settled or dropped"]
pub struct Delivery {
    tracked: Option<Tracked>,
}

#[derive(Debug)]
struct Tracked {
    metrics: &'static Metrics,
    key: InFlightKey,
}

impl Delivery {
    /// A delivery has just been received from the queue.
    pub fn received() -> Self {
        let tracked = installed().map(|metrics| {
            metrics.consumed.inc();
            metrics.in_flight.inc();
            Tracked {
                metrics,
                key: metrics.deliveries.insert(),
            }
        });
        Delivery { tracked }
    }

    /// The delivery was settled `how`; it is no longer in flight.
    pub fn settle(self, how: Settled) {
        if let Some(tracked) = &self.tracked {
            let metrics = tracked.metrics;
            metrics
                .settled
                .get_or_create(&OutcomeLabels {
                    outcome: how.outcome(),
                })
                .inc();
            if let Settled::DeadLettered { reason } = how {
                metrics
                    .dead_letters
                    .get_or_create(&ReasonLabels { reason })
                    .inc();
            }
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(tracked) = self.tracked.take() {
            tracked.metrics.in_flight.dec();
            tracked.metrics.deliveries.remove(&tracked.key);
        }
    }
}

/// When a delivery was received, made unique by a sequence number.
type InFlightKey = (Instant, u64);

/// The receipt times of the deliveries in flight, oldest first.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    next: AtomicU64,
    received: Mutex<BTreeSet<InFlightKey>>,
}

impl InFlight {
    fn insert(&self) -> InFlightKey {
        let key = (Instant::now(), self.next.fetch_add(1, Ordering::Relaxed));
        self.lock().insert(key);
        key
    }

    fn remove(&self, key: &InFlightKey) {
        self.lock().remove(key);
    }

    /// How long the oldest delivery in flight has waited; zero when none is.
    pub(crate) fn oldest_age(&self) -> Duration {
        self.lock()
            .first()
            .map_or(Duration::ZERO, |(received, _)| received.elapsed())
    }

    /// The set stays consistent whatever a panicking holder did: every change
    /// is a single insert or remove.
    fn lock(&self) -> MutexGuard<'_, BTreeSet<InFlightKey>> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_age_follows_the_oldest_delivery_still_in_flight() {
        let in_flight = InFlight::default();
        assert_eq!(in_flight.oldest_age(), Duration::ZERO);

        let first = in_flight.insert();
        std::thread::sleep(Duration::from_millis(20));
        let second = in_flight.insert();
        assert!(in_flight.oldest_age() >= Duration::from_millis(20));

        in_flight.remove(&first);
        assert!(in_flight.oldest_age() < Duration::from_millis(20));
        in_flight.remove(&second);
        assert_eq!(in_flight.oldest_age(), Duration::ZERO);
    }

    #[test]
    fn settlements_name_one_of_the_outcomes() {
        let named = [
            Settled::Acked,
            Settled::Retried,
            Settled::DeadLettered { reason: "x" },
            Settled::Lost,
        ]
        .map(Settled::outcome);
        assert_eq!(named, Settled::OUTCOMES);
    }
}
