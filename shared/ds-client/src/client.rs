//! The HTTP side: one rate-limited POST per call to the GraphQL endpoint, its answer
//! read up to [`MAX_ANSWER_BYTES`].

use crate::classify::classify;
use crate::documents::Document;
use crate::error::{DsError, PermanentReason, TransientReason};
use crate::request::{DeletedDossiersPageRequest, DossiersPageRequest, PageQuery};
use crate::response::{DeletedDossier, Dossier, Page, decode_page};
use chrono::{DateTime, Utc};
use rate_gate::RateGate;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url, redirect};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument as _, Span};
use upstream_body::BodyError;

/// Path of the GraphQL API under the base URL.
const GRAPHQL_PATH: &str = "api/v2/graphql";
/// The `url.template` of a call's span: the API path, whatever the base URL's prefix.
const GRAPHQL_TEMPLATE: &str = "/api/v2/graphql";
/// The largest answer read: a page of 100 dossiers of our documents, or a dossier's
/// messages, weighs kilobytes; anything near 16 MiB is not an answer to our queries.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Where and as whom to call the API.
#[derive(Debug, Clone)]
pub struct DsEndpoint {
    /// Scheme and host, with or without a trailing slash, such as
    /// `https://demarche.numerique.gouv.fr`.
    pub base_url: String,
    /// The API token, sent as `Authorization: Bearer <token>`.
    pub token: SecretString,
    /// Limit for one whole call: connecting, sending and reading the answer.
    pub timeout: Duration,
}

/// A client of the GraphQL API v2; cheap to clone, clones share one connection pool
/// and one rate gate.
#[derive(Clone)]
pub struct DsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: Url,
    /// `Bearer <token>`, marked sensitive so no debug output shows it.
    authorization: HeaderValue,
    gate: Arc<RateGate>,
}

/// The JSON body of a GraphQL POST.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GraphqlRequest<V> {
    query: &'static str,
    variables: V,
    operation_name: &'static str,
}

impl DsClient {
    /// Builds a client for `endpoint`; every call waits on `gate` first, and a 429
    /// pauses it until the answer's `RateLimit-Reset` (one window of the gate's limit
    /// when the answer gives no usable reset). Fails with a
    /// [`PermanentReason::Configuration`] error when the base URL or the token is unusable.
    pub fn new(endpoint: DsEndpoint, gate: Arc<RateGate>) -> Result<Self, DsError> {
        let url = graphql_url(&endpoint.base_url)?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", endpoint.token.expose_secret()))
                .map_err(|_| configuration("the token is not a valid http header value"))?;
        authorization.set_sensitive(true);
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
                url,
                authorization,
                gate,
            }),
        })
    }

    /// One page of dossiers; waits on the rate gate before the request.
    pub async fn dossiers_page(
        &self,
        request: &DossiersPageRequest,
    ) -> Result<Page<Dossier>, DsError> {
        self.page(request).await
    }

    /// One page of deleted or pending-deleted dossiers; waits on the rate gate before
    /// the request.
    pub async fn deleted_dossiers_page(
        &self,
        request: &DeletedDossiersPageRequest,
    ) -> Result<Page<DeletedDossier>, DsError> {
        self.page(request).await
    }

    #[tracing::instrument(
        name = "ds_client.page",
        skip_all,
        fields(operation = request.document().operation_name)
    )]
    async fn page<R: PageQuery>(&self, request: &R) -> Result<Page<R::Node>, DsError> {
        let data = self.post(request.document(), request.variables()).await?;
        decode_page(data)
    }

    /// Waits on the rate gate, posts one document and classifies the answer; a 429
    /// pauses the gate for every worker of the connection.
    pub(crate) async fn post(
        &self,
        document: Document,
        variables: impl Serialize,
    ) -> Result<serde_json::Value, DsError> {
        self.inner.gate.until_ready().await;
        let body = GraphqlRequest {
            query: document.source,
            variables,
            operation_name: document.operation_name,
        };
        let span = telemetry::http::client_span("POST", GRAPHQL_TEMPLATE, &self.inner.url);
        let (status, headers, bytes) = self.send(&body, &span).instrument(span.clone()).await?;
        let answer = classify(status, &headers, &bytes, Utc::now());
        if let Err(DsError::RateLimited { reset_at }) = &answer {
            self.inner.gate.pause(reset_at.map(wait_until)).await;
        }
        answer
    }

    /// One POST and the whole answer, recorded on the call's `span`.
    async fn send(
        &self,
        body: &impl Serialize,
        span: &Span,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), DsError> {
        let response = self
            .inner
            .http
            .post(self.inner.url.clone())
            .header(AUTHORIZATION, self.inner.authorization.clone())
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
            status = status.as_u16(),
            bytes = bytes.len(),
            "ds answer received"
        );
        Ok((status, headers, bytes))
    }
}

impl fmt::Debug for DsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DsClient")
            .field("url", &self.inner.url.as_str())
            .finish_non_exhaustive()
    }
}

/// `{base_url}/api/v2/graphql`, refusing what cannot be a plain http(s) base.
fn graphql_url(base_url: &str) -> Result<Url, DsError> {
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
    base.join(GRAPHQL_PATH)
        .map_err(|error| configuration(format!("base url {base_url:?}: {error}")))
}

fn configuration(message: impl Into<String>) -> DsError {
    DsError::permanent(PermanentReason::Configuration, None, message)
}

/// No answer was read: the request may not even have left, so a retry is safe. The
/// call's `span` records why.
fn transport_failure(span: &Span, error: reqwest::Error) -> DsError {
    let reason = if error.is_timeout() {
        TransientReason::Timeout
    } else {
        TransientReason::Connection
    };
    telemetry::http::record_transport_error(span, &error);
    DsError::transient(reason, describe(&error))
}

/// The answer's body was not read whole: it broke off or timed out (transient), or it
/// is larger than any answer to our documents (an invalid response). The call's `span`
/// records why.
fn body_failure(span: &Span, error: BodyError) -> DsError {
    match error {
        BodyError::Transport(error) => transport_failure(span, error),
        BodyError::TooLarge { .. } => {
            telemetry::http::record_failure(span, "body_too_large");
            DsError::permanent(PermanentReason::InvalidResponse, None, error.to_string())
        }
    }
}

/// How long from now until `at`; zero once it has passed.
fn wait_until(at: DateTime<Utc>) -> Duration {
    (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)
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
    fn the_graphql_path_is_appended_with_or_without_a_trailing_slash() {
        for base in [
            "https://demarche.numerique.gouv.fr",
            "https://demarche.numerique.gouv.fr/",
        ] {
            assert_eq!(
                graphql_url(base).map(String::from),
                Ok("https://demarche.numerique.gouv.fr/api/v2/graphql".to_owned())
            );
        }
        assert_eq!(
            graphql_url("http://127.0.0.1:8080/prefix/").map(String::from),
            Ok("http://127.0.0.1:8080/prefix/api/v2/graphql".to_owned())
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
                    graphql_url(base),
                    Err(DsError::Permanent {
                        reason: PermanentReason::Configuration,
                        ..
                    })
                ),
                "{base}"
            );
        }
    }
}
