//! A tracing layer that derives the upstream metrics from the spans the HTTP
//! clients open, so the clients need no metrics code of their own:
//!
//! - `http.client`: its life, from creation to close, is observed in
//!   `estafette_upstream_request_duration_seconds`, with the status class of
//!   its `http.response.status_code` field, or `error` when it has none
//!   (an `error.type` alone means no answer came back).
//!   An answer of 429 also counts one in `estafette_rate_limit_pauses_total`;
//! - `rate_limit.wait`: its life is observed in `estafette_rate_limit_wait_seconds`;
//! - `token.refresh`: counts one in `estafette_token_refreshes_total` when it closes,
//!   `outcome="obtained"` when its `outcome` field says so, `failed` otherwise.
//!
//! The `connection` label is the `connection` field of the span itself or of
//! its nearest ancestor that has one (the consumer span records it once the
//! command is read); `unknown` when none has.

use std::fmt;
use std::time::Instant;

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::labels::StatusClass;
use crate::record::{rate_limit_paused, rate_limit_waited, token_refreshed, upstream_request};

/// The span an HTTP client opens around one request.
const HTTP_CLIENT_SPAN: &str = "http.client";
/// The span around a wait for a connection's rate limit.
const RATE_LIMIT_WAIT_SPAN: &str = "rate_limit.wait";
/// The span around obtaining a new access token.
const TOKEN_REFRESH_SPAN: &str = "token.refresh";

/// The field naming the upstream connection.
const CONNECTION_FIELD: &str = "connection";
/// The HTTP status of an `http.client` span's answer.
const STATUS_CODE_FIELD: &str = "http.response.status_code";
/// How a `token.refresh` span ended.
const OUTCOME_FIELD: &str = "outcome";
/// The `outcome` of a `token.refresh` span that got a token.
const TOKEN_OBTAINED: &str = "obtained";
/// The answer that pauses a connection's rate gate.
const TOO_MANY_REQUESTS: u16 = 429;

/// The connection label of spans that name no connection, nor any ancestor.
const UNKNOWN_CONNECTION: &str = "unknown";

/// Records upstream metrics from spans; see the module documentation. Add it to
/// the subscriber with [`layer()`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsLayer {
    _private: (),
}

/// The layer that records the upstream metrics from `http.client`,
/// `rate_limit.wait` and `token.refresh` spans.
pub fn layer() -> MetricsLayer {
    MetricsLayer::default()
}

/// The spans this layer measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measured {
    HttpClient,
    RateLimitWait,
    TokenRefresh,
}

impl Measured {
    fn of(span_name: &str) -> Option<Self> {
        match span_name {
            HTTP_CLIENT_SPAN => Some(Measured::HttpClient),
            RATE_LIMIT_WAIT_SPAN => Some(Measured::RateLimitWait),
            TOKEN_REFRESH_SPAN => Some(Measured::TokenRefresh),
            _ => None,
        }
    }
}

/// A measured span's start and the status or outcome it recorded, kept in its
/// extensions.
#[derive(Debug)]
struct Timing {
    measured: Measured,
    started: Instant,
    status: Option<u16>,
    obtained: bool,
}

/// The `connection` field a span recorded, kept in its extensions.
#[derive(Debug)]
struct ConnectionField(String);

/// The fields of interest among those a span records.
#[derive(Debug, Default)]
struct Fields {
    connection: Option<String>,
    status: Option<u16>,
    outcome: Option<String>,
}

impl Fields {
    fn any(&self) -> bool {
        self.connection.is_some() || self.status.is_some() || self.outcome.is_some()
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            CONNECTION_FIELD => self.connection = Some(value.to_owned()),
            STATUS_CODE_FIELD => self.status = value.trim().parse().ok(),
            OUTCOME_FIELD => self.outcome = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == STATUS_CODE_FIELD {
            self.status = u16::try_from(value).ok();
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == STATUS_CODE_FIELD {
            self.status = u16::try_from(value).ok();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            CONNECTION_FIELD => self.connection = Some(format!("{value:?}")),
            STATUS_CODE_FIELD => self.status = format!("{value:?}").trim().parse().ok(),
            OUTCOME_FIELD => self.outcome = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl MetricsLayer {
    /// Keeps what `fields` found in the span's extensions.
    fn keep<S>(&self, id: &Id, fields: Fields, measured: Option<Measured>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(measured) = measured {
            extensions.insert(Timing {
                measured,
                started: Instant::now(),
                status: None,
                obtained: false,
            });
        }
        if let Some(connection) = fields.connection {
            extensions.replace(ConnectionField(connection));
        }
        if let Some(timing) = extensions.get_mut::<Timing>() {
            if let Some(status) = fields.status {
                timing.status = Some(status);
            }
            if let Some(outcome) = fields.outcome {
                timing.obtained = outcome == TOKEN_OBTAINED;
            }
        }
    }
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        self.keep(id, fields, Measured::of(attrs.metadata().name()), &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if fields.any() {
            self.keep(id, fields, None, &ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(timing) = span.extensions_mut().remove::<Timing>() else {
            return;
        };
        let elapsed = timing.started.elapsed();
        let connection = span
            .scope()
            .find_map(|span| {
                span.extensions()
                    .get::<ConnectionField>()
                    .map(|field| field.0.clone())
            })
            .unwrap_or_else(|| UNKNOWN_CONNECTION.to_owned());
        match timing.measured {
            Measured::HttpClient => {
                let status = timing
                    .status
                    .map_or(StatusClass::Error, StatusClass::of_status);
                upstream_request(&connection, status, elapsed);
                if timing.status == Some(TOO_MANY_REQUESTS) {
                    rate_limit_paused(&connection);
                }
            }
            Measured::RateLimitWait => rate_limit_waited(&connection, elapsed),
            Measured::TokenRefresh => token_refreshed(&connection, timing.obtained),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tracing::field::Empty;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::registry::{encode, install};

    /// The value of the sample `name` whose labels include every one of `labels`;
    /// 0 when there is none yet.
    fn sample(name: &str, labels: &[(&str, &str)]) -> f64 {
        encode()
            .lines()
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
                let matches = series_name == name
                    && labels
                        .iter()
                        .all(|(key, value)| series_labels.contains(&format!("{key}=\"{value}\"")));
                matches.then(|| value.parse::<f64>().expect("a sample value is a number"))
            })
            .next()
            .unwrap_or(0.0)
    }

    fn upstream_count(connection: &str, class: &str) -> f64 {
        sample(
            "estafette_upstream_request_duration_seconds_count",
            &[("connection", connection), ("status_class", class)],
        )
    }

    fn with_layer(spans: impl FnOnce()) {
        let _ = install("layer-tests");
        let subscriber = tracing_subscriber::registry().with(layer());
        tracing::subscriber::with_default(subscriber, spans);
    }

    #[test]
    fn an_http_client_span_is_timed_under_the_connection_its_consumer_span_records() {
        with_layer(|| {
            let consumer = tracing::info_span!("process", connection = Empty);
            consumer.record("connection", "layer-a");
            let _entered = consumer.enter();
            let request = tracing::info_span!(
                "http.client",
                http.response.status_code = Empty,
                error.type = Empty
            );
            std::thread::sleep(Duration::from_millis(20));
            request.record("http.response.status_code", 503_u64);
            drop(request);
        });

        assert_eq!(upstream_count("layer-a", "5xx"), 1.0);
        let sum = sample(
            "estafette_upstream_request_duration_seconds_sum",
            &[("connection", "layer-a"), ("status_class", "5xx")],
        );
        assert!(sum >= 0.02, "{sum}");
    }

    #[test]
    fn the_connection_is_found_however_far_up_and_however_recorded() {
        with_layer(|| {
            let consumer = tracing::info_span!("process", connection = Empty);
            let _consumer = consumer.enter();
            let client = tracing::info_span!("ds.request");
            let _client = client.enter();
            let request = tracing::info_span!("http.client", http.response.status_code = 200);
            // Recorded after the request started: it counts when the request ends.
            consumer.record("connection", tracing::field::display("layer-b"));
            drop(request);
        });

        assert_eq!(upstream_count("layer-b", "2xx"), 1.0);
    }

    #[test]
    fn a_request_without_a_status_is_an_error() {
        with_layer(|| {
            let consumer = tracing::info_span!("process", connection = "layer-c");
            let _entered = consumer.enter();
            let request = tracing::info_span!("http.client", error.type = Empty);
            request.record("error.type", "timeout");
            drop(request);
        });

        assert_eq!(upstream_count("layer-c", "error"), 1.0);
        assert_eq!(upstream_count("layer-c", "2xx"), 0.0);
    }

    #[test]
    fn rate_limit_waits_and_token_refreshes_are_recorded() {
        with_layer(|| {
            let wait = tracing::info_span!("rate_limit.wait", connection = "layer-d");
            std::thread::sleep(Duration::from_millis(10));
            drop(wait);
            let consumer = tracing::info_span!("process", connection = "layer-d");
            let _entered = consumer.enter();
            for outcome in ["obtained", "failed", "obtained"] {
                let refresh = tracing::info_span!("token.refresh", outcome = Empty);
                refresh.record("outcome", outcome);
                drop(refresh);
            }
            // Dropped before it said how it ended: no token came of it.
            drop(tracing::info_span!("token.refresh", outcome = Empty));
        });

        let connection = [("connection", "layer-d")];
        assert_eq!(
            sample("estafette_rate_limit_wait_seconds_count", &connection),
            1.0
        );
        assert!(sample("estafette_rate_limit_wait_seconds_sum", &connection) >= 0.01);
        let refreshes = |outcome| {
            sample(
                "estafette_token_refreshes_total",
                &[("connection", "layer-d"), ("outcome", outcome)],
            )
        };
        assert_eq!(refreshes("obtained"), 2.0);
        assert_eq!(refreshes("failed"), 2.0);
    }

    #[test]
    fn a_429_answer_counts_a_pause_and_other_4xx_do_not() {
        with_layer(|| {
            let consumer = tracing::info_span!("process", connection = "layer-f");
            let _entered = consumer.enter();
            for status in [429_u64, 404, 429, 400] {
                drop(tracing::info_span!(
                    "http.client",
                    http.response.status_code = status
                ));
            }
        });

        assert_eq!(upstream_count("layer-f", "4xx"), 4.0);
        assert_eq!(
            sample(
                "estafette_rate_limit_pauses_total",
                &[("connection", "layer-f")]
            ),
            2.0
        );
    }

    #[test]
    fn a_span_under_no_connection_is_labelled_unknown() {
        let unknown = [("connection", "unknown"), ("outcome", "failed")];
        let before = sample("estafette_token_refreshes_total", &unknown);
        with_layer(|| drop(tracing::info_span!("token.refresh")));

        let after = sample("estafette_token_refreshes_total", &unknown);
        assert_eq!(after - before, 1.0);
    }

    #[test]
    fn other_spans_record_nothing() {
        with_layer(|| {
            let span = tracing::info_span!("http.server", connection = "layer-e");
            drop(span);
        });

        assert!(!encode().contains("layer-e"));
    }
}
