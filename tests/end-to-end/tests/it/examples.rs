//! The examples: each one is read by the contract's own parsers and written back
//! unchanged, so field names, enum spellings and optional fields agree with the code.

use contract::{
    Command, CommandBody, DEAD_LETTER_REASON_HEADER, Event, EventEnvelope, FailureReason,
    MessageId, PageSubject,
};
use serde_json::Value;

use crate::catalogue::{command_json, event_json};
use crate::document::{Document, Role};

#[test]
fn every_message_has_an_example() {
    let document = Document::load();
    for message in document.messages() {
        assert!(
            !message.examples().is_empty(),
            "`{}` has no example",
            message.key
        );
    }
}

#[test]
fn every_command_example_parses_and_serialises_back_to_itself() {
    let document = Document::load();
    for message in document.messages_with_role(Role::Command) {
        for (example, _, payload) in message.examples() {
            let command = parse_command(payload, example);

            assert_eq!(command.body.kind(), message.name(), "kind of `{example}`");
            assert_eq!(&command_json(&command), payload, "`{example}` written back");
        }
    }
}

#[test]
fn every_event_example_parses_and_serialises_back_to_itself() {
    let document = Document::load();
    for message in document.messages_with_role(Role::Event) {
        for (example, _, payload) in message.examples() {
            let event = parse_event(payload, example);

            assert_eq!(
                event.event.type_name(),
                message.name(),
                "type of `{example}`"
            );
            assert_eq!(&event_json(&event), payload, "`{example}` written back");
        }
    }
}

#[test]
fn every_dead_letter_example_holds_a_readable_command_and_a_known_reason() {
    let document = Document::load();
    for message in document.messages_with_role(Role::DeadLetter) {
        for (example, headers, payload) in message.examples() {
            let command = parse_command(payload, example);
            let reason: Result<FailureReason, _> =
                serde_json::from_value(headers[DEAD_LETTER_REASON_HEADER].clone());

            assert_eq!(&command_json(&command), payload, "`{example}` written back");
            assert!(reason.is_ok(), "reason header of `{example}`: {reason:?}");
        }
    }
}

#[test]
fn every_example_message_id_is_the_one_the_code_derives() {
    let document = Document::load();
    for message in document.messages_with_role(Role::Command) {
        for (example, _, payload) in message.examples() {
            let command = parse_command(payload, example);
            let expected = match &command.body {
                CommandBody::DsSync(_)
                | CommandBody::DivaltoSync(_)
                | CommandBody::AmienscopeSync(_)
                | CommandBody::ApidaePut(_)
                | CommandBody::ApidaeDelete(_)
                | CommandBody::DsStatus(_) => MessageId::job_start(command.meta.job_id),
                CommandBody::DsPage(page) => {
                    MessageId::for_job(command.meta.job_id, &format!("page/{}", page.page))
                }
                CommandBody::OffsetPage(page) => {
                    MessageId::for_job(command.meta.job_id, &format!("offset/{}", page.offset))
                }
                CommandBody::ApidaeChunk(chunk) => {
                    MessageId::for_job(command.meta.job_id, &format!("chunk/{}", chunk.chunk))
                }
            };

            assert_eq!(
                command.meta.message_id, expected,
                "message id of `{example}`"
            );
        }
    }
    for message in document.messages_with_role(Role::Event) {
        for (example, _, payload) in message.examples() {
            let envelope = parse_event(payload, example);
            let job = || envelope.job_id.expect("a job's event names its job");
            let expected = match &envelope.event {
                Event::PageFetched(page) => match &page.subject {
                    PageSubject::Ds { .. } => {
                        MessageId::for_job(job(), &format!("page.fetched/{}", page.page))
                    }
                    PageSubject::Offset { offset, .. } => {
                        MessageId::for_job(job(), &format!("page.fetched/{offset}"))
                    }
                },
                Event::SyncCompleted(_) => MessageId::for_job(job(), "sync.completed"),
                Event::CommandFailed(failed) => failed
                    .command_id
                    .expect("the example names its failed command")
                    .caused_by("command.failed"),
                Event::ChunkWritten(written) => {
                    MessageId::for_job(job(), &format!("chunk.written/{}", written.result.chunk))
                }
                Event::DescriptorsWritten(_) => MessageId::for_job(job(), "descriptors.written"),
                // The examples' `ds.status` commands start their jobs.
                Event::StatusSent(_) => MessageId::job_start(job()).caused_by("status.sent"),
                Event::JobFailed(_) => MessageId::for_job(job(), "job.failed"),
            };

            assert_eq!(envelope.message_id, expected, "message id of `{example}`");
        }
    }
}

fn parse_command(payload: &Value, example: &str) -> Command {
    let bytes = serde_json::to_vec(payload).expect("a JSON value serialises");
    Command::from_json(&bytes)
        .unwrap_or_else(|rejection| panic!("example `{example}` is refused: {rejection}"))
}

fn parse_event(payload: &Value, example: &str) -> EventEnvelope {
    serde_json::from_value(payload.clone())
        .unwrap_or_else(|error| panic!("example `{example}` does not parse: {error}"))
}
