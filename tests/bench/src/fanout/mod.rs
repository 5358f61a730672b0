//! The fan-out suite: how the elapsed time of an offset sync of the sandbox's Divalto
//! article table scales with its window of pages in flight.

mod bench;
mod plan;
mod summary;
/// Also times the cpu suite's offset syncs.
pub(crate) mod sync;
mod table;

pub(crate) use bench::{CONNECTION, TABLE, connection_keys, resize_articles, run};
pub(crate) use plan::{PAGE_SIZE, Plan};
pub(crate) use table::{figures, render};
