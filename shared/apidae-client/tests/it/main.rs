//! Integration tests: the client against a scripted upstream on loopback, and against
//! the sandbox's Apidae stand-in.

mod harness;
mod hostile;
mod http;
mod sandbox;
