//! `estafette-bench`: how the elapsed time of an offset sync scales with its window of
//! pages in flight, against the local sandbox, RabbitMQ (`AMQP_URL`) and Redis
//! (`REDIS_URL`). Prints one table.

mod bench;
mod error;
mod lane;
mod plan;
mod rig;
mod summary;
mod table;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::plan::Plan;

/// Times Divalto syncs of the sandbox's article table for each window of pages in flight.
#[derive(Debug, Parser)]
#[command(name = "estafette-bench", version, about)]
struct Args {
    /// Syncs timed for each window.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Pages one sync reads (100 new records each).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pages: u32,
    /// Delay the sandbox adds to every request, in milliseconds.
    #[arg(long = "latency-ms", default_value_t = 50)]
    latency_ms: u64,
    /// Windows to time, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2,4,8,16,32",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    windows: Vec<u32>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let plan = Plan {
        runs: args.runs,
        pages: args.pages,
        latency: Duration::from_millis(args.latency_ms),
        windows: args.windows,
    };
    match bench::run(&plan).await {
        Ok(report) => {
            print!("{}", table::render(&plan, &report));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("estafette-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
