//! The command line: which suites to run, and the parameters of each.

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::{fanout, writes};

/// Times the workers against the local sandbox, RabbitMQ (`AMQP_URL`) and Redis
/// (`REDIS_URL`): Divalto syncs for each window of pages in flight, and Apidae
/// descriptor writes with one and two workers.
#[derive(Debug, Parser)]
#[command(name = "estafette-bench", version, about)]
pub(crate) struct Args {
    /// Suites to run, comma-separated, in this order.
    #[arg(long, value_delimiter = ',', default_value = "fanout,writes")]
    pub(crate) suites: Vec<Suite>,
    /// Runs timed for each window, and for each number of write workers.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Pages one sync reads (100 new records each).
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
    /// Offset sync time against the window of pages in flight.
    Fanout,
    /// Descriptor write time with one and two workers.
    Writes,
}

impl Args {
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
    fn both_suites_run_by_default() {
        let args = Args::parse_from(["estafette-bench"]);
        assert_eq!(args.suites, vec![Suite::Fanout, Suite::Writes]);
        assert_eq!(args.writes().objects, 10_000);
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
