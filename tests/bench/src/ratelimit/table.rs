//! The printed ratelimit report, and its figures.

use std::fmt::Write as _;

use crate::ds_sync::{CONNECTION, DEMARCHE, per_second};
use crate::figure::{Figure, Ratio, number};
use crate::summary::{RunsSummary, Spread};
use crate::table::{aligned, dash, header, nproc, range, spread_cells};

use super::bench::{BURST, PAGE_SIZE, PER_SECONDS, Plan, REQUESTS, Report, WORKERS};

const HEADER: [&str; 13] = [
    "workers",
    "limit",
    "pages",
    "requests",
    "median s",
    "min s",
    "max s",
    "median req/s",
    "min req/s",
    "max req/s",
    "busiest 1 s",
    "req/s / limit",
    "completed",
];

/// Requests per second the sandbox saw during each completed sync.
fn request_rates(report: &Report) -> Option<Spread<f64>> {
    per_second(&report.runs, |synced| synced.requests)
}

/// The most requests within one second of each completed sync.
fn busiest_seconds(report: &Report) -> Option<Spread<f64>> {
    Spread::of(
        RunsSummary::of(&report.runs)
            .completed
            .iter()
            .map(|synced| synced.busiest_second as f64)
            .collect(),
    )
}

/// The figures of the suite: the achieved rate and the busiest second, each against
/// the configured limit.
pub(crate) fn figures(plan: &Plan, report: &Report) -> Vec<Figure> {
    let limit = format!("limit {REQUESTS}/{PER_SECONDS} s");
    let rates = request_rates(report);
    let busiest = busiest_seconds(report);
    vec![
        Figure {
            name: format!("ratelimit: achieved rate, {WORKERS} worker processes"),
            values: rates,
            unit: "req/s",
            ratio: Ratio::of(rates.map(|r| r.median), Some(plan.limit()), limit.clone()),
        },
        Figure {
            name: format!("ratelimit: busiest 1 s, {WORKERS} worker processes"),
            values: busiest,
            unit: "requests",
            ratio: Ratio::of(busiest.map(|b| b.median), Some(plan.limit()), limit),
        },
    ]
}

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let summary = RunsSummary::of(&report.runs);
    let rates = request_rates(report);
    let [median_cell, min_cell, max_cell] = spread_cells(summary.wall);
    let [rate_median, rate_min, rate_max] = rates.map_or_else(
        || [dash(), dash(), dash()],
        |rates| [rates.median, rates.min, rates.max].map(number),
    );
    let row = vec![
        WORKERS.to_string(),
        format!("{REQUESTS}/{PER_SECONDS} s"),
        range(summary.completed.iter().map(|s| u64::from(s.pages))),
        range(summary.completed.iter().map(|s| s.requests)),
        median_cell,
        min_cell,
        max_cell,
        rate_median,
        rate_min,
        rate_max,
        range(summary.completed.iter().map(|s| s.busiest_second)),
        Ratio::of(rates.map(|r| r.median), Some(plan.limit()), "limit")
            .map_or_else(dash, |ratio| format!("{:.2}", ratio.value)),
        summary.completed_of_runs(),
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette rate limit: a démarche {DEMARCHE} sync through a connection limited to \
         {REQUESTS} requests per {PER_SECONDS} s"
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: connection {CONNECTION}, page_size {PAGE_SIZE}, rate limit {REQUESTS} \
         requests per {PER_SECONDS} s (burst {BURST}), latency = 0 ms, {WORKERS} fetch-page \
         processes, runs = {}",
        plan.runs
    );
    let _ = writeln!(out);
    out.push_str(&aligned(&[header(&HEADER), row]));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "requests: GraphQL requests the sandbox received during a run (its own log); \
         req/s: requests / wall of each run; busiest 1 s: the most of a run's requests in \
         any sliding one-second window of the sandbox's arrival log."
    );
    let _ = writeln!(
        out,
        "The limit is the connection's, not a process's: the {WORKERS} processes, started \
         as replicas would be, share one bucket in Redis (rate-gate), each also smoothing \
         its own requests with an in-process bucket. With a bucket per process the \
         connection could reach {WORKERS} × {REQUESTS} = {} requests per {PER_SECONDS} s. \
         The pages of one sync follow each other, and the broker hands each page command \
         to whichever process is free.",
        WORKERS as u32 * REQUESTS
    );
    for why in &summary.failures {
        let _ = writeln!(out, "failed run: {why}");
    }
    out
}
