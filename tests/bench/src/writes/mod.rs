//! The writes suite: how long the write-descriptors worker takes to write a batch of
//! Apidae objects through the sandbox, with one worker and with two.

mod bench;
mod jobs;
mod plan;
mod table;
mod write;

pub(crate) use bench::run;
pub(crate) use plan::Plan;
pub(crate) use table::{figures, render};
