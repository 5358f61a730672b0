//! Integration tests: the client against a scripted upstream on loopback.

mod harness;
mod hostile;
mod http;
