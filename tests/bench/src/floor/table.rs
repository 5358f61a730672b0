//! The printed floor report, and its figures.

use std::fmt::Write as _;
use std::time::Duration;

use crate::figure::{Figure, Ratio, number, rates};
use crate::summary::Spread;
use crate::table::{aligned, dash, header, nproc};

use super::bench::{Plan, Report};

const HEADER: [&str; 7] = [
    "chain",
    "hops",
    "median hops/s",
    "min hops/s",
    "max hops/s",
    "median ms/hop",
    "vs raw lapin",
];
/// What the raw chain is called in the tables.
const RAW: &str = "raw lapin";
/// What the `broker` crate chain is called in the tables.
const PLUMBING: &str = "broker crate";

/// Hops per second of the raw lapin chains: the floor other chains are compared with.
pub(crate) fn raw_rates(plan: &Plan, report: &Report) -> Option<Spread<f64>> {
    rates(f64::from(plan.hops), report.raw.iter().copied())
}

/// The figures of the suite: hops per second with each client.
pub(crate) fn figures(plan: &Plan, report: &Report) -> Vec<Figure> {
    let raw = raw_rates(plan, report);
    let plumbing = rates(f64::from(plan.hops), report.plumbing.iter().copied());
    vec![
        Figure {
            name: format!("floor: {RAW} chain"),
            values: raw,
            unit: "hops/s",
            ratio: None,
        },
        Figure {
            name: format!("floor: {PLUMBING} chain"),
            values: plumbing,
            unit: "hops/s",
            ratio: Ratio::of(
                plumbing.map(|p| p.median),
                raw.map(|r| r.median),
                format!("floor {RAW}"),
            ),
        },
    ]
}

/// The whole report as text, ending with a newline.
pub(crate) fn render(plan: &Plan, report: &Report) -> String {
    let raw = raw_rates(plan, report).map(|spread| spread.median);
    let mut rows = vec![header(&HEADER)];
    rows.push(row(RAW, plan, &report.raw, raw));
    rows.push(row(PLUMBING, plan, &report.plumbing, raw));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Estafette floor: a chain of {} hops on a test queue, no upstream call",
        plan.hops
    );
    let _ = writeln!(out, "machine: nproc = {}", nproc());
    let _ = writeln!(
        out,
        "parameters: hops = {}, runs per chain = {}, broker = AMQP_URL",
        plan.hops, plan.runs
    );
    let _ = writeln!(out);
    out.push_str(&aligned(&rows));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "A hop: a delivery is consumed, publishes the next hop (persistent, mandatory) on a \
         confirming channel, waits for the confirm, then is acked; prefetch 1, one hop in \
         flight. Time from publishing hop 1 to the last hop."
    );
    let _ = writeln!(
        out,
        "{RAW}: lapin directly, a durable quorum queue, one consuming loop. {PLUMBING}: \
         run_consumer with a handler whose Outcome publishes the next hop as a command to \
         its own queue, through the commands exchange (the plumbing every page command \
         goes through)."
    );
    out
}

fn row(name: &str, plan: &Plan, walls: &[Duration], raw: Option<f64>) -> Vec<String> {
    let spread = rates(f64::from(plan.hops), walls.iter().copied());
    let [median, min, max] = spread.map_or_else(
        || [dash(), dash(), dash()],
        |spread| [spread.median, spread.min, spread.max].map(number),
    );
    let per_hop = spread
        .filter(|spread| spread.median > 0.0)
        .map_or_else(dash, |spread| format!("{:.3}", 1000.0 / spread.median));
    let ratio = Ratio::of(spread.map(|spread| spread.median), raw, RAW)
        .map_or_else(dash, |ratio| format!("{:.2}×", ratio.value));
    vec![
        name.to_owned(),
        plan.hops.to_string(),
        median,
        min,
        max,
        per_hop,
        ratio,
    ]
}
