//! The chunk commands the worker publishes for its own jobs fit their JSON Schema
//! (`docs/schemas/commands/apidae.chunk.json`).

use std::time::Duration;

use contract::WorkerKind;
use sandbox::SandboxConfig;

use crate::harness::{delete, put, spawn_app};

/// A write and a removal of 120 objects each, with a copy of every command the worker
/// publishes through the internal exchange: each `apidae.chunk` (three per job, of at
/// most 50 objects) fits its schema.
#[tokio::test]
async fn every_chunk_command_the_worker_publishes_fits_its_schema() {
    let mut app = spawn_app(SandboxConfig::default(), &[]).await;
    let mut tap = app
        .broker
        .tap_internal_commands(WorkerKind::WriteDescriptors)
        .await
        .expect("a copy of the internal commands");
    let ids = app.known_objects(120);

    app.run(&put(&ids, "1_Schema")).await;
    app.run(&delete(&ids, &["1_Schema"])).await;

    let mut chunks = 0;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(500), tap.next()).await
    {
        let command: serde_json::Value =
            serde_json::from_slice(&message.body).expect("a command is JSON");
        testkit::assert_fits_command_schema(&command);
        assert_eq!(command["kind"], "apidae.chunk");
        chunks += 1;
    }
    assert_eq!(chunks, 6, "three chunks per job");
    app.shutdown().await;
}
