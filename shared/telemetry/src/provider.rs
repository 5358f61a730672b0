//! The OpenTelemetry tracer provider: always present so trace ids exist and
//! propagate, exporting over OTLP only when an endpoint is configured.

use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{EnvResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::TelemetryError;

/// Variables that name where to send spans; without either, nothing is exported.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Variables that choose the OTLP protocol, most specific first.
const PROTOCOL_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// The one OTLP protocol this crate is built with.
const SUPPORTED_PROTOCOL: &str = "http/protobuf";

/// Overrides the service name given in code.
const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";

/// A provider that exports with OTLP when the environment names an endpoint.
pub(crate) fn from_env(service_name: &'static str) -> Result<SdkTracerProvider, TelemetryError> {
    let builder = SdkTracerProvider::builder().with_resource(resource(service_name));
    let builder = if endpoint_configured() {
        check_protocol()?;
        let exporter = SpanExporter::builder().with_http().build()?;
        builder.with_batch_exporter(exporter)
    } else {
        builder
    };
    Ok(builder.build())
}

/// A provider that records spans (so they carry ids) but exports nothing.
#[cfg(feature = "testing")]
pub(crate) fn without_exporter(service_name: &'static str) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(resource(service_name))
        .build()
}

/// A provider that hands each span to `exporter` as soon as it ends.
#[cfg(feature = "testing")]
pub(crate) fn with_simple_exporter<E>(service_name: &'static str, exporter: E) -> SdkTracerProvider
where
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    SdkTracerProvider::builder()
        .with_resource(resource(service_name))
        .with_simple_exporter(exporter)
        .build()
}

/// Refuses a protocol other than http/protobuf rather than send protobuf to
/// a gRPC port.
fn check_protocol() -> Result<(), TelemetryError> {
    let chosen = PROTOCOL_VARS
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()));
    match chosen {
        Some(protocol) if protocol != SUPPORTED_PROTOCOL => {
            Err(TelemetryError::UnsupportedProtocol(protocol))
        }
        _ => Ok(()),
    }
}

fn endpoint_configured() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// `service_name`, overridden by `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
/// itself overridden by `OTEL_SERVICE_NAME`; plus the other attributes of
/// `OTEL_RESOURCE_ATTRIBUTES` and the SDK's own.
fn resource(service_name: &'static str) -> Resource {
    let builder = Resource::builder_empty()
        .with_service_name(service_name)
        .with_detectors(&[
            Box::new(TelemetryResourceDetector),
            Box::new(EnvResourceDetector::new()),
        ]);
    match std::env::var(SERVICE_NAME_VAR) {
        Ok(name) if !name.is_empty() => builder.with_service_name(name),
        _ => builder,
    }
    .build()
}
