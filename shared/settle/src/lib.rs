//! The retry and dead-letter policy: how a worker settles a command that failed.
//!
//! Every upstream client's error, the job store's and the broker's are reduced to a
//! [`CommandError`]: retry after a backoff, wait for a rate-limit reset, or fail for
//! good. [`settle`] turns that into the delivery's [`broker::Outcome`]; a failure for
//! good becomes a `command.failed` event plus a dead letter ([`dead_letter`]). A page
//! or chunk of a fanned-out job settles through [`settle_in_job`], which also
//! fails its job. Every worker kind uses these, so a failure means the same thing
//! everywhere.

mod command_error;
mod failure;
mod job;

pub use command_error::CommandError;
pub use failure::{Failure, dead_letter, settle};
pub use job::settle_in_job;
