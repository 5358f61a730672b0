//! The sandbox and one fetch-page worker reading it, for the tests that run an example
//! program against a real worker.

use contract::WorkerKind;
use sandbox::{Sandbox, SandboxConfig};
use testkit::WorkerApp;

/// Starts the sandbox and one fetch-page worker whose sandbox connection is allowed as
/// many requests as the syncs make.
pub(crate) async fn start_sandbox_and_worker() -> (Sandbox, WorkerApp) {
    let sandbox = Sandbox::start(
        SandboxConfig::default(),
        "127.0.0.1:0".parse().expect("an address"),
    )
    .await
    .expect("the sandbox starts");
    let settings = testkit::sandbox_settings(
        &sandbox.base_url(),
        &[(
            "ESTAFETTE__CONNECTIONS__SANDBOX__RATE_LIMIT__REQUESTS",
            "100000",
        )],
    );
    let app = WorkerApp::start(
        WorkerKind::FetchPage,
        settings,
        testkit::worker_run!(fetch_page::run),
    )
    .await;
    (sandbox, app)
}
