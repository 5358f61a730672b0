//! Everything the contract crate can write, one value per variant. A variant added to a
//! contract enum stops this file from compiling until it is listed here, so no message
//! kind or enum value can escape the tests.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use contract::{
    AmienscopeListing, AmienscopeSync, ApidaeChunk, ApidaeDelete, ApidaePut, ChunkFailure,
    ChunkResult, ChunkWritten, Command, CommandBody, CommandFailed, CommandMeta, Consistency,
    CorrectionReason, Descriptor, DescriptorOperation, DescriptorWrite, DescriptorsWritten,
    DivaltoQuery, DivaltoSync, DivaltoWhere, DossierRef, DriftCounts, DsDossierState, DsPage,
    DsStatus, DsSync, Event, EventEnvelope, FailureReason, JobFailed, JobId, Listing, MessageId,
    ObjectDescriptors, ObjectRemovals, OffsetPage, OffsetRange, OffsetSource, PageFetched,
    PageSubject, StatusAction, StatusSent, SyncCompleted, SyncEnd, SyncProgress, SyncSubject,
    WorkerKind,
};
use serde::Serialize;
use serde_json::{Value, json};
use strum::VariantArray as _;
use uuid::Uuid;

/// Every variant of an enum with the values listed under it (an array, or any other
/// iterable), in a list that is also matched without a wildcard: leaving a variant out
/// is a compile error, listing one twice is an unreachable-pattern warning, listing no
/// value under one is a panic, and each value must be the variant it is listed under.
macro_rules! every_variant {
    ($enum:ident { $($variant:ident),+ $(,)? }) => {
        every_variant!($enum { $($variant => [$enum::$variant]),+ })
    };
    ($enum:ident { $($variant:ident => $values:expr),+ $(,)? }) => {{
        let mut values: Vec<$enum> = Vec::new();
        $(
            let listed_before = values.len();
            for value in $values {
                assert!(
                    matches!(value, $enum::$variant { .. }),
                    concat!("a value listed under ", stringify!($variant), " is another variant"),
                );
                values.push(value);
            }
            assert!(
                values.len() > listed_before,
                concat!("no value is listed under ", stringify!($variant)),
            );
        )+
        for value in &values {
            match value {
                $($enum::$variant { .. } => {})+
            }
        }
        values
    }};
}

/// Whether optional fields are left out or all filled in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fill {
    /// Every `Option` is `None` and every skippable list empty: the fields the code
    /// always writes.
    Sparse,
    /// Every `Option` is `Some` and every list filled: every field the code can write.
    Full,
}

impl Fill {
    fn option<T>(self, value: T) -> Option<T> {
        match self {
            Fill::Sparse => None,
            Fill::Full => Some(value),
        }
    }

    fn list<T>(self, values: impl IntoIterator<Item = T>) -> Vec<T> {
        self.option(values.into_iter().collect())
            .unwrap_or_default()
    }
}

/// One command of each kind; one `offset.page` per offset source.
pub(crate) fn commands(fill: Fill) -> Vec<Command> {
    let job_id = job();
    let bodies = every_variant!(CommandBody {
        DsSync => [CommandBody::DsSync(DsSync {
            demarche: demarche(),
            updated_since: fill.option(instant()),
            state: fill.option(DsDossierState::EnInstruction),
        })],
        DsPage => [CommandBody::DsPage(DsPage {
            demarche: demarche(),
            updated_since: fill.option(instant()),
            state: fill.option(DsDossierState::Accepte),
            listing: Listing::DeletedDossiers,
            page: 7,
            after: fill.option("cursor".to_owned()),
            started_at: instant(),
            progress: SyncProgress {
                pages: 7,
                records: 650,
                deleted_records: 0,
                pending_deleted_records: 0,
                stopped_early: fill.option(SyncEnd::RepeatedPage),
            },
            previous_page: fill.option("120601..120650/50".to_owned()),
        })],
        DivaltoSync => [CommandBody::DivaltoSync(DivaltoSync {
            query: divalto_query(fill),
            window: fill.option(window()),
        })],
        AmienscopeSync => [CommandBody::AmienscopeSync(AmienscopeSync {
            updated_since: fill.option(instant()),
            category: fill.option(4),
            window: fill.option(window()),
        })],
        OffsetPage => offset_sources(fill).into_iter().map(|source| {
            CommandBody::OffsetPage(OffsetPage {
                source,
                page: 3,
                offset: OffsetPage::offset_of(3, 50),
                limit: 50,
                window: 8,
                max_pages: 2000,
                started_at: instant(),
            })
        }),
        ApidaePut => [CommandBody::ApidaePut(ApidaePut {
            objects: vec![object_descriptors()],
        })],
        ApidaeDelete => [CommandBody::ApidaeDelete(ApidaeDelete {
            objects: vec![object_removals()],
        })],
        ApidaeChunk => descriptor_writes().into_iter().map(|write| {
            CommandBody::ApidaeChunk(ApidaeChunk {
                chunk: 1,
                chunks: 2,
                job_objects: 51,
                started_at: instant(),
                write,
            })
        }),
        DsStatus => dossier_refs().into_iter().flat_map(|dossier| {
            status_actions(fill).into_iter().map(move |action| {
                CommandBody::DsStatus(DsStatus {
                    dossier: dossier.clone(),
                    instructeur: "SW5zdHJ1Y3RldXItNDIx".to_owned(),
                    action,
                })
            })
        }),
    });
    bodies
        .into_iter()
        .map(|body| Command {
            meta: CommandMeta {
                job_id,
                message_id: MessageId::for_job(job_id, body.kind()),
                connection: "sandbox".to_owned(),
            },
            body,
        })
        .collect()
}

/// One event of each type; `page.fetched` and `sync.completed` once per subject, and
/// for an offset subject once per offset source; the descriptor events once per
/// operation, `status.sent` once per way of naming a dossier.
pub(crate) fn events(fill: Fill) -> Vec<EventEnvelope> {
    let events = every_variant!(Event {
        PageFetched => page_subjects(fill).into_iter().map(page_fetched),
        SyncCompleted => sync_subjects(fill).into_iter().map(sync_completed),
        CommandFailed => [Event::CommandFailed(CommandFailed {
            command_kind: fill.option("ds.sync".to_owned()),
            command_id: fill.option(MessageId::job_start(job())),
            reason: FailureReason::UpstreamForbidden,
            code: fill.option("forbidden".to_owned()),
            message: "http 403 Forbidden: refused".to_owned(),
        })],
        ChunkWritten => descriptor_operations().into_iter().map(|operation| {
            Event::ChunkWritten(ChunkWritten {
                connection: "apidae".to_owned(),
                operation,
                chunks: 2,
                result: chunk_result(fill),
            })
        }),
        DescriptorsWritten => descriptor_operations().into_iter().map(|operation| {
            Event::DescriptorsWritten(DescriptorsWritten {
                connection: "apidae".to_owned(),
                operation,
                objects: 51,
                updated: 49,
                not_reported: 1,
                failed_chunks: 1,
                chunks: vec![chunk_result(fill)],
            })
        }),
        StatusSent => dossier_refs().into_iter().map(|dossier| {
            Event::StatusSent(StatusSent {
                connection: "sandbox".to_owned(),
                dossier,
                action: "send_message".to_owned(),
                already_applied: false,
                state: fill.option(DsDossierState::EnConstruction),
                message: fill.option("Q29tbWVudGFpcmUtOTg3NjU0".to_owned()),
            })
        }),
        JobFailed => [Event::JobFailed(JobFailed {
            connection: "sandbox_divalto".to_owned(),
            command_kind: "offset.page".to_owned(),
            command_id: MessageId::for_job(job(), "offset/9"),
            reason: FailureReason::JobStateLost,
            message: "the state of the job is lost".to_owned(),
        })],
    });
    events
        .into_iter()
        .map(|event| {
            let message_id = MessageId::for_job(job(), event.type_name());
            EventEnvelope::new(fill.option(job()), message_id, event)
        })
        .collect()
}

/// Both descriptor writes, one object each.
fn descriptor_writes() -> Vec<DescriptorWrite> {
    every_variant!(DescriptorWrite {
        Put => [DescriptorWrite::Put {
            objects: vec![object_descriptors()],
        }],
        Delete => [DescriptorWrite::Delete {
            objects: vec![object_removals()],
        }],
    })
}

fn descriptor_operations() -> Vec<DescriptorOperation> {
    every_variant!(DescriptorOperation { Put, Delete })
}

fn object_descriptors() -> ObjectDescriptors {
    ObjectDescriptors {
        id: 111_111,
        descriptors: vec![Descriptor {
            technical_name: "horaires_ete".to_owned(),
            texts: BTreeMap::from([
                ("fr".to_owned(), "Ouvert tous les jours.".to_owned()),
                ("en".to_owned(), "Open daily.".to_owned()),
            ]),
        }],
    }
}

fn object_removals() -> ObjectRemovals {
    ObjectRemovals {
        id: 111_111,
        technical_names: vec!["horaires_ete".to_owned()],
    }
}

/// What a chunk did; filled in, it names a failure too.
fn chunk_result(fill: Fill) -> ChunkResult {
    ChunkResult {
        chunk: 1,
        updated: vec![111_111],
        not_reported: vec![222_222],
        failure: fill.option(ChunkFailure {
            reason: FailureReason::UpstreamForbidden,
            code: fill.option("ECRITURE_FORBIDDEN".to_owned()),
            message: "droits insuffisants".to_owned(),
        }),
    }
}

/// Both ways of naming a dossier.
fn dossier_refs() -> Vec<DossierRef> {
    every_variant!(DossierRef {
        Number => [DossierRef::Number(
            NonZeroU32::new(120_305).expect("120305 is not zero")
        )],
        Id => [DossierRef::Id("RG9zc2llci0xMjAzMDU=".to_owned())],
    })
}

/// Every decision about a dossier.
fn status_actions(fill: Fill) -> Vec<StatusAction> {
    let motivation = || "Pièces justificatives manquantes.".to_owned();
    let blob = || "eyJfcmFpbHMiOnsiZGF0YSI6NDJ9fQ==--f3a1".to_owned();
    every_variant!(StatusAction {
        PassToInstruction => [StatusAction::PassToInstruction {
            disable_notification: false,
        }],
        Accept => [StatusAction::Accept {
            motivation: fill.option(motivation()),
            justificatif: fill.option(blob()),
            disable_notification: true,
        }],
        Refuse => [StatusAction::Refuse {
            motivation: motivation(),
            justificatif: fill.option(blob()),
            disable_notification: false,
        }],
        ClassifyWithoutFollowUp => [StatusAction::ClassifyWithoutFollowUp {
            motivation: motivation(),
            justificatif: fill.option(blob()),
            disable_notification: false,
        }],
        BackToInstruction => [StatusAction::BackToInstruction {
            disable_notification: false,
        }],
        BackToConstruction => [StatusAction::BackToConstruction {
            disable_notification: true,
        }],
        SendMessage => [StatusAction::SendMessage {
            body: "Merci de joindre le RIB de l'association.".to_owned(),
            attachment: fill.option(blob()),
            correction: fill.option(CorrectionReason::Incomplete),
        }],
        AddLabel => [StatusAction::AddLabel {
            label: "TGFiZWwtNTAy".to_owned(),
        }],
        RemoveLabel => [StatusAction::RemoveLabel {
            label: "TGFiZWwtNTAy".to_owned(),
        }],
    })
}

/// Every offset source: one query of each API.
fn offset_sources(fill: Fill) -> Vec<OffsetSource> {
    every_variant!(OffsetSource {
        Divalto => [OffsetSource::Divalto(divalto_query(fill))],
        Amienscope => [OffsetSource::Amienscope(AmienscopeListing {
            updated_since: instant(),
            category: fill.option(4),
        })],
    })
}

fn divalto_query(fill: Fill) -> DivaltoQuery {
    DivaltoQuery {
        dhoq: "gtrsart.dhoq".to_owned(),
        recordsql: "Article".to_owned(),
        id_field: "ART_ID".to_owned(),
        fields: fill.list(["ART_ID", "REF", "DES"].map(str::to_owned)),
        orderby: fill.option("Par_Ref".to_owned()),
        where_clause: fill.option(DivaltoWhere {
            name: "Par_Famille".to_owned(),
            parameters: "FAM=VIS".to_owned(),
        }),
    }
}

/// Every place a page can be read from.
fn page_subjects(fill: Fill) -> Vec<PageSubject> {
    every_variant!(PageSubject {
        Ds => [PageSubject::Ds {
            demarche: demarche(),
            listing: Listing::Dossiers,
        }],
        Offset => offset_sources(fill)
            .into_iter()
            .map(|source| PageSubject::Offset {
                source,
                offset: OffsetPage::offset_of(3, 50),
            }),
    })
}

/// A `page.fetched` holding records of the shape its subject's source publishes.
fn page_fetched(subject: PageSubject) -> Event {
    let records = match &subject {
        PageSubject::Ds { .. } => vec![json!({"number": 120001, "state": "en_construction"})],
        PageSubject::Offset { source, .. } => offset_records(source),
    };
    Event::PageFetched(PageFetched {
        connection: "sandbox".to_owned(),
        subject,
        page: 3,
        record_count: u32::try_from(records.len()).expect("a handful of records"),
        records: records
            .iter()
            .map(|record| contract::Record::of(record).expect("serialises"))
            .collect(),
        has_next_page: true,
    })
}

/// Records as fetch-page publishes them for each offset source.
fn offset_records(source: &OffsetSource) -> Vec<Value> {
    match source {
        OffsetSource::Divalto(_) => vec![json!({
            "id": "1042",
            "fields": {"ART_ID": "1042", "REF": "VIS-M6-40", "DES": "Vis M6x40"},
        })],
        OffsetSource::Amienscope(_) => vec![
            json!({
                "id": "1234",
                "status": "published",
                "tombstone": false,
                "event": {"id": 1234, "event_status_id": 2, "visit_count": 57},
            }),
            json!({
                "id": "1240",
                "status": "deleted",
                "tombstone": true,
                "event": {"id": 1240, "event_status_id": 5},
            }),
        ],
    }
}

/// Every kind of thing a sync can have read.
fn sync_subjects(fill: Fill) -> Vec<SyncSubject> {
    let drift = DriftCounts {
        duplicate_records: 1,
        shifted_boundaries: 2,
        pages_past_end: 0,
        oversized_pages: 0,
        repeated_pages: 0,
        unread_gaps: 0,
    };
    every_variant!(SyncSubject {
        Ds => [SyncSubject::Ds {
            demarche: demarche(),
            deleted_records: 40,
            pending_deleted_records: 12,
        }],
        Offset => offset_sources(fill)
            .into_iter()
            .map(|source| SyncSubject::Offset {
                source: Box::new(source),
                tombstones: 7,
                consistency: drift.consistency(),
                drift,
                page_size: 500,
                server_cap: fill.option(500),
                ranges_read: vec![OffsetRange { from: 0, to: 2350 }],
            }),
    })
}

fn sync_completed(subject: SyncSubject) -> Event {
    Event::SyncCompleted(SyncCompleted {
        connection: "sandbox".to_owned(),
        subject,
        pages: 25,
        records: 2350,
        elapsed_ms: 48_120,
        resume_point: instant(),
        end: SyncEnd::Exhausted,
    })
}

/// Every enum the contract writes, by the name its schema has in the document, with
/// the wire name of each of its variants.
pub(crate) fn enums() -> BTreeMap<&'static str, Vec<String>> {
    BTreeMap::from([
        (
            "Listing",
            wire_names(every_variant!(Listing {
                Dossiers,
                DeletedDossiers,
                PendingDeletedDossiers
            })),
        ),
        (
            "DsDossierState",
            wire_names(every_variant!(DsDossierState {
                EnConstruction,
                EnInstruction,
                Accepte,
                Refuse,
                SansSuite,
            })),
        ),
        (
            "SyncEnd",
            wire_names(every_variant!(SyncEnd {
                Exhausted,
                RepeatedPage,
                StalledCursor,
                PageLimit,
            })),
        ),
        (
            "Consistency",
            wire_names(every_variant!(Consistency {
                Exact,
                DriftDetected
            })),
        ),
        ("DescriptorOperation", wire_names(descriptor_operations())),
        (
            "CorrectionReason",
            wire_names(every_variant!(CorrectionReason {
                Incomplete,
                Incorrect,
                Outdated,
            })),
        ),
        (
            "StatusActionType",
            status_actions(Fill::Sparse)
                .iter()
                .map(|action| action.name().to_owned())
                .collect(),
        ),
        ("FailureReason", wire_names(failure_reasons())),
    ])
}

/// Every failure reason.
pub(crate) fn failure_reasons() -> Vec<FailureReason> {
    FailureReason::VARIANTS.to_vec()
}

/// Every kind of worker, each with its own queue.
pub(crate) fn worker_kinds() -> Vec<WorkerKind> {
    WorkerKind::VARIANTS.to_vec()
}

/// The JSON text of a command, as a value.
pub(crate) fn command_json(command: &Command) -> Value {
    serde_json::from_slice(&command.to_json()).expect("a command serialises to JSON")
}

/// The JSON of an event, as a value.
pub(crate) fn event_json(event: &EventEnvelope) -> Value {
    serde_json::from_slice(&event.to_json()).expect("an event serialises to JSON")
}

fn wire_names<T: Serialize>(values: Vec<T>) -> Vec<String> {
    values
        .iter()
        .map(|value| match serde_json::to_value(value) {
            Ok(Value::String(name)) => name,
            other => panic!("a unit variant serialises to a string, not {other:?}"),
        })
        .collect()
}

fn job() -> JobId {
    JobId(Uuid::from_u128(0x3f6c_2a9e_8b41_4d7a_9c15_2e7f_0b5d_8a63))
}

fn demarche() -> NonZeroU32 {
    NonZeroU32::new(4242).expect("4242 is not zero")
}

fn window() -> NonZeroU32 {
    NonZeroU32::new(8).expect("8 is not zero")
}

fn instant() -> DateTime<Utc> {
    "2026-03-09T08:00:00.250Z"
        .parse()
        .expect("a valid RFC 3339 instant")
}
