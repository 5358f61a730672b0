//! The HTTP side: one POST per call to the GraphQL endpoint, sent through the
//! connection's [`Upstream`] (rate gate, span, answer read up to [`MAX_ANSWER_BYTES`]).

use crate::classify::classify;
use crate::documents::Document;
use crate::request::{DeletedDossiersPageRequest, DossiersPageRequest, PageQuery};
use crate::response::{DeletedDossier, Dossier, Page, decode_page};
use chrono::Utc;
use rate_gate::RateGate;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use settings::BaseUrl;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use upstream_http::{Upstream, UpstreamError};

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
    /// The root of the API, such as `https://demarche.numerique.gouv.fr`; the GraphQL
    /// endpoint is `api/v2/graphql` under it.
    pub base_url: BaseUrl,
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
    upstream: Upstream,
    url: Url,
    /// The token, masked in any excerpt of an answer that echoes it.
    token: SecretString,
    /// `Bearer <token>`, marked sensitive so no debug output shows it.
    authorization: HeaderValue,
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
    /// pauses it until the answer's reset (one window of the gate's limit when the
    /// answer gives no usable reset). Fails with a
    /// [`upstream_http::PermanentReason::Configuration`] error when the token or the
    /// timeout is unusable.
    pub fn new(endpoint: DsEndpoint, gate: Arc<RateGate>) -> Result<Self, UpstreamError> {
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", endpoint.token.expose_secret())).map_err(
                |_| UpstreamError::configuration("the token is not a valid http header value"),
            )?;
        authorization.set_sensitive(true);
        let upstream = Upstream::new(endpoint.timeout, gate, MAX_ANSWER_BYTES)?;
        Ok(Self {
            inner: Arc::new(Inner {
                upstream,
                url: endpoint.base_url.join(GRAPHQL_PATH),
                token: endpoint.token,
                authorization,
            }),
        })
    }

    /// One page of dossiers; waits on the rate gate before the request.
    pub async fn dossiers_page(
        &self,
        request: &DossiersPageRequest,
    ) -> Result<Page<Dossier>, UpstreamError> {
        self.page(request).await
    }

    /// One page of deleted or pending-deleted dossiers; waits on the rate gate before
    /// the request.
    pub async fn deleted_dossiers_page(
        &self,
        request: &DeletedDossiersPageRequest,
    ) -> Result<Page<DeletedDossier>, UpstreamError> {
        self.page(request).await
    }

    #[tracing::instrument(
        name = "ds_client.page",
        skip_all,
        fields(operation = request.document().operation_name)
    )]
    async fn page<R: PageQuery>(&self, request: &R) -> Result<Page<R::Node>, UpstreamError> {
        let data = self.post(request.document(), request.variables()).await?;
        decode_page(&data)
    }

    /// Posts one document through the upstream (which waits on the rate gate, and
    /// pauses it for every worker of the connection on a 429) and classifies the
    /// answer; the `data` it returns is JSON text, read by the caller.
    pub(crate) async fn post(
        &self,
        document: Document,
        variables: impl Serialize,
    ) -> Result<Box<serde_json::value::RawValue>, UpstreamError> {
        let body = GraphqlRequest {
            query: document.source,
            variables,
            operation_name: document.operation_name,
        };
        let inner = &self.inner;
        let answer = inner
            .upstream
            .send(GRAPHQL_TEMPLATE, |http| {
                Ok(http
                    .post(inner.url.clone())
                    .header(AUTHORIZATION, inner.authorization.clone())
                    .json(&body))
            })
            .await?;
        classify(&answer, Utc::now(), &[inner.token.expose_secret()])
    }
}

impl fmt::Debug for DsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DsClient")
            .field("url", &self.inner.url.as_str())
            .finish_non_exhaustive()
    }
}
