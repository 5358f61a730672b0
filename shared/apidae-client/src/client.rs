//! The HTTP side: rate-limited token requests and write calls, with the retry after one
//! token refresh; answers are read up to [`MAX_ANSWER_BYTES`].

use crate::answer::{Verdict, classify, parse_retry_after};
use crate::batch::{DeleteBatch, PutBatch};
use crate::error::{ApidaeError, PermanentReason, TransientReason};
use crate::form::{self, FormBody};
use crate::oauth::decode_grant;
use crate::report::{WriteReport, WriteStatus};
use crate::token::{Grant, Token, TokenCache};
use rate_gate::RateGate;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url, redirect};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument as _, Span};
use upstream_body::BodyError;

/// Path of the write endpoint under the API root; the trailing slash matters (without it
/// the API answers an authentication error).
pub const WRITE_PATH: &str = "api/v002/donnees-privees/";
/// The `url.template` of a write call's span: the API path, whatever the root's prefix.
const WRITE_TEMPLATE: &str = "/api/v002/donnees-privees/";
/// The largest answer read: a write answer lists at most 50 object ids, a token answer
/// is a few hundred bytes.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Where and as whom to call the API.
#[derive(Debug, Clone)]
pub struct ApidaeEndpoint {
    /// The API root, with or without a trailing slash, such as
    /// `https://api.apidae-tourisme.com/` or `http://127.0.0.1:8080/apidae`; the client
    /// calls `<root>/api/v002/donnees-privees/`.
    pub base_url: String,
    /// The OAuth token URL, such as `https://api.apidae-tourisme.com/oauth/token`;
    /// `grant_type=client_credentials` is added to its query.
    pub token_url: String,
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
    http: reqwest::Client,
    write_url: Url,
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    tokens: TokenCache,
    gate: Arc<RateGate>,
}

impl ApidaeClient {
    /// Builds a client for `endpoint`; every HTTP call, token requests included, waits
    /// on `gate` first, and a 429 pauses it for the answer's `Retry-After` (one window
    /// of the gate's limit when the answer has none). Fails with
    /// [`PermanentReason::Configuration`] when a URL is unusable, the client id is blank
    /// or the timeout is zero. Sends nothing yet.
    pub fn new(endpoint: ApidaeEndpoint, gate: Arc<RateGate>) -> Result<Self, ApidaeError> {
        let root = http_url(
            "base url",
            &format!("{}/", endpoint.base_url.trim_end_matches('/')),
        )?;
        if root.query().is_some() {
            return Err(configuration("the base url must not carry a query"));
        }
        let write_url = root
            .join(WRITE_PATH)
            .map_err(|error| configuration(format!("base url: {error}")))?;
        let mut token_url = http_url("token url", &endpoint.token_url)?;
        token_url
            .query_pairs_mut()
            .append_pair("grant_type", "client_credentials");
        if endpoint.client_id.trim().is_empty() {
            return Err(configuration("the client id is blank"));
        }
        if endpoint.timeout.is_zero() {
            return Err(configuration("the timeout is zero"));
        }
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
                write_url,
                token_url,
                client_id: endpoint.client_id,
                client_secret: endpoint.client_secret,
                tokens: TokenCache::default(),
                gate,
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
    pub async fn put_descriptors(&self, batch: &PutBatch) -> Result<WriteReport, ApidaeError> {
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
    ) -> Result<WriteReport, ApidaeError> {
        let form = form_of(&batch.payload())?;
        self.write(Method::DELETE, &form, WriteStatus::Deleted)
            .await
    }

    async fn write(
        &self,
        method: Method,
        form: &FormBody,
        expected: WriteStatus,
    ) -> Result<WriteReport, ApidaeError> {
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
            Verdict::TokenRefused(detail) => Err(ApidaeError::permanent(
                PermanentReason::Unauthorized,
                format!("the access token was refused right after a refresh: {detail}"),
            )),
        }
    }

    /// One rate-limited write request; the body is never logged.
    async fn send(
        &self,
        method: &Method,
        form: &FormBody,
        token: &Token,
        expected: WriteStatus,
    ) -> Result<Verdict, ApidaeError> {
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| {
                ApidaeError::permanent(
                    PermanentReason::InvalidResponse,
                    "the access token cannot go into an http header",
                )
            })?;
        authorization.set_sensitive(true);
        let request = self
            .inner
            .http
            .request(method.clone(), self.inner.write_url.clone())
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, form.content_type.as_str())
            .body(form.body.clone());
        let (status, headers, body) = self
            .exchange(request, method, &self.inner.write_url, WRITE_TEMPLATE)
            .await?;
        let secrets = [token.expose(), self.inner.client_secret.expose_secret()];
        classify(status, retry_after(&headers), &body, expected, &secrets)
    }

    /// Asks the token URL for a new token, inside a `token.refresh` span.
    async fn request_token(&self) -> Result<Grant, ApidaeError> {
        self.fetch_token()
            .instrument(telemetry::http::token_refresh_span())
            .await
    }

    async fn fetch_token(&self) -> Result<Grant, ApidaeError> {
        let secret = self.inner.client_secret.expose_secret();
        let request = self
            .inner
            .http
            .get(self.inner.token_url.clone())
            .basic_auth(&self.inner.client_id, Some(secret))
            .header(ACCEPT, "application/json");
        let url = &self.inner.token_url;
        let (status, headers, body) = self
            .exchange(request, &Method::GET, url, url.path())
            .await?;
        decode_grant(status, retry_after(&headers), &body, &[secret])
    }

    /// Waits on the rate gate, then sends `request` (a `method` call to `url`) and
    /// reads the whole answer in an `http.client` span named by the path `template`. A
    /// 429 pauses the gate for every worker of the connection.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        method: &Method,
        url: &Url,
        template: &str,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), ApidaeError> {
        self.inner.gate.until_ready().await;
        let span = telemetry::http::client_span(method.as_str(), template, url);
        let answer = self
            .receive(request, &span)
            .instrument(span.clone())
            .await?;
        let (status, headers, _) = &answer;
        if *status == StatusCode::TOO_MANY_REQUESTS {
            self.inner.gate.pause(retry_after(headers)).await;
        }
        Ok(answer)
    }

    /// Sends and reads the whole answer, recorded on the call's `span`.
    async fn receive(
        &self,
        request: reqwest::RequestBuilder,
        span: &Span,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), ApidaeError> {
        let response = request
            .send()
            .await
            .map_err(|error| transport_failure(span, error))?;
        let status = response.status();
        telemetry::http::record_status(span, status.as_u16());
        let headers = response.headers().clone();
        let path = response.url().path().to_owned();
        let body = upstream_body::read(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|error| body_failure(span, error))?;
        tracing::debug!(
            path,
            status = status.as_u16(),
            bytes = body.len(),
            "apidae answer received"
        );
        Ok((status, headers, body))
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

fn form_of(payload: &impl Serialize) -> Result<FormBody, ApidaeError> {
    let json = serde_json::to_string(payload)
        .map_err(|error| configuration(format!("the payload cannot be serialised: {error}")))?;
    Ok(form::donnees_privees(&json))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?)
}

/// `url` parsed, refusing what cannot be a plain http(s) address without credentials.
fn http_url(what: &str, url: &str) -> Result<Url, ApidaeError> {
    let parsed =
        Url::parse(url).map_err(|error| configuration(format!("{what} {url:?}: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(configuration(format!(
            "{what} {url:?} is not http or https"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(configuration(format!("{what} must not carry credentials")));
    }
    if parsed.fragment().is_some() {
        return Err(configuration(format!(
            "{what} {url:?} must not carry a fragment"
        )));
    }
    Ok(parsed)
}

fn configuration(message: impl Into<String>) -> ApidaeError {
    ApidaeError::permanent(PermanentReason::Configuration, message)
}

/// No answer was read: the request may not have left, or its answer was lost. The
/// call's `span` records why.
fn transport_failure(span: &Span, error: reqwest::Error) -> ApidaeError {
    let reason = if error.is_timeout() {
        TransientReason::Timeout
    } else {
        TransientReason::Connection
    };
    telemetry::http::record_transport_error(span, &error);
    ApidaeError::transient(reason, describe(&error))
}

/// The answer's body was not read whole: it broke off or timed out (transient), or it
/// is larger than any answer of the API (an invalid response). The call's `span`
/// records why.
fn body_failure(span: &Span, error: BodyError) -> ApidaeError {
    match error {
        BodyError::Transport(error) => transport_failure(span, error),
        BodyError::TooLarge { .. } => {
            telemetry::http::record_failure(span, "body_too_large");
            ApidaeError::permanent(PermanentReason::InvalidResponse, error.to_string())
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
    use settings::RateLimit;
    use std::num::NonZeroU32;

    fn endpoint(base_url: &str, token_url: &str) -> ApidaeEndpoint {
        ApidaeEndpoint {
            base_url: base_url.into(),
            token_url: token_url.into(),
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

    fn build(base_url: &str, token_url: &str) -> Result<ApidaeClient, ApidaeError> {
        ApidaeClient::new(endpoint(base_url, token_url), gate())
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
            let client =
                build(root, "https://api.apidae-tourisme.com/oauth/token").expect("a client");
            assert_eq!(client.inner.write_url.as_str(), expected);
        }
    }

    #[test]
    fn the_token_url_gets_the_grant_type() {
        let client = build(
            "https://api.apidae-tourisme.com/",
            "https://api.apidae-tourisme.com/oauth/token",
        )
        .expect("a client");
        assert_eq!(
            client.inner.token_url.as_str(),
            "https://api.apidae-tourisme.com/oauth/token?grant_type=client_credentials"
        );
    }

    #[test]
    fn unusable_settings_are_configuration_errors() {
        let token = "https://api.apidae-tourisme.com/oauth/token";
        let root = "https://api.apidae-tourisme.com/";
        for (base, token_url) in [
            ("not a url", token),
            ("ftp://example.org", token),
            ("https://user:pw@example.org", token),
            ("https://example.org/?x=1", token),
            (root, "/oauth/token"),
            (root, "https://example.org/oauth/token#x"),
        ] {
            assert!(
                matches!(
                    build(base, token_url),
                    Err(ApidaeError::Permanent {
                        reason: PermanentReason::Configuration,
                        ..
                    })
                ),
                "{base} {token_url}"
            );
        }
        let mut blank = endpoint(root, token);
        blank.client_id = " ".into();
        assert!(ApidaeClient::new(blank, gate()).is_err());
        let mut instant = endpoint(root, token);
        instant.timeout = Duration::ZERO;
        assert!(ApidaeClient::new(instant, gate()).is_err());
    }

    #[test]
    fn debug_shows_neither_the_secret_nor_a_token() {
        let client = build(
            "https://api.apidae-tourisme.com/",
            "https://api.apidae-tourisme.com/oauth/token",
        )
        .expect("a client");
        let shown = format!("{client:?} {:?}", endpoint("https://a/", "https://a/t"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("client"), "{shown}");
    }
}
