//! The printed chain report, and its figure.

use std::fmt::Write as _;

use crate::ds_sync::{CONNECTION, DEMARCHE, per_second};
use crate::figure::{Figure, Ratio, number};
use crate::rig::{RATE_BURST, RATE_PER_SECONDS, RATE_REQUESTS};
use crate::summary::{RunsSummary, Spread};
use crate::table::{aligned, dash, header, nproc, range, seconds, spread_cells};

use super::bench::{PAGE_SIZE, Plan, Report};

const HEADER: [&str; 11] = [
    "pages",
    "requests",
    "median s",
    "min s",
    "max s",
    "job median s",
    "median pages/s",
    "min pages/s",
    "max pages/s",
    "vs floor hops/s",
    "completed",
];

/// Pages per second of each completed sync.
fn page_rates(report: &Report) -> Option<Spread<f64>> {
    per_second(&report.runs, |synced| u64::from(synced.pages))
}

/// The figure of the suite: pages per second, against `floor` hops per second.
pub(crate) fn figures(report: &Report, floor: Option<f64>) -> Vec<Figure> {
    let values = page_rates(report);
    vec![Figure {
        name: "chain: DS cursor chain".to_owned(),
        values,
        unit: "pages/s",
        ratio: Ratio::of(values.map(|v| v.median), floor, "floor raw lapin"),
    }]
}

/// The whole report as text, ending with a newline; `floor` is the raw chain's median
/// hops per second, when the floor suite ran before.
pub(crate) fn render(plan: &Plan, report: &Report, floor: Option<f64>) -> String {
    let summary = RunsSummary::of(&report.runs);
    let rates = page_rates(report);
    let [median_cell, min_cell, max_cell] = spread_cells(summary.wall);
    let [rate_median, rate_min, rate_max] = rates.map_or_else(
        || [dash(), dash(), dash()],
        |rates| [rates.median, rates.min, rates.max].map(number),
    );
    let job = Spread::of(summary.completed.iter().map(|s| s.job_elapsed).collect());
    let row = vec![
        range(summary.completed.iter().map(|s| u64::from(s.pages))),
        range(summary.completed.iter().map(|s| s.requests)),
        median_cell,
        min_cell,
        max_cell,
        job.map_or_else(dash, |job| seconds(job.median)),
        rate_median,
        rate_min,
        rate_max,
        Ratio::of(rates.map(|r| r.median), floor, "floor")
            .map_or_else(dash, |ratio| format!("{:.3}", ratio.value)),
        summary.completed_of_runs(),
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette DS cursor chain: fetch-page reading démarche {DEMARCHE} page after page"
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: connection {CONNECTION}, page_size {PAGE_SIZE}, latency = 0 ms, \
         rate limit {RATE_REQUESTS} requests per {RATE_PER_SECONDS} s (burst {RATE_BURST}), \
         one worker, runs = {}",
        plan.runs
    );
    let _ = writeln!(out);
    out.push_str(&aligned(&[header(&HEADER), row]));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "median/min/max s: wall clock from publishing ds.sync to receiving its \
         sync.completed; pages: pages published (dossiers, then deleted and pending deleted \
         dossiers); requests: GraphQL requests the sandbox received; pages/s: pages / wall \
         of each run."
    );
    let _ = writeln!(
        out,
        "vs floor: median pages/s over the floor suite's median raw lapin hops/s ({}). \
         Each page is one hop (plus the start command's), with a GraphQL call, JSON \
         (de)serialisation, a page.fetched event of up to {PAGE_SIZE} dossiers and its \
         confirm on top.",
        floor.map_or_else(|| "not measured in this invocation".to_owned(), number)
    );
    for why in &summary.failures {
        let _ = writeln!(out, "failed run: {why}");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::ds_sync::Synced;
    use crate::summary::{Run, RunOutcome};

    use super::*;

    #[test]
    fn the_chain_is_compared_with_the_floor() {
        let synced = Synced {
            pages: 26,
            job_elapsed: Duration::from_millis(400),
            requests: 26,
            busiest_second: 26,
        };
        let report = Report {
            runs: vec![Run {
                wall: Duration::from_millis(500),
                outcome: RunOutcome::Completed(synced),
            }],
        };
        let figure = &figures(&report, Some(520.0))[0];
        let ratio = figure.ratio.as_ref().expect("a ratio");
        assert!((ratio.value - 0.1).abs() < 1e-9);
        assert!(render(&Plan { runs: 1 }, &report, None).contains("52.0"));
    }
}
