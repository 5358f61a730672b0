//! The send-status worker binary: only wiring, see `worker_shell::serve`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    worker_shell::serve(contract::WorkerKind::SendStatus, send_status::run).await
}
