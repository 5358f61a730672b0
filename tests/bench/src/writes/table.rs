//! The printed writes report: the machine and parameters, one aligned row per number
//! of workers, and what the time includes.

use std::fmt::Write as _;
use std::time::Duration;

use crate::figure::{Figure, Ratio, rates};
use crate::rig::{RATE_BURST, RATE_PER_SECONDS, RATE_REQUESTS};
use crate::summary::{Run, RunOutcome, RunsSummary, Spread};
use crate::table::{aligned, dash, header, nproc, range, speed_up, spread_cells};

use super::bench::{Report, WorkerRuns};
use super::plan::{CHUNK_SIZE, CONNECTION, Plan};
use super::write::Written;

const HEADER: [&str; 10] = [
    "workers",
    "objects",
    "chunks/run",
    "calls/run",
    "median s",
    "min s",
    "max s",
    "objects/s",
    "speed-up vs 1 worker",
    "completed",
];

/// The figures of the suite: objects written per second with each number of workers,
/// with the speed-up over one worker.
pub(crate) fn figures(plan: &Plan, report: &Report) -> Vec<Figure> {
    let objects = plan.objects as f64;
    let figures: Vec<(usize, Option<Spread<f64>>)> = report
        .lanes
        .iter()
        .map(|lane| (lane.workers, rates(objects, completed_walls(&lane.runs))))
        .collect();
    let baseline = figures
        .first()
        .and_then(|(_, values)| values.map(|v| v.median));
    figures
        .into_iter()
        .map(|(workers, values)| Figure {
            name: format!("writes: {workers} write-descriptors worker(s)"),
            values,
            unit: "objects/s",
            ratio: Ratio::of(values.map(|v| v.median), baseline, "speed-up vs 1 worker"),
        })
        .collect()
}

/// The wall times of the completed runs.
fn completed_walls(runs: &[Run<Written>]) -> Vec<Duration> {
    runs.iter()
        .filter(|run| matches!(run.outcome, RunOutcome::Completed(_)))
        .map(|run| run.wall)
        .collect()
}

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let summaries: Vec<(usize, RunsSummary<Written>)> = report
        .lanes
        .iter()
        .map(|lane: &WorkerRuns| (lane.workers, RunsSummary::of(&lane.runs)))
        .collect();
    let baseline = summaries
        .first()
        .and_then(|(_, summary)| summary.wall)
        .map(|wall| wall.median);
    let mut rows = vec![header(&HEADER)];
    rows.extend(
        summaries
            .iter()
            .map(|(workers, summary)| row(plan, *workers, summary, baseline)),
    );

    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette descriptor writes: time to write {} Apidae objects with one and two \
         write-descriptors workers",
        plan.objects
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: objects = {} (one descriptor each, a French and an English text), \
         runs per worker count = {}, latency = 0 ms",
        plan.objects, plan.runs,
    );
    let _ = writeln!(
        out,
        "            connection {CONNECTION}: page_size {CHUNK_SIZE} ({} calls per run), \
         rate limit {RATE_REQUESTS} requests per {RATE_PER_SECONDS} s (burst {RATE_BURST}), \
         prefetch {} per worker",
        plan.calls(),
        report.prefetch,
    );
    let _ = writeln!(
        out,
        "            each run: {} new apidae.put job(s) of at most {} objects, published \
         together (a command may not exceed {} bytes); each worker on its own broker \
         connection, same topology prefix",
        report.jobs,
        report.largest_job,
        contract::MAX_COMMAND_BYTES,
    );
    let _ = writeln!(out);
    out.push_str(&aligned(&rows));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "median/min/max: wall clock from publishing a run's apidae.put commands to \
         receiving the last of their descriptors.written; objects/s: objects / median; \
         speed-up: median with 1 worker / median with 2."
    );
    let _ = writeln!(
        out,
        "The time includes publishing the commands and the chunk commands the workers fan \
         out, {} PUT calls to the sandbox, the Redis bookkeeping of every chunk, and the \
         chunk.written and descriptors.written events.",
        plan.calls(),
    );
    let _ = writeln!(
        out,
        "The sandbox, RabbitMQ, Redis, both workers and the benchmark share the machine's \
         {} cores, so a second worker competes with them for CPU rather than adding a core \
         of its own.",
        nproc(),
    );
    let _ = writeln!(
        out,
        "Each worker count gets fresh workers; the first run of each pays their token \
         requests ({} over the suite).",
        report.tokens,
    );
    for (workers, summary) in &summaries {
        for why in &summary.failures {
            let _ = writeln!(out, "failed run with {workers} worker(s): {why}");
        }
    }
    out
}

/// One table row for one number of workers.
fn row(
    plan: &Plan,
    workers: usize,
    summary: &RunsSummary<Written>,
    baseline: Option<Duration>,
) -> Vec<String> {
    let median = summary.wall.map(|wall| wall.median);
    let [median_cell, min_cell, max_cell] = spread_cells(summary.wall);
    let chunks = range(summary.completed.iter().map(|run| run.chunks as u64));
    let calls = range(summary.completed.iter().map(|run| run.calls));
    vec![
        workers.to_string(),
        plan.objects.to_string(),
        chunks,
        calls,
        median_cell,
        min_cell,
        max_cell,
        median
            .filter(|median| !median.is_zero())
            .map_or_else(dash, |median| {
                format!("{:.0}", plan.objects as f64 / median.as_secs_f64())
            }),
        speed_up(baseline, median),
        summary.completed_of_runs(),
    ]
}
