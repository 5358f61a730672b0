//! The write-descriptors worker binary: only wiring, see `worker_shell::main`.

use std::process::ExitCode;

fn main() -> ExitCode {
    worker_shell::main(
        contract::WorkerKind::WriteDescriptors,
        write_descriptors::run,
    )
}
