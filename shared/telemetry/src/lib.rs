//! Tracing subscriber and OpenTelemetry export, configured from the environment.
