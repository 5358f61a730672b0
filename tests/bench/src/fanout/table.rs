//! The printed fan-out report: the machine and parameters, one aligned row per
//! window, and what the columns mean.

use std::fmt::Write as _;
use std::time::Duration;

use crate::figure::{Figure, Ratio, in_seconds};
use crate::table::{
    aligned, dash, header, joined, nproc, range, ratio, seconds, speed_up, spread_cells,
};

use super::bench::Report;
use super::plan::{PAGE_SIZE, Plan, RECORDS_PER_PAGE};
use super::summary::WindowSummary;

const HEADER: [&str; 13] = [
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
    "requests/sync",
    "completed",
];

/// The figures of the suite: the sync time of each window, with its speed-up over W=1.
pub(crate) fn figures(report: &Report) -> Vec<Figure> {
    let summaries: Vec<WindowSummary> = report.windows.iter().map(WindowSummary::of).collect();
    let baseline = summaries
        .iter()
        .find(|summary| summary.window == 1)
        .and_then(|summary| summary.runs.wall)
        .map(|wall| wall.median.as_secs_f64());
    summaries
        .iter()
        .map(|summary| {
            let values = in_seconds(summary.runs.wall);
            Figure {
                name: format!("fanout: offset sync, W={}", summary.window),
                values,
                unit: "s",
                ratio: Ratio::of(baseline, values.map(|v| v.median), "speed-up vs W=1"),
            }
        })
        .collect()
}

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let summaries: Vec<WindowSummary> = report.windows.iter().map(WindowSummary::of).collect();
    let baseline = summaries
        .iter()
        .find(|summary| summary.window == 1)
        .and_then(|summary| summary.runs.wall)
        .map(|wall| wall.median);
    let mut rows = vec![header(&HEADER)];
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
        "requests/sync: RecordSql requests the upstream answered per sync: the pages read \
         (the short last one, and pages past it read before the end was known), and the \
         start's own read of the first page, which finds the server's record cap (one \
         request; two when the server caps below page_size)."
    );
    let _ = writeln!(
        out,
        "The ratio to ideal includes the broker round trips and the login \
         ({} logins over {} runs: a worker keeps its token between syncs).",
        report.logins,
        summaries
            .iter()
            .map(|summary| summary.runs.runs)
            .sum::<usize>(),
    );
    for summary in &summaries {
        for why in &summary.runs.failures {
            let _ = writeln!(out, "failed run at W={}: {why}", summary.window);
        }
    }
    out
}

/// One table row for one window.
fn row(plan: &Plan, summary: &WindowSummary, baseline: Option<Duration>) -> Vec<String> {
    let ideal = plan.ideal(summary.window);
    let median = summary.runs.wall.map(|wall| wall.median);
    let [median_cell, min_cell, max_cell] = spread_cells(summary.runs.wall);
    vec![
        summary.window.to_string(),
        range(summary.runs.completed.iter().map(|c| u64::from(c.pages))),
        format!("{} ms", plan.latency.as_millis()),
        median_cell,
        min_cell,
        max_cell,
        summary.job.map_or_else(dash, |job| seconds(job.median)),
        seconds(ideal),
        median
            .and_then(|m| ratio(m, ideal))
            .map_or_else(dash, |r| format!("{r:.2}")),
        seconds(plan.sequential()),
        speed_up(baseline, median),
        format!("{:.1}", summary.requests_per_sync),
        summary.runs.completed_of_runs(),
    ]
}
