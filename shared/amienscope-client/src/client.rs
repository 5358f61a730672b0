//! The HTTP side: one rate-limited, signed GET per page of the updates listing, its
//! answer read up to [`MAX_ANSWER_BYTES`].

use crate::classify::classify;
use crate::error::{AmienscopeError, PermanentReason, TransientReason};
use crate::event::{EventRecord, EventStatus};
use crate::listing::{Limit, UpdatesListing};
use crate::signing::{DatetimeFormat, Signer, SigningRecipe};
use chrono::Utc;
use rate_gate::RateGate;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{StatusCode, Url, redirect};
use secrecy::SecretString;
use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument as _, Span};
use upstream_body::BodyError;

/// The 32-character public API key.
const X_PUBLIC_KEY: HeaderName = HeaderName::from_static("x-public-key");
/// The request time, in the recipe's [`DatetimeFormat`].
const X_DATETIME: HeaderName = HeaderName::from_static("x-datetime");
/// The HMAC of the request, per the [`SigningRecipe`].
const X_SIGNATURE: HeaderName = HeaderName::from_static("x-signature");
/// The e-mail address the access was created with; the API spells it with an underscore.
const EMAIL_ADDR: HeaderName = HeaderName::from_static("email_addr");

/// The only method the client sends, and the one it signs.
const METHOD: &str = "GET";
/// The largest answer read: a page holds at most 50 events, whose longest members are
/// their descriptions; 8 MiB is some 160 KiB an event.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// Where and as whom to call the API, and how to sign.
#[derive(Debug, Clone)]
pub struct AmienscopeEndpoint {
    /// Scheme and host, with or without a trailing slash, possibly with a path prefix
    /// such as `http://host:8080/amienscope`; `get/updates/...` is appended to it.
    /// The production host is `https://api.amienscope.fr`.
    pub base_url: String,
    /// The public API key, sent as `X-Public-Key`.
    pub public_key: String,
    /// The private key that keys the HMAC of `X-Signature`; it is never sent.
    pub private_key: SecretString,
    /// The address the access was created with, sent as `email_addr`.
    pub email: String,
    /// How the signature is made. The real recipe is not public: see [`SigningRecipe`].
    pub signing: SigningRecipe,
    /// The member of an event that holds its id; the documentation does not name it.
    pub id_field: String,
    /// Limit for one whole call: connecting, sending and reading the answer.
    pub timeout: Duration,
}

impl AmienscopeEndpoint {
    /// The id member assumed when none is configured.
    pub const DEFAULT_ID_FIELD: &'static str = "id";
    /// The call timeout used by [`AmienscopeEndpoint::new`].
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// An endpoint with the default recipe, the `id` member and a 30-second timeout.
    pub fn new(
        base_url: impl Into<String>,
        public_key: impl Into<String>,
        private_key: SecretString,
        email: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            public_key: public_key.into(),
            private_key,
            email: email.into(),
            signing: SigningRecipe::default(),
            id_field: Self::DEFAULT_ID_FIELD.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// A client of the Amienscope updates listing; cheap to clone, clones share one
/// connection pool and one rate gate.
#[derive(Clone)]
pub struct AmienscopeClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// The base URL, ending with a slash so relative paths are appended to it.
    base: Url,
    public_key: HeaderValue,
    email: HeaderValue,
    signer: Signer,
    datetime: DatetimeFormat,
    id_field: String,
    gate: Arc<RateGate>,
}

impl AmienscopeClient {
    /// Builds a client for `endpoint`; every call waits on `gate` first, and a 429
    /// pauses it for the answer's `Retry-After` (one window of the gate's limit when
    /// the answer has none). Fails with a [`PermanentReason::Configuration`] error when
    /// the base URL, a header value, the id field, the signing recipe or the private key
    /// is unusable.
    pub fn new(endpoint: AmienscopeEndpoint, gate: Arc<RateGate>) -> Result<Self, AmienscopeError> {
        let base = base_url(&endpoint.base_url)?;
        let public_key = header_value("public key", &endpoint.public_key)?;
        let email = header_value("e-mail address", &endpoint.email)?;
        if endpoint.id_field.is_empty() {
            return Err(configuration("the id field is empty"));
        }
        let signer = Signer::new(&endpoint.signing, &endpoint.private_key)
            .map_err(|error| configuration(format!("signing: {error}")))?;
        let http = reqwest::Client::builder()
            .timeout(endpoint.timeout)
            .redirect(redirect::Policy::none())
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|error| configuration(format!("http client: {}", describe(&error))))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                public_key,
                email,
                signer,
                datetime: endpoint.signing.datetime,
                id_field: endpoint.id_field,
                gate,
            }),
        })
    }

    /// One page of the events changed since `listing.since`: `limit` events from the
    /// `offset`-th on, in the API's order (next performance date, ascending). Waits on the
    /// rate gate before the request, and pauses it on a 429. A page shorter than `limit` ends the listing; the
    /// order moves as events change, so dedupe by id across pages.
    #[tracing::instrument(
        name = "amienscope_client.updates_page",
        skip_all,
        fields(
            since = listing.since,
            category = listing.category,
            offset,
            limit = limit.get()
        )
    )]
    pub async fn updates_page(
        &self,
        listing: &UpdatesListing,
        offset: u64,
        limit: Limit,
    ) -> Result<Vec<EventRecord>, AmienscopeError> {
        if listing.since < 0 {
            return Err(AmienscopeError::permanent(
                PermanentReason::InvalidRequest,
                None,
                format!("since {} is not a unix time", listing.since),
            ));
        }
        let url = self
            .inner
            .base
            .join(&listing.page_path(offset, limit))
            .map_err(|error| configuration(format!("page url: {error}")))?;
        self.inner.gate.until_ready().await;
        let span = telemetry::http::client_span(METHOD, listing.page_template(), &url);
        let records = self.get(url, &span).instrument(span.clone()).await;
        if let Err(AmienscopeError::RateLimited { retry_after }) = &records {
            self.inner.gate.pause(*retry_after).await;
        }
        let records = records?;
        let unknown_statuses = records
            .iter()
            .filter(|record| matches!(record.status, EventStatus::Other(_)))
            .count();
        if unknown_statuses > 0 {
            tracing::warn!(
                unknown_statuses,
                "events with an event_status_id outside the documented table"
            );
        }
        tracing::debug!(events = records.len(), "amienscope page read");
        Ok(records)
    }

    /// Sends one signed GET to `url` and classifies the answer, recording it on the
    /// call's `span`.
    async fn get(&self, url: Url, span: &Span) -> Result<Vec<EventRecord>, AmienscopeError> {
        let datetime = self.inner.datetime.format(Utc::now());
        let mut signature =
            HeaderValue::from_str(&self.inner.signer.sign(METHOD, url.path(), &datetime))
                .map_err(|_| configuration("the signature is not a valid http header value"))?;
        signature.set_sensitive(true);
        let datetime = HeaderValue::from_str(&datetime)
            .map_err(|_| configuration("the datetime is not a valid http header value"))?;
        let response = self
            .inner
            .http
            .get(url)
            .header(X_PUBLIC_KEY, self.inner.public_key.clone())
            .header(X_DATETIME, datetime)
            .header(X_SIGNATURE, signature)
            .header(EMAIL_ADDR, self.inner.email.clone())
            .send()
            .await
            .map_err(|error| transport_failure(span, error))?;
        let status = response.status();
        telemetry::http::record_status(span, status.as_u16());
        let headers = response.headers().clone();
        let bytes = upstream_body::read(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|error| body_failure(span, status, error))?;
        tracing::debug!(
            status = status.as_u16(),
            bytes = bytes.len(),
            "amienscope answer received"
        );
        classify(status, &headers, &bytes, &self.inner.id_field, Utc::now())
    }
}

impl fmt::Debug for AmienscopeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmienscopeClient")
            .field("base_url", &self.inner.base.as_str())
            .field("signer", &self.inner.signer)
            .finish_non_exhaustive()
    }
}

/// The base URL with a trailing slash, refusing what cannot be a plain http(s) base.
fn base_url(base_url: &str) -> Result<Url, AmienscopeError> {
    let base = Url::parse(&format!("{}/", base_url.trim_end_matches('/')))
        .map_err(|error| configuration(format!("base url {base_url:?}: {error}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(configuration(format!(
            "base url {base_url:?} is not http or https"
        )));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(configuration("base url must not carry credentials"));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(configuration(format!(
            "base url {base_url:?} must not carry a query or a fragment"
        )));
    }
    Ok(base)
}

/// A non-empty setting that can go into a header as is; the value is not echoed.
fn header_value(what: &str, value: &str) -> Result<HeaderValue, AmienscopeError> {
    if value.trim().is_empty() {
        return Err(configuration(format!("the {what} is empty")));
    }
    HeaderValue::from_str(value)
        .map_err(|_| configuration(format!("the {what} is not a valid http header value")))
}

fn configuration(message: impl Into<String>) -> AmienscopeError {
    AmienscopeError::permanent(PermanentReason::Configuration, None, message)
}

/// No answer was read: the request may not even have left, so a retry is safe. The
/// call's `span` records why.
fn transport_failure(span: &Span, error: reqwest::Error) -> AmienscopeError {
    let reason = if error.is_timeout() {
        TransientReason::Timeout
    } else {
        TransientReason::Connection
    };
    telemetry::http::record_transport_error(span, &error);
    AmienscopeError::transient(reason, describe(&error))
}

/// The answer's body was not read whole: it broke off or timed out (transient), or it
/// is larger than any page (an invalid response). The call's `span` records why.
fn body_failure(span: &Span, status: StatusCode, error: BodyError) -> AmienscopeError {
    match error {
        BodyError::Transport(error) => transport_failure(span, error),
        BodyError::TooLarge { .. } => {
            telemetry::http::record_failure(span, "body_too_large");
            AmienscopeError::invalid_response(status.as_u16(), error.to_string())
        }
    }
}

/// The error and its causes on one line; reqwest's own message alone hides the cause.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url(base: &str, listing: UpdatesListing) -> String {
        base_url(base)
            .and_then(|base| {
                base.join(&listing.page_path(0, Limit::MAX))
                    .map_err(|error| configuration(error.to_string()))
            })
            .map(String::from)
            .expect("a usable base url")
    }

    #[test]
    fn the_listing_path_is_appended_to_the_base_and_its_prefix() {
        let listing = UpdatesListing {
            since: 1_444_428_000,
            category: None,
        };
        for base in ["https://api.amienscope.fr", "https://api.amienscope.fr/"] {
            assert_eq!(
                page_url(base, listing),
                "https://api.amienscope.fr/get/updates/1444428000/0,50"
            );
        }
        for base in [
            "http://127.0.0.1:8080/amienscope",
            "http://127.0.0.1:8080/amienscope/",
        ] {
            assert_eq!(
                page_url(base, listing),
                "http://127.0.0.1:8080/amienscope/get/updates/1444428000/0,50"
            );
        }
    }

    #[test]
    fn unusable_base_urls_are_configuration_errors() {
        for base in [
            "not a url",
            "ftp://example.org",
            "https://user:secret@example.org",
            "https://example.org/?x=1",
            "https://example.org/#top",
        ] {
            assert!(
                matches!(
                    base_url(base),
                    Err(AmienscopeError::Permanent {
                        reason: PermanentReason::Configuration,
                        ..
                    })
                ),
                "{base}"
            );
        }
    }
}
