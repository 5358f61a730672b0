//! The HTTP side: rate-limited logins and `RecordSql/Execute` calls, with the retry
//! after one re-authentication; answers are read up to [`MAX_ANSWER_BYTES`].

use crate::answer::{Answer, BodyShown, classify};
use crate::auth::{AuthBody, decode_token, use_for};
use crate::page::{RecordPage, decode_page};
use crate::query::{ExecuteBody, RecordCount, RecordQuery};
use rate_gate::RateGate;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use settings::BaseUrl;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use upstream_http::{Grant, PermanentReason, Token, TokenCache, Upstream, UpstreamError};

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
    /// The service root, such as `http://host:8080/DhsDivaltoServiceDivaApiRest` on
    /// premises or `https://api.divaltocloud.com/123456/TEST1` in the cloud;
    /// `api/v1/...` is appended.
    pub base_url: BaseUrl,
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
    upstream: Upstream,
    auth_url: Url,
    execute_url: Url,
    domain: String,
    user: String,
    password: SecretString,
    environment: String,
    tokens: TokenCache,
    /// How long a token is handed to calls after its login was sent.
    token_use: Duration,
}

impl DivaltoClient {
    /// Builds a client for `endpoint`; every HTTP call waits on `gate` first, and a 429
    /// pauses it until the answer's reset (`Retry-After`; Divalto documents no rate
    /// limit, so without one, for one window of the gate's limit). Fails with a
    /// [`PermanentReason::Configuration`] error when the user is empty, or the token
    /// lifetime or the timeout is zero. Does not log in yet.
    pub fn new(endpoint: DivaltoEndpoint, gate: Arc<RateGate>) -> Result<Self, UpstreamError> {
        if endpoint.user.trim().is_empty() {
            return Err(UpstreamError::configuration("the user is empty"));
        }
        if endpoint.token_lifetime.is_zero() {
            return Err(UpstreamError::configuration("the token lifetime is zero"));
        }
        let upstream = Upstream::new(endpoint.timeout, gate, MAX_ANSWER_BYTES)?;
        Ok(Self {
            inner: Arc::new(Inner {
                upstream,
                auth_url: endpoint.base_url.join(AUTH_PATH),
                execute_url: endpoint.base_url.join(EXECUTE_PATH),
                domain: endpoint.domain,
                user: endpoint.user,
                password: endpoint.password,
                environment: endpoint.environment,
                tokens: TokenCache::default(),
                token_use: use_for(endpoint.token_lifetime),
            }),
        })
    }

    /// Up to `count` records of `query` from row `offset` (0-based), logging in first
    /// when the cached token is missing or old.
    ///
    /// Error 54 fails at once with [`PermanentReason::Forbidden`], code `54`. Any other
    /// non-zero `error` may be an expired token (its code is not documented), so the
    /// client logs in again once and retries the same page; a second rejection is
    /// [`PermanentReason::Refused`] with the `error` number as its code. A refused login
    /// is [`PermanentReason::Unauthorized`]. Transient failures and
    /// [`UpstreamError::RateLimited`] are returned, not retried.
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
    ) -> Result<RecordPage, UpstreamError> {
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
            Answer::Rejected { code, message } => Err(UpstreamError::permanent_with_code(
                PermanentReason::Refused,
                code,
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
    ) -> Result<Answer, UpstreamError> {
        let body = ExecuteBody::new(query, token.expose(), offset, count);
        let answer = self
            .post(&self.inner.execute_url, EXECUTE_TEMPLATE, &body)
            .await?;
        let secrets = [token.expose(), self.inner.password.expose_secret()];
        classify(&answer, &secrets, BodyShown::Excerpt)
    }

    /// Logs in for a new token.
    async fn authenticate(&self) -> Result<Grant, UpstreamError> {
        let secret = self.login().await?;
        Ok(Grant {
            secret,
            use_for: self.inner.token_use,
        })
    }

    async fn login(&self) -> Result<SecretString, UpstreamError> {
        let password = self.inner.password.expose_secret();
        let body = AuthBody {
            domain: &self.inner.domain,
            user: &self.inner.user,
            password,
            env: &self.inner.environment,
            infos: "",
        };
        let answer = self
            .post(&self.inner.auth_url, AUTH_TEMPLATE, &body)
            .await?;
        // The body of a login answer may hold a token: only its size goes into errors.
        decode_token(classify(&answer, &[password], BodyShown::SizeOnly)?)
    }

    /// One rate-limited JSON POST in its `http.client` span, named by the path
    /// `template`; the body is never logged.
    async fn post(
        &self,
        url: &Url,
        template: &str,
        body: &impl Serialize,
    ) -> Result<upstream_http::Answer, UpstreamError> {
        self.inner
            .upstream
            .send(template, |http| Ok(http.post(url.clone()).json(body)))
            .await
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

fn not_authorised(message: String) -> UpstreamError {
    UpstreamError::permanent_with_code(
        PermanentReason::Forbidden,
        NOT_AUTHORISED,
        format!("dhoq/recordsql not declared in the web-service settings: {message}"),
    )
}
