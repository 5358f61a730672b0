//! A fixed-window request counter keyed on a string, with windows aligned on
//! the Unix epoch, as rack-attack counts them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many requests one key may make in each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Requests allowed per window; the next one is refused.
    pub limit: u32,
    /// Window length, counted in whole seconds (at least one).
    pub window: Duration,
}

impl Default for RateLimitConfig {
    /// The demarches-simplifiees default: 400 requests per minute.
    fn default() -> Self {
        Self {
            limit: 400,
            window: Duration::from_secs(60),
        }
    }
}

/// Whether a request may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Allowed,
    /// Over the limit until the window ends at `reset_epoch_seconds`.
    Throttled {
        reset_epoch_seconds: u64,
    },
}

/// Counters for the current window of every key.
#[derive(Debug)]
pub(crate) struct FixedWindowLimiter {
    config: RateLimitConfig,
    counters: Mutex<HashMap<String, WindowCount>>,
}

#[derive(Debug, Clone, Copy)]
struct WindowCount {
    window_index: u64,
    requests: u32,
}

impl FixedWindowLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            counters: Mutex::new(HashMap::new()),
        }
    }

    fn window_seconds(&self) -> u64 {
        self.config.window.as_secs().max(1)
    }

    /// The Unix time in seconds at which the window holding `now` ends.
    pub(crate) fn window_end(&self, now: SystemTime) -> u64 {
        let period = self.window_seconds();
        (epoch_seconds(now) / period + 1) * period
    }

    /// Counts one request for `key` at `now` and says whether it is admitted.
    /// Refused requests count too, as in rack-attack.
    pub(crate) fn admit(&self, key: &str, now: SystemTime) -> Admission {
        let window_index = epoch_seconds(now) / self.window_seconds();
        let mut counters = self.counters.lock().expect("rate limit counters poisoned");
        let count = counters.entry(key.to_owned()).or_insert(WindowCount {
            window_index,
            requests: 0,
        });
        if count.window_index != window_index {
            *count = WindowCount {
                window_index,
                requests: 0,
            };
        }
        count.requests = count.requests.saturating_add(1);
        if count.requests > self.config.limit {
            Admission::Throttled {
                reset_epoch_seconds: self.window_end(now),
            }
        } else {
            Admission::Allowed
        }
    }
}

fn epoch_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn limiter(limit: u32, window_seconds: u64) -> FixedWindowLimiter {
        FixedWindowLimiter::new(RateLimitConfig {
            limit,
            window: Duration::from_secs(window_seconds),
        })
    }

    #[test]
    fn the_request_after_the_limit_is_throttled_until_the_window_ends() {
        let limiter = limiter(3, 60);
        for _ in 0..3 {
            assert_eq!(limiter.admit("a", at(1_000_005)), Admission::Allowed);
        }
        assert_eq!(
            limiter.admit("a", at(1_000_015)),
            Admission::Throttled {
                reset_epoch_seconds: 1_000_020
            }
        );
    }

    #[test]
    fn windows_are_aligned_on_the_epoch_not_on_the_first_request() {
        let limiter = limiter(1, 60);
        assert_eq!(limiter.admit("a", at(119)), Admission::Allowed);
        assert_eq!(limiter.admit("a", at(120)), Admission::Allowed);
        assert!(matches!(
            limiter.admit("a", at(179)),
            Admission::Throttled {
                reset_epoch_seconds: 180
            }
        ));
    }

    #[test]
    fn each_key_has_its_own_counter() {
        let limiter = limiter(1, 60);
        assert_eq!(limiter.admit("a", at(5)), Admission::Allowed);
        assert_eq!(limiter.admit("b", at(5)), Admission::Allowed);
        assert_ne!(limiter.admit("a", at(6)), Admission::Allowed);
    }

    #[test]
    fn a_window_shorter_than_a_second_counts_as_one_second() {
        let limiter = FixedWindowLimiter::new(RateLimitConfig {
            limit: 1,
            window: Duration::from_millis(10),
        });
        assert_eq!(limiter.window_end(at(41)), 42);
    }
}
