//! Runs one suite and hands back its table and figures.

use crate::cli::{Args, Suite};
use crate::error::BenchError;
use crate::figure::Figure;
use crate::{chain, cpu, fanout, floor, memory, ratelimit, writes};

/// What a suite printed and measured.
pub(crate) struct Reported {
    /// Its table, ending with a newline.
    pub(crate) table: String,
    /// Its figures, for the summary.
    pub(crate) figures: Vec<Figure>,
}

/// Runs `suite`. `floor` is the raw floor's median hops per second: the floor suite
/// sets it, the chain suite compares with it.
pub(crate) async fn run(
    suite: Suite,
    args: &Args,
    floor: &mut Option<f64>,
) -> Result<Reported, BenchError> {
    Ok(match suite {
        Suite::Floor => {
            let plan = args.floor();
            let report = floor::run(&plan).await?;
            *floor = floor::raw_rates(&plan, &report).map(|rates| rates.median);
            Reported {
                table: floor::render(&plan, &report),
                figures: floor::figures(&plan, &report),
            }
        }
        Suite::Chain => {
            let plan = args.chain();
            let report = chain::run(&plan).await?;
            Reported {
                table: chain::render(&plan, &report, *floor),
                figures: chain::figures(&report, *floor),
            }
        }
        Suite::Ratelimit => {
            let plan = args.ratelimit();
            let report = ratelimit::run(&plan).await?;
            Reported {
                table: ratelimit::render(&plan, &report),
                figures: ratelimit::figures(&plan, &report),
            }
        }
        Suite::Memory => {
            let plan = args.memory();
            let report = memory::run(&plan).await?;
            Reported {
                table: memory::render(&plan, &report),
                figures: memory::figures(&report),
            }
        }
        Suite::Cpu => {
            let plan = args.cpu();
            let report = cpu::run(&plan).await?;
            Reported {
                table: cpu::render(&plan, &report),
                figures: cpu::figures(&report),
            }
        }
        Suite::Fanout => {
            let plan = args.fanout();
            let report = fanout::run(&plan).await?;
            Reported {
                table: fanout::render(&plan, &report),
                figures: fanout::figures(&report),
            }
        }
        Suite::Writes => {
            let plan = args.writes();
            let report = writes::run(&plan).await?;
            Reported {
                table: writes::render(&plan, &report),
                figures: writes::figures(&plan, &report),
            }
        }
    })
}
