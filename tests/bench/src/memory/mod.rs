//! The memory suite: the peak resident memory of the real fetch-page binary, run as a
//! child process, while it reads a Divalto table of 100-record pages several at a time.

mod bench;
/// Also starts the ratelimit suite's replicas.
pub(crate) mod child;
mod table;

pub(crate) use bench::{Plan, run};
pub(crate) use table::{figures, render};
