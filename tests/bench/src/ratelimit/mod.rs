//! The ratelimit suite: a démarche sync through a connection limited to a few requests
//! per second, with several fetch-page processes sharing that limit; the request rate
//! the sandbox saw, and its busiest second, against the configured limit.

mod bench;
mod table;

pub(crate) use bench::{Plan, run};
pub(crate) use table::{figures, render};
