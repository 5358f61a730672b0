//! Builds the subscriber stack and installs it as the global default.

use std::sync::Once;

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::{SubscriberInitExt as _, TryInitError};
use tracing_subscriber::{Layer, Registry, fmt};

use crate::{TelemetryError, TelemetryGuard, provider};

/// Chooses JSON log lines when set to `json`; `text` (the default) is
/// human-readable.
const LOG_FORMAT_VAR: &str = "ESTAFETTE_LOG_FORMAT";

/// When set, tests print their logs instead of discarding them.
const TEST_LOG_VAR: &str = "TEST_LOG";

/// Service name of the spans recorded by tests.
const TEST_SERVICE_NAME: &str = "estafette-tests";

type FmtLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs logging and tracing for a service, configured from `RUST_LOG`,
/// `ESTAFETTE_LOG_FORMAT` and the standard `OTEL_*` variables, and sets the
/// global W3C trace-context propagator. Call it once, first thing in `main`,
/// and keep the guard until the end.
pub fn init(service_name: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env()?;
    let fmt_layer: FmtLayer = match std::env::var(LOG_FORMAT_VAR).as_deref() {
        Ok("json") => Box::new(fmt::layer().json()),
        Ok("text") | Err(_) => Box::new(fmt::layer()),
        Ok(other) => return Err(TelemetryError::LogFormat(other.to_owned())),
    };
    let provider = provider::from_env(service_name)?;
    install(fmt_layer, filter, &provider)?;
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// Installs the same stack for tests, once per process however often it is
/// called: logs are discarded unless `TEST_LOG` is set, and spans get trace
/// ids that propagate but are never exported. Does nothing if another global
/// subscriber was installed first.
pub fn init_for_tests() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let filter = EnvFilter::builder()
            .with_default_directive(LevelFilter::INFO.into())
            .from_env_lossy();
        let fmt_layer: FmtLayer = if std::env::var_os(TEST_LOG_VAR).is_some() {
            Box::new(fmt::layer().with_test_writer())
        } else {
            Box::new(fmt::layer().with_writer(std::io::sink))
        };
        let provider = provider::without_exporter(TEST_SERVICE_NAME);
        // Another subscriber already owning the process is the test
        // author's choice; it is kept.
        let _ = install(fmt_layer, filter, &provider);
    });
}

/// Makes the stack the global default, then registers the provider and the
/// propagator globally for libraries that use the OpenTelemetry API directly.
fn install(
    fmt_layer: FmtLayer,
    filter: EnvFilter,
    provider: &SdkTracerProvider,
) -> Result<(), TryInitError> {
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    tracing_subscriber::registry()
        .with(fmt_layer)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .with(filter)
        .try_init()?;
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(())
}
