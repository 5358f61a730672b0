//! Integration tests of the fetch-page worker against a real RabbitMQ and the sandbox.

mod bad_input;
mod drain;
mod harness;
mod job_state;
mod offset;
mod process;
mod schemas;
mod sync;
mod upstream_failures;
