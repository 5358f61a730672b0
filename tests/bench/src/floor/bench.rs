//! Runs the floor plan: the raw lapin chain, then the `broker` crate chain, each on a
//! prefix of its own.

use std::time::Duration;

use crate::error::BenchError;

use super::plumbing::time_chains;
use super::raw::RawChain;

/// The parameters of the floor suite.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Chains timed with each client.
    pub(crate) runs: u32,
    /// Hops one chain makes.
    pub(crate) hops: u32,
}

/// The wall time of every chain, by client.
#[derive(Debug)]
pub(crate) struct Report {
    /// Chains relayed with lapin alone, in order.
    pub(crate) raw: Vec<Duration>,
    /// Chains relayed through the `broker` crate, in order.
    pub(crate) plumbing: Vec<Duration>,
}

/// Times the planned chains with lapin alone, then through the `broker` crate.
pub(crate) async fn run(plan: &Plan) -> Result<Report, BenchError> {
    let url = testkit::amqp_url();
    let mut chain = RawChain::open(&url, &testkit::unique_prefix()).await?;
    let mut raw = Vec::with_capacity(plan.runs as usize);
    for index in 1..=plan.runs {
        let timed = chain.run(plan.hops).await;
        if let Ok(wall) = &timed {
            eprintln!(
                "floor raw lapin run {index}/{}: {:.3} s",
                plan.runs,
                wall.as_secs_f64()
            );
        }
        raw.push(timed?);
    }
    chain.close().await;
    let plumbing = time_chains(&url, &testkit::unique_prefix(), plan.hops, plan.runs).await?;
    for (index, wall) in plumbing.iter().enumerate() {
        eprintln!(
            "floor broker crate run {}/{}: {:.3} s",
            index + 1,
            plan.runs,
            wall.as_secs_f64()
        );
    }
    Ok(Report { raw, plumbing })
}
