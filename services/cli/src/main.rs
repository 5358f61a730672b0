//! The estafette command-line tool: run the demo, publish commands and follow their jobs.

fn main() {}
