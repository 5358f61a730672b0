//! The floor suite: how many hops per second a chain of messages makes when each hop
//! is consumed, publishes the next with a publisher confirm, and is acked, with no
//! upstream call; once with lapin alone, once through the `broker` crate's consumer.

mod bench;
mod hop;
mod plumbing;
mod raw;
mod table;

pub(crate) use bench::{Plan, run};
pub(crate) use table::{figures, raw_rates, render};
