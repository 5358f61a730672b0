//! The spans of an upstream call, after OpenTelemetry's HTTP client conventions:
//! one `http.client` span per request sent (a retry is a second span), a
//! `rate_limit.wait` span around the wait for the client's rate limiter, and a
//! `token.refresh` span around an access-token request.
//!
//! Fields carry the URL *template* only, never the full URL, a query, a header
//! or a body, so no token, password, key or signature can reach a span.

use tracing::Span;
use tracing::field::Empty;
use url::Url;

/// An `http.client` span for one `method` request to `url`: `otel.kind =
/// client`, named `<METHOD> <url template>` for OpenTelemetry, with
/// `url.template` (the path as a template, without secrets nor query:
/// `/api/v2/graphql`, `/get/updates/{since}/{offset},{limit}`),
/// `server.address` and `server.port` taken from `url` (nothing else of it),
/// and empty `http.response.status_code` and `error.type` fields that
/// [`record_status`] and [`record_failure`] fill in. Instrument the send and
/// the read of the answer with it.
pub fn client_span(method: &str, url_template: &str, url: &Url) -> Span {
    tracing::info_span!(
        "http.client",
        otel.name = %format_args!("{method} {url_template}"),
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = method,
        url.template = url_template,
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default(),
        http.response.status_code = Empty,
        error.type = Empty,
    )
}

/// Records the answer's status on a client span; a status of 400 or more is
/// also its `error.type` and marks the span in error.
pub fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 400 {
        span.record("error.type", status.to_string());
        span.record("otel.status_code", "error");
    }
}

/// Records on a client span that no answer was read, and why (`timeout`,
/// `connect`, …), and marks the span in error.
pub fn record_failure(span: &Span, error_type: &'static str) {
    span.record("error.type", error_type);
    span.record("otel.status_code", "error");
}

/// Marks `span` as a request that got no answer, with `error.type` `timeout`,
/// `connect` or `transport`.
pub fn record_transport_error(span: &Span, error: &reqwest::Error) {
    let error_type = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "transport"
    };
    record_failure(span, error_type);
}

/// The span around the wait for a client's rate limiter, before a request.
pub fn rate_limit_wait_span() -> Span {
    tracing::info_span!("rate_limit.wait")
}

/// The span around an access-token request (a login); its `http.client` span
/// is a child. Its empty `outcome` field is for `obtained` or `failed`.
pub fn token_refresh_span() -> Span {
    tracing::info_span!("token.refresh", outcome = Empty)
}
