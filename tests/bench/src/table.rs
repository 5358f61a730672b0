//! The printed report: the machine and parameters, one aligned row per window, and
//! what the columns mean.

use std::fmt::Write as _;
use std::time::Duration;

use crate::bench::Report;
use crate::plan::{PAGE_SIZE, Plan, RECORDS_PER_PAGE};
use crate::summary::WindowSummary;

const HEADER: [&str; 12] = [
    "W",
    "pages",
    "latency",
    "median s",
    "min s",
    "max s",
    "job median s",
    "ideal P·L/W s",
    "median/ideal",
    "sequential P·L s",
    "speed-up vs W=1",
    "completed",
];

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let summaries: Vec<WindowSummary> = report.windows.iter().map(WindowSummary::of).collect();
    let baseline = summaries
        .iter()
        .find(|summary| summary.window == 1)
        .and_then(|summary| summary.wall)
        .map(|wall| wall.median);
    let mut rows = vec![HEADER.map(str::to_owned).to_vec()];
    rows.extend(summaries.iter().map(|summary| row(plan, summary, baseline)));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette offset fan-out: sync time against the window W of pages in flight"
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: pages P = {}, latency L = {} ms per request, runs per window = {}, \
         windows W = {}",
        plan.pages,
        plan.latency.as_millis(),
        plan.runs,
        joined(&plan.windows),
    );
    let _ = writeln!(
        out,
        "            {PAGE_SIZE} records per page ({RECORDS_PER_PAGE} new, one overlapping), \
         {} rows read per sync, one worker with prefetch {}",
        report.rows, report.prefetch,
    );
    let _ = writeln!(out);
    out.push_str(&aligned(&rows));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "median/min/max: wall clock from publishing the sync command to receiving its \
         sync.completed; job median: elapsed_ms reported by sync.completed."
    );
    let _ = writeln!(
        out,
        "The ratio to ideal includes the broker round trips and the login \
         ({} logins over {} runs: a worker keeps its token between syncs).",
        report.logins,
        summaries.iter().map(|summary| summary.runs).sum::<usize>(),
    );
    for summary in &summaries {
        for why in &summary.failures {
            let _ = writeln!(out, "failed run at W={}: {why}", summary.window);
        }
    }
    out
}

/// One table row for one window.
fn row(plan: &Plan, summary: &WindowSummary, baseline: Option<Duration>) -> Vec<String> {
    let spread = |pick: fn(&crate::summary::Spread) -> Duration| {
        summary
            .wall
            .as_ref()
            .map_or_else(dash, |s| seconds(pick(s)))
    };
    let ideal = plan.ideal(summary.window);
    let median = summary.wall.map(|wall| wall.median);
    vec![
        summary.window.to_string(),
        match summary.pages {
            Some((least, most)) if least == most => least.to_string(),
            Some((least, most)) => format!("{least}-{most}"),
            None => dash(),
        },
        format!("{} ms", plan.latency.as_millis()),
        spread(|s| s.median),
        spread(|s| s.min),
        spread(|s| s.max),
        summary.job.map_or_else(dash, |job| seconds(job.median)),
        seconds(ideal),
        median
            .and_then(|m| ratio(m, ideal))
            .map_or_else(dash, |r| format!("{r:.2}")),
        seconds(plan.sequential()),
        baseline
            .zip(median)
            .and_then(|(base, m)| ratio(base, m))
            .map_or_else(dash, |r| format!("{r:.2}×")),
        format!("{}/{}", summary.runs - summary.failures.len(), summary.runs),
    ]
}

/// Right-aligned columns, two spaces apart.
fn aligned(rows: &[Vec<String>]) -> String {
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

fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn ratio(numerator: Duration, denominator: Duration) -> Option<f64> {
    (!denominator.is_zero()).then(|| numerator.as_secs_f64() / denominator.as_secs_f64())
}

fn dash() -> String {
    "-".to_owned()
}

fn joined(windows: &[u32]) -> String {
    windows
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Threads the machine can run at once, or "unknown".
fn nproc() -> String {
    std::thread::available_parallelism().map_or_else(|_| "unknown".to_owned(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
