//! Tracing subscriber and OpenTelemetry export, configured from the environment.
//!
//! Verbs: [`init`] for a service's `main` ([`init_with_layers`] when the
//! service adds layers of its own, such as metrics), [`init_for_tool`] for a
//! command-line tool; with the `testing` feature, `init_for_tests` for test
//! harnesses, `init_with_exporter` for a test that inspects the spans it caused
//! (`init_with_exporter_and_log_writer` when it reads every log line too);
//! [`propagation`] to carry W3C trace context across messages; and
//! [`http`] for the spans of upstream HTTP calls.
//!
//! Every verb installs the same stack: an `EnvFilter` from `RUST_LOG`
//! (default `info`), a `fmt` layer, and a `tracing-opentelemetry` layer over
//! an SDK tracer provider. The provider is always there, so every span has a
//! trace id that propagates; it exports spans over OTLP (http/protobuf) only
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//! is set, and the standard `OTEL_*` variables configure the rest
//! (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, headers, timeout,
//! sampler, batch sizes). Only the http/protobuf protocol is built in
//! (collector port 4318); asking for grpc is an error, not a silent mismatch.
//!
//! # Log lines
//!
//! Logs are human-readable text unless `ESTAFETTE_LOG_FORMAT=json` or
//! `LOG_FORMAT=json` asks for one JSON object per line (when both are set,
//! `ESTAFETTE_LOG_FORMAT` wins; a value other than `text` or `json` is an
//! error). A JSON line carries, besides its own fields, the current span
//! (`span`: its name and fields) and every span it is nested in (`spans`),
//! so a worker's lines show the delivery's `job_id`, `messaging.message.id`
//! and `trace_id` (the OpenTelemetry trace id, 32 hex digits, to find the
//! trace in the tracing backend), recorded on its consumer span.

pub mod http;
mod install;
mod log_format;
pub mod propagation;
mod provider;
#[cfg(feature = "testing")]
mod testing;

use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::SdkTracerProvider;

pub use install::{BoxedLayer, init, init_for_tool, init_with_layers};
#[cfg(feature = "testing")]
pub use testing::{init_for_tests, init_with_exporter, init_with_exporter_and_log_writer};

/// Telemetry could not be set up; the service should report it and exit.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` holds a directive that does not parse.
    #[error("invalid RUST_LOG")]
    LogFilter(#[from] tracing_subscriber::filter::FromEnvError),
    /// `ESTAFETTE_LOG_FORMAT` (or `LOG_FORMAT`) is neither `text` nor `json`.
    #[error("{variable} must be text or json, found {value:?}")]
    LogFormat {
        /// The variable that chose the format.
        variable: &'static str,
        /// What it holds.
        value: String,
    },
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` asks for a protocol other than
    /// http/protobuf, the only one built in.
    #[error("only the http/protobuf otlp protocol is supported, found {0:?}")]
    UnsupportedProtocol(String),
    /// The OTLP exporter rejected its `OTEL_*` configuration.
    #[error("cannot build the otlp span exporter")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was installed earlier.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
    /// Spans still buffered could not be exported at shutdown.
    #[error("cannot flush and shut down the tracer provider")]
    Shutdown(#[from] OTelSdkError),
}

/// Keeps the tracer provider alive; flush it before the process exits with
/// [`TelemetryGuard::shutdown`], or let `Drop` do it.
#[derive(Debug)]
#[must_use = "dropping the guard shuts telemetry down at once"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Exports every span that has ended and is still buffered, and waits
    /// for the exporter; telemetry keeps running.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        match &self.provider {
            Some(provider) => Ok(provider.force_flush()?),
            None => Ok(()),
        }
    }

    /// Exports every buffered span, then stops the exporter.
    pub fn shutdown(mut self) -> Result<(), TelemetryError> {
        match self.provider.take() {
            Some(provider) => Ok(provider.shutdown()?),
            None => Ok(()),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "spans may be lost: tracer provider shutdown failed");
        }
    }
}
