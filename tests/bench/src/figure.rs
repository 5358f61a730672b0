//! The figures each suite reports, and the combined table that lists them all.

use std::fmt::Write as _;
use std::time::Duration;

use crate::summary::Spread;
use crate::table::{aligned, dash, header, nproc};

/// One measured quantity: the median, least and greatest of its runs.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    /// What was measured, e.g. `chain: DS pages per second`.
    pub(crate) name: String,
    /// Its spread over the completed runs; none when no run completed.
    pub(crate) values: Option<Spread<f64>>,
    /// The unit of the values, e.g. `pages/s`.
    pub(crate) unit: &'static str,
    /// How the median compares with another figure, if it is compared.
    pub(crate) ratio: Option<Ratio>,
}

/// The median of a figure over the median of another.
#[derive(Debug, Clone)]
pub(crate) struct Ratio {
    /// The quotient.
    pub(crate) value: f64,
    /// What the figure was divided by, e.g. `floor, raw lapin`.
    pub(crate) against: String,
}

impl Ratio {
    /// `numerator / denominator` labelled `against`; none when either is missing or the
    /// denominator is not positive.
    pub(crate) fn of(
        numerator: Option<f64>,
        denominator: Option<f64>,
        against: impl Into<String>,
    ) -> Option<Ratio> {
        let (numerator, denominator) = numerator.zip(denominator)?;
        (denominator > 0.0).then(|| Ratio {
            value: numerator / denominator,
            against: against.into(),
        })
    }
}

const HEADER: [&str; 6] = ["figure", "median", "min", "max", "unit", "ratio"];

/// `count` per second for each of `walls`, skipping zero durations; none when none is
/// left.
pub(crate) fn rates(count: f64, walls: impl IntoIterator<Item = Duration>) -> Option<Spread<f64>> {
    Spread::of(
        walls
            .into_iter()
            .filter(|wall| !wall.is_zero())
            .map(|wall| count / wall.as_secs_f64())
            .collect(),
    )
}

/// A spread of durations in seconds.
pub(crate) fn in_seconds(spread: Option<Spread>) -> Option<Spread<f64>> {
    spread.map(|spread| Spread {
        median: spread.median.as_secs_f64(),
        min: spread.min.as_secs_f64(),
        max: spread.max.as_secs_f64(),
    })
}

/// Every figure on one line each, ending with a newline.
pub(crate) fn render(figures: &[Figure]) -> String {
    let mut rows = vec![header(&HEADER)];
    rows.extend(figures.iter().map(row));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Summary: one line per figure, median / min / max over the completed runs"
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(out);
    out.push_str(&aligned(&rows));
    out
}

fn row(figure: &Figure) -> Vec<String> {
    let [median, min, max] = figure.values.map_or_else(
        || [dash(), dash(), dash()],
        |values| [values.median, values.min, values.max].map(number),
    );
    vec![
        figure.name.clone(),
        median,
        min,
        max,
        figure.unit.to_owned(),
        figure.ratio.as_ref().map_or_else(dash, |ratio| {
            format!("{:.2}× {}", ratio.value, ratio.against)
        }),
    ]
}

/// A figure with as many decimals as its size deserves: three below 10, one below
/// 100, none above.
pub(crate) fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_keep_the_decimals_their_size_deserves() {
        assert_eq!(number(1234.56), "1235");
        assert_eq!(number(42.26), "42.3");
        assert_eq!(number(0.5), "0.500");
    }

    #[test]
    fn a_ratio_needs_both_figures_and_a_positive_denominator() {
        let ratio = Ratio::of(Some(50.0), Some(200.0), "floor").expect("a ratio");
        assert!((ratio.value - 0.25).abs() < f64::EPSILON);
        assert!(Ratio::of(Some(50.0), None, "floor").is_none());
        assert!(Ratio::of(Some(50.0), Some(0.0), "floor").is_none());
    }

    #[test]
    fn rates_are_counts_over_each_wall_time() {
        let walls = [500, 250, 1000, 0].map(Duration::from_millis);
        let spread = rates(100.0, walls).expect("rates");
        assert!((spread.median - 200.0).abs() < 1e-9);
        assert!((spread.min - 100.0).abs() < 1e-9);
        assert!((spread.max - 400.0).abs() < 1e-9);
        assert!(rates(1.0, [Duration::ZERO]).is_none());
    }

    #[test]
    fn a_figure_without_runs_is_dashes() {
        let figure = Figure {
            name: "floor".into(),
            values: None,
            unit: "hops/s",
            ratio: None,
        };
        let table = render(&[figure]);
        let last = table.lines().last().expect("a row");
        assert_eq!(
            last.split_whitespace().collect::<Vec<_>>(),
            ["floor", "-", "-", "-", "hops/s", "-"]
        );
    }
}
