//! Client for the Divalto Infinity ERP `RecordSql` REST service: login and token
//! handling, page reads by offset and count, and error classification.
//!
//! # Calls
//!
//! [`DivaltoClient::records_page`] posts one `api/v1/RecordSql/Execute` request under
//! the endpoint's base URL. The client logs in with `api/v1/Authent/Auth` on first use,
//! keeps the token for 90% of [`DivaltoEndpoint::token_lifetime`], shares it between
//! concurrent calls and clones, and logs in again once when a call is rejected. Every
//! HTTP call, the login included, first waits on the rate gate given to
//! [`DivaltoClient::new`], and an answer longer than [`MAX_ANSWER_BYTES`] is refused.
//!
//! # Errors
//!
//! Every call fails with an `upstream_http::UpstreamError`. A `RateLimited` one (HTTP
//! 429) carries the instant from the answer's `Retry-After`. A refused login is
//! `Unauthorized`, error 54 (a `dhoq`/`recordsql` pair not declared in the web-service
//! settings) is `Forbidden` with code `54`, any other `error` that survives one new
//! login is `Refused` with the `error` number as its code; a redirect is `Redirect`,
//! a 401, 403, 404 or 405 without the documented JSON is `Configuration`.
//!
//! # Record shape
//!
//! The service answers each row as `{"record": {"FIELD": "value", ...}}`; a [`Record`]
//! is the inner object, field name to text value, with field names as the server spells
//! them (upper case, table prefix left out, a joined field as `<JOINTABLE>_<FIELD>` or
//! its alias). Values are untranslated text: ids and amounts included (`"T116_ID":
//! "3"`), decimals with `.`, dates as `YYYYMMDD`, audit timestamps as `YYYYMMDDhhmmss`.
//! Should the server send a JSON number or boolean, its JSON text is kept (`3`,
//! `1.5`, `true`); a `null` value leaves the field out of the record. A record
//! serialises as a plain JSON object of strings, fields in name order, e.g.
//! `{"CPOSTAL":"01000","VIL":"BROU"}`.
//!
//! # Pagination
//!
//! A [`RecordPage`] holds what one answer held. A listing starts at offset 0 with a
//! fixed [`RecordCount`] (1 up to the server's cap, [`DEFAULT_COUNT_CAP`] by default) and
//! goes on at `offset + records.len()` while a page is full; a shorter page, possibly
//! empty, ends it. Pages are fresh queries with no cursor: rows may shift between
//! pages, so keep a stable `orderby` and deduplicate on the table's id.
//!
//! # Secrets
//!
//! The access token embeds the password in clear. Neither ever appears in `Debug`
//! output, errors, logs or tracing fields, and request bodies are never logged.

mod answer;
mod auth;
mod client;
mod page;
mod query;
mod record;

pub use client::{DivaltoClient, DivaltoEndpoint, MAX_ANSWER_BYTES};
pub use page::RecordPage;
pub use query::{DEFAULT_COUNT_CAP, InvalidCount, RecordCount, RecordQuery, WhereClause};
pub use record::Record;
