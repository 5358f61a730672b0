//! What every printed table shares: aligned columns and the way figures are written.

use std::fmt::{Display, Write as _};
use std::time::Duration;

use crate::summary::Spread;

/// Right-aligned columns, two spaces apart.
pub(crate) fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:>width$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  "));
    }
    out
}

/// The header row of a table.
pub(crate) fn header(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| (*cell).to_owned()).collect()
}

/// Median, min and max in seconds, or dashes when no run completed.
pub(crate) fn spread_cells(spread: Option<Spread>) -> [String; 3] {
    spread.map_or_else(
        || [dash(), dash(), dash()],
        |spread| {
            [
                seconds(spread.median),
                seconds(spread.min),
                seconds(spread.max),
            ]
        },
    )
}

/// How many times faster `median` is than `baseline`, e.g. `1.85×`.
pub(crate) fn speed_up(baseline: Option<Duration>, median: Option<Duration>) -> String {
    baseline
        .zip(median)
        .and_then(|(base, median)| ratio(base, median))
        .map_or_else(dash, |r| format!("{r:.2}×"))
}

/// The one value of `values`, or their least and greatest, or a dash when empty.
pub(crate) fn range(values: impl Iterator<Item = u64> + Clone) -> String {
    match values.clone().min().zip(values.max()) {
        Some((least, most)) if least == most => least.to_string(),
        Some((least, most)) => format!("{least}-{most}"),
        None => dash(),
    }
}

/// A duration in seconds with millisecond precision.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// `numerator / denominator`; none for a zero denominator.
pub(crate) fn ratio(numerator: Duration, denominator: Duration) -> Option<f64> {
    (!denominator.is_zero()).then(|| numerator.as_secs_f64() / denominator.as_secs_f64())
}

/// The cell of a figure that cannot be given.
pub(crate) fn dash() -> String {
    "-".to_owned()
}

/// The row of a load whose worker binary is missing, `columns` cells wide, and the note
/// that says so.
pub(crate) fn skipped(
    load: String,
    binary: &std::path::Path,
    package: &str,
    columns: usize,
) -> (Vec<String>, String) {
    let note = format!(
        "skipped {load}: no binary at {}; build it first (`cargo build --release -p {package}`).",
        binary.display()
    );
    let row = [load]
        .into_iter()
        .chain(std::iter::repeat_with(dash).take(columns.saturating_sub(1)))
        .collect();
    (row, note)
}

/// `values` comma-separated.
pub(crate) fn joined<T: Display>(values: &[T]) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Threads the machine can run at once, or "unknown".
pub(crate) fn nproc() -> String {
    std::thread::available_parallelism().map_or_else(|_| "unknown".to_owned(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_load_fills_its_row_with_dashes_and_names_the_build() {
        let binary = std::path::Path::new("/x/release/fetch-page");
        let (row, note) = skipped("a load".into(), binary, "fetch-page", 4);
        assert_eq!(row, ["a load", "-", "-", "-"]);
        assert!(note.contains("/x/release/fetch-page"), "{note}");
        assert!(
            note.contains("cargo build --release -p fetch-page"),
            "{note}"
        );
    }

    #[test]
    fn columns_are_right_aligned_to_their_widest_cell() {
        let rows = vec![
            vec!["W".to_owned(), "ratio".to_owned()],
            vec!["16".to_owned(), "1.5".to_owned()],
        ];
        assert_eq!(aligned(&rows), " W  ratio\n16    1.5\n");
    }

    #[test]
    fn a_zero_denominator_has_no_ratio() {
        assert_eq!(ratio(Duration::from_secs(1), Duration::ZERO), None);
        assert_eq!(
            ratio(Duration::from_secs(3), Duration::from_secs(2)),
            Some(1.5)
        );
    }

    #[test]
    fn speed_up_is_the_baseline_over_the_median() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(speed_up(secs(10), secs(4)), "2.50×");
        assert_eq!(speed_up(None, secs(4)), "-");
    }

    #[test]
    fn a_range_of_equal_values_is_that_value() {
        assert_eq!(range([200, 200].into_iter()), "200");
        assert_eq!(range([201, 200, 203].into_iter()), "200-203");
        assert_eq!(range(std::iter::empty()), "-");
    }

    #[test]
    fn a_missing_spread_is_three_dashes() {
        assert_eq!(spread_cells(None), ["-", "-", "-"]);
    }
}
