//! Runs the sandbox upstream until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use sandbox::{EndOfList, FaultConfig, RateLimitConfig, Sandbox, SandboxConfig};

/// A local stand-in for the upstream APIs, with seeded data and injected faults.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Delay added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests answered with HTTP 500 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    server_error_rate: f64,
    /// Share of requests answered with HTTP 429 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    rate_limited_rate: f64,
    /// Share of requests whose connection is closed without a response (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    dropped_connection_rate: f64,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests allowed per token and window.
    #[arg(long, default_value_t = 400)]
    rate_limit: u32,
    /// Length of the rate-limit window, in seconds.
    #[arg(long, default_value_t = 60)]
    rate_limit_window_secs: u64,
    /// Serve the last page again after its end cursor, as the documentation warns.
    #[arg(long)]
    repeat_last_page: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = SandboxConfig {
        latency: Duration::from_millis(args.latency_ms),
        faults: FaultConfig {
            seed: args.seed,
            server_error_rate: args.server_error_rate,
            rate_limited_rate: args.rate_limited_rate,
            dropped_connection_rate: args.dropped_connection_rate,
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    };
    config.ds.rate_limit = RateLimitConfig {
        limit: args.rate_limit,
        window: Duration::from_secs(args.rate_limit_window_secs),
    };
    if args.repeat_last_page {
        config.ds.end_of_list = EndOfList::RepeatLastPage;
    }
    let sandbox = Sandbox::start(config, args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let base = sandbox.base_url();
    println!("sandbox listening on {base}");
    println!("divalto base url: {base}{}", sandbox::divalto::PATH_PREFIX);
    println!(
        "amienscope base url: {base}{}",
        sandbox::amienscope::PATH_PREFIX
    );
    wait_for_signal().await?;
    sandbox.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot listen for SIGINT"),
        _ = terminate.recv() => Ok(()),
    }
}
