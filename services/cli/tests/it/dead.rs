//! `estafette dead` against a dead letter a real write-descriptors worker made.

use std::process::{Command, Output};
use std::time::Duration;

use broker::{Broker, dead_letter_queue::DeadLetter};
use contract::{ApidaePut, CommandBody, Descriptor, ObjectDescriptors, WorkerKind};
use serde_json::Value;

use crate::worker::start_worker;

/// Longest wait for the worker to dead-letter a command.
const DEAD_LETTER_WITHIN: Duration = Duration::from_secs(20);

/// Runs `estafette dead <args>` under the test's settings.
async fn dead(env: &[(String, String)], args: &[&str]) -> Output {
    let env = env.to_vec();
    let args: Vec<String> = std::iter::once("dead")
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_estafette"))
            .args(args)
            .envs(env)
            .env_remove("RUST_LOG")
            .output()
            .expect("the estafette binary runs")
    })
    .await
    .expect("join")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "estafette failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The dead letters, once there are some.
async fn dead_letters(broker: &Broker) -> Vec<DeadLetter> {
    let deadline = tokio::time::Instant::now() + DEAD_LETTER_WITHIN;
    loop {
        let letters = testkit::dead_letter_list(broker).await;
        if !letters.is_empty() {
            return letters;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing was dead-lettered within {DEAD_LETTER_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn dead_lists_shows_replays_and_purges_what_a_worker_gave_up_on() {
    let prefix = testkit::unique_prefix();
    let env = vec![
        ("AMQP_URL".to_owned(), testkit::amqp_url()),
        ("REDIS_URL".to_owned(), testkit::redis_url()),
        ("ESTAFETTE__BROKER__PREFIX".to_owned(), prefix.clone()),
        (
            "ESTAFETTE__BROKER__QUEUE_EXPIRES_SECONDS".to_owned(),
            "600".to_owned(),
        ),
    ];
    let broker = testkit::connect(&prefix).await;
    broker
        .declare(&[WorkerKind::WriteDescriptors])
        .await
        .expect("topology");
    let worker = start_worker(WorkerKind::WriteDescriptors, &env).await;
    // No connection has this name: the worker dead-letters the command at once.
    let command = contract::Command::start_job(
        "nowhere",
        CommandBody::ApidaePut(ApidaePut {
            objects: vec![ObjectDescriptors {
                id: 100_000,
                descriptors: vec![Descriptor {
                    technical_name: "a".to_owned(),
                    texts: [("fr".to_owned(), "Texte".to_owned())].into(),
                }],
            }],
        }),
    );
    broker.publish_command(&command).await.expect("published");
    dead_letters(&broker).await;
    let id = command.meta.message_id.to_string();

    let listed = stdout(&dead(&env, &["list", "--json"]).await);
    let table = stdout(&dead(&env, &["list"]).await);
    let shown = stdout(&dead(&env, &["show", &id]).await);
    let missing = dead(&env, &["show", "no-such-id"]).await;
    let unselected = dead(&env, &["replay"]).await;
    let two_selectors = dead(&env, &["replay", "--all", "--reason", "x"]).await;

    let array: Value = serde_json::from_str(&listed).expect("one JSON array");
    let [line] = array.as_array().expect("an array").as_slice() else {
        panic!("one dead letter expected: {listed}")
    };
    assert!(line["body_bytes"].as_u64().is_some_and(|bytes| bytes > 0));
    assert_eq!(line["id"], id.as_str());
    assert_eq!(line["kind"], "apidae.put");
    assert_eq!(line["reason"], "unknown_connection");
    assert_eq!(line["routing_key"], "write-descriptors");
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains(&id), "{table}");
    assert!(table.ends_with("\n1 dead letter\n"), "{table}");
    assert!(shown.contains("unknown_connection"), "{shown}");
    assert!(shown.contains("  \"kind\": \"apidae.put\""), "{shown}");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no dead letter has the id"));
    assert_eq!(unselected.status.code(), Some(2), "a selector is required");
    assert_eq!(two_selectors.status.code(), Some(2), "one selector at most");

    let replayed = stdout(&dead(&env, &["replay", &id]).await);

    assert_eq!(replayed, "replayed 1 dead letter\n");
    // Its connection is still unknown: the worker dead-letters it again.
    let again = dead_letters(&broker).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, id);

    let purged = stdout(&dead(&env, &["purge", "--reason", "unknown_connection"]).await);
    let empty = stdout(&dead(&env, &["list"]).await);

    assert_eq!(purged, "removed 1 dead letter\n");
    assert_eq!(empty, "no dead letters\n");
    worker.stop().await;
}
