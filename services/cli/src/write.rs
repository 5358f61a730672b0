//! `estafette write apidae`: publish a descriptor write read from a file, follow it
//! chunk by chunk, and print what the API wrote.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Subcommand};
use contract::{ApidaeDelete, ApidaePut, Command, CommandBody, DescriptorsWritten, Event, JobId};
use serde::Serialize;
use settings::Api;

use crate::follow::{self, Step};

#[derive(Subcommand)]
pub(crate) enum WriteCommand {
    /// Write (or with --delete, remove) Apidae private descriptors.
    Apidae(ApidaeArgs),
}

#[derive(Args)]
pub(crate) struct ApidaeArgs {
    /// Name of a configured Apidae connection.
    #[arg(long)]
    connection: String,
    /// A JSON file: `{"objects": [{"id": 123, "descriptors": [{"technical_name": "…",
    /// "texts": {"fr": "…"}}]}]}`, or with --delete `{"objects": [{"id": 123,
    /// "technical_names": ["…"]}]}`.
    #[arg(long)]
    file: PathBuf,
    /// Remove the named descriptors instead of writing them.
    #[arg(long)]
    delete: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
    /// Print the command as it would be published (exchange, routing key, properties,
    /// body) and publish nothing.
    #[arg(long)]
    dry_run: bool,
}

/// What `--json` prints: the job, then the `descriptors.written` fields.
#[derive(Serialize)]
struct Outcome<'a> {
    job_id: JobId,
    #[serde(flatten)]
    written: &'a DescriptorsWritten,
}

pub(crate) async fn run(command: WriteCommand) -> anyhow::Result<ExitCode> {
    let WriteCommand::Apidae(args) = command;
    let text = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let body = if args.delete {
        serde_json::from_slice::<ApidaeDelete>(&text).map(CommandBody::ApidaeDelete)
    } else {
        serde_json::from_slice::<ApidaePut>(&text).map(CommandBody::ApidaePut)
    }
    .with_context(|| format!("{} is not a descriptor batch", args.file.display()))?;
    let command = crate::target::checked(Command::start_job(args.connection, body))
        .with_context(|| format!("{} is refused", args.file.display()))?;
    if args.dry_run {
        return crate::target::print_dry_run(&command, Api::Apidae);
    }
    let broker = crate::target::broker_for(&command, Api::Apidae).await?;
    let written = follow::publish_and_follow(
        &broker,
        &command,
        args.json,
        chunk_step(command.meta.job_id),
    )
    .await?;
    print(command.meta.job_id, &written, args.json)
}

/// Prints a write's outcome; fails (exit 1) when a chunk failed.
pub(crate) fn print(
    job_id: JobId,
    written: &DescriptorsWritten,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        let outcome = Outcome { job_id, written };
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        println!(
            "{} objects asked: {} written, {} not reported by Apidae (unknown objects are \
             ignored), {} of {} chunks failed",
            written.objects,
            written.updated,
            written.not_reported,
            written.failed_chunks,
            written.chunks.len()
        );
        for chunk in &written.chunks {
            if let Some(failure) = &chunk.failure {
                println!(
                    "chunk {}: {} {}: {}",
                    chunk.chunk,
                    failure.reason.as_str(),
                    failure.code.as_deref().unwrap_or_default(),
                    failure.message
                );
            }
        }
    }
    Ok(if written.failed_chunks == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Chunks done so far, then the job's outcome; only a failure of the command itself
/// (not of one chunk) ends the job early.
pub(crate) fn chunk_step(
    job_id: JobId,
) -> impl FnMut(Event, std::time::Duration) -> anyhow::Result<Step<DescriptorsWritten>> {
    let (mut done, mut updated, mut failed) = (0u32, 0usize, 0u32);
    move |event, _| match event {
        Event::ChunkWritten(chunk) => {
            done += 1;
            updated += chunk.result.updated.len();
            failed += u32::from(chunk.result.failure.is_some());
            Ok(Step::Progress(format!(
                "{done}/{} chunks, {updated} objects written, {failed} chunks failed",
                chunk.chunks
            )))
        }
        Event::DescriptorsWritten(written) => Ok(Step::Finished(written)),
        // A chunk the API refused is part of the report; a chunk that failed otherwise
        // fails the job, and `job.failed` says so.
        Event::CommandFailed(failed) if !failed.is_job_step() => {
            Err(follow::command_failed(job_id, &failed))
        }
        Event::JobFailed(failed) => Err(follow::job_failed(job_id, &failed)),
        _ => Ok(Step::Wait),
    }
}
