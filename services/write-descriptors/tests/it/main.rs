//! Integration tests of the write-descriptors worker against a real RabbitMQ, Redis and
//! the sandbox's Apidae API over HTTP.

mod dead_letters;
mod harness;
mod job_failures;
mod schemas;
mod writes;
