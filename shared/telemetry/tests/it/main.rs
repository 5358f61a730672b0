//! Integration tests of the telemetry crate through its public API.

mod init;
mod propagation;
