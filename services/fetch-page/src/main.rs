//! The fetch-page worker binary: wires settings, telemetry, the broker and signals.

use std::process::ExitCode;

use anyhow::Context;
use broker::{Broker, Topology, TopologyOptions};
use job_state::JobStore;
use secrecy::ExposeSecret;
use settings::Settings;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let telemetry = match telemetry::init("fetch-page") {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("cannot start telemetry: {error}");
            return ExitCode::from(70);
        }
    };
    let settings = match Settings::from_process_env() {
        Ok(settings) => settings,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(64);
        }
    };
    let result = serve(settings).await;
    if let Err(error) = telemetry.shutdown() {
        eprintln!("telemetry did not flush: {error}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "fetch-page stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let topology = Topology::new(TopologyOptions {
        queue_expires: settings.broker.queue_expires,
        ..TopologyOptions::named(settings.broker.prefix.clone())
    });
    let broker = Broker::connect(settings.broker.url.expose_secret(), topology)
        .await
        .context("connecting to the broker")?;
    let store = JobStore::connect(
        &settings.state.url,
        &settings.broker.prefix,
        settings.state.job_ttl,
    )
    .await
    .context("connecting to the job state store")?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let result = fetch_page::run(&settings, &broker, &store, shutdown).await;
    broker.close(settings.worker.drain_grace).await;
    result.context("running the consumer")
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                return;
            }
        };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received; draining"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; draining"),
    }
    shutdown.cancel();
}
