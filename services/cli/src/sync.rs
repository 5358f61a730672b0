//! `estafette sync ds`: publish a sync command to the configured broker and follow it.

use std::{num::NonZeroU32, process::ExitCode};

use broker::{Topology, TopologyOptions};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use contract::{Command, CommandBody, DsSync, WorkerKind};
use secrecy::ExposeSecret;
use settings::Settings;

use crate::follow;

#[derive(Subcommand)]
pub(crate) enum SyncCommand {
    /// Sync the dossiers of a démarche on demarches-simplifiees.
    Ds(DsArgs),
}

#[derive(Args)]
pub(crate) struct DsArgs {
    /// Name of a configured connection.
    #[arg(long)]
    connection: String,
    /// The démarche number.
    #[arg(long)]
    demarche: NonZeroU32,
    /// Only dossiers updated since this instant (RFC 3339), e.g. a previous resume point.
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(command: SyncCommand) -> anyhow::Result<ExitCode> {
    let SyncCommand::Ds(args) = command;
    let settings = Settings::from_process_env()?;
    if settings.connections.get(&args.connection).is_none() {
        anyhow::bail!(
            "no connection named `{}` is configured; workers and this tool read the same settings \
             (ESTAFETTE_CONFIG and ESTAFETTE__CONNECTIONS__<NAME>__* variables)",
            args.connection
        );
    }
    let topology = Topology::new(TopologyOptions {
        queue_expires: settings.broker.queue_expires,
        ..TopologyOptions::named(settings.broker.prefix.clone())
    });
    let broker = crate::demo::connect(settings.broker.url.expose_secret(), topology).await?;
    broker.declare(&[WorkerKind::FetchPage]).await?;
    let command = Command::start_job(
        args.connection,
        CommandBody::DsSync(DsSync {
            demarche: args.demarche,
            updated_since: args.since,
            state: None,
        }),
    );
    let summary = follow::publish_and_follow(&broker, &command, args.json).await?;
    summary.print(args.json)?;
    Ok(ExitCode::SUCCESS)
}
