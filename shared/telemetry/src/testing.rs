//! The telemetry stack for tests (the `testing` feature): logs discarded unless
//! `TEST_LOG` is set, spans never exported, or handed to a test's own exporter.

use std::sync::Once;

use opentelemetry_sdk::trace::SpanExporter;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::{self, MakeWriter};

use crate::install::{BoxedLayer, install, json_layer};
use crate::{TelemetryError, TelemetryGuard, provider};

/// When set, tests print their logs instead of discarding them.
const TEST_LOG_VAR: &str = "TEST_LOG";

/// Service name of the spans recorded by tests.
const TEST_SERVICE_NAME: &str = "estafette-tests";

/// Installs the same stack for tests, once per process however often it is
/// called: logs are discarded unless `TEST_LOG` is set, and spans get trace
/// ids that propagate but are never exported. Does nothing if another global
/// subscriber was installed first.
pub fn init_for_tests() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let provider = provider::without_exporter(TEST_SERVICE_NAME);
        // Another subscriber already owning the process is the test
        // author's choice; it is kept.
        let _ = install(test_fmt_layer(), Vec::new(), None, test_filter(), &provider);
    });
}

/// Installs the test stack of [`init_for_tests`], but hands every span to
/// `exporter` as soon as it ends (a simple, synchronous span processor), so a
/// test can inspect the spans it caused. One global subscriber per process:
/// a second call, or a call after [`init_for_tests`], fails with
/// [`TelemetryError::AlreadyInstalled`].
pub fn init_with_exporter<E>(exporter: E) -> Result<TelemetryGuard, TelemetryError>
where
    E: SpanExporter + 'static,
{
    init_for_inspection(exporter, None)
}

/// [`init_with_exporter`], and every log line also written to `writer` in the
/// services' JSON format, at every level whatever `RUST_LOG` says, so a test
/// can read all that a run could log. One global subscriber per process, as
/// for [`init_with_exporter`].
pub fn init_with_exporter_and_log_writer<E, W>(
    exporter: E,
    writer: W,
) -> Result<TelemetryGuard, TelemetryError>
where
    E: SpanExporter + 'static,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    init_for_inspection(exporter, Some(json_layer(writer)))
}

fn init_for_inspection<E>(
    exporter: E,
    log_reader: Option<BoxedLayer>,
) -> Result<TelemetryGuard, TelemetryError>
where
    E: SpanExporter + 'static,
{
    let provider = provider::with_simple_exporter(TEST_SERVICE_NAME, exporter);
    install(
        test_fmt_layer(),
        Vec::new(),
        log_reader,
        test_filter(),
        &provider,
    )?;
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

fn test_filter() -> EnvFilter {
    EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy()
}

fn test_fmt_layer() -> BoxedLayer {
    if std::env::var_os(TEST_LOG_VAR).is_some() {
        Box::new(fmt::layer().with_test_writer())
    } else {
        Box::new(fmt::layer().with_writer(std::io::sink))
    }
}
