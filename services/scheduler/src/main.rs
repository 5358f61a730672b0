//! The scheduler binary: only wiring, see `worker_shell::main`.

use std::process::ExitCode;

fn main() -> ExitCode {
    worker_shell::main(worker_shell::Service::Scheduler, scheduler::run)
}
