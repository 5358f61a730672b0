//! `estafette schedules list|run|reset`: what the scheduler knows of each configured
//! schedule, a run started now, and a resume point forgotten. The state is the
//! schedule store in Redis (the `[state]` url), shared with the scheduler replicas.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use schedule::{Claim, Claimed, ScheduleState, ScheduleStore};
use serde::Serialize;
use settings::{Schedule, Settings};

use crate::{follow, sync_summary};

#[derive(Subcommand)]
pub(crate) enum SchedulesCommand {
    /// List every configured schedule: when it runs next, how its last run ended, and
    /// the resume point its next run starts from.
    List {
        /// Print one JSON object: the lease holder and every schedule.
        #[arg(long)]
        json: bool,
    },
    /// Start a run of a schedule now, from its resume point, unless one is in flight;
    /// the scheduler replica holding the lease publishes it. Follows it to its end.
    Run {
        /// The schedule's name, as in `[schedules.<name>]`.
        name: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget a schedule's resume point: its next run is a full sync.
    Reset {
        /// The schedule's name, as in `[schedules.<name>]`.
        name: String,
    },
}

pub(crate) async fn run(command: SchedulesCommand) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_process_env()?;
    let store = ScheduleStore::connect(&settings.state.url, &settings.broker.prefix)
        .await
        .context("connecting to the state store (Redis, the [state] url or REDIS_URL)")?;
    match command {
        SchedulesCommand::List { json } => list(&settings, &store, json).await,
        SchedulesCommand::Run { name, json } => start(&settings, &store, &name, json).await,
        SchedulesCommand::Reset { name } => {
            configured(&settings, &name)?;
            if store.reset(&name).await? {
                println!("forgot the resume point of {name}: its next run is a full sync");
            } else {
                println!("{name} has no resume point: its next run is a full sync");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The schedule called `name`, or an error naming those that are configured.
fn configured<'s>(settings: &'s Settings, name: &str) -> anyhow::Result<&'s Schedule> {
    settings.schedules.get(name).with_context(|| {
        let names: Vec<&str> = settings.schedules.iter().map(|(name, _)| name.as_str()).collect();
        if names.is_empty() {
            format!("no schedule named `{name}`: no schedule is configured ([schedules.<name>] in the settings file)")
        } else {
            format!("no schedule named `{name}`; configured: {}", names.join(", "))
        }
    })
}

/// One schedule as `list --json` prints it.
#[derive(Serialize)]
struct Listed<'s> {
    name: &'s str,
    kind: &'static str,
    connection: &'s str,
    timing: String,
    next_run: Option<String>,
    resume_point: Option<String>,
    running: Option<ListedRun>,
    last_run: Option<ListedLastRun>,
    last_success: Option<String>,
    skips: u64,
    last_skip: Option<String>,
}

#[derive(Serialize)]
struct ListedRun {
    job_id: String,
    since: Option<String>,
    claimed_at: String,
    published: bool,
    trigger: String,
}

#[derive(Serialize)]
struct ListedLastRun {
    job_id: String,
    outcome: &'static str,
    finished_at: String,
    records: u64,
    reason: Option<String>,
    since: Option<String>,
}

#[derive(Serialize)]
struct Listing<'s> {
    lease_holder: Option<String>,
    schedules: Vec<Listed<'s>>,
}

async fn list(settings: &Settings, store: &ScheduleStore, json: bool) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let mut schedules = Vec::new();
    for (name, schedule) in &settings.schedules {
        let state = store.state(name).await?;
        schedules.push(listed(name, schedule, &state, now));
    }
    let listing = Listing {
        lease_holder: store.lease_holder().await?,
        schedules,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(ExitCode::SUCCESS);
    }
    if listing.schedules.is_empty() {
        println!("no schedule is configured ([schedules.<name>] in the settings file)");
    } else {
        println!("{}", row(&HEADER.map(str::to_owned)));
        for schedule in &listing.schedules {
            println!("{}", row(&cells(schedule)));
        }
    }
    match &listing.lease_holder {
        Some(holder) => println!("publishing: scheduler replica {holder}"),
        None => println!("publishing: no scheduler replica holds the lease; nothing runs"),
    }
    Ok(ExitCode::SUCCESS)
}

fn listed<'s>(
    name: &'s str,
    schedule: &'s Schedule,
    state: &ScheduleState,
    now: DateTime<Utc>,
) -> Listed<'s> {
    let counted_from = state.last_slot.or(state.tracked_since).unwrap_or(now);
    Listed {
        name,
        kind: schedule.kind(),
        connection: schedule.connection.as_str(),
        timing: schedule.timing.describe(),
        next_run: schedule
            .timing
            .next_after(counted_from)
            .map(|next| instant(next.max(now))),
        resume_point: state
            .resume_point_for(&schedule::definition(schedule))
            .map(exact_instant),
        running: state.running.as_ref().map(|running| ListedRun {
            job_id: running.job.0.to_string(),
            since: running.since.map(exact_instant),
            claimed_at: instant(running.claimed_at),
            published: running.published,
            trigger: running.trigger.clone(),
        }),
        last_run: state.last_run.as_ref().map(|last| ListedLastRun {
            job_id: last.job.0.to_string(),
            outcome: last.outcome.as_str(),
            finished_at: instant(last.finished_at),
            records: last.records,
            reason: last.reason.clone(),
            since: last.since.map(exact_instant),
        }),
        last_success: state.last_success.map(instant),
        skips: state.skips,
        last_skip: state.last_skip.map(instant),
    }
}

/// An instant as `list` shows it: RFC 3339, UTC, to the second.
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A resume point as `list` shows it: exactly, as a sync's `--since` takes it.
fn exact_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The `list` table's titles.
const HEADER: [&str; 7] = [
    "NAME",
    "EVERY",
    "NEXT RUN",
    "LAST RUN",
    "OUTCOME",
    "RECORDS",
    "RESUME POINT",
];

/// The widths of every column but the last.
const WIDTHS: [usize; 6] = [20, 16, 20, 20, 10, 8];

/// One line of the `list` table.
fn row(cells: &[String; 7]) -> String {
    crate::table::row(cells, &WIDTHS)
}

fn cells(schedule: &Listed<'_>) -> [String; 7] {
    let dash = || "-".to_owned();
    let outcome = match (&schedule.running, &schedule.last_run) {
        (Some(_), _) => "running".to_owned(),
        (None, Some(last)) => last.outcome.to_owned(),
        (None, None) => dash(),
    };
    [
        schedule.name.to_owned(),
        schedule.timing.trim_start_matches("every ").to_owned(),
        schedule.next_run.clone().unwrap_or_else(dash),
        schedule
            .last_run
            .as_ref()
            .map_or_else(dash, |last| last.finished_at.clone()),
        outcome,
        schedule
            .last_run
            .as_ref()
            .map_or_else(dash, |last| last.records.to_string()),
        schedule
            .resume_point
            .clone()
            .unwrap_or_else(|| "none (full sync)".to_owned()),
    ]
}

/// `run NAME`: claims a run now (refused while one is in flight), then follows it as
/// `estafette sync` does; the lease holder publishes it at its next tick.
async fn start(
    settings: &Settings,
    store: &ScheduleStore,
    name: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let schedule = configured(settings, name)?;
    if store.lease_holder().await?.is_none() {
        anyhow::bail!(
            "no scheduler replica holds the lease, so nobody would publish the run: start the scheduler"
        );
    }
    let broker = crate::target::connect(settings).await?;
    let (command, resume_point, events) = loop {
        let state = store.state(name).await?;
        let definition = schedule::definition(schedule);
        let resume_point = state.resume_point_for(&definition);
        let command = schedule::run_command(schedule, resume_point);
        let claim = Claim {
            holder: None,
            due: None,
            command: &command,
            since: resume_point,
            generation: state.generation,
            definition: &definition,
        };
        // The follow queue exists before the run can be published: no event is missed.
        let events = broker.follow_job(command.meta.job_id, true).await?;
        let claimed = store.claim(name, &claim).await?;
        if claimed == Claimed::Claimed {
            break (command, resume_point, events);
        }
        drop(events);
        broker.forget_follow(command.meta.job_id).await;
        if claimed != Claimed::ResumePointMoved {
            let running = state
                .running
                .map_or_else(String::new, |running| format!(" (job {})", running.job.0));
            eprintln!("a run of {name} is still in flight{running}: nothing started");
            return Ok(ExitCode::FAILURE);
        }
    };
    let job_id = command.meta.job_id;
    let from = resume_point.map_or_else(|| "the beginning (full sync)".to_owned(), exact_instant);
    eprintln!(
        "run {job_id} of {name} claimed, from {from} (`estafette follow {job_id}` follows it again)"
    );
    let waiting_for = "is a scheduler replica running, and a fetch-page worker?";
    let summary = follow::follow(
        &broker,
        job_id,
        events,
        json,
        waiting_for,
        sync_summary::sync_step(job_id),
    )
    .await?;
    wait_until_recorded(store, name, job_id).await?;
    summary.print(json)?;
    Ok(ExitCode::SUCCESS)
}

/// How long `run` waits for the scheduler to record the end of the run it followed.
const RECORDING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits until the scheduler has recorded the end of `job`, so that `list` shows it
/// once `run` returns; says so when it has not within [`RECORDING_WAIT`].
async fn wait_until_recorded(
    store: &ScheduleStore,
    name: &str,
    job: contract::JobId,
) -> anyhow::Result<()> {
    let waited = std::time::Instant::now();
    while waited.elapsed() < RECORDING_WAIT {
        let running = store.state(name).await?.running;
        if running.is_none_or(|running| running.job != job) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    eprintln!(
        "the run ended, but no scheduler replica has recorded it yet: its resume point is not stored"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_line_keeps_its_columns() {
        let line = row(&[
            "demarche_4242".into(),
            "60 s".into(),
            "2026-12-07T10:01:00Z".into(),
            "2026-12-07T10:00:04Z".into(),
            "completed".into(),
            "2350".into(),
            "2026-12-07T10:00:00.123Z".into(),
        ]);

        assert_eq!(
            line,
            "demarche_4242         60 s              2026-12-07T10:01:00Z  2026-12-07T10:00:04Z  completed   2350      2026-12-07T10:00:00.123Z"
        );
    }
}
