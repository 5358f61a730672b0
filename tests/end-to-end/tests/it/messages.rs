//! The catalogue of messages: one per command kind and event type, and how each is
//! carried (AMQP type, content type, headers).

use std::collections::BTreeSet;

use contract::{
    ATTEMPT_HEADER, DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_QUEUE_HEADER, DEAD_LETTER_REASON_HEADER,
    TRACEPARENT_HEADER, TRACESTATE_HEADER,
};
use serde_json::json;

use crate::catalogue::{Fill, commands, events};
use crate::document::{Document, Message, Role};

#[test]
fn every_command_kind_has_exactly_one_message_and_no_other_command_is_documented() {
    let document = Document::load();
    let documented = names_once(document.messages_with_role(Role::Command));
    let known: BTreeSet<&str> = commands(Fill::Sparse)
        .iter()
        .map(|command| command.body.kind())
        .collect();

    assert_eq!(documented, known);
}

#[test]
fn every_event_type_has_exactly_one_message_and_no_other_event_is_documented() {
    let document = Document::load();
    let documented = names_once(document.messages_with_role(Role::Event));
    let known: BTreeSet<&str> = events(Fill::Sparse)
        .iter()
        .map(|event| event.event.type_name())
        .collect();

    assert_eq!(documented, known);
}

#[test]
fn the_dead_letter_copy_is_the_only_message_besides_commands_and_events() {
    let document = Document::load();

    let dead_letters = document.messages_with_role(Role::DeadLetter);

    assert_eq!(dead_letters.len(), 1);
    assert_eq!(dead_letters[0].name(), "dead-letter");
}

#[test]
fn every_message_is_json_with_its_name_as_amqp_type() {
    let document = Document::load();
    for message in document.messages() {
        assert_eq!(
            message.value["contentType"],
            json!("application/json"),
            "content type of `{}`",
            message.key
        );
        assert_eq!(
            message.value["bindings"]["amqp"]["messageType"],
            json!(message.name()),
            "AMQP type of `{}`",
            message.key
        );
    }
}

#[test]
fn every_message_carries_the_trace_context_headers() {
    let document = Document::load();
    for message in document.messages() {
        let headers = document.object_shape(&[message.headers()]);
        for header in [TRACEPARENT_HEADER, TRACESTATE_HEADER] {
            assert!(
                headers.properties.contains_key(header),
                "`{}` does not describe the `{header}` header",
                message.key
            );
        }
    }
}

#[test]
fn a_dead_letter_always_carries_its_reason_detail_attempt_and_queue_headers() {
    let document = Document::load();
    let message = document.message_named("dead-letter");

    let headers = document.object_shape(&[message.headers()]);

    assert_eq!(
        headers.required,
        BTreeSet::from([
            DEAD_LETTER_REASON_HEADER,
            DEAD_LETTER_DETAIL_HEADER,
            ATTEMPT_HEADER,
            DEAD_LETTER_QUEUE_HEADER,
        ])
    );
    let reason = headers.properties[DEAD_LETTER_REASON_HEADER][0];
    assert_eq!(
        document.resolve(reason),
        &document.schemas()["FailureReason"]
    );
}

/// The names of `messages`, each of which must be used once.
fn names_once(messages: Vec<Message<'_>>) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    for message in messages {
        assert!(
            names.insert(message.name()),
            "several messages are named `{}`",
            message.name()
        );
    }
    names
}
