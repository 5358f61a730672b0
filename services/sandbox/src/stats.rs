//! The request log that tests and benchmarks read in-process.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A snapshot of what the sandbox has received so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Requests received, answered or not yet.
    pub total: u64,
    /// Answered requests per HTTP status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests whose connection was closed without a response.
    pub dropped_connections: u64,
    /// Arrival time of each request since the sandbox started, in arrival order.
    pub arrivals: Vec<Duration>,
    /// The highest number of requests in flight at the same time: received
    /// (latency included) and not yet answered.
    pub max_in_flight: u64,
    /// How many times each distinct request was received, by a digest of its method,
    /// path and body: the same page asked for twice counts 2 under one key.
    pub by_content: BTreeMap<u64, u64>,
}

impl RequestStats {
    /// How many requests were answered with this HTTP status.
    pub fn with_status(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// The largest number of arrivals inside any sliding window of this length
    /// (a request exactly `window` after another falls outside its window).
    pub fn max_in_any_window(&self, window: Duration) -> usize {
        let mut sorted = self.arrivals.clone();
        sorted.sort_unstable();
        let mut start = 0;
        let mut best = 0;
        for end in 0..sorted.len() {
            while sorted[end] - sorted[start] >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Answered(u16),
    Dropped,
}

/// The live log behind [`RequestStats`].
#[derive(Debug)]
pub(crate) struct RequestLog {
    started: Instant,
    stats: Mutex<RequestStats>,
    in_flight: Mutex<u64>,
}

/// Counts one request as in flight until it is dropped, even when the
/// request future is cancelled.
#[derive(Debug)]
pub(crate) struct InFlight {
    log: Arc<RequestLog>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut in_flight = self.log.lock_in_flight();
        *in_flight = in_flight.saturating_sub(1);
    }
}

impl RequestLog {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            stats: Mutex::new(RequestStats::default()),
            in_flight: Mutex::new(0),
        }
    }

    /// Marks one more request in flight until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> InFlight {
        let mut in_flight = self.lock_in_flight();
        *in_flight += 1;
        let now = *in_flight;
        drop(in_flight);
        let mut stats = self.lock();
        stats.max_in_flight = stats.max_in_flight.max(now);
        InFlight {
            log: Arc::clone(self),
        }
    }

    /// Records an arrival and returns its ordinal, starting at 1.
    pub(crate) fn arrive(&self) -> u64 {
        let elapsed = self.started.elapsed();
        let mut stats = self.lock();
        stats.total += 1;
        stats.arrivals.push(elapsed);
        stats.total
    }

    /// Counts one more receipt of the request with this method, path and body.
    pub(crate) fn count_content(&self, method: &str, path: &str, body: &[u8]) {
        let mut digest = std::collections::hash_map::DefaultHasher::new();
        (method, path, body).hash(&mut digest);
        *self.lock().by_content.entry(digest.finish()).or_insert(0) += 1;
    }

    pub(crate) fn finish(&self, outcome: Outcome) {
        let mut stats = self.lock();
        match outcome {
            Outcome::Answered(status) => *stats.by_status.entry(status).or_insert(0) += 1,
            Outcome::Dropped => stats.dropped_connections += 1,
        }
    }

    pub(crate) fn snapshot(&self) -> RequestStats {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RequestStats> {
        self.stats.lock().expect("request log poisoned")
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, u64> {
        self.in_flight.lock().expect("in-flight counter poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_with_arrivals(millis: &[u64]) -> RequestStats {
        RequestStats {
            arrivals: millis.iter().copied().map(Duration::from_millis).collect(),
            ..RequestStats::default()
        }
    }

    #[test]
    fn the_busiest_second_is_found_anywhere_in_the_log() {
        let stats = stats_with_arrivals(&[0, 100, 1500, 1600, 1700, 2400, 2600]);
        assert_eq!(stats.max_in_any_window(Duration::from_secs(1)), 4);
    }

    #[test]
    fn a_request_exactly_one_window_later_is_not_in_the_same_window() {
        let stats = stats_with_arrivals(&[0, 1000, 2000]);
        assert_eq!(stats.max_in_any_window(Duration::from_secs(1)), 1);
    }

    #[test]
    fn an_empty_log_has_no_busy_window() {
        assert_eq!(
            RequestStats::default().max_in_any_window(Duration::from_secs(1)),
            0
        );
    }

    #[test]
    fn outcomes_are_counted_per_status() {
        let log = RequestLog::new();
        assert_eq!(log.arrive(), 1);
        assert_eq!(log.arrive(), 2);
        assert_eq!(log.arrive(), 3);
        log.finish(Outcome::Answered(200));
        log.finish(Outcome::Answered(200));
        log.finish(Outcome::Dropped);
        let stats = log.snapshot();
        assert_eq!(stats.total, 3);
        assert_eq!(stats.with_status(200), 2);
        assert_eq!(stats.with_status(500), 0);
        assert_eq!(stats.dropped_connections, 1);
    }

    #[test]
    fn the_peak_of_requests_in_flight_is_kept_after_they_end() {
        let log = Arc::new(RequestLog::new());
        let first = log.enter();
        let second = log.enter();
        drop(first);
        let third = log.enter();
        drop(second);
        drop(third);
        let _fourth = log.enter();
        assert_eq!(log.snapshot().max_in_flight, 2);
    }
}
