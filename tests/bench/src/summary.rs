//! Timed runs, and the median, minimum and maximum of a set of them.

use std::time::Duration;

/// A value a spread can be taken of: durations, or figures derived from them.
pub(crate) trait Sample: Copy + PartialOrd {
    /// The value halfway between `self` and `other`.
    fn midpoint(self, other: Self) -> Self;
}

impl Sample for Duration {
    fn midpoint(self, other: Self) -> Self {
        (self + other) / 2
    }
}

impl Sample for f64 {
    fn midpoint(self, other: Self) -> Self {
        (self + other) / 2.0
    }
}

/// The middle, least and greatest of a set of samples, durations unless said otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread<T = Duration> {
    /// The middle value; the mean of the two middle ones for an even count.
    pub(crate) median: T,
    /// The least value.
    pub(crate) min: T,
    /// The greatest value.
    pub(crate) max: T,
}

impl<T: Sample> Spread<T> {
    /// The spread of `samples`; none when there are none.
    pub(crate) fn of(mut samples: Vec<T>) -> Option<Spread<T>> {
        samples.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let (&min, &max) = (samples.first()?, samples.last()?);
        let middle = samples.len() / 2;
        let median = if samples.len() % 2 == 1 {
            samples[middle]
        } else {
            samples[middle - 1].midpoint(samples[middle])
        };
        Some(Spread { median, min, max })
    }
}

/// One timed run of a suite: its wall-clock time and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct Run<T> {
    /// From publishing the first command to receiving the last awaited event, on the
    /// benchmark's clock.
    pub(crate) wall: Duration,
    /// How the run ended.
    pub(crate) outcome: RunOutcome<T>,
}

/// How a timed run ended.
#[derive(Debug, Clone)]
pub(crate) enum RunOutcome<T> {
    /// The work was done in full; what the events reported about it.
    Completed(T),
    /// Anything else, said in a few words.
    Failed(String),
}

impl<T> Run<T> {
    /// The run in a few words for the progress log: its time, and why it failed.
    pub(crate) fn describe(&self) -> String {
        let seconds = self.wall.as_secs_f64();
        match &self.outcome {
            RunOutcome::Completed(_) => format!("{seconds:.3} s"),
            RunOutcome::Failed(why) => format!("{seconds:.3} s, failed: {why}"),
        }
    }
}

/// What a set of runs adds up to; failed runs count only as failures.
#[derive(Debug, Clone)]
pub(crate) struct RunsSummary<T> {
    /// Wall-clock time of the completed runs.
    pub(crate) wall: Option<Spread>,
    /// What each completed run reported, in order.
    pub(crate) completed: Vec<T>,
    /// Runs timed.
    pub(crate) runs: usize,
    /// Why each failed run failed.
    pub(crate) failures: Vec<String>,
}

impl<T: Clone> RunsSummary<T> {
    /// Sums up `runs`.
    pub(crate) fn of(runs: &[Run<T>]) -> RunsSummary<T> {
        let mut walls = Vec::new();
        let mut completed = Vec::new();
        let mut failures = Vec::new();
        for run in runs {
            match &run.outcome {
                RunOutcome::Completed(report) => {
                    walls.push(run.wall);
                    completed.push(report.clone());
                }
                RunOutcome::Failed(why) => failures.push(why.clone()),
            }
        }
        RunsSummary {
            wall: Spread::of(walls),
            completed,
            runs: runs.len(),
            failures,
        }
    }

    /// The completed runs over the runs timed, e.g. `4/5`.
    pub(crate) fn completed_of_runs(&self) -> String {
        format!("{}/{}", self.completed.len(), self.runs)
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
        assert!(Spread::<Duration>::of(Vec::new()).is_none());
    }

    #[test]
    fn figures_have_a_spread_too() {
        let spread = Spread::of(vec![3.0, 1.0, 2.0, 4.0]).expect("samples");
        assert!((spread.median - 2.5).abs() < f64::EPSILON);
        assert!((spread.min - 1.0).abs() < f64::EPSILON);
        assert!((spread.max - 4.0).abs() < f64::EPSILON);
    }

    #[test]
    fn failed_runs_count_only_as_failures() {
        let runs = vec![
            Run {
                wall: Duration::from_millis(100),
                outcome: RunOutcome::Completed(7),
            },
            Run {
                wall: Duration::from_millis(5),
                outcome: RunOutcome::Failed("drift detected".into()),
            },
            Run {
                wall: Duration::from_millis(300),
                outcome: RunOutcome::Completed(8),
            },
        ];
        let summary = RunsSummary::of(&runs);
        let wall = summary.wall.expect("completed runs");
        assert_eq!(wall.min, Duration::from_millis(100));
        assert_eq!(wall.median, Duration::from_millis(200));
        assert_eq!(summary.completed, vec![7, 8]);
        assert_eq!(summary.failures, vec!["drift detected".to_owned()]);
        assert_eq!(summary.completed_of_runs(), "2/3");
    }
}
