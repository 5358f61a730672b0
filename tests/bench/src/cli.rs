//! The command line: which suites to run, and the parameters of each.

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::{chain, cpu, fanout, floor, memory, ratelimit, writes};

/// Times the workers against the local sandbox, RabbitMQ (`AMQP_URL`) and Redis
/// (`REDIS_URL`): the broker floor of a chain of hops, a DS cursor chain, a
/// rate-limited sync, a worker's peak memory and processor time per page, Divalto syncs for each window of pages in
/// flight, and Apidae descriptor writes with one and two workers.
#[derive(Debug, Parser)]
#[command(name = "estafette-bench", version, about)]
pub(crate) struct Args {
    /// Suites to run, comma-separated, in this order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "floor,chain,ratelimit,memory,cpu,fanout,writes"
    )]
    pub(crate) suites: Vec<Suite>,
    /// Runs of every figure: chains, syncs, processes, and runs for each window and
    /// each number of write workers.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Hops one floor chain makes.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    hops: u32,
    /// Pages one fan-out sync reads (100 new records each).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pages: u32,
    /// Delay the sandbox adds to every request of the fan-out suite, in milliseconds.
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
    /// Apidae objects one write run writes, one descriptor each (the sandbox knows 20,000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    objects: u64,
}

/// A table the benchmark can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Suite {
    /// Hops per second of a broker chain with no upstream call.
    Floor,
    /// Pages per second of a DS cursor chain, against the floor.
    Chain,
    /// The request rate through a rate-limited connection.
    Ratelimit,
    /// Peak resident memory of a fetch-page process.
    Memory,
    /// Processor time per page of a fetch-page process.
    Cpu,
    /// Offset sync time against the window of pages in flight.
    Fanout,
    /// Descriptor write time with one and two workers.
    Writes,
}

impl Args {
    /// The floor suite's parameters.
    pub(crate) fn floor(&self) -> floor::Plan {
        floor::Plan {
            runs: self.runs,
            hops: self.hops,
        }
    }

    /// The chain suite's parameters.
    pub(crate) fn chain(&self) -> chain::Plan {
        chain::Plan { runs: self.runs }
    }

    /// The ratelimit suite's parameters.
    pub(crate) fn ratelimit(&self) -> ratelimit::Plan {
        ratelimit::Plan { runs: self.runs }
    }

    /// The memory suite's parameters.
    pub(crate) fn memory(&self) -> memory::Plan {
        memory::Plan { runs: self.runs }
    }

    /// The cpu suite's parameters.
    pub(crate) fn cpu(&self) -> cpu::Plan {
        cpu::Plan { runs: self.runs }
    }

    /// The fan-out suite's parameters.
    pub(crate) fn fanout(&self) -> fanout::Plan {
        fanout::Plan {
            runs: self.runs,
            pages: self.pages,
            latency: Duration::from_millis(self.latency_ms),
            windows: self.windows.clone(),
        }
    }

    /// The writes suite's parameters.
    pub(crate) fn writes(&self) -> writes::Plan {
        writes::Plan {
            runs: self.runs,
            objects: usize::try_from(self.objects).unwrap_or(usize::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_runs_by_default_floor_first() {
        let args = Args::parse_from(["estafette-bench"]);
        assert_eq!(
            args.suites,
            vec![
                Suite::Floor,
                Suite::Chain,
                Suite::Ratelimit,
                Suite::Memory,
                Suite::Cpu,
                Suite::Fanout,
                Suite::Writes
            ]
        );
        assert_eq!(args.writes().objects, 10_000);
        assert_eq!(args.floor().hops, 1000);
    }

    #[test]
    fn one_suite_can_run_alone() {
        let args = Args::parse_from(["estafette-bench", "--suites", "writes", "--objects", "500"]);
        assert_eq!(args.suites, vec![Suite::Writes]);
        assert_eq!(args.writes().objects, 500);
    }

    #[test]
    fn an_unknown_suite_is_refused() {
        assert!(Args::try_parse_from(["estafette-bench", "--suites", "reads"]).is_err());
    }
}
