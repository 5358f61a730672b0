//! Integration tests: the real sandbox server on a loopback port, driven over HTTP.

mod access;
mod amienscope;
mod apidae;
mod concurrency;
mod divalto;
mod ds_mutations;
mod faults;
mod harness;
mod pagination;
mod rate_limit;
