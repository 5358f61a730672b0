//! Integration tests of the scheduler: real scheduler processes, a real broker and
//! Redis, a fetch-page worker and the sandbox.

mod faults;
mod harness;
mod runs;
