//! JSON Schemas (draft 2020-12) of every command and of the event envelope, generated
//! from the types, for producers and consumers written in other languages.
//! `docs/schemas/` holds them; a test fails when the files and the types disagree
//! (`ESTAFETTE_WRITE_SCHEMAS=1 cargo test -p contract --test schemas` rewrites them).
//!
//! A schema says what a message looks like, not every rule a worker applies: the
//! bounds a worker checks besides (a démarche number up to `i32::MAX`, a query of at
//! most 16 KiB, a window of at most 1,000, a command of at most 4 MiB) are in
//! `Command::from_json`, which `estafette sync|write|status --dry-run` runs on the
//! commands that start a job.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use crate::{
    AmienscopeSync, ApidaeChunk, ApidaeDelete, ApidaePut, DivaltoSync, DsPage, DsStatus, DsSync,
    EventEnvelope, OffsetPage, SCHEMA_VERSION,
};

/// The dialect every schema declares.
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// One schema file: its path under `docs/schemas/`, and its content.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaFile {
    /// `commands/<kind>.json`, or `event.json`.
    pub path: String,
    /// The schema.
    pub schema: Value,
}

/// Every schema file: one per command kind, and one for every event.
pub fn schema_files() -> Vec<SchemaFile> {
    vec![
        command::<DsSync>("ds.sync"),
        command::<DsPage>("ds.page"),
        command::<DivaltoSync>("divalto.sync"),
        command::<AmienscopeSync>("amienscope.sync"),
        command::<OffsetPage>("offset.page"),
        command::<ApidaePut>("apidae.put"),
        command::<ApidaeDelete>("apidae.delete"),
        command::<ApidaeChunk>("apidae.chunk"),
        command::<DsStatus>("ds.status"),
        event(),
    ]
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12().into_generator()
}

/// The envelope of a `kind` command whose body is a `B`.
fn command<B: JsonSchema>(kind: &str) -> SchemaFile {
    let mut generator = generator();
    let body = generator.subschema_for::<B>();
    let definitions = generator.take_definitions(true);
    let mut schema = json!({
        "$schema": DIALECT,
        "title": format!("{kind} command"),
        "description": format!(
            "The envelope of a `{kind}` command, and its body. Published with the AMQP \
             properties content_type application/json, delivery_mode 2, message_id equal \
             to the envelope's message_id and type `{kind}`."
        ),
        "type": "object",
        "required": ["version", "kind", "job_id", "message_id", "connection", "body"],
        "properties": {
            "version": {"const": SCHEMA_VERSION},
            "kind": {"const": kind},
            "job_id": {
                "description": "The job this command is part of: a fresh UUID for each new job.",
                "type": "string",
                "format": "uuid"
            },
            "message_id": {
                "description": "UUIDv5 in the namespace 5e7af3e7-0c4b-4d0e-9a3f-2b1d6c8ea001 over the job id's 16 bytes followed by `start` for a command that starts a job (the AsyncAPI document lists the other labels).",
                "type": "string",
                "format": "uuid"
            },
            "connection": {
                "description": "The name of a connection in the workers' settings (never a URL or a credential).",
                "type": "string",
                "minLength": 1
            },
            "body": body
        }
    });
    if !definitions.is_empty() {
        schema["$defs"] = Value::Object(definitions);
    }
    SchemaFile {
        path: format!("commands/{kind}.json"),
        schema,
    }
}

/// The envelope of every event, one alternative per event `type`.
fn event() -> SchemaFile {
    let mut schema = generator()
        .into_root_schema_for::<EventEnvelope>()
        .to_value();
    schema["title"] = json!("event");
    SchemaFile {
        path: "event.json".to_owned(),
        schema,
    }
}
