//! Builds the subscriber stack and installs it as the global default.

use std::io::IsTerminal;

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::{SubscriberInitExt as _, TryInitError};
use tracing_subscriber::{Layer, Registry, fmt};

use crate::log_format::LogFormat;
use crate::{TelemetryError, TelemetryGuard, provider};

/// A layer installed directly over the registry, as [`init_with_layers`] takes them.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Whether text logs written to `stream` are coloured: only on a terminal, and not
/// when `NO_COLOR` is set to anything but the empty string (<https://no-color.org>).
fn colour(stream: &impl IsTerminal) -> bool {
    wants_colour(
        stream.is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn wants_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Installs logging and tracing for a service, configured from `RUST_LOG`,
/// `ESTAFETTE_LOG_FORMAT` (or `LOG_FORMAT`) and the standard `OTEL_*`
/// variables, and sets the global W3C trace-context propagator. Call it once,
/// first thing in `main`, and keep the guard until the end.
pub fn init(service_name: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    init_with_layers(service_name, Vec::new())
}

/// [`init`], with `layers` installed in the same subscriber, beside the log
/// and trace layers. `RUST_LOG` filters the logs only: the trace layer and
/// `layers` (metrics derived from spans) always see every span at `info` and
/// above, whatever the log level.
pub fn init_with_layers(
    service_name: &'static str,
    layers: Vec<BoxedLayer>,
) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env()?;
    let fmt_layer: BoxedLayer = match LogFormat::from_env()? {
        LogFormat::Text => Box::new(fmt::layer().with_ansi(colour(&std::io::stdout()))),
        LogFormat::Json => json_layer(std::io::stdout),
    };
    let provider = provider::from_env(service_name)?;
    install(fmt_layer, layers, None, filter, &provider)?;
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// Installs the stack for a command-line tool whose standard output is its
/// result: logs go to standard error, `warn` and above unless `RUST_LOG` says
/// otherwise; spans are exported as for a service, so a command the tool
/// publishes starts the job's trace.
pub fn init_for_tool(service_name: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::WARN.into())
        .from_env()?;
    let fmt_layer: BoxedLayer = Box::new(
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour(&std::io::stderr())),
    );
    let provider = provider::from_env(service_name)?;
    install(fmt_layer, Vec::new(), None, filter, &provider)?;
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// One JSON object per line, with the current span and every span it is
/// nested in.
pub(crate) fn json_layer<W>(writer: W) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Box::new(
        fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer),
    )
}

/// Makes the stack the global default, then registers the provider and the
/// propagator globally for libraries that use the OpenTelemetry API directly.
/// `filter` applies to the logs; spans reach the trace layer and the extra
/// layers at `info` and above; `log_reader`, when given, sees everything.
pub(crate) fn install(
    fmt_layer: BoxedLayer,
    extra_layers: Vec<BoxedLayer>,
    log_reader: Option<BoxedLayer>,
    filter: EnvFilter,
    provider: &SdkTracerProvider,
) -> Result<(), TryInitError> {
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    let mut span_layers = vec![tracing_opentelemetry::layer().with_tracer(tracer).boxed()];
    span_layers.extend(extra_layers);
    let mut layers: Vec<BoxedLayer> = vec![
        fmt_layer.with_filter(filter).boxed(),
        span_layers.with_filter(LevelFilter::INFO).boxed(),
    ];
    layers.extend(log_reader);
    tracing_subscriber::registry().with(layers).try_init()?;
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::wants_colour;

    #[test]
    fn logs_are_coloured_only_on_a_terminal_and_never_under_no_color() {
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(OsStr::new(""))));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(false, None));
    }
}
