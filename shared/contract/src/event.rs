//! Events: what workers report, on the topic exchange, routed by their `type`.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    ChunkWritten, Consistency, DescriptorsWritten, DriftCounts, JOB_STEP_KINDS, JobId, Listing,
    MessageId, OffsetRange, OffsetSource, Record, SCHEMA_VERSION, StatusSent,
};

/// Every event on the wire: common fields plus the event itself, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventEnvelope {
    /// Always 1 (`SCHEMA_VERSION`) when written by this build.
    pub version: u16,
    /// The job the event belongs to; absent only for a command too broken to name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// Deterministic id: a replayed command produces events with the same ids.
    pub message_id: MessageId,
    /// The event itself.
    #[serde(flatten)]
    pub event: Event,
}

/// The events Estafette publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type")]
pub enum Event {
    /// One page of an upstream listing was read.
    #[serde(rename = "page.fetched")]
    PageFetched(PageFetched),
    /// A sync walked every page and ended.
    #[serde(rename = "sync.completed")]
    SyncCompleted(SyncCompleted),
    /// A command was refused or failed for good; it is in the dead letters.
    #[serde(rename = "command.failed")]
    CommandFailed(CommandFailed),
    /// One chunk of a descriptor job was written, or failed for good.
    #[serde(rename = "chunk.written")]
    ChunkWritten(ChunkWritten),
    /// Every chunk of a descriptor job is done.
    #[serde(rename = "descriptors.written")]
    DescriptorsWritten(DescriptorsWritten),
    /// A dossier decision was applied, or found already applied.
    #[serde(rename = "status.sent")]
    StatusSent(StatusSent),
    /// A fanned-out job stopped for good before it completed: one of its page or chunk
    /// commands failed for good, or its state was lost. It will never complete.
    #[serde(rename = "job.failed")]
    JobFailed(JobFailed),
}

/// Payload of `page.fetched`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageFetched {
    /// The connection the page was read through.
    pub connection: String,
    /// Where in the upstream the page was read.
    #[serde(flatten)]
    pub subject: PageSubject,
    /// Index of the page within the job, from 0.
    pub page: u32,
    /// Number of records in `records`.
    pub record_count: u32,
    /// The records, each the JSON value the upstream returned for it (demarches-
    /// simplifiees nodes as received, byte for byte), or the record the worker built
    /// around it (Divalto rows, Amienscope events).
    pub records: Vec<Record>,
    /// Whether this listing has another page after this one.
    pub has_next_page: bool,
}

/// Where a page was read: its fields sit beside the other `page.fetched` fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PageSubject {
    /// A page of a démarche's cursor listing.
    Ds {
        /// The démarche the page belongs to.
        demarche: NonZeroU32,
        /// Which listing the page belongs to.
        listing: Listing,
    },
    /// A page of an offset listing.
    Offset {
        /// What the job reads.
        source: OffsetSource,
        /// The first row the page asked for.
        offset: u64,
    },
}

/// Payload of `sync.completed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SyncCompleted {
    /// The connection the sync used.
    pub connection: String,
    /// What was synced, and the counts particular to its kind of source.
    #[serde(flatten)]
    pub subject: SyncSubject,
    /// Pages published in `page.fetched` events, every listing included.
    pub pages: u32,
    /// Records published in `page.fetched` events (for a démarche: its dossiers).
    pub records: u64,
    /// Milliseconds from the start of the sync to its last page.
    pub elapsed_ms: u64,
    /// Pass this as `updated_since` next time: the moment the sync started, never later.
    pub resume_point: DateTime<Utc>,
    /// Why the walk stopped.
    pub end: SyncEnd,
}

/// What a sync read: its fields sit beside the other `sync.completed` fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SyncSubject {
    /// A démarche of demarches-simplifiees.
    Ds {
        /// The démarche that was synced.
        demarche: NonZeroU32,
        /// Deleted dossiers published in `page.fetched` events.
        deleted_records: u64,
        /// Dossiers deleted by their user while `en_construction`, published in
        /// `page.fetched` events.
        pending_deleted_records: u64,
    },
    /// An offset listing.
    Offset {
        /// What the job read.
        source: Box<OffsetSource>,
        /// Records passed on as tombstones (in one of the connection's tombstone
        /// statuses), among `records`.
        tombstones: u64,
        /// Whether the listing held still while it was read: `exact` only when no
        /// guard fired and `ranges_read` covers every row from 0 to the end.
        consistency: Consistency,
        /// What the drift guards saw.
        drift: DriftCounts,
        /// Records each page asked for: the connection's `page_size`, or the server's
        /// record cap when the job found it lower.
        page_size: u32,
        /// The most records the server returns per request, when the job found it
        /// below the connection's `page_size` (and read with it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_cap: Option<u32>,
        /// The rows the pages read, as merged half-open ranges of offsets, for an
        /// auditor to check against the listing.
        ranges_read: Vec<OffsetRange>,
    },
}

/// Why a sync stopped walking.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SyncEnd {
    /// Every listing reported no next page.
    Exhausted,
    /// The upstream served the previous page again; it was not published twice.
    RepeatedPage,
    /// The upstream claimed a next page but its cursor did not move; stopped to avoid a loop.
    StalledCursor,
    /// An offset listing was still full at the job's page limit; stopped there.
    PageLimit,
}

/// Payload of `command.failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommandFailed {
    /// The failed command's `kind`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_kind: Option<String>,
    /// The failed command's id, when it had a readable one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<MessageId>,
    /// The failure class; a closed set.
    pub reason: FailureReason,
    /// The upstream's own error code, when it gave one (e.g. a GraphQL `extensions.code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A human-readable explanation; never contains a credential.
    pub message: String,
}

/// Payload of `job.failed`: the end of a job that will never publish its completion.
/// Published once per job, under the id `MessageId::for_job(job, "job.failed")`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobFailed {
    /// The connection the job used.
    pub connection: String,
    /// The command whose failure failed the job: its kind.
    pub command_kind: String,
    /// The command whose failure failed the job: its id.
    pub command_id: MessageId,
    /// Why the job failed; the same reason as that command's `command.failed`.
    pub reason: FailureReason,
    /// What happened, and what to do about it; never contains a credential.
    pub message: String,
}

/// Why a command failed for good.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FailureReason {
    /// The message was not a JSON object.
    MalformedJson,
    /// The message was larger than the limit.
    TooLarge,
    /// A required envelope field was missing.
    MissingField,
    /// An envelope field had the wrong type or form.
    InvalidField,
    /// The envelope version is not supported.
    UnsupportedVersion,
    /// The command kind is unknown.
    UnknownKind,
    /// The body did not match its kind's schema.
    InvalidBody,
    /// The command names a connection this worker does not have.
    UnknownConnection,
    /// The upstream refused the credentials (401).
    UpstreamUnauthorized,
    /// The upstream refused access (403).
    UpstreamForbidden,
    /// The upstream refused the request as malformed (400 and the like).
    UpstreamBadRequest,
    /// The upstream answered with an application-level error (GraphQL `errors`).
    UpstreamError,
    /// The upstream refused a change it could not apply: a GraphQL mutation's payload
    /// `errors` (such as a transition the dossier's state does not allow).
    UpstreamChangeRefused,
    /// The upstream checked the request, refused it whole and wrote nothing (Apidae
    /// `NO_ACTION`).
    UpstreamNoAction,
    /// The upstream's answer could not be understood.
    UpstreamInvalidResponse,
    /// The upstream answered with a redirect, which is never followed.
    UpstreamRedirect,
    /// The upstream answered with a status that has no documented meaning here (404, …).
    UpstreamUnexpectedStatus,
    /// The connection's settings cannot reach the upstream (bad base URL or token form).
    ConnectionMisconfigured,
    /// The command reads one API and the connection it names speaks another.
    ConnectionApiMismatch,
    /// Every attempt the retry budget allows failed transiently (5xx, timeouts, lost
    /// connections, 429); the message says what the last attempt met.
    RetriesExhausted,
    /// The job's shared state was missing or did not match the command (the job store
    /// lost its data, or the state expired): what the job did cannot be known, so it
    /// fails instead of reporting from partial knowledge.
    JobStateLost,
    /// The server returns fewer records per request than the job can page with: a
    /// record cap of 1 (pages must overlap by one record), or a cap found below the
    /// page size only after the job had planned its pages with it.
    ServerCapUnsupported,
    /// A page or chunk command (`ds.page`, `offset.page`, `apidae.chunk`) that did not
    /// come through the internal exchange: only workers publish those, for the jobs
    /// they started. Its job is not touched.
    InternalCommandFromOutside,
}

impl FailureReason {
    /// The reason's wire name, also used as a bounded metric label.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl EventEnvelope {
    /// Wraps an event with the current schema version.
    pub fn new(job_id: Option<JobId>, message_id: MessageId, event: Event) -> Self {
        EventEnvelope {
            version: SCHEMA_VERSION,
            job_id,
            message_id,
            event,
        }
    }

    /// The JSON form of the event.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events are plain data and always serialise")
    }

    /// The routing key on the events exchange: the event's `type`.
    pub fn routing_key(&self) -> &'static str {
        self.event.type_name()
    }
}

/// How an event ends the job it belongs to, in the words the job counters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// The job completed: a sync's `end` (`done` for other jobs) and an offset sync's
    /// `consistency` (`unchecked` for jobs that have no drift guard).
    Completed {
        /// How it ended.
        end: &'static str,
        /// What its drift guards saw.
        consistency: &'static str,
    },
    /// The job failed for good.
    Failed(FailureReason),
}

/// The `end` of a job that is not a sync: it did what it was asked.
pub const JOB_DONE: &str = "done";
/// The `consistency` of a job that has no drift guard.
pub const JOB_UNCHECKED: &str = "unchecked";

impl CommandFailed {
    /// Whether the failed command was one of a job's own page or chunk commands, whose
    /// failure `job.failed` reports for the whole job.
    pub fn is_job_step(&self) -> bool {
        self.command_kind
            .as_deref()
            .is_some_and(|kind| JOB_STEP_KINDS.contains(&kind))
    }
}

impl Event {
    /// How this event ends its job, if it does: `sync.completed`,
    /// `descriptors.written` and `status.sent` complete it; `job.failed`, and
    /// `command.failed` of the command that started it, fail it.
    pub fn job_end(&self) -> Option<JobEnd> {
        match self {
            Event::SyncCompleted(sync) => Some(JobEnd::Completed {
                end: sync.end.into(),
                consistency: match &sync.subject {
                    SyncSubject::Offset { consistency, .. } => (*consistency).into(),
                    SyncSubject::Ds { .. } => JOB_UNCHECKED,
                },
            }),
            Event::DescriptorsWritten(_) | Event::StatusSent(_) => Some(JobEnd::Completed {
                end: JOB_DONE,
                consistency: JOB_UNCHECKED,
            }),
            Event::JobFailed(failed) => Some(JobEnd::Failed(failed.reason)),
            Event::CommandFailed(failed)
                if failed.command_kind.is_some() && !failed.is_job_step() =>
            {
                Some(JobEnd::Failed(failed.reason))
            }
            Event::PageFetched(_) | Event::CommandFailed(_) | Event::ChunkWritten(_) => None,
        }
    }

    /// The `type` string of the event, also its routing key.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::PageFetched(_) => "page.fetched",
            Event::SyncCompleted(_) => "sync.completed",
            Event::CommandFailed(_) => "command.failed",
            Event::ChunkWritten(_) => "chunk.written",
            Event::DescriptorsWritten(_) => "descriptors.written",
            Event::StatusSent(_) => "status.sent",
            Event::JobFailed(_) => "job.failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;
    use strum::VariantArray as _;

    #[test]
    fn a_command_failure_ends_its_job_only_when_the_job_started_with_that_command() {
        let failed = |kind: Option<&str>| {
            Event::CommandFailed(CommandFailed {
                command_kind: kind.map(str::to_owned),
                command_id: None,
                reason: FailureReason::UpstreamForbidden,
                code: None,
                message: "no".into(),
            })
        };
        let ends = Some(JobEnd::Failed(FailureReason::UpstreamForbidden));

        assert_eq!(failed(Some("ds.sync")).job_end(), ends);
        // A page's failure is the job's through `job.failed`, reported once.
        assert_eq!(failed(Some("offset.page")).job_end(), None);
        // Unreadable: no job was started.
        assert_eq!(failed(None).job_end(), None);
    }

    #[test]
    fn every_failure_reason_names_itself_as_it_is_written_on_the_wire() {
        for reason in FailureReason::VARIANTS {
            let wire = serde_json::to_value(reason).expect("a reason serialises");
            assert_eq!(wire.as_str(), Some(reason.as_str()), "{reason:?}");
        }
        assert_eq!(
            FailureReason::InternalCommandFromOutside.as_str(),
            "internal_command_from_outside"
        );
    }

    #[test]
    fn an_event_round_trips_with_its_type_tag() {
        let job = JobId::new_random();
        let envelope = EventEnvelope::new(
            Some(job),
            MessageId::for_job(job, "sync.completed"),
            Event::CommandFailed(CommandFailed {
                command_kind: Some("ds.sync".into()),
                command_id: None,
                reason: FailureReason::UpstreamForbidden,
                code: Some("forbidden".into()),
                message: "refused".into(),
            }),
        );
        let json: serde_json::Value = serde_json::from_slice(&envelope.to_json()).expect("json");
        assert_eq!(json["type"], "command.failed");
        assert_eq!(json["reason"], "upstream_forbidden");
        let back: EventEnvelope = serde_json::from_value(json).expect("parse");
        assert_eq!(back, envelope);
    }

    #[test]
    fn offset_events_round_trip_beside_ds_events() {
        let job = JobId::new_random();
        let source = OffsetSource::Amienscope(crate::AmienscopeListing {
            updated_since: DateTime::UNIX_EPOCH,
            category: Some(4),
        });
        let events = [
            Event::PageFetched(PageFetched {
                connection: "amiens".into(),
                subject: PageSubject::Offset {
                    source: source.clone(),
                    offset: 98,
                },
                page: 2,
                record_count: 0,
                records: vec![],
                has_next_page: false,
            }),
            Event::SyncCompleted(SyncCompleted {
                connection: "amiens".into(),
                subject: SyncSubject::Offset {
                    source: Box::new(source),
                    tombstones: 3,
                    consistency: Consistency::DriftDetected,
                    drift: DriftCounts {
                        duplicate_records: 1,
                        ..DriftCounts::default()
                    },
                    page_size: 50,
                    server_cap: None,
                    ranges_read: vec![OffsetRange { from: 0, to: 120 }],
                },
                pages: 3,
                records: 120,
                elapsed_ms: 40,
                resume_point: DateTime::UNIX_EPOCH,
                end: SyncEnd::Exhausted,
            }),
            Event::PageFetched(PageFetched {
                connection: "sandbox".into(),
                subject: PageSubject::Ds {
                    demarche: NonZeroU32::new(7).expect("non-zero"),
                    listing: Listing::DeletedDossiers,
                },
                page: 1,
                record_count: 0,
                records: vec![],
                has_next_page: true,
            }),
        ];
        for event in events {
            let envelope = EventEnvelope::new(Some(job), MessageId::for_job(job, "x"), event);
            let json: serde_json::Value =
                serde_json::from_slice(&envelope.to_json()).expect("json");
            let back: EventEnvelope = serde_json::from_value(json.clone()).expect("parse");
            assert_eq!(back, envelope, "{json}");
        }
    }

    #[test]
    fn records_are_written_as_they_came_and_read_back_as_the_same_values() {
        let node = r#"{"number":9399190,"state":"en_construction","dateDerniereModification":"2024-03-01T10:15:30+01:00","labels":[{"name":"urgent"}],"champs":null}"#;
        let raw = serde_json::value::RawValue::from_string(node.to_owned()).expect("JSON");
        let job = JobId::new_random();
        let envelope = EventEnvelope::new(
            Some(job),
            MessageId::for_job(job, "page"),
            Event::PageFetched(PageFetched {
                connection: "sandbox".into(),
                subject: PageSubject::Ds {
                    demarche: NonZeroU32::new(7).expect("non-zero"),
                    listing: Listing::Dossiers,
                },
                page: 0,
                record_count: 2,
                records: vec![Record::from_raw(raw.clone()), Record::from_raw(raw)],
                has_next_page: false,
            }),
        );
        let json = String::from_utf8(envelope.to_json()).expect("utf-8");
        assert!(
            json.contains(&format!(r#""records":[{node},{node}]"#)),
            "{json}"
        );
        let back: EventEnvelope = serde_json::from_str(&json).expect("reads");
        assert_eq!(back, envelope);
        let Event::PageFetched(page) = back.event else {
            panic!("a page.fetched")
        };
        assert_eq!(page.records[1].to_value()["labels"][0]["name"], "urgent");
    }

    #[test]
    fn the_reason_label_is_its_wire_name() {
        for reason in [
            FailureReason::MalformedJson,
            FailureReason::UpstreamUnexpectedStatus,
        ] {
            assert_eq!(serde_json::to_value(reason).expect("json"), reason.as_str());
        }
    }

    #[test]
    fn the_routing_key_is_the_type_name() {
        let event = Event::SyncCompleted(SyncCompleted {
            connection: "sandbox".into(),
            subject: SyncSubject::Ds {
                demarche: NonZeroU32::new(1).expect("non-zero"),
                deleted_records: 0,
                pending_deleted_records: 0,
            },
            pages: 1,
            records: 2,
            elapsed_ms: 5,
            resume_point: Utc::now(),
            end: SyncEnd::Exhausted,
        });
        let envelope = EventEnvelope::new(None, MessageId(uuid::Uuid::nil()), event);
        assert_eq!(envelope.routing_key(), "sync.completed");
    }
}
