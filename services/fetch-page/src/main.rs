//! The fetch-page worker binary: only wiring, see `worker_shell::main`.

use std::process::ExitCode;

fn main() -> ExitCode {
    worker_shell::main(contract::WorkerKind::FetchPage, fetch_page::run)
}
