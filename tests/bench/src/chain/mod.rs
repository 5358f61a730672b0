//! The chain suite: Estafette's fetch-page following a demarches-simplifiees cursor
//! chain against a sandbox without latency, in pages per second, next to the floor.

mod bench;
mod table;

pub(crate) use bench::{PAGE_SIZE, Plan, run};
pub(crate) use table::{figures, render};
