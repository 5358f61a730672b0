//! A worker run in the test process for the `estafette` binary to talk to, under the
//! test's own prefix.

use std::time::Duration;

use contract::WorkerKind;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The variables the binary and its worker share: the test broker under `prefix`,
/// the test Redis, and `connection`'s own.
pub(crate) fn test_env(prefix: &str, connection: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("AMQP_URL".to_owned(), testkit::amqp_url()),
        ("REDIS_URL".to_owned(), testkit::redis_url()),
        ("ESTAFETTE__BROKER__PREFIX".to_owned(), prefix.to_owned()),
        (
            "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS".to_owned(),
            "600".to_owned(),
        ),
    ];
    env.extend(
        connection
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone())),
    );
    env
}

/// A worker of one kind, running the real `run` on the settings of `env`.
pub(crate) struct Worker {
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), String>>,
}

impl Worker {
    pub(crate) async fn start(kind: WorkerKind, env: &[(String, String)]) -> Worker {
        let settings = settings::Settings::load(None, env.to_vec()).expect("settings");
        let broker = testkit::connect(&settings.broker.prefix).await;
        let store = job_state::JobStore::connect(
            &settings.state.url,
            &settings.broker.prefix,
            Duration::from_secs(600),
        )
        .await
        .expect("redis answers");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            match kind {
                WorkerKind::FetchPage => fetch_page::run(&settings, &broker, &store, token)
                    .await
                    .map_err(|e| e.to_string()),
                WorkerKind::WriteDescriptors => {
                    write_descriptors::run(&settings, &broker, &store, token)
                        .await
                        .map_err(|e| e.to_string())
                }
                WorkerKind::SendStatus => send_status::run(&settings, &broker, &store, token)
                    .await
                    .map_err(|e| e.to_string()),
            }
        });
        Worker { shutdown, task }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("join")
            .expect("the worker stops cleanly");
    }
}
