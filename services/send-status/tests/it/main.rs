//! Integration tests of the send-status worker against a real RabbitMQ, Redis and the
//! sandbox's demarches-simplifiees API over HTTP.

mod harness;
mod labels;
mod messages;
mod refusals;
mod transitions;
