//! The page commands the worker publishes for its own jobs fit their JSON Schemas
//! (`docs/schemas/commands/`), as producers and tools reading the queues are told.

use std::collections::HashMap;
use std::time::Duration;

use contract::{Event, WorkerKind};
use sandbox::SandboxConfig;

use crate::harness::{EVENT_GAP, spawn_app, sync_command};
use crate::offset::divalto_sync;

/// A démarche sync and a Divalto sync, with a copy of every command the worker
/// publishes through the internal exchange: each `ds.page` and `offset.page` fits the
/// schema of its kind.
#[tokio::test]
async fn every_page_command_the_worker_publishes_fits_its_schema() {
    let mut app = spawn_app(SandboxConfig::default()).await;
    let mut tap = app
        .broker
        .tap_internal_commands(WorkerKind::FetchPage)
        .await
        .expect("a copy of the internal commands");

    for command in [sync_command(None), divalto_sync(4)] {
        app.publish(&command).await;
        app.events
            .until(EVENT_GAP, |event| matches!(event, Event::SyncCompleted(_)))
            .await;
    }

    let mut kinds: HashMap<String, usize> = HashMap::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(500), tap.next()).await
    {
        let command: serde_json::Value =
            serde_json::from_slice(&message.body).expect("a command is JSON");
        testkit::assert_fits_command_schema(&command);
        let kind = command["kind"].as_str().expect("a kind").to_owned();
        *kinds.entry(kind).or_default() += 1;
    }
    assert!(
        kinds.get("ds.page").is_some_and(|pages| *pages >= 25),
        "{kinds:?}"
    );
    assert!(
        kinds.get("offset.page").is_some_and(|pages| *pages >= 10),
        "{kinds:?}"
    );
    app.shutdown().await;
}
