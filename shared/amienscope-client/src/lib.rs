//! Client for the Amienscope events API (City of Amiens): signed, paginated reads of the
//! `get/updates` listing and error classification. Calls go through
//! [`upstream_http::Upstream`] and fail with an [`upstream_http::UpstreamError`].
//!
//! Two things here are assumptions, because the provider's documentation does not say:
//! the signing recipe of `X-Signature` (see [`SigningRecipe`]) and the JSON envelope of a
//! listing (a bare array, an object wrapping one array, or `null`).

mod classify;
mod client;
mod envelope;
mod event;
mod listing;
mod signing;

pub use client::{AmienscopeClient, AmienscopeEndpoint, MAX_ANSWER_BYTES};
pub use event::{EventRecord, EventStatus};
pub use listing::{InvalidLimit, Limit, UpdatesListing};
pub use signing::{
    DatetimeFormat, InvalidSigning, SignatureEncoding, SignatureHash, Signer, SigningRecipe,
};
