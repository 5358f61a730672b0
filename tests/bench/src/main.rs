//! `estafette-bench`: times the workers against the local sandbox, RabbitMQ
//! (`AMQP_URL`) and Redis (`REDIS_URL`). Prints one table per suite: the offset
//! fan-out against its window of pages in flight, and descriptor writes with one and
//! two write-descriptors workers.

mod cli;
mod error;
mod fanout;
mod lane;
mod rig;
mod summary;
mod table;
mod worker;
mod writes;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Args, Suite};
use crate::error::BenchError;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut code = ExitCode::SUCCESS;
    for (index, suite) in args.suites.iter().enumerate() {
        if index > 0 {
            println!();
        }
        match run(*suite, &args).await {
            Ok(table) => print!("{table}"),
            Err(error) => {
                eprintln!("estafette-bench: {error}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}

/// Runs one suite and renders its table.
async fn run(suite: Suite, args: &Args) -> Result<String, BenchError> {
    match suite {
        Suite::Fanout => {
            let plan = args.fanout();
            Ok(fanout::render(&plan, &fanout::run(&plan).await?))
        }
        Suite::Writes => {
            let plan = args.writes();
            Ok(writes::render(&plan, &writes::run(&plan).await?))
        }
    }
}
