//! Integration tests: the client against real HTTP servers on loopback.

mod harness;
mod hostile;
mod http;
mod mutations;
