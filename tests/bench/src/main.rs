//! `estafette-bench`: times the workers against the local sandbox, RabbitMQ
//! (`AMQP_URL`) and Redis (`REDIS_URL`), and prints one table per suite, then a
//! summary with one line per figure (median, min and max over `--runs` runs):
//!
//! - `floor`: hops per second of a chain of messages that each publish the next with
//!   a publisher confirm and are acked, no upstream call; with lapin alone and through
//!   the `broker` crate;
//! - `chain`: pages per second of a demarches-simplifiees cursor chain read by
//!   fetch-page against a sandbox without latency, and its ratio to the floor;
//! - `ratelimit`: the request rate and busiest second the sandbox saw through a
//!   connection limited to 20 requests per second, shared by three fetch-page processes;
//! - `memory`: the peak resident memory of the fetch-page binary, run as a child
//!   process, reading 10,000 Divalto records in 100-record pages, eight at a time;
//! - `cpu`: the processor time of the fetch-page binary, run as a child process, per
//!   page of a DS cursor chain and of an offset sync;
//! - `fanout`: offset sync time against the window of pages in flight;
//! - `writes`: descriptor writes with one and two write-descriptors workers.

mod chain;
mod cli;
mod cpu;
mod ds_sync;
mod error;
mod fanout;
mod figure;
mod floor;
mod lane;
mod memory;
mod ratelimit;
mod rig;
mod suites;
mod summary;
mod table;
mod worker;
mod writes;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Args;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut code = ExitCode::SUCCESS;
    let mut figures = Vec::new();
    let mut floor = None;
    for (index, suite) in args.suites.iter().enumerate() {
        if index > 0 {
            println!();
        }
        match suites::run(*suite, &args, &mut floor).await {
            Ok(reported) => {
                print!("{}", reported.table);
                figures.extend(reported.figures);
            }
            Err(error) => {
                eprintln!("estafette-bench: {error}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if !figures.is_empty() {
        println!();
        print!("{}", figure::render(&figures));
    }
    code
}
