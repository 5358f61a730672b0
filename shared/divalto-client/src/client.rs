//! The HTTP side: rate-limited logins and `RecordSql/Execute` calls, with the retry
//! after one re-authentication; answers are read up to [`MAX_ANSWER_BYTES`].

use crate::answer::{Answer, BodyShown, classify};
use crate::auth::{AuthBody, decode_token};
use crate::error::{DivaltoError, PermanentReason, TransientReason};
use crate::page::{RecordPage, decode_page};
use crate::query::{ExecuteBody, RecordCount, RecordQuery};
use crate::token::{Token, TokenCache};
use rate_gate::RateGate;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url, redirect};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument as _, Span};
use upstream_body::BodyError;

/// Path of the login under the base URL.
const AUTH_PATH: &str = "api/v1/Authent/Auth";
/// Path of the record reads under the base URL.
const EXECUTE_PATH: &str = "api/v1/RecordSql/Execute";
/// The `url.template` of a login's span: the API path, whatever the base URL's prefix.
const AUTH_TEMPLATE: &str = "/api/v1/Authent/Auth";
/// The `url.template` of a record read's span.
const EXECUTE_TEMPLATE: &str = "/api/v1/RecordSql/Execute";
/// The `error` code of a `dhoq`/`recordsql` pair missing from the web-service settings.
const NOT_AUTHORISED: i64 = 54;
/// The largest answer read: a page holds at most 1000 records (the server's default
/// cap), every value a string; 16 KiB a record is far more than any table we read.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Where and as whom to call the service.
#[derive(Debug, Clone)]
pub struct DivaltoEndpoint {
    /// The service root, with or without a trailing slash, such as
    /// `http://host:8080/DhsDivaltoServiceDivaApiRest` on premises or
    /// `https://api.divaltocloud.com/123456/TEST1` in the cloud; `api/v1/...` is appended.
    pub base_url: String,
    /// The Windows domain; may be empty when `user` reads `name@domain`.
    pub domain: String,
    /// The account name.
    pub user: String,
    /// The account password; the server also embeds it in the tokens it issues.
    pub password: SecretString,
    /// The Divalto environment name (`env`), such as `ERP213`.
    pub environment: String,
    /// How long the server keeps a token valid (45 minutes in the cloud, a server
    /// setting on premises); a token is renewed once 90% of it has passed.
    pub token_lifetime: Duration,
    /// Limit for one whole HTTP call: connecting, sending and reading the answer.
    pub timeout: Duration,
}

/// A client of the RecordSql service; cheap to clone, clones share one connection
/// pool, one rate gate and one cached token.
#[derive(Clone)]
pub struct DivaltoClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    auth_url: Url,
    execute_url: Url,
    domain: String,
    user: String,
    password: SecretString,
    environment: String,
    tokens: TokenCache,
    gate: Arc<RateGate>,
}

impl DivaltoClient {
    /// Builds a client for `endpoint`; every HTTP call waits on `gate` first, and a 429
    /// pauses it for the answer's `Retry-After` in seconds (Divalto documents no rate
    /// limit; without one, for one window of the gate's limit). Fails with a
    /// [`PermanentReason::Configuration`] error when the base URL is unusable, the user
    /// is empty or the token lifetime is zero. Does not log in yet.
    pub fn new(endpoint: DivaltoEndpoint, gate: Arc<RateGate>) -> Result<Self, DivaltoError> {
        let base = base_url(&endpoint.base_url)?;
        let join = |path| {
            base.join(path)
                .map_err(|error| configuration(format!("base url: {error}")))
        };
        let (auth_url, execute_url) = (join(AUTH_PATH)?, join(EXECUTE_PATH)?);
        if endpoint.user.trim().is_empty() {
            return Err(configuration("the user is empty"));
        }
        if endpoint.token_lifetime.is_zero() {
            return Err(configuration("the token lifetime is zero"));
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
                auth_url,
                execute_url,
                domain: endpoint.domain,
                user: endpoint.user,
                password: endpoint.password,
                environment: endpoint.environment,
                tokens: TokenCache::new(endpoint.token_lifetime),
                gate,
            }),
        })
    }

    /// Up to `count` records of `query` from row `offset` (0-based), logging in first
    /// when the cached token is missing or old.
    ///
    /// Error 54 fails at once with [`PermanentReason::NotAuthorised`]. Any other
    /// non-zero `error` may be an expired token (its code is not documented), so the
    /// client logs in again once and retries the same page; a second rejection is
    /// [`PermanentReason::Business`]. Transient failures are returned, not retried.
    #[tracing::instrument(
        name = "divalto_client.records_page",
        skip_all,
        fields(
            dhoq = %query.dhoq,
            recordsql = %query.recordsql,
            offset,
            count = count.get(),
        )
    )]
    pub async fn records_page(
        &self,
        query: &RecordQuery,
        offset: u64,
        count: RecordCount,
    ) -> Result<RecordPage, DivaltoError> {
        let token = self.inner.tokens.current(|| self.authenticate()).await?;
        let (code, message) = match self.execute(query, offset, count, &token).await? {
            Answer::Accepted(object) => return decode_page(object),
            Answer::Rejected { code, message } if code == NOT_AUTHORISED => {
                return Err(not_authorised(message));
            }
            Answer::Rejected { code, message } => (code, message),
        };
        tracing::info!(
            code,
            txterr = %message,
            "divalto rejected the call; logging in again before one retry"
        );
        let token = self
            .inner
            .tokens
            .replace(&token, || self.authenticate())
            .await?;
        match self.execute(query, offset, count, &token).await? {
            Answer::Accepted(object) => decode_page(object),
            Answer::Rejected { code, message } if code == NOT_AUTHORISED => {
                Err(not_authorised(message))
            }
            Answer::Rejected { code, message } => Err(DivaltoError::permanent(
                PermanentReason::Business,
                Some(code),
                message,
            )),
        }
    }

    async fn execute(
        &self,
        query: &RecordQuery,
        offset: u64,
        count: RecordCount,
        token: &Token,
    ) -> Result<Answer, DivaltoError> {
        let body = ExecuteBody::new(query, token.expose(), offset, count);
        let (status, bytes) = self
            .post(&self.inner.execute_url, EXECUTE_TEMPLATE, &body)
            .await?;
        let secrets = [token.expose(), self.inner.password.expose_secret()];
        classify(status, &bytes, &secrets, BodyShown::Excerpt)
    }

    /// Logs in for a new token, inside a `token.refresh` span.
    async fn authenticate(&self) -> Result<SecretString, DivaltoError> {
        self.login()
            .instrument(telemetry::http::token_refresh_span())
            .await
    }

    async fn login(&self) -> Result<SecretString, DivaltoError> {
        let password = self.inner.password.expose_secret();
        let body = AuthBody {
            domain: &self.inner.domain,
            user: &self.inner.user,
            password,
            env: &self.inner.environment,
            infos: "",
        };
        let (status, bytes) = self
            .post(&self.inner.auth_url, AUTH_TEMPLATE, &body)
            .await?;
        // The body of a login answer may hold a token: only its size goes into errors.
        decode_token(classify(status, &bytes, &[password], BodyShown::SizeOnly)?)
    }

    /// One rate-limited JSON POST in its `http.client` span, named by the path
    /// `template`; the body is never logged. A 429 pauses the gate for every worker of
    /// the connection.
    async fn post(
        &self,
        url: &Url,
        template: &'static str,
        body: &impl Serialize,
    ) -> Result<(StatusCode, Vec<u8>), DivaltoError> {
        self.inner.gate.until_ready().await;
        let span = telemetry::http::client_span("POST", template, url);
        let (status, headers, bytes) = self.send(url, body, &span).instrument(span.clone()).await?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.inner.gate.pause(retry_after(&headers)).await;
        }
        Ok((status, bytes))
    }

    /// One POST and the whole answer, recorded on the call's `span`.
    async fn send(
        &self,
        url: &Url,
        body: &impl Serialize,
        span: &Span,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), DivaltoError> {
        let response = self
            .inner
            .http
            .post(url.clone())
            .json(body)
            .send()
            .await
            .map_err(|error| transport_failure(span, error))?;
        let status = response.status();
        telemetry::http::record_status(span, status.as_u16());
        let headers = response.headers().clone();
        let bytes = upstream_body::read(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|error| body_failure(span, error))?;
        tracing::debug!(
            path = url.path(),
            status = status.as_u16(),
            bytes = bytes.len(),
            "divalto answer received"
        );
        Ok((status, headers, bytes))
    }
}

impl fmt::Debug for DivaltoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DivaltoClient")
            .field("execute_url", &self.inner.execute_url.as_str())
            .field("domain", &self.inner.domain)
            .field("user", &self.inner.user)
            .field("environment", &self.inner.environment)
            .finish_non_exhaustive()
    }
}

/// `{base_url}/`, refusing what cannot be a plain http(s) service root.
fn base_url(base_url: &str) -> Result<Url, DivaltoError> {
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

fn configuration(message: impl Into<String>) -> DivaltoError {
    DivaltoError::permanent(PermanentReason::Configuration, None, message)
}

fn not_authorised(message: String) -> DivaltoError {
    DivaltoError::permanent(
        PermanentReason::NotAuthorised,
        Some(NOT_AUTHORISED),
        format!("dhoq/recordsql not declared in the web-service settings: {message}"),
    )
}

/// No answer was read: the request may not even have left, so a retry is safe. The
/// call's `span` records why.
fn transport_failure(span: &Span, error: reqwest::Error) -> DivaltoError {
    let reason = if error.is_timeout() {
        TransientReason::Timeout
    } else {
        TransientReason::Connection
    };
    telemetry::http::record_transport_error(span, &error);
    DivaltoError::transient(reason, describe(&error))
}

/// The answer's body was not read whole: it broke off or timed out (transient), or it
/// is larger than any page (an invalid response). The call's `span` records why.
fn body_failure(span: &Span, error: BodyError) -> DivaltoError {
    match error {
        BodyError::Transport(error) => transport_failure(span, error),
        BodyError::TooLarge { .. } => {
            telemetry::http::record_failure(span, "body_too_large");
            DivaltoError::permanent(PermanentReason::InvalidResponse, None, error.to_string())
        }
    }
}

/// A `Retry-After` in seconds. Divalto documents no rate limit, so the HTTP-date form
/// is not read: it counts as none.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
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

    #[test]
    fn paths_are_appended_with_or_without_a_trailing_slash() {
        for base in [
            "http://host:8080/DhsDivaltoServiceDivaApiRest",
            "http://host:8080/DhsDivaltoServiceDivaApiRest/",
        ] {
            let base = base_url(base).expect("a usable base");
            assert_eq!(
                base.join(EXECUTE_PATH).map(String::from).ok().as_deref(),
                Some("http://host:8080/DhsDivaltoServiceDivaApiRest/api/v1/RecordSql/Execute")
            );
        }
        let cloud = base_url("https://api.divaltocloud.com/123456/TEST1").expect("a usable base");
        assert_eq!(
            cloud.join(AUTH_PATH).map(String::from).ok().as_deref(),
            Some("https://api.divaltocloud.com/123456/TEST1/api/v1/Authent/Auth")
        );
    }

    #[test]
    fn unusable_base_urls_are_configuration_errors() {
        for base in [
            "not a url",
            "ftp://example.org",
            "https://user:secret@example.org",
            "https://example.org/?x=1",
        ] {
            assert!(
                matches!(
                    base_url(base),
                    Err(DivaltoError::Permanent {
                        reason: PermanentReason::Configuration,
                        ..
                    })
                ),
                "{base}"
            );
        }
    }
}
