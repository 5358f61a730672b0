//! What the runs of one window add up to.

use crate::summary::{RunsSummary, Spread};

use super::bench::WindowRuns;
use super::sync::Completion;

/// The completed runs of one window, and the figures their completions reported.
#[derive(Debug, Clone)]
pub(crate) struct WindowSummary {
    /// Pages in flight.
    pub(crate) window: u32,
    /// Wall-clock times, completions and failures.
    pub(crate) runs: RunsSummary<Completion>,
    /// `elapsed_ms` of the completed runs.
    pub(crate) job: Option<Spread>,
    /// Upstream requests per run, on average.
    pub(crate) requests_per_sync: f64,
}

impl WindowSummary {
    /// Sums up the runs of one window.
    pub(crate) fn of(window: &WindowRuns) -> WindowSummary {
        let runs = RunsSummary::of(&window.runs);
        let job = Spread::of(runs.completed.iter().map(|c| c.job_elapsed).collect());
        WindowSummary {
            window: window.window,
            runs,
            job,
            requests_per_sync: window.requests as f64 / window.runs.len().max(1) as f64,
        }
    }
}
