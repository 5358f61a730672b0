//! What the fan-out suite measures, and the figures that follow from it alone.

use std::time::Duration;

/// Records each page asks for; consecutive pages overlap by one record.
pub(crate) const PAGE_SIZE: u32 = 101;
/// New records each page brings: the page size less the overlap record.
pub(crate) const RECORDS_PER_PAGE: u64 = PAGE_SIZE as u64 - 1;

/// The parameters of the fan-out suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Syncs timed for each window.
    pub(crate) runs: u32,
    /// Pages one sync reads.
    pub(crate) pages: u32,
    /// Delay the sandbox adds to every request.
    pub(crate) latency: Duration,
    /// The windows to time, in the order given.
    pub(crate) windows: Vec<u32>,
}

impl Plan {
    /// Rows the article table holds, so that a sync reads exactly [`Plan::pages`] pages.
    pub(crate) fn rows(&self) -> u64 {
        u64::from(self.pages) * RECORDS_PER_PAGE
    }

    /// The largest window, which is also the worker's prefetch.
    pub(crate) fn largest_window(&self) -> u32 {
        self.windows.iter().copied().max().unwrap_or(1)
    }

    /// Every page read one after the other: pages × latency.
    pub(crate) fn sequential(&self) -> Duration {
        self.latency * self.pages
    }

    /// Pages read `window` at a time with nothing but the upstream latency:
    /// pages × latency / window.
    pub(crate) fn ideal(&self, window: u32) -> Duration {
        self.sequential() / window.max(1)
    }
}
