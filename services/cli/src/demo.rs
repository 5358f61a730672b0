//! `estafette demo`: a sandbox upstream and a fetch-page worker in this process, a real
//! broker, and a full sync of the seeded démarche followed to its end.

use std::{num::NonZeroU32, process::ExitCode, time::Duration};

use anyhow::Context;
use broker::{Topology, TopologyOptions};
use clap::Args;
use contract::{Command, CommandBody, DsSync, WorkerKind};
use job_state::JobStore;
use sandbox::{Sandbox, SandboxConfig};
use settings::Settings;
use tokio_util::sync::CancellationToken;

use crate::{follow, sync_summary, target};

/// The démarche the sandbox seeds with 2,350 dossiers.
const SEEDED_DEMARCHE: u32 = 4242;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// The broker to use.
    #[arg(
        long,
        env = "AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
    /// The Redis server that keeps the state of fanned-out jobs.
    #[arg(
        long,
        env = "REDIS_URL",
        hide_env_values = true,
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
    /// Latency the sandbox adds to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Print the summary as JSON instead of a progress bar and a sentence.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let sandbox_config = SandboxConfig {
        latency: Duration::from_millis(args.latency_ms),
        ..Default::default()
    };
    let sandbox = Sandbox::start(sandbox_config, "127.0.0.1:0".parse()?)
        .await
        .context("starting the sandbox")?;
    let env = [
        ("AMQP_URL".to_owned(), args.amqp_url.clone()),
        ("REDIS_URL".to_owned(), args.redis_url.clone()),
        (
            "ESTAFETTE__CONNECTIONS__SANDBOX__BASE_URL".to_owned(),
            sandbox.base_url(),
        ),
    ];
    let settings = Settings::load(None, env)?;
    let prefix = format!(
        "estafette-demo-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let topology = Topology::new(TopologyOptions {
        queue_expires: Some(Duration::from_secs(300)),
        ..TopologyOptions::named(prefix.clone())
    });
    let broker = target::connect_to(&args.amqp_url, topology.clone()).await?;
    broker.declare(&[WorkerKind::FetchPage]).await?;
    let worker_broker = target::connect_to(&args.amqp_url, topology).await?;
    let store = JobStore::connect(&settings.state.url, &prefix, Duration::from_secs(3600))
        .await
        .context(
            "no Redis answers for the job state store. Start one with `docker compose up -d redis`, \
             or install Debian's `redis-server` package; then set REDIS_URL if it is not on \
             127.0.0.1:6379",
        )?;
    let shutdown = CancellationToken::new();
    let worker = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let result = fetch_page::run(&settings, &worker_broker, &store, shutdown).await;
            worker_broker.close(Duration::from_secs(1)).await;
            result
        })
    };

    let command = Command::start_job(
        "sandbox",
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(SEEDED_DEMARCHE).context("seeded démarche")?,
            updated_since: None,
            state: None,
        }),
    );
    if !args.json {
        eprintln!(
            "syncing démarche {SEEDED_DEMARCHE} from the sandbox at {}",
            sandbox.base_url()
        );
    }
    let outcome = follow::publish_and_follow(
        &broker,
        &command,
        args.json,
        sync_summary::sync_step(command.meta.job_id),
    )
    .await;

    shutdown.cancel();
    worker
        .await
        .context("the worker task panicked")?
        .context("the worker stopped")?;
    broker.close(Duration::from_secs(1)).await;
    sandbox.shutdown().await;
    outcome?.print(args.json)?;
    Ok(ExitCode::SUCCESS)
}
