//! The AsyncAPI document, `docs/asyncapi.yaml`, checked against the code it describes:
//! each test fails as soon as the document and the contract or broker crates drift.

mod catalogue;
mod codemap;
mod compose;
mod dashboard;
#[path = "../common/deploy.rs"]
mod deploy;
mod document;
mod enums;
mod examples;
mod kubernetes;
mod messages;
mod payload_fields;
mod schemas;
mod topology;
