//! Everything the contract crate can write, one value per variant. A variant added to a
//! contract enum stops this file from compiling until it is listed here, so no message
//! kind or enum value can escape the tests.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use contract::{
    Command, CommandBody, CommandFailed, CommandMeta, DsDossierState, DsPage, DsSync, Event,
    EventEnvelope, FailureReason, JobId, Listing, MessageId, PageFetched, SyncCompleted, SyncEnd,
    SyncProgress, WorkerKind,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// One value per variant of an enum, in a list that is also matched without a
/// wildcard: leaving a variant out is a compile error, listing one twice is an
/// unreachable-pattern warning, and each value must be the variant it is listed under.
macro_rules! every_variant {
    ($enum:ident { $($variant:ident),+ $(,)? }) => {
        every_variant!($enum { $($variant => $enum::$variant),+ })
    };
    ($enum:ident { $($variant:ident => $value:expr),+ $(,)? }) => {{
        let values: Vec<$enum> = vec![$({
            let value = $value;
            assert!(
                matches!(value, $enum::$variant { .. }),
                concat!("the value listed under ", stringify!($variant), " is another variant"),
            );
            value
        }),+];
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
    /// Every `Option` is `None`: the fields the code always writes.
    Sparse,
    /// Every `Option` is `Some`: every field the code can write.
    Full,
}

impl Fill {
    fn option<T>(self, value: T) -> Option<T> {
        match self {
            Fill::Sparse => None,
            Fill::Full => Some(value),
        }
    }
}

/// One command of each kind.
pub(crate) fn commands(fill: Fill) -> Vec<Command> {
    let job_id = job();
    let bodies = every_variant!(CommandBody {
        DsSync => CommandBody::DsSync(DsSync {
            demarche: demarche(),
            updated_since: fill.option(instant()),
            state: fill.option(DsDossierState::EnInstruction),
        }),
        DsPage => CommandBody::DsPage(DsPage {
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

/// One event of each type.
pub(crate) fn events(fill: Fill) -> Vec<EventEnvelope> {
    let events = every_variant!(Event {
        PageFetched => Event::PageFetched(PageFetched {
            connection: "sandbox".to_owned(),
            demarche: demarche(),
            listing: Listing::Dossiers,
            page: 0,
            record_count: 1,
            records: vec![json!({"number": 120001, "state": "en_construction"})],
            has_next_page: true,
        }),
        SyncCompleted => Event::SyncCompleted(SyncCompleted {
            connection: "sandbox".to_owned(),
            demarche: demarche(),
            pages: 25,
            records: 2350,
            deleted_records: 40,
            pending_deleted_records: 12,
            elapsed_ms: 48_120,
            resume_point: instant(),
            end: SyncEnd::Exhausted,
        }),
        CommandFailed => Event::CommandFailed(CommandFailed {
            command_kind: fill.option("ds.sync".to_owned()),
            command_id: fill.option(MessageId::job_start(job())),
            reason: FailureReason::UpstreamForbidden,
            code: fill.option("forbidden".to_owned()),
            message: "http 403 Forbidden: refused".to_owned(),
        }),
    });
    events
        .into_iter()
        .map(|event| {
            let message_id = MessageId::for_job(job(), event.type_name());
            EventEnvelope::new(fill.option(job()), message_id, event)
        })
        .collect()
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
                StalledCursor
            })),
        ),
        ("FailureReason", wire_names(failure_reasons())),
    ])
}

/// Every failure reason.
pub(crate) fn failure_reasons() -> Vec<FailureReason> {
    every_variant!(FailureReason {
        MalformedJson,
        TooLarge,
        MissingField,
        InvalidField,
        UnsupportedVersion,
        UnknownKind,
        InvalidBody,
        UnknownConnection,
        UpstreamUnauthorized,
        UpstreamForbidden,
        UpstreamBadRequest,
        UpstreamError,
        UpstreamInvalidResponse,
        UpstreamRedirect,
        UpstreamUnexpectedStatus,
        ConnectionMisconfigured,
    })
}

/// Every kind of worker, each with its own queue.
pub(crate) fn worker_kinds() -> Vec<WorkerKind> {
    every_variant!(WorkerKind { FetchPage })
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

fn instant() -> DateTime<Utc> {
    "2026-03-09T08:00:00.250Z"
        .parse()
        .expect("a valid RFC 3339 instant")
}
