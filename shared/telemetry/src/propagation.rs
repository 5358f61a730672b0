//! W3C trace context (`traceparent`, `tracestate`) carried as header pairs,
//! so one trace follows a command across every message it causes.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::{OpenTelemetrySpanExt as _, SetParentError};

/// The current span's W3C context as header pairs (`traceparent` and, when
/// not empty, `tracestate`); empty when there is no traced current span.
pub fn inject_current() -> Vec<(String, String)> {
    let mut headers = Headers::default();
    TraceContextPropagator::new().inject_context(&Span::current().context(), &mut headers);
    headers.0
}

/// Makes the context carried by `headers` the parent of `span`, so `span`
/// joins that trace. Call it before `span` is first entered. Missing or
/// invalid headers leave `span` a new root; so does a span the filter
/// disabled.
pub fn set_parent(span: &Span, headers: &[(String, String)]) {
    let parent = TraceContextPropagator::new().extract(&HeaderSlice(headers));
    if !parent.span().span_context().is_valid() {
        return;
    }
    if let Err(SetParentError::AlreadyStarted) = span.set_parent(parent) {
        tracing::warn!("trace parent ignored: the span was entered before its parent was set");
    }
}

/// The OpenTelemetry trace id of `span`, as 32 lower-case hex digits, for log
/// lines; `None` for a span the filter disabled. Building the id starts the
/// span's trace: call [`set_parent`] first.
pub fn trace_id(span: &Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Header pairs being written, in the order the propagator sets them; an
/// empty value (a `tracestate` with no entries) is left out.
#[derive(Default)]
struct Headers(Vec<(String, String)>);

impl Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        if !value.is_empty() {
            self.0.push((key.to_owned(), value));
        }
    }
}

/// Header pairs being read; names match case-insensitively.
struct HeaderSlice<'a>(&'a [(String, String)]);

impl Extractor for HeaderSlice<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_matched_whatever_their_case() {
        let headers = [("TraceParent".to_owned(), "00-x".to_owned())];

        assert_eq!(HeaderSlice(&headers).get("traceparent"), Some("00-x"));
        assert_eq!(HeaderSlice(&headers).get("tracestate"), None);
    }
}
