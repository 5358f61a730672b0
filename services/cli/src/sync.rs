//! `estafette sync ds|divalto|amienscope`: publish a sync command to the configured
//! broker and follow it.

use std::{num::NonZeroU32, process::ExitCode};

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use contract::{
    AmienscopeSync, Command, CommandBody, DivaltoQuery, DivaltoSync, DivaltoWhere, DsSync,
};
use settings::Api;

use crate::{follow, sync_summary};

#[derive(Subcommand)]
pub(crate) enum SyncCommand {
    /// Sync the dossiers of a démarche on demarches-simplifiees.
    Ds(DsArgs),
    /// Read every record of a Divalto RecordSql query, a window of pages at a time.
    Divalto(DivaltoArgs),
    /// Read every Amienscope event changed since an instant, a window of pages at a time.
    Amienscope(AmienscopeArgs),
}

/// What every sync names: the connection, and how to print the summary.
#[derive(Args)]
pub(crate) struct Target {
    /// Name of a configured connection.
    #[arg(long)]
    connection: String,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Print the command as it would be published (exchange, routing key, properties,
    /// body) and publish nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
pub(crate) struct DsArgs {
    #[command(flatten)]
    target: Target,
    /// The démarche number.
    #[arg(long)]
    demarche: NonZeroU32,
    /// Only dossiers updated since this instant (RFC 3339), e.g. a previous resume point.
    #[arg(long)]
    since: Option<DateTime<Utc>>,
}

#[derive(Args)]
pub(crate) struct DivaltoArgs {
    #[command(flatten)]
    target: Target,
    /// The RecordSql dictionary file, e.g. gtrsart.dhoq.
    #[arg(long)]
    dhoq: String,
    /// The query inside the dictionary, e.g. Article.
    #[arg(long)]
    recordsql: String,
    /// The field that identifies a record, e.g. ART_ID.
    #[arg(long)]
    id_field: String,
    /// Fields to read, comma-separated; every field when absent.
    #[arg(long, value_delimiter = ',')]
    fields: Vec<String>,
    /// A sort declared in the RecordSql.
    #[arg(long)]
    orderby: Option<String>,
    /// A WHERE clause declared in the RecordSql, by name.
    #[arg(long = "where")]
    where_name: Option<String>,
    /// The WHERE clause's parameters, `name1=v1;name2=v2`.
    #[arg(long, requires = "where_name", default_value = "")]
    where_parameters: String,
    /// Page commands kept in flight; the connection's setting when absent.
    #[arg(long)]
    window: Option<NonZeroU32>,
}

#[derive(Args)]
pub(crate) struct AmienscopeArgs {
    #[command(flatten)]
    target: Target,
    /// Only events changed since this instant (RFC 3339), e.g. a previous resume point.
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Only events of this category.
    #[arg(long)]
    category: Option<u32>,
    /// Page commands kept in flight; the connection's setting when absent.
    #[arg(long)]
    window: Option<NonZeroU32>,
}

pub(crate) async fn run(command: SyncCommand) -> anyhow::Result<ExitCode> {
    let (target, api, body) = match command {
        SyncCommand::Ds(args) => (
            args.target,
            Api::Ds,
            CommandBody::DsSync(DsSync {
                demarche: args.demarche,
                updated_since: args.since,
                state: None,
            }),
        ),
        SyncCommand::Divalto(args) => (
            args.target,
            Api::Divalto,
            CommandBody::DivaltoSync(DivaltoSync {
                query: DivaltoQuery {
                    dhoq: args.dhoq,
                    recordsql: args.recordsql,
                    id_field: args.id_field,
                    fields: args.fields,
                    orderby: args.orderby,
                    where_clause: args.where_name.map(|name| DivaltoWhere {
                        name,
                        parameters: args.where_parameters,
                    }),
                },
                window: args.window,
            }),
        ),
        SyncCommand::Amienscope(args) => (
            args.target,
            Api::Amienscope,
            CommandBody::AmienscopeSync(AmienscopeSync {
                updated_since: args.since,
                category: args.category,
                window: args.window,
            }),
        ),
    };
    let command = crate::target::checked(Command::start_job(target.connection, body))?;
    if target.dry_run {
        return crate::target::print_dry_run(&command, api);
    }
    let broker = crate::target::broker_for(&command, api).await?;
    let summary = follow::publish_and_follow(
        &broker,
        &command,
        target.json,
        sync_summary::sync_step(command.meta.job_id),
    )
    .await?;
    summary.print(target.json)?;
    Ok(ExitCode::SUCCESS)
}
