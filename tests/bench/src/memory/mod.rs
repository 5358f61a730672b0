//! The memory suite: the peak resident memory of the real worker binaries, run as
//! child processes, while each does one job: a Divalto sync of 100-record pages
//! several at a time, the largest sync command at the largest window, and the largest
//! descriptor write.

mod bench;
/// Also starts the ratelimit suite's replicas.
pub(crate) mod child;
mod load;
mod table;

pub(crate) use bench::{Plan, run};
pub(crate) use table::{figures, render};
