//! The HTTP side: token requests and write calls through the connection's
//! [`Upstream`] (rate gate, span, answers read up to [`MAX_ANSWER_BYTES`]), with the
//! retry after one token refresh.

use crate::answer::{Verdict, classify};
use crate::batch::{DeleteBatch, PutBatch};
use crate::form::{self, FormBody};
use crate::oauth::decode_grant;
use crate::report::{WriteReport, WriteStatus};
use rate_gate::RateGate;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use settings::BaseUrl;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use upstream_http::{Grant, PermanentReason, Token, TokenCache, Upstream, UpstreamError};

/// Path of the write endpoint under the API root; the trailing slash matters (without it
/// the API answers an authentication error).
pub const WRITE_PATH: &str = "api/v002/donnees-privees/";
/// The `url.template` of a write call's span: the API path, whatever the root's prefix.
const WRITE_TEMPLATE: &str = "/api/v002/donnees-privees/";
/// The largest answer read: a write answer lists at most
/// [`MAX_OBJECTS`](crate::MAX_OBJECTS) object ids, a token answer is a few hundred
/// bytes.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Where and as whom to call the API.
#[derive(Debug, Clone)]
pub struct ApidaeEndpoint {
    /// The API root, such as `https://api.apidae-tourisme.com` or
    /// `http://127.0.0.1:8080/apidae`; the client calls
    /// `<root>/api/v002/donnees-privees/`.
    pub base_url: BaseUrl,
    /// The OAuth token URL, such as `https://api.apidae-tourisme.com/oauth/token`,
    /// called as it is with `grant_type=client_credentials` as its query.
    pub token_url: BaseUrl,
    /// The OAuth client id of the write project.
    pub client_id: String,
    /// The OAuth client secret of the write project.
    pub client_secret: SecretString,
    /// Limit for one whole HTTP call: connecting, sending and reading the answer.
    pub timeout: Duration,
}

/// A client of the private-descriptor write API; cheap to clone, clones share one
/// connection pool, one rate gate and one cached token.
#[derive(Clone)]
pub struct ApidaeClient {
    inner: Arc<Inner>,
}

struct Inner {
    upstream: Upstream,
    write_url: Url,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    tokens: TokenCache,
}

impl ApidaeClient {
    /// Builds a client for `endpoint`; every HTTP call, token requests included, waits
    /// on `gate` first, and a 429 pauses it until the answer's reset (one window of the
    /// gate's limit when the answer names none). Fails with
    /// [`PermanentReason::Configuration`] when the client id is blank or the timeout is
    /// zero. Sends nothing yet.
    pub fn new(endpoint: ApidaeEndpoint, gate: Arc<RateGate>) -> Result<Self, UpstreamError> {
        if endpoint.client_id.trim().is_empty() {
            return Err(UpstreamError::configuration("the client id is blank"));
        }
        let upstream = Upstream::new(endpoint.timeout, gate, MAX_ANSWER_BYTES)?;
        Ok(Self {
            inner: Arc::new(Inner {
                upstream,
                write_url: endpoint.base_url.join(WRITE_PATH),
                token_url: token_request_url(&endpoint.token_url)?,
                client_id: endpoint.client_id,
                client_secret: endpoint.client_secret,
                tokens: TokenCache::default(),
            }),
        })
    }

    /// Adds or replaces the batch's descriptors (`PUT`). Succeeds only on HTTP 200 with
    /// `status: MODIFICATION_DONNEES_PRIVEES`; compare [`WriteReport::updated`] with
    /// [`PutBatch::ids`] through [`WriteReport::ignored`] to find unknown objects.
    ///
    /// A refused access token (401 or `invalid_token`) is refreshed once and the call
    /// sent again; a second refusal is [`PermanentReason::Unauthorized`]. Other failures
    /// are returned, not retried.
    #[tracing::instrument(
        name = "apidae_client.put_descriptors",
        skip_all,
        fields(objects = batch.objects().len())
    )]
    pub async fn put_descriptors(&self, batch: &PutBatch) -> Result<WriteReport, UpstreamError> {
        let form = form_of(&batch.payload())?;
        self.write(Method::PUT, &form, WriteStatus::Modified).await
    }

    /// Removes the batch's descriptors (`DELETE`, `donneesPriveesASupprimer` lists).
    /// Succeeds only on HTTP 200 with `status: SUPPRESSION_DONNEES_PRIVEES`; otherwise
    /// as [`ApidaeClient::put_descriptors`].
    #[tracing::instrument(
        name = "apidae_client.delete_descriptors",
        skip_all,
        fields(objects = batch.objects().len())
    )]
    pub async fn delete_descriptors(
        &self,
        batch: &DeleteBatch,
    ) -> Result<WriteReport, UpstreamError> {
        let form = form_of(&batch.payload())?;
        self.write(Method::DELETE, &form, WriteStatus::Deleted)
            .await
    }

    async fn write(
        &self,
        method: Method,
        form: &FormBody,
        expected: WriteStatus,
    ) -> Result<WriteReport, UpstreamError> {
        let tokens = &self.inner.tokens;
        let token = tokens.current(|| self.request_token()).await?;
        let detail = match self.send(&method, form, &token, expected).await? {
            Verdict::Done(report) => return Ok(done(report)),
            Verdict::TokenRefused(detail) => detail,
        };
        tracing::info!(
            generation = token.generation(),
            %detail,
            "apidae refused the access token; refreshing it before one retry"
        );
        let token = tokens.replace(&token, || self.request_token()).await?;
        match self.send(&method, form, &token, expected).await? {
            Verdict::Done(report) => Ok(done(report)),
            Verdict::TokenRefused(detail) => Err(UpstreamError::permanent(
                PermanentReason::Unauthorized,
                format!("the access token was refused right after a refresh: {detail}"),
            )),
        }
    }

    /// One write request, sent once the gate lets it go; the body is never logged.
    async fn send(
        &self,
        method: &Method,
        form: &FormBody,
        token: &Token,
        expected: WriteStatus,
    ) -> Result<Verdict, UpstreamError> {
        let answer = self
            .inner
            .upstream
            .send(WRITE_TEMPLATE, |http| {
                let mut authorization = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        UpstreamError::invalid_response(
                            "the access token cannot go into an http header",
                        )
                    })?;
                authorization.set_sensitive(true);
                Ok(http
                    .request(method.clone(), self.inner.write_url.clone())
                    .header(AUTHORIZATION, authorization)
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_TYPE, form.content_type.as_str())
                    .body(form.body.clone()))
            })
            .await?;
        let secrets = [token.expose(), self.inner.client_secret.expose_secret()];
        classify(&answer, expected, &secrets)
    }

    /// Asks the token URL for a new token.
    async fn request_token(&self) -> Result<Grant, UpstreamError> {
        let secret = self.inner.client_secret.expose_secret();
        let url = &self.inner.token_url;
        let answer = self
            .inner
            .upstream
            .send(url.path(), |http| {
                Ok(http
                    .get(url.clone())
                    .basic_auth(&self.inner.client_id, Some(secret))
                    .header(ACCEPT, "application/json"))
            })
            .await?;
        decode_grant(&answer, &[secret])
    }
}

impl fmt::Debug for ApidaeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApidaeClient")
            .field("write_url", &self.inner.write_url.as_str())
            .field("token_url", &self.inner.token_url.as_str())
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

fn done(report: WriteReport) -> WriteReport {
    tracing::info!(
        status = report.status.as_str(),
        updated = report.updated.len(),
        "apidae write done"
    );
    report
}

fn form_of(payload: &impl Serialize) -> Result<FormBody, UpstreamError> {
    let json = serde_json::to_string(payload).map_err(|error| {
        UpstreamError::configuration(format!("the payload cannot be serialised: {error}"))
    })?;
    Ok(form::donnees_privees(&json))
}

/// The configured token URL itself (no path is appended, not even a slash), with
/// `grant_type=client_credentials` as its query.
fn token_request_url(token_url: &BaseUrl) -> Result<Url, UpstreamError> {
    let mut url = Url::parse(token_url.as_str())
        .map_err(|error| UpstreamError::configuration(format!("token url: {error}")))?;
    url.query_pairs_mut()
        .append_pair("grant_type", "client_credentials");
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use settings::RateLimit;
    use std::num::NonZeroU32;

    const TOKEN_URL: &str = "https://api.apidae-tourisme.com/oauth/token";

    fn endpoint(base_url: &str, token_url: &str) -> ApidaeEndpoint {
        ApidaeEndpoint {
            base_url: base_url.parse().expect("a base url"),
            token_url: token_url.parse().expect("a token url"),
            client_id: "client".into(),
            client_secret: SecretString::from("s3cr3t"),
            timeout: Duration::from_secs(5),
        }
    }

    fn gate() -> Arc<RateGate> {
        let ten = NonZeroU32::new(10).expect("non-zero");
        Arc::new(RateGate::local(RateLimit {
            requests: ten,
            per: Duration::from_secs(1),
            burst: ten,
        }))
    }

    fn build(base_url: &str, token_url: &str) -> Result<ApidaeClient, UpstreamError> {
        ApidaeClient::new(endpoint(base_url, token_url), gate())
    }

    fn is_configuration(result: Result<ApidaeClient, UpstreamError>) -> bool {
        matches!(
            result,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::Configuration,
                ..
            })
        )
    }

    #[test]
    fn the_write_url_keeps_its_trailing_slash_under_any_root() {
        for (root, expected) in [
            (
                "https://api.apidae-tourisme.com/",
                "https://api.apidae-tourisme.com/api/v002/donnees-privees/",
            ),
            (
                "https://api.apidae-tourisme.com",
                "https://api.apidae-tourisme.com/api/v002/donnees-privees/",
            ),
            (
                "http://127.0.0.1:8080/apidae",
                "http://127.0.0.1:8080/apidae/api/v002/donnees-privees/",
            ),
            (
                "http://127.0.0.1:8080/apidae/",
                "http://127.0.0.1:8080/apidae/api/v002/donnees-privees/",
            ),
        ] {
            let client = build(root, TOKEN_URL).expect("a client");
            assert_eq!(client.inner.write_url.as_str(), expected);
        }
    }

    #[test]
    fn the_token_url_is_the_configured_one_with_the_grant_type() {
        for (configured, requested) in [
            (
                TOKEN_URL,
                "https://api.apidae-tourisme.com/oauth/token?grant_type=client_credentials",
            ),
            (
                "http://127.0.0.1:8080/apidae/oauth/token",
                "http://127.0.0.1:8080/apidae/oauth/token?grant_type=client_credentials",
            ),
        ] {
            let client = build("https://api.apidae-tourisme.com/", configured).expect("a client");
            assert_eq!(client.inner.token_url.as_str(), requested);
        }
    }

    #[test]
    fn unusable_settings_are_configuration_errors() {
        let root = "https://api.apidae-tourisme.com/";
        let mut blank = endpoint(root, TOKEN_URL);
        blank.client_id = " ".into();
        assert!(is_configuration(ApidaeClient::new(blank, gate())));
        let mut instant = endpoint(root, TOKEN_URL);
        instant.timeout = Duration::ZERO;
        assert!(is_configuration(ApidaeClient::new(instant, gate())));
    }

    #[test]
    fn debug_shows_neither_the_secret_nor_a_token() {
        let client = build("https://api.apidae-tourisme.com/", TOKEN_URL).expect("a client");
        let shown = format!("{client:?} {:?}", endpoint("https://a/", "https://a/t"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("client"), "{shown}");
    }
}
