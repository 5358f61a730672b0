//! A worker run in the test process for the `estafette` binary to talk to, under the
//! test's own prefix.

use contract::WorkerKind;
use testkit::RunningWorker;

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

/// A worker of one kind, running the real `run` on the settings of `env`, under their
/// prefix.
pub(crate) async fn start_worker(kind: WorkerKind, env: &[(String, String)]) -> RunningWorker {
    let settings = settings::Settings::load(None, env.to_vec()).expect("settings");
    let run = match kind {
        WorkerKind::FetchPage => testkit::worker_run!(fetch_page::run),
        WorkerKind::WriteDescriptors => testkit::worker_run!(write_descriptors::run),
        WorkerKind::SendStatus => testkit::worker_run!(send_status::run),
    };
    RunningWorker::start(settings, run).await
}
