//! The one way a client calls its upstream: wait on the connection's rate gate, send
//! in an `http.client` span, read the answer's body up to the API's size, and pause
//! the gate for every worker when the upstream answers 429.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rate_gate::RateGate;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{RequestBuilder, StatusCode, redirect};
use tracing::{Instrument as _, Span};

use crate::body::{self, BodyError};
use crate::error::{PermanentReason, TransientReason, UpstreamError};
use crate::reset;

/// What every request says it is sent by.
pub const USER_AGENT: &str = concat!("estafette/", env!("CARGO_PKG_VERSION"));

/// How one connection reaches its upstream: an HTTP client with the connection's
/// timeout that follows no redirect, its rate gate, and the most an answer may hold.
/// Cheap to clone; clones share the connection pool and the gate.
#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
    gate: Arc<RateGate>,
    max_answer_bytes: usize,
}

/// A whole answer: its status, its headers and its body, read in full.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, at most the upstream's `max_answer_bytes`.
    pub body: Vec<u8>,
}

impl Upstream {
    /// An upstream reached within `timeout` per call (connecting, sending and reading
    /// the whole answer), through `gate`, whose answers hold at most
    /// `max_answer_bytes`; requests name themselves [`USER_AGENT`].
    pub fn new(
        timeout: Duration,
        gate: Arc<RateGate>,
        max_answer_bytes: usize,
    ) -> Result<Self, UpstreamError> {
        if timeout.is_zero() {
            return Err(UpstreamError::configuration("the request timeout is zero"));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(|error| {
                UpstreamError::configuration(format!("http client: {}", describe(&error)))
            })?;
        Ok(Self {
            http,
            gate,
            max_answer_bytes,
        })
    }

    /// Waits on the rate gate, then sends the request that `build` makes (it runs
    /// once the gate has let the call go, so a signature's or token's time is that of
    /// the send) and reads its whole answer in an `http.client` span named by the path
    /// `template` (never the URL's query, a header or a body). A 429 pauses the gate
    /// until the answer's reset ([`Answer::reset_at`]); the answer is returned for the
    /// client to classify.
    ///
    /// Fails with `build`'s own error, as [`TransientReason::Timeout`] or
    /// [`TransientReason::Connection`] when no whole answer was read,
    /// [`PermanentReason::InvalidResponse`] when it is larger than the upstream sends,
    /// and [`PermanentReason::Configuration`] when the request cannot be built.
    pub async fn send<F>(&self, template: &str, build: F) -> Result<Answer, UpstreamError>
    where
        F: FnOnce(&reqwest::Client) -> Result<RequestBuilder, UpstreamError>,
    {
        self.gate.until_ready().await;
        let request = build(&self.http)?.build().map_err(|error| {
            UpstreamError::configuration(format!(
                "the request cannot be built: {}",
                describe(&error)
            ))
        })?;
        let span = telemetry::http::client_span(request.method().as_str(), template, request.url());
        let answer = self
            .receive(request, &span)
            .instrument(span.clone())
            .await?;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            let now = Utc::now();
            let wait = answer.reset_at(now).map(|at| reset::wait_until(at, now));
            self.gate.pause(wait).await;
        }
        Ok(answer)
    }

    async fn receive(
        &self,
        request: reqwest::Request,
        span: &Span,
    ) -> Result<Answer, UpstreamError> {
        let path = request.url().path().to_owned();
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|error| transport_failure(span, &error))?;
        let status = response.status();
        telemetry::http::record_status(span, status.as_u16());
        let headers = response.headers().clone();
        let body =
            body::read(response, self.max_answer_bytes)
                .await
                .map_err(|error| match error {
                    BodyError::Transport(error) => transport_failure(span, &error),
                    BodyError::TooLarge { .. } => {
                        telemetry::http::record_failure(span, "body_too_large");
                        UpstreamError::permanent_with_code(
                            PermanentReason::InvalidResponse,
                            status.as_u16(),
                            error.to_string(),
                        )
                    }
                })?;
        tracing::debug!(
            path,
            status = status.as_u16(),
            bytes = body.len(),
            "upstream answer received"
        );
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish_non_exhaustive()
    }
}

impl Answer {
    /// When the upstream's rate-limit window resets, from this answer's headers.
    pub fn reset_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        reset::reset_at(&self.headers, now)
    }

    /// The failure this answer stands for when it is a redirect: requests are not
    /// followed elsewhere, so the base URL needs fixing.
    pub fn redirect(&self) -> UpstreamError {
        let target = match self.headers.get(LOCATION).map(|value| value.to_str()) {
            Some(Ok(location)) => format!("to {location}"),
            Some(Err(_)) => "to an unreadable location".to_owned(),
            None => "without a location".to_owned(),
        };
        UpstreamError::permanent_with_code(
            PermanentReason::Redirect,
            self.status.as_u16(),
            format!(
                "http {} redirects {target}; requests are not followed, fix the base url",
                self.status
            ),
        )
    }
}

/// No whole answer was read: the request may not even have left, so a retry is safe.
/// The call's `span` records why.
fn transport_failure(span: &Span, error: &reqwest::Error) -> UpstreamError {
    let reason = if error.is_timeout() {
        TransientReason::Timeout
    } else {
        TransientReason::Connection
    };
    telemetry::http::record_transport_error(span, error);
    UpstreamError::transient(reason, describe(error))
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
