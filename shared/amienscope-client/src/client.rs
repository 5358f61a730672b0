//! The HTTP side: one rate-limited, signed GET per page of the updates listing, its
//! answer read up to [`MAX_ANSWER_BYTES`].

use crate::classify::classify;
use crate::event::{EventRecord, EventStatus};
use crate::listing::{Limit, UpdatesListing};
use crate::signing::{DatetimeFormat, Signer, SigningRecipe};
use chrono::Utc;
use rate_gate::RateGate;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{RequestBuilder, Url};
use secrecy::SecretString;
use settings::BaseUrl;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use upstream_http::{PermanentReason, Upstream, UpstreamError};

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
    /// Scheme and host, possibly with a path prefix such as
    /// `http://host:8080/amienscope`; `get/updates/...` is appended to it. The
    /// production host is `https://api.amienscope.fr`.
    pub base_url: BaseUrl,
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
        base_url: BaseUrl,
        public_key: impl Into<String>,
        private_key: SecretString,
        email: impl Into<String>,
    ) -> Self {
        Self {
            base_url,
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
    upstream: Upstream,
    base_url: BaseUrl,
    public_key: HeaderValue,
    email: HeaderValue,
    signer: Signer,
    datetime: DatetimeFormat,
    id_field: String,
}

impl AmienscopeClient {
    /// Builds a client for `endpoint`; every call waits on `gate` first, and a 429
    /// pauses it until the answer's reset (one window of the gate's limit when the
    /// answer names none). Fails with a [`PermanentReason::Configuration`] error when
    /// a header value, the id field, the signing recipe, the private key or the timeout
    /// is unusable.
    pub fn new(endpoint: AmienscopeEndpoint, gate: Arc<RateGate>) -> Result<Self, UpstreamError> {
        let public_key = header_value("public key", &endpoint.public_key)?;
        let email = header_value("e-mail address", &endpoint.email)?;
        if endpoint.id_field.is_empty() {
            return Err(UpstreamError::configuration("the id field is empty"));
        }
        let signer = Signer::new(&endpoint.signing, &endpoint.private_key)
            .map_err(|error| UpstreamError::configuration(format!("signing: {error}")))?;
        let upstream = Upstream::new(endpoint.timeout, gate, MAX_ANSWER_BYTES)?;
        Ok(Self {
            inner: Arc::new(Inner {
                upstream,
                base_url: endpoint.base_url,
                public_key,
                email,
                signer,
                datetime: endpoint.signing.datetime,
                id_field: endpoint.id_field,
            }),
        })
    }

    /// One page of the events changed since `listing.since`: `limit` events from the
    /// `offset`-th on, in the API's order (next performance date, ascending). Waits on
    /// the rate gate before the request, and pauses it on a 429. A page shorter than
    /// `limit` ends the listing; the order moves as events change, so dedupe by id
    /// across pages.
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
    ) -> Result<Vec<EventRecord>, UpstreamError> {
        if listing.since < 0 {
            return Err(UpstreamError::permanent(
                PermanentReason::BadRequest,
                format!("since {} is not a unix time", listing.since),
            ));
        }
        let url = self.inner.base_url.join(&listing.page_path(offset, limit));
        let answer = self
            .inner
            .upstream
            .send(listing.page_template(), |http| self.signed_get(http, url))
            .await?;
        let records = classify(&answer, &self.inner.id_field, Utc::now())?;
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

    /// The signed GET of `url`, dated now: it is built once the rate gate has let the
    /// call go, so `X-Datetime` is the time of the send.
    fn signed_get(
        &self,
        http: &reqwest::Client,
        url: Url,
    ) -> Result<RequestBuilder, UpstreamError> {
        let datetime = self.inner.datetime.format(Utc::now());
        let mut signature =
            HeaderValue::from_str(&self.inner.signer.sign(METHOD, url.path(), &datetime)).map_err(
                |_| UpstreamError::configuration("the signature is not a valid http header value"),
            )?;
        signature.set_sensitive(true);
        let datetime = HeaderValue::from_str(&datetime).map_err(|_| {
            UpstreamError::configuration("the datetime is not a valid http header value")
        })?;
        Ok(http
            .get(url)
            .header(X_PUBLIC_KEY, self.inner.public_key.clone())
            .header(X_DATETIME, datetime)
            .header(X_SIGNATURE, signature)
            .header(EMAIL_ADDR, self.inner.email.clone()))
    }
}

impl fmt::Debug for AmienscopeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmienscopeClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("signer", &self.inner.signer)
            .finish_non_exhaustive()
    }
}

/// A non-empty setting that can go into a header as is; the value is not echoed.
fn header_value(what: &str, value: &str) -> Result<HeaderValue, UpstreamError> {
    if value.trim().is_empty() {
        return Err(UpstreamError::configuration(format!("the {what} is empty")));
    }
    HeaderValue::from_str(value).map_err(|_| {
        UpstreamError::configuration(format!("the {what} is not a valid http header value"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url(base: &str, listing: UpdatesListing) -> String {
        let base: BaseUrl = base.parse().expect("a usable base url");
        base.join(&listing.page_path(0, Limit::MAX)).into()
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
}
