//! The fan-out suite: how the elapsed time of an offset sync of the sandbox's Divalto
//! article table scales with its window of pages in flight.

mod bench;
mod plan;
mod summary;
mod sync;
mod table;

pub(crate) use bench::run;
pub(crate) use plan::Plan;
pub(crate) use table::render;
