//! The fetch-page worker binary: only wiring, see `worker_shell::serve`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    worker_shell::serve(contract::WorkerKind::FetchPage, fetch_page::run).await
}
