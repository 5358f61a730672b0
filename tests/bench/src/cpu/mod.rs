//! The cpu suite: the processor time the real fetch-page binary, run as a child
//! process, spends per page of a demarches-simplifiees cursor chain and of an offset
//! sync, read from `/proc/<pid>/stat` around a batch of syncs.

mod bench;
mod table;

pub(crate) use bench::{Plan, run};
pub(crate) use table::{figures, render};
