//! The write-descriptors worker binary: only wiring, see `worker_shell::serve`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    worker_shell::serve("write-descriptors", async |wiring| {
        write_descriptors::run(
            &wiring.settings,
            &wiring.broker,
            &wiring.store,
            wiring.shutdown.clone(),
        )
        .await
    })
    .await
}
