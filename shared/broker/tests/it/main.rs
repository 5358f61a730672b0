//! The broker crate against a real RabbitMQ, each test under its own topology prefix.

mod dead_letters;
mod permissions;
mod publisher;
