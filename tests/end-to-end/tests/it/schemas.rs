//! Every command and event message of the AsyncAPI document names its JSON Schema,
//! and every example in the document fits it.

use std::path::Path;

use serde_json::Value;

use crate::document::{Document, Role, as_str};

const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs");

fn compiled(relative: &str) -> jsonschema::Validator {
    let path = Path::new(SCHEMAS).join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{} is readable: {error}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("a schema is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|error| panic!("{relative} compiles: {error}"))
}

#[test]
fn every_example_fits_the_json_schema_its_message_names() {
    let document = Document::load();
    let mut checked = 0;
    for message in document.messages() {
        let expected = match message.role() {
            Role::Command => format!("schemas/commands/{}.json", message.name()),
            Role::Event => "schemas/event.json".to_owned(),
            Role::DeadLetter => continue,
        };
        let named = as_str(&message.value["x-json-schema"], message.key);
        assert_eq!(named, expected, "message `{}`", message.key);
        let validator = compiled(named);
        let examples = message.examples();
        assert!(
            !examples.is_empty(),
            "message `{}` has no example",
            message.key
        );
        for (name, _headers, payload) in examples {
            let problems: Vec<String> = validator
                .iter_errors(payload)
                .map(|error| format!("{error} at {}", error.instance_path))
                .collect();
            assert!(
                problems.is_empty(),
                "example `{name}` of `{}` does not fit {named}: {problems:?}",
                message.key
            );
            checked += 1;
        }
    }
    assert!(checked >= 16, "only {checked} examples checked");
}

#[test]
fn a_command_that_breaks_its_schema_is_caught() {
    let validator = compiled("schemas/commands/ds.sync.json");
    let mut command: Value = serde_json::from_slice(
        &contract::Command::start_job(
            "sandbox",
            contract::CommandBody::DsSync(contract::DsSync {
                demarche: std::num::NonZeroU32::new(4242).expect("non-zero"),
                updated_since: None,
                state: None,
            }),
        )
        .to_json(),
    )
    .expect("a command is JSON");
    assert!(
        validator.is_valid(&command),
        "a command the contract writes fits"
    );
    command["body"]["demarche"] = Value::from(0);
    assert!(!validator.is_valid(&command), "démarche 0 is refused");
    command["body"]["demarche"] = Value::from(4242);
    command["body"]["url"] = Value::from("https://elsewhere.example");
    assert!(
        !validator.is_valid(&command),
        "an unknown body field is refused"
    );
}
