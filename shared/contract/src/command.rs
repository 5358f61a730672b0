//! Commands: what producers ask workers to do.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    AmienscopeSync, ApidaeChunk, ApidaeDelete, ApidaePut, DescriptorOperation, DescriptorWrite,
    DivaltoSync, DsStatus, JobId, MAX_CHUNK_OBJECTS, MAX_COMMAND_BYTES, MAX_WINDOW, MessageId,
    OffsetPage, OffsetSource, Rejection, RejectionKind, SCHEMA_VERSION, SyncEnd, WorkerKind,
    descriptors::{check_delete, check_put},
    offset::check_carried_size,
};

/// The kinds of the commands a worker publishes for a job it started, one per page or
/// chunk: a failure of one of them fails the whole job (`job.failed`).
pub const JOB_STEP_KINDS: [&str; 3] = ["ds.page", "offset.page", "apidae.chunk"];

/// A validated command: the envelope's metadata plus a typed body.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Who the command belongs to and which connection it uses.
    pub meta: CommandMeta,
    /// What to do.
    pub body: CommandBody,
}

/// The envelope fields every command carries.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandMeta {
    /// The job this command is part of.
    pub job_id: JobId,
    /// Deterministic id of this command.
    pub message_id: MessageId,
    /// Name of a connection configured on the worker (never a URL or a credential).
    pub connection: String,
}

/// The kind-specific part of a command. It serialises as its body alone: the envelope
/// writes the kind beside it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum CommandBody {
    /// `ds.sync`: walk every dossier of a démarche.
    DsSync(DsSync),
    /// `ds.page`: fetch one page of a démarche sync (published by the worker itself).
    DsPage(DsPage),
    /// `divalto.sync`: read every record of a Divalto RecordSql query.
    DivaltoSync(DivaltoSync),
    /// `amienscope.sync`: read every Amienscope event changed since an instant.
    AmienscopeSync(AmienscopeSync),
    /// `offset.page`: fetch one page of an offset sync (published by the worker itself).
    OffsetPage(OffsetPage),
    /// `apidae.put`: write private descriptors on any number of Apidae objects.
    ApidaePut(ApidaePut),
    /// `apidae.delete`: remove private descriptors from any number of Apidae objects.
    ApidaeDelete(ApidaeDelete),
    /// `apidae.chunk`: one call's worth of a descriptor job (published by the worker).
    ApidaeChunk(ApidaeChunk),
    /// `ds.status`: apply a decision to a demarches-simplifiees dossier.
    DsStatus(DsStatus),
}

/// Body of `ds.sync`: start a sync of one démarche on demarches-simplifiees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DsSync {
    /// The démarche number.
    pub demarche: NonZeroU32,
    /// Only dossiers updated at or after this instant (incremental sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_since: Option<DateTime<Utc>>,
    /// Only dossiers in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DsDossierState>,
}

/// Body of `ds.page`: one page of a running démarche sync. Everything the chain needs
/// travels in the message, so no worker keeps job state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DsPage {
    /// The démarche number.
    pub demarche: NonZeroU32,
    /// The sync's `updatedSince` filter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_since: Option<DateTime<Utc>>,
    /// The sync's state filter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DsDossierState>,
    /// Which connection of the démarche this page reads.
    pub listing: Listing,
    /// Index of this page within the job, counted across listings from 0.
    pub page: u32,
    /// Cursor to read after; none for the first page of a listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// When the sync started: the resume point handed out at the end.
    pub started_at: DateTime<Utc>,
    /// Counts accumulated by the pages before this one.
    pub progress: SyncProgress,
    /// Fingerprint of the previous page's records, to recognise a page served twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_page: Option<String>,
}

/// A listing of an upstream source. A démarche sync walks `dossiers`, then
/// `deleted_dossiers`, then `pending_deleted_dossiers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// `demarche.dossiers`.
    Dossiers,
    /// `demarche.deletedDossiers`.
    DeletedDossiers,
    /// `demarche.pendingDeletedDossiers`: deleted by their user while `en_construction`.
    PendingDeletedDossiers,
}

/// Counts carried along a sync chain.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct SyncProgress {
    /// Pages fetched so far, both listings included.
    pub pages: u32,
    /// Dossiers published so far.
    pub records: u64,
    /// Deleted dossiers published so far.
    pub deleted_records: u64,
    /// Pending-deleted dossiers published so far.
    #[serde(default)]
    pub pending_deleted_records: u64,
    /// Set when a listing stopped on a loop guard rather than on its last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<SyncEnd>,
}

/// A dossier state as the demarches-simplifiees API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DsDossierState {
    /// `en_construction`
    EnConstruction,
    /// `en_instruction`
    EnInstruction,
    /// `accepte`
    Accepte,
    /// `refuse`
    Refuse,
    /// `sans_suite`
    SansSuite,
}

impl CommandBody {
    /// The `kind` string written in the envelope.
    pub fn kind(&self) -> &'static str {
        match self {
            CommandBody::DsSync(_) => "ds.sync",
            CommandBody::DsPage(_) => "ds.page",
            CommandBody::DivaltoSync(_) => "divalto.sync",
            CommandBody::AmienscopeSync(_) => "amienscope.sync",
            CommandBody::OffsetPage(_) => "offset.page",
            CommandBody::ApidaePut(_) => "apidae.put",
            CommandBody::ApidaeDelete(_) => "apidae.delete",
            CommandBody::ApidaeChunk(_) => "apidae.chunk",
            CommandBody::DsStatus(_) => "ds.status",
        }
    }

    /// Whether this is one step of a fanned-out job, published by a worker for a job
    /// it started (`ds.page`, `offset.page`, `apidae.chunk`), rather than a command a
    /// producer publishes.
    pub fn is_job_step(&self) -> bool {
        JOB_STEP_KINDS.contains(&self.kind())
    }

    /// The kind of the command that started this command's job: its own kind for a
    /// start command, the start command's kind for a page or chunk of it.
    pub fn job_kind(&self) -> &'static str {
        match self {
            CommandBody::DsPage(_) => "ds.sync",
            CommandBody::OffsetPage(page) => match page.source {
                OffsetSource::Divalto(_) => "divalto.sync",
                OffsetSource::Amienscope(_) => "amienscope.sync",
            },
            CommandBody::ApidaeChunk(chunk) => match chunk.write.operation() {
                DescriptorOperation::Put => "apidae.put",
                DescriptorOperation::Delete => "apidae.delete",
            },
            start => start.kind(),
        }
    }

    /// The worker kind whose queue receives this command.
    pub fn worker(&self) -> WorkerKind {
        match self {
            CommandBody::DsSync(_)
            | CommandBody::DsPage(_)
            | CommandBody::DivaltoSync(_)
            | CommandBody::AmienscopeSync(_)
            | CommandBody::OffsetPage(_) => WorkerKind::FetchPage,
            CommandBody::ApidaePut(_)
            | CommandBody::ApidaeDelete(_)
            | CommandBody::ApidaeChunk(_) => WorkerKind::WriteDescriptors,
            CommandBody::DsStatus(_) => WorkerKind::SendStatus,
        }
    }
}

impl Command {
    /// A command that starts a new job: a fresh job id, and [`MessageId::job_start`].
    pub fn start_job(connection: impl Into<String>, body: CommandBody) -> Command {
        let job_id = JobId::new_random();
        Command {
            meta: CommandMeta {
                job_id,
                message_id: MessageId::job_start(job_id),
                connection: connection.into(),
            },
            body,
        }
    }

    /// The JSON envelope of this command.
    pub fn to_json(&self) -> Vec<u8> {
        let envelope = serde_json::json!({
            "version": SCHEMA_VERSION,
            "kind": self.body.kind(),
            "job_id": self.meta.job_id,
            "message_id": self.meta.message_id,
            "connection": self.meta.connection,
            "body": self.body,
        });
        serde_json::to_vec(&envelope).expect("a JSON value always serialises")
    }

    /// Parses and validates a command envelope. On failure the [`Rejection`] says why
    /// and carries whatever ids could be read, so the failure event can name the job.
    pub fn from_json(bytes: &[u8]) -> Result<Command, Rejection> {
        if bytes.len() > MAX_COMMAND_BYTES {
            return Err(Rejection::new(
                RejectionKind::TooLarge,
                format!(
                    "{} bytes is over the {MAX_COMMAND_BYTES} byte limit",
                    bytes.len()
                ),
            ));
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| Rejection::new(RejectionKind::MalformedJson, e.to_string()))?;
        let Value::Object(mut envelope) = value else {
            return Err(Rejection::new(
                RejectionKind::MalformedJson,
                "the envelope is not a JSON object",
            ));
        };
        let job_id = optional_uuid(&envelope, "job_id").map(JobId);
        let message_id = optional_uuid(&envelope, "message_id").map(MessageId);
        let kind = envelope
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let reject = |kind_of_problem, detail: String| {
            Rejection::new(kind_of_problem, detail).about(job_id, message_id, kind.clone())
        };

        let version = envelope.get("version").ok_or_else(|| {
            reject(
                RejectionKind::MissingField,
                "missing field `version`".into(),
            )
        })?;
        if version.as_u64() != Some(u64::from(SCHEMA_VERSION)) {
            return Err(reject(
                RejectionKind::UnsupportedVersion,
                format!(
                    "version {version} is not supported; this worker reads version {SCHEMA_VERSION}"
                ),
            ));
        }
        let meta = CommandMeta {
            job_id: job_id
                .ok_or_else(|| reject(field_problem(&envelope, "job_id"), uuid_detail("job_id")))?,
            message_id: message_id.ok_or_else(|| {
                reject(
                    field_problem(&envelope, "message_id"),
                    uuid_detail("message_id"),
                )
            })?,
            connection: match envelope.get("connection") {
                Some(Value::String(name)) if !name.is_empty() => name.clone(),
                Some(_) => {
                    return Err(reject(
                        RejectionKind::InvalidField,
                        "`connection` must be a non-empty string".into(),
                    ));
                }
                None => {
                    return Err(reject(
                        RejectionKind::MissingField,
                        "missing field `connection`".into(),
                    ));
                }
            },
        };
        let kind_name = kind.clone().ok_or_else(|| {
            reject(
                field_problem(&envelope, "kind"),
                "`kind` must be a string".into(),
            )
        })?;
        let body = envelope
            .remove("body")
            .ok_or_else(|| reject(RejectionKind::MissingField, "missing field `body`".into()))?;
        let body = match kind_name.as_str() {
            "ds.sync" => typed_body::<DsSync>(body)
                .and_then(|sync| check_demarche(sync.demarche).map(|()| sync))
                .map(CommandBody::DsSync),
            "ds.page" => typed_body::<DsPage>(body)
                .and_then(|page| check_page(&page).map(|()| page))
                .map(CommandBody::DsPage),
            "divalto.sync" => typed_body::<DivaltoSync>(body)
                .and_then(|sync| check_window(sync.window).map(|()| sync))
                .and_then(|sync| check_carried_size(&sync.query).map(|()| sync))
                .map(CommandBody::DivaltoSync),
            "amienscope.sync" => typed_body::<AmienscopeSync>(body)
                .and_then(|sync| check_window(sync.window).map(|()| sync))
                .map(CommandBody::AmienscopeSync),
            "offset.page" => typed_body::<OffsetPage>(body)
                .and_then(|page| page.check().map(|()| page))
                .map(CommandBody::OffsetPage),
            "apidae.put" => typed_body::<ApidaePut>(body)
                .and_then(|put| check_body(check_put(&put.objects, None)).map(|()| put))
                .map(CommandBody::ApidaePut),
            "apidae.delete" => typed_body::<ApidaeDelete>(body)
                .and_then(|delete| check_body(check_delete(&delete.objects, None)).map(|()| delete))
                .map(CommandBody::ApidaeDelete),
            "apidae.chunk" => typed_body::<ApidaeChunk>(body)
                .and_then(|chunk| check_chunk(&chunk).map(|()| chunk))
                .map(CommandBody::ApidaeChunk),
            "ds.status" => typed_body::<DsStatus>(body)
                .and_then(|status| status.check().map(|()| status))
                .map(CommandBody::DsStatus),
            other => {
                return Err(reject(
                    RejectionKind::UnknownKind,
                    format!("unknown command kind `{other}`"),
                ));
            }
        }
        .map_err(|detail| reject(RejectionKind::InvalidBody, detail))?;
        Ok(Command { meta, body })
    }
}

fn optional_uuid(envelope: &Map<String, Value>, field: &str) -> Option<Uuid> {
    envelope.get(field)?.as_str()?.parse().ok()
}

fn field_problem(envelope: &Map<String, Value>, field: &str) -> RejectionKind {
    if envelope.contains_key(field) {
        RejectionKind::InvalidField
    } else {
        RejectionKind::MissingField
    }
}

fn uuid_detail(field: &str) -> String {
    format!("`{field}` must be a UUID string")
}

/// The API's démarche numbers are GraphQL `Int`s: 32-bit signed.
fn check_demarche(demarche: NonZeroU32) -> Result<(), String> {
    if i32::try_from(demarche.get()).is_ok() {
        Ok(())
    } else {
        Err(format!(
            "invalid body: démarche {demarche} is above the API's largest number"
        ))
    }
}

/// A page must leave room for the index of the page after it.
fn check_page(page: &DsPage) -> Result<(), String> {
    check_demarche(page.demarche)?;
    if page.page == u32::MAX {
        return Err("invalid body: page index is at its maximum".into());
    }
    Ok(())
}

/// A window asked for by a command must fit [`MAX_WINDOW`].
fn check_window(window: Option<NonZeroU32>) -> Result<(), String> {
    match window {
        Some(window) if window.get() > MAX_WINDOW => Err(format!(
            "invalid body: window {window} is above the largest, {MAX_WINDOW}"
        )),
        _ => Ok(()),
    }
}

/// A chunk holds at most [`MAX_CHUNK_OBJECTS`] valid objects and knows its place.
fn check_chunk(chunk: &ApidaeChunk) -> Result<(), String> {
    if chunk.chunk >= chunk.chunks {
        return Err("invalid body: chunk index is not below chunks".into());
    }
    check_body(match &chunk.write {
        DescriptorWrite::Put { objects } => check_put(objects, Some(MAX_CHUNK_OBJECTS)),
        DescriptorWrite::Delete { objects } => check_delete(objects, Some(MAX_CHUNK_OBJECTS)),
    })
}

fn check_body(result: Result<(), String>) -> Result<(), String> {
    result.map_err(|problem| format!("invalid body: {problem}"))
}

/// The body as `T`; a problem names the field it is in, e.g. `objects[3].id`.
fn typed_body<T: DeserializeOwned>(body: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("invalid body: {}", e.inner())
        } else {
            format!("invalid body: {path}: {}", e.inner())
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sync_command() -> Command {
        let job_id = JobId(Uuid::from_u128(1));
        Command {
            meta: CommandMeta {
                job_id,
                message_id: MessageId::for_job(job_id, "sync"),
                connection: "sandbox".into(),
            },
            body: CommandBody::DsSync(DsSync {
                demarche: NonZeroU32::new(4242).expect("non-zero"),
                updated_since: None,
                state: Some(DsDossierState::Accepte),
            }),
        }
    }

    fn envelope_with(change: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(&sync_command().to_json()).expect("json");
        change(value.as_object_mut().expect("object"));
        serde_json::to_vec(&value).expect("json")
    }

    #[test]
    fn a_start_command_is_its_own_job_kind_and_its_worker_starts_that_kind() {
        let starts = [
            sync_command().body,
            CommandBody::ApidaeDelete(ApidaeDelete {
                objects: Vec::new(),
            }),
            CommandBody::ApidaePut(ApidaePut {
                objects: Vec::new(),
            }),
        ];
        for body in starts {
            assert_eq!(body.job_kind(), body.kind());
            assert!(body.worker().job_kinds().contains(&body.kind()), "{body:?}");
        }
    }

    #[test]
    fn a_command_survives_a_round_trip() {
        let command = sync_command();
        assert_eq!(Command::from_json(&command.to_json()), Ok(command));
    }

    #[test]
    fn each_kind_of_bad_input_is_rejected_with_its_own_reason() {
        let cases: Vec<(&str, Vec<u8>, RejectionKind)> = vec![
            (
                "not json",
                b"{not json".to_vec(),
                RejectionKind::MalformedJson,
            ),
            ("an array", b"[1,2]".to_vec(), RejectionKind::MalformedJson),
            (
                "huge",
                vec![b' '; MAX_COMMAND_BYTES + 1],
                RejectionKind::TooLarge,
            ),
            (
                "no version",
                envelope_with(|e| {
                    e.remove("version");
                }),
                RejectionKind::MissingField,
            ),
            (
                "version 2",
                envelope_with(|e| {
                    e.insert("version".into(), json!(2));
                }),
                RejectionKind::UnsupportedVersion,
            ),
            (
                "no job id",
                envelope_with(|e| {
                    e.remove("job_id");
                }),
                RejectionKind::MissingField,
            ),
            (
                "bad job id",
                envelope_with(|e| {
                    e.insert("job_id".into(), json!("nope"));
                }),
                RejectionKind::InvalidField,
            ),
            (
                "no connection",
                envelope_with(|e| {
                    e.remove("connection");
                }),
                RejectionKind::MissingField,
            ),
            (
                "empty connection",
                envelope_with(|e| {
                    e.insert("connection".into(), json!(""));
                }),
                RejectionKind::InvalidField,
            ),
            (
                "unknown kind",
                envelope_with(|e| {
                    e.insert("kind".into(), json!("ds.explode"));
                }),
                RejectionKind::UnknownKind,
            ),
            (
                "no body",
                envelope_with(|e| {
                    e.remove("body");
                }),
                RejectionKind::MissingField,
            ),
            (
                "no demarche",
                envelope_with(|e| {
                    e.insert("body".into(), json!({}));
                }),
                RejectionKind::InvalidBody,
            ),
            (
                "demarche 0",
                envelope_with(|e| {
                    e.insert("body".into(), json!({"demarche": 0}));
                }),
                RejectionKind::InvalidBody,
            ),
            (
                "demarche above the API's Int",
                envelope_with(|e| {
                    e.insert("body".into(), json!({"demarche": 3_000_000_000u64}));
                }),
                RejectionKind::InvalidBody,
            ),
            (
                "negative demarche",
                envelope_with(|e| {
                    e.insert("body".into(), json!({"demarche": -4}));
                }),
                RejectionKind::InvalidBody,
            ),
            (
                "typo in body",
                envelope_with(|e| {
                    e.insert("body".into(), json!({"demarche": 4, "updatedSince": "x"}));
                }),
                RejectionKind::InvalidBody,
            ),
            (
                "unknown state",
                envelope_with(|e| {
                    e.insert("body".into(), json!({"demarche": 4, "state": "brouillon"}));
                }),
                RejectionKind::InvalidBody,
            ),
        ];
        for (case, bytes, expected) in cases {
            let rejection = Command::from_json(&bytes).expect_err(case);
            assert_eq!(rejection.kind, expected, "{case}: {rejection}");
        }
    }

    #[test]
    fn a_page_command_at_the_last_index_is_refused() {
        let job_id = JobId(Uuid::from_u128(1));
        let page = DsPage {
            demarche: NonZeroU32::new(4242).expect("non-zero"),
            updated_since: None,
            state: None,
            listing: Listing::Dossiers,
            page: u32::MAX,
            after: None,
            started_at: chrono::Utc::now(),
            progress: SyncProgress::default(),
            previous_page: None,
        };
        let command = Command {
            meta: CommandMeta {
                job_id,
                message_id: MessageId::for_job(job_id, "page/x"),
                connection: "sandbox".into(),
            },
            body: CommandBody::DsPage(page),
        };
        let rejection = Command::from_json(&command.to_json()).expect_err("no next index");
        assert_eq!(rejection.kind, RejectionKind::InvalidBody);
    }

    #[test]
    fn a_rejection_keeps_the_ids_it_could_read() {
        let bytes = envelope_with(|e| {
            e.insert("kind".into(), json!("ds.explode"));
        });
        let rejection = Command::from_json(&bytes).expect_err("unknown kind");
        let command = sync_command();
        assert_eq!(rejection.job_id, Some(command.meta.job_id));
        assert_eq!(rejection.message_id, Some(command.meta.message_id));
        assert_eq!(rejection.command_kind.as_deref(), Some("ds.explode"));
    }
}
