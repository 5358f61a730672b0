//! The printed memory report, and its figure.

use std::fmt::Write as _;

use crate::fanout::{CONNECTION, PAGE_SIZE, RECORDS_PER_PAGE};
use crate::figure::{Figure, number};
use crate::summary::{RunsSummary, Spread};
use crate::table::{aligned, dash, header, nproc, range, spread_cells};

use super::bench::{PREFETCH, Peak, Plan, RECORDS, Report, WINDOW};

const HEADER: [&str; 9] = [
    "records",
    "pages",
    "window",
    "median MiB",
    "min MiB",
    "max MiB",
    "median s",
    "min s",
    "max s",
];

/// KiB in a MiB.
const KIB_PER_MIB: f64 = 1024.0;

/// The peak of each completed run, in MiB.
fn peaks(summary: &RunsSummary<Peak>) -> Option<Spread<f64>> {
    Spread::of(
        summary
            .completed
            .iter()
            .map(|peak| peak.kib as f64 / KIB_PER_MIB)
            .collect(),
    )
}

/// The figure of the suite: peak resident memory; none when it was skipped.
pub(crate) fn figures(report: &Report) -> Vec<Figure> {
    match report {
        Report::Skipped { .. } => Vec::new(),
        Report::Measured { runs, .. } => vec![Figure {
            name: format!("memory: fetch-page peak RSS, window {WINDOW}"),
            values: peaks(&RunsSummary::of(runs)),
            unit: "MiB",
            ratio: None,
        }],
    }
}

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette memory: peak resident memory of a fetch-page process reading {RECORDS} \
         Divalto records"
    );
    let (binary, rows, runs) = match report {
        Report::Skipped { binary } => {
            let _ = writeln!(
                out,
                "skipped: no fetch-page binary at {}; this suite needs \
                 `cargo build --release -p fetch-page` first (or the profile the benchmark \
                 was built with).",
                binary.display()
            );
            return out;
        }
        Report::Measured { binary, rows, runs } => (binary, rows, runs),
    };
    let summary = RunsSummary::of(runs);
    let [mib_median, mib_min, mib_max] = peaks(&summary).map_or_else(
        || [dash(), dash(), dash()],
        |mib| [mib.median, mib.min, mib.max].map(number),
    );
    let [median_cell, min_cell, max_cell] = spread_cells(summary.wall);
    let row = vec![
        rows.to_string(),
        range(summary.completed.iter().map(|peak| u64::from(peak.pages))),
        WINDOW.to_string(),
        mib_median,
        mib_min,
        mib_max,
        median_cell,
        min_cell,
        max_cell,
    ];
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: binary {}, connection {CONNECTION}, page_size {PAGE_SIZE} \
         ({RECORDS_PER_PAGE} new records per page), window {WINDOW}, prefetch {PREFETCH}, \
         latency = 0 ms, rate limit never reached, runs = {} (a fresh process each)",
        binary.display(),
        plan.runs,
    );
    let _ = writeln!(out);
    out.push_str(&aligned(&[header(&HEADER), row]));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "MiB: VmHWM of /proc/<pid>/status (the most resident memory the process held since \
         it started) read once its sync completed, before SIGTERM; s: wall clock from \
         publishing the sync, while the process starts, to its sync.completed."
    );
    for why in &summary.failures {
        let _ = writeln!(out, "failed run: {why}");
    }
    out
}
