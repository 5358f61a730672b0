//! Integration tests: the client against real HTTP servers on loopback.

mod harness;
mod http;
mod mutations;
