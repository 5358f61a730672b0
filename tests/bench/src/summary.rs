//! Median, minimum and maximum of the runs of each window.

use std::time::Duration;

use crate::bench::WindowRuns;
use crate::lane::{Completion, RunOutcome};

/// The middle, least and greatest of a set of durations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    /// The middle value; the mean of the two middle ones for an even count.
    pub(crate) median: Duration,
    /// The least value.
    pub(crate) min: Duration,
    /// The greatest value.
    pub(crate) max: Duration,
}

impl Spread {
    /// The spread of `samples`; none when there are none.
    pub(crate) fn of(mut samples: Vec<Duration>) -> Option<Spread> {
        samples.sort_unstable();
        let (&min, &max) = (samples.first()?, samples.last()?);
        let middle = samples.len() / 2;
        let median = if samples.len() % 2 == 1 {
            samples[middle]
        } else {
            (samples[middle - 1] + samples[middle]) / 2
        };
        Some(Spread { median, min, max })
    }
}

/// What the completed runs of one window add up to; failed runs count only as failures.
#[derive(Debug, Clone)]
pub(crate) struct WindowSummary {
    /// Pages in flight.
    pub(crate) window: u32,
    /// Wall-clock time of the completed runs.
    pub(crate) wall: Option<Spread>,
    /// `elapsed_ms` of the completed runs.
    pub(crate) job: Option<Spread>,
    /// Fewest and most pages a completed run reported.
    pub(crate) pages: Option<(u32, u32)>,
    /// Runs timed.
    pub(crate) runs: usize,
    /// Why each failed run failed.
    pub(crate) failures: Vec<String>,
}

impl WindowSummary {
    /// Sums up the runs of one window.
    pub(crate) fn of(window: &WindowRuns) -> WindowSummary {
        let mut walls = Vec::new();
        let mut completions: Vec<Completion> = Vec::new();
        let mut failures = Vec::new();
        for run in &window.runs {
            match &run.outcome {
                RunOutcome::Completed(completion) => {
                    walls.push(run.wall);
                    completions.push(*completion);
                }
                RunOutcome::Failed(why) => failures.push(why.clone()),
            }
        }
        let pages = completions.iter().map(|completion| completion.pages);
        let pages = pages.clone().min().zip(pages.max());
        WindowSummary {
            window: window.window,
            wall: Spread::of(walls),
            job: Spread::of(completions.iter().map(|c| c.job_elapsed).collect()),
            pages,
            runs: window.runs.len(),
            failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn an_odd_count_has_its_middle_value_as_median() {
        let spread = Spread::of(millis(&[30, 10, 20])).expect("samples");
        assert_eq!(spread.median, Duration::from_millis(20));
        assert_eq!(spread.min, Duration::from_millis(10));
        assert_eq!(spread.max, Duration::from_millis(30));
    }

    #[test]
    fn an_even_count_has_the_mean_of_its_two_middle_values_as_median() {
        let spread = Spread::of(millis(&[40, 10, 20, 30])).expect("samples");
        assert_eq!(spread.median, Duration::from_millis(25));
    }

    #[test]
    fn no_samples_have_no_spread() {
        assert!(Spread::of(Vec::new()).is_none());
    }
}
