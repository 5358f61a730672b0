//! The write-descriptors worker binary: only wiring, see `worker_shell::serve`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    worker_shell::serve("write-descriptors", write_descriptors::run).await
}
