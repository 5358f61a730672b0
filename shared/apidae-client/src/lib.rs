//! Client for the Apidae private-descriptor write API, `v002/donnees-privees/`: OAuth
//! client credentials with a shared cached token, batches of at most [`MAX_OBJECTS`]
//! objects checked by type, and error classification.
//!
//! # Calls
//!
//! [`ApidaeClient::put_descriptors`] sends `PUT <root>/api/v002/donnees-privees/` (the
//! trailing slash is kept: without it the API answers an authentication error) and
//! [`ApidaeClient::delete_descriptors`] sends `DELETE` to the same URL. Both carry a
//! `multipart/form-data` body with the one field `donneesPrivees`, whose value is the
//! JSON payload `{"objetsTouristiques": [...]}`: descriptors as `{"nomTechnique": …,
//! "descriptif": {"libelleFr": …}}` for `PUT`, `{"id": …, "donneesPriveesASupprimer":
//! [names]}` for `DELETE`. The JSON is sent as pure ASCII (`\uXXXX` escapes).
//!
//! # Tokens
//!
//! The client asks `GET <token_url>?grant_type=client_credentials` (the configured URL
//! as it is) with HTTP Basic `client_id:secret` on first use, keeps the token until
//! less than 10% of its `expires_in` (at least 60 s) is left, shares it between
//! concurrent calls and clones, and asks again once when a call is refused with a 401
//! or an `invalid_token` body. Every HTTP call, token requests included, first waits on the
//! rate gate given to [`ApidaeClient::new`], and an answer longer than
//! [`MAX_ANSWER_BYTES`] is refused; the sending, the token cache and the error shape
//! are [`upstream_http`]'s.
//!
//! # Outcomes
//!
//! Every failure is an [`upstream_http::UpstreamError`]. A call succeeds only on HTTP
//! 200 with the expected `status`. `NO_ACTION` and any `errorType` are permanent, the
//! type kept as the error's `code` and named by [`error_type_reason`] (an unknown type
//! on a 5xx excepted); 5xx answers (HTML or plain-text pages included), timeouts and
//! connection failures are transient; 429 is rate limited until the answer's reset; a
//! 3xx is a redirect, never followed. The API silently ignores unknown object ids:
//! [`WriteReport::ignored`] lists them.
//!
//! # Secrets
//!
//! Neither the client secret nor an access token ever appears in `Debug` output,
//! errors, logs or tracing fields, and request bodies are never logged.

mod answer;
mod batch;
mod client;
mod form;
mod oauth;
mod report;

pub use answer::error_type_reason;
pub use batch::{
    BatchError, DeleteBatch, Descriptor, MAX_OBJECTS, ObjectDescriptors, ObjectRemovals, PutBatch,
};
pub use client::{ApidaeClient, ApidaeEndpoint, MAX_ANSWER_BYTES, WRITE_PATH};
pub use report::{WriteReport, WriteStatus};
