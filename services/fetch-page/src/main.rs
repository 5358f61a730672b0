//! The fetch-page worker binary: only wiring, see `worker_shell::serve`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    worker_shell::serve("fetch-page", fetch_page::run).await
}
