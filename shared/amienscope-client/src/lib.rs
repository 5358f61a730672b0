//! Client for the Amienscope events API (City of Amiens): signed, paginated reads of the
//! `get/updates` listing and error classification.
//!
//! Two things here are assumptions, because the provider's documentation does not say:
//! the signing recipe of `X-Signature` (see [`SigningRecipe`]) and the JSON envelope of a
//! listing (a bare array, an object wrapping one array, or `null`).

mod classify;
mod client;
mod envelope;
mod error;
mod event;
mod excerpt;
mod listing;
mod signing;

pub use client::{AmienscopeClient, AmienscopeEndpoint, MAX_ANSWER_BYTES};
pub use error::{AmienscopeError, PermanentReason, TransientReason};
pub use event::{EventRecord, EventStatus};
pub use listing::{InvalidLimit, Limit, UpdatesListing};
pub use signing::{
    DatetimeFormat, InvalidSigning, SignatureEncoding, SignatureHash, Signer, SigningRecipe,
};
