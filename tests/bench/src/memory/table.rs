//! The printed memory report, and its figures.

use std::fmt::Write as _;

use crate::figure::{Figure, number};
use crate::summary::{RunsSummary, Spread};
use crate::table::{aligned, dash, header, nproc, range, skipped, spread_cells};

use super::bench::{LoadReport, Peak, Plan, RECORDS, Report};
use super::load::{Load, PREFETCH};

const HEADER: [&str; 8] = [
    "load",
    "pages/chunks",
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

/// The figures of the suite: the peak resident memory of each load measured.
pub(crate) fn figures(report: &Report) -> Vec<Figure> {
    report
        .loads
        .iter()
        .filter_map(|(load, measured)| match measured {
            LoadReport::Skipped { .. } => None,
            LoadReport::Measured { runs, .. } => Some(Figure {
                name: format!("memory: {}", load.describe()),
                values: peaks(&RunsSummary::of(runs)),
                unit: "MiB",
                ratio: None,
            }),
        })
        .collect()
}

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette memory: peak resident memory of a worker process doing one job"
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: {} Divalto records ({RECORDS} planned), prefetch {PREFETCH}, latency = 0 ms, \
         rate limit never reached, runs = {} per load (a fresh process each)",
        report.rows, plan.runs,
    );
    let _ = writeln!(out);
    let mut rows = vec![header(&HEADER)];
    let mut notes = Vec::new();
    for (load, measured) in &report.loads {
        rows.push(row(*load, measured, &mut notes));
    }
    out.push_str(&aligned(&rows));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "MiB: VmHWM of /proc/<pid>/status (the most resident memory the process held since \
         it started) read once its job completed, before SIGTERM; s: wall clock from \
         publishing the command, while the process starts, to the job's end."
    );
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
    out
}

fn row(load: Load, measured: &LoadReport, notes: &mut Vec<String>) -> Vec<String> {
    let runs = match measured {
        LoadReport::Skipped { binary } => {
            let (row, note) = skipped(load.describe(), binary, load.binary(), HEADER.len());
            notes.push(note);
            return row;
        }
        LoadReport::Measured { runs, .. } => runs,
    };
    let summary = RunsSummary::of(runs);
    for why in &summary.failures {
        notes.push(format!("failed run of {}: {why}", load.describe()));
    }
    let [mib_median, mib_min, mib_max] = peaks(&summary).map_or_else(
        || [dash(), dash(), dash()],
        |mib| [mib.median, mib.min, mib.max].map(number),
    );
    let [median_cell, min_cell, max_cell] = spread_cells(summary.wall);
    vec![
        load.describe(),
        range(summary.completed.iter().map(|peak| u64::from(peak.steps))),
        mib_median,
        mib_min,
        mib_max,
        median_cell,
        min_cell,
        max_cell,
    ]
}
