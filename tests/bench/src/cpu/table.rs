//! The printed cpu report, and its figures.

use std::fmt::Write as _;
use std::path::Path;

use crate::figure::{Figure, number};
use crate::memory::child::FETCH_PAGE;
use crate::summary::{RunOutcome, RunsSummary, Spread};
use crate::table::{aligned, dash, header, nproc, range, skipped};

use super::bench::{Cost, Load, LoadReport, Plan, Report};

const HEADER: [&str; 9] = [
    "load",
    "pages/batch",
    "median ms/page",
    "min ms/page",
    "max ms/page",
    "user ms/page",
    "system ms/page",
    "median pages/s",
    "completed",
];

/// The processor milliseconds per page of each completed batch, user and system
/// together.
fn per_page(summary: &RunsSummary<Cost>) -> Option<Spread<f64>> {
    Spread::of(
        summary
            .completed
            .iter()
            .map(|cost| {
                let (user, system) = cost.per_page_ms();
                user + system
            })
            .collect(),
    )
}

/// The figures of the suite: the worker's processor time per page of each load.
pub(crate) fn figures(report: &Report) -> Vec<Figure> {
    report
        .loads
        .iter()
        .filter_map(|measured| {
            let batches = measured.batches.as_ref()?;
            Some(Figure {
                name: format!("cpu: fetch-page, {}", measured.load.describe()),
                values: per_page(&RunsSummary::of(batches)),
                unit: "ms/page",
                ratio: None,
            })
        })
        .collect()
}

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette cpu: processor time of a fetch-page process per page it reads"
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: latency = 0 ms, rate limit never reached, one process per load, \
         one warm-up sync, then {} batches per load",
        plan.runs
    );
    let _ = writeln!(out);
    let mut rows = vec![header(&HEADER)];
    let mut notes = Vec::new();
    for measured in &report.loads {
        rows.push(row(measured, &report.binary, &mut notes));
    }
    out.push_str(&aligned(&rows));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "ms/page: utime + stime of /proc/<pid>/stat of the worker process, read before \
         and after a batch of syncs ({} DS syncs or {} offset syncs, one after the \
         other), over the pages the batch's sync.completed events report; user and \
         system are medians of their own; pages/s over the batch's wall clock.",
        Load::DsChain.syncs_per_batch(),
        Load::OffsetSync.syncs_per_batch()
    );
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
    out
}

fn row(measured: &LoadReport, binary: &Path, notes: &mut Vec<String>) -> Vec<String> {
    let load = measured.load;
    let Some(batches) = &measured.batches else {
        let (row, note) = skipped(load.describe(), binary, FETCH_PAGE, HEADER.len());
        notes.push(note);
        return row;
    };
    let summary = RunsSummary::of(batches);
    for why in &summary.failures {
        notes.push(format!("failed batch of {}: {why}", load.describe()));
    }
    let [median, min, max] = per_page(&summary).map_or_else(
        || [dash(), dash(), dash()],
        |ms| [ms.median, ms.min, ms.max].map(|value| format!("{value:.3}")),
    );
    let split = |pick: fn((f64, f64)) -> f64| {
        Spread::of(
            summary
                .completed
                .iter()
                .map(|cost| pick(cost.per_page_ms()))
                .collect(),
        )
        .map_or_else(dash, |ms| format!("{:.3}", ms.median))
    };
    let rate = Spread::of(
        batches
            .iter()
            .filter_map(|run| match &run.outcome {
                RunOutcome::Completed(cost) if !run.wall.is_zero() => {
                    Some(cost.pages as f64 / run.wall.as_secs_f64())
                }
                _ => None,
            })
            .collect(),
    )
    .map_or_else(dash, |rate| number(rate.median));
    vec![
        load.describe(),
        range(summary.completed.iter().map(|cost| cost.pages)),
        median,
        min,
        max,
        split(|(user, _)| user),
        split(|(_, system)| system),
        rate,
        summary.completed_of_runs(),
    ]
}
