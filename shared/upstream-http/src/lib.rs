//! What every upstream client shares, so each client holds only its API's facts.
//!
//! - [`Upstream::send`]: the one way to call an upstream, under the connection's rate
//!   gate, in an `http.client` span, its answer read whole up to a size the API names
//!   (a hostile upstream can use up a request's timeout, never a worker's memory), a
//!   429 pausing the gate until the window's reset ([`reset_at`]).
//! - [`UpstreamError`]: the one error shape, whose reasons every client names from
//!   the same closed sets, so the worker's retry policy knows no client.
//! - [`TokenCache`]: one access token per client, renewed in time, one request at a
//!   time.
//! - [`redact`] and [`excerpt`]: secrets out of every text that leaves a client.

mod body;
mod error;
mod redact;
mod reset;
mod send;
mod token;

pub use error::{PermanentReason, TransientReason, UpstreamError};
pub use redact::{excerpt, redact};
pub use reset::{reset_at, wait_until};
pub use send::{Answer, USER_AGENT, Upstream};
pub use token::{Grant, Token, TokenCache};
