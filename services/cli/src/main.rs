//! The estafette command-line tool: run the demo, publish commands and follow their jobs.

mod dead;
#[cfg(feature = "demo")]
mod demo;
mod follow;
mod schedules;
mod status;
mod sync;
mod sync_summary;
mod table;
mod target;
mod write;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Publish Estafette commands and follow their jobs.
#[derive(Parser)]
#[command(name = "estafette", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Start a sandbox upstream and a fetch-page worker in this process, sync the seeded
    /// démarche through the broker at AMQP_URL, and show its progress.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Publish a sync command and follow it until it completes.
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Publish a descriptor write and follow it, chunk by chunk, until it completes.
    #[command(subcommand)]
    Write(write::WriteCommand),
    /// Publish a decision about a demarches-simplifiees dossier and print its outcome.
    #[command(subcommand)]
    Status(status::StatusCommand),
    /// List, show, replay or purge the dead letters: what the workers gave up on.
    #[command(subcommand)]
    Dead(dead::DeadCommand),
    /// List the schedules, start a run now, or forget a resume point.
    #[command(subcommand)]
    Schedules(schedules::SchedulesCommand),
    /// Follow a job published earlier by `sync`, `write` or `status` (whose follower
    /// stopped less than 15 minutes ago) to its end, and print its outcome.
    Follow(follow::FollowArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match telemetry::init_for_tool("estafette") {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: cannot start telemetry: {error}");
            return ExitCode::from(70);
        }
    };
    let result = match cli.command {
        #[cfg(feature = "demo")]
        Commands::Demo(args) => demo::run(args).await,
        Commands::Sync(command) => sync::run(command).await,
        Commands::Status(command) => status::run(command).await,
        Commands::Write(command) => write::run(command).await,
        Commands::Dead(command) => dead::run(command).await,
        Commands::Schedules(command) => schedules::run(command).await,
        Commands::Follow(args) => follow::run(args).await,
    };
    if let Err(error) = telemetry.shutdown() {
        eprintln!("telemetry did not flush: {error}");
    }
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
