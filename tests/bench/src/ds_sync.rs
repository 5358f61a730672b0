//! One timed démarche sync on the sandbox's demarches-simplifiees stand-in: publishes
//! it on a lane, waits for its end, and reads what the sandbox received meanwhile.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use contract::{Command, CommandBody, DsSync, Event, SyncCompleted, SyncEnd, SyncSubject};
use sandbox::{RequestStats, Sandbox};
use settings::Settings;

use crate::error::BenchError;
use crate::lane::Lane;
use crate::rig::Rig;
use crate::summary::{Run, RunOutcome, Spread};
use crate::worker::FetchPage;

/// The connection of the default settings that reads the sandbox's DS stand-in.
pub(crate) const CONNECTION: &str = "sandbox";
/// The large seeded démarche: 2,350 dossiers and their deletions.
pub(crate) const DEMARCHE: u32 = 4242;
/// Deliveries each worker may hold at once: the default of the settings.
pub(crate) const PREFETCH: u16 = 16;
/// Longest pause between two events of a running sync before the benchmark gives up.
const EVENT_GAP: Duration = Duration::from_secs(60);

/// What a complete sync of [`DEMARCHE`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listed {
    /// Visible dossiers.
    pub(crate) dossiers: u64,
    /// Deleted dossiers.
    pub(crate) deleted: u64,
    /// Dossiers deleted by their user while en construction.
    pub(crate) pending_deleted: u64,
}

impl Listed {
    /// What the sandbox holds for [`DEMARCHE`] now.
    pub(crate) fn in_sandbox(sandbox: &Sandbox) -> Listed {
        let dataset = sandbox.dataset();
        let demarche = dataset.demarche(i64::from(DEMARCHE));
        Listed {
            dossiers: demarche.map_or(0, |d| d.visible_dossiers().count() as u64),
            deleted: demarche.map_or(0, |d| d.deleted_dossiers.len() as u64),
            pending_deleted: demarche.map_or(0, |d| d.pending_deleted_dossiers.len() as u64),
        }
    }
}

/// A complete sync, and what the sandbox received during it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Synced {
    /// Pages the sync published, every listing together.
    pub(crate) pages: u32,
    /// `elapsed_ms` of the `sync.completed`, on the worker's clock.
    pub(crate) job_elapsed: Duration,
    /// Upstream requests the sandbox received from publishing the command to its end.
    pub(crate) requests: u64,
    /// The most of those requests that arrived within any one second.
    pub(crate) busiest_second: u64,
}

/// Opens a lane of `workers` fetch-page workers with `settings`, times `runs` syncs
/// one after the other, logging each as `label`, and closes the lane.
pub(crate) async fn time_syncs(
    rig: &Rig,
    settings: &Settings,
    workers: usize,
    runs: u32,
    label: &str,
) -> Result<Vec<Run<Synced>>, BenchError> {
    let listed = Listed::in_sandbox(rig.sandbox());
    let mut lane = Lane::open::<FetchPage>(settings, workers).await?;
    let mut timed = Vec::with_capacity(runs as usize);
    for index in 1..=runs {
        let run = sync(&mut lane, rig.sandbox(), listed).await?;
        eprintln!("{label} run {index}/{runs}: {}", run.describe());
        timed.push(run);
    }
    lane.close().await?;
    Ok(timed)
}

/// The default settings aimed at the sandbox's DS stand-in with `overrides` of the
/// [`CONNECTION`] keys (`PAGE_SIZE`, `RATE_LIMIT__REQUESTS`…).
pub(crate) fn settings(rig: &Rig, overrides: &[(&str, String)]) -> Result<Settings, BenchError> {
    rig.settings(PREFETCH, CONNECTION, &connection_keys(rig, overrides))
}

/// The keys of [`CONNECTION`] that aim it at the rig's DS stand-in, then `overrides`.
pub(crate) fn connection_keys<'a>(
    rig: &Rig,
    overrides: &[(&'a str, String)],
) -> Vec<(&'a str, String)> {
    let mut keys = vec![("BASE_URL", rig.sandbox().base_url())];
    keys.extend(overrides.iter().cloned());
    keys
}

/// Publishes a full sync of [`DEMARCHE`] and waits for its `sync.completed` or
/// `command.failed`; `listed` is what a complete sync reads.
pub(crate) async fn sync(
    lane: &mut Lane,
    sandbox: &Sandbox,
    listed: Listed,
) -> Result<Run<Synced>, BenchError> {
    let command = sync_command();
    let job = command.meta.job_id;
    let before = sandbox.stats().arrivals.len();
    let started = Instant::now();
    lane.publish(std::slice::from_ref(&command)).await?;
    let end = lane.end_of(job, EVENT_GAP).await;
    let wall = started.elapsed();
    let during = RequestStats {
        arrivals: sandbox.stats().arrivals.split_off(before),
        ..RequestStats::default()
    };
    let requests = during.arrivals.len() as u64;
    let busiest_second = during.max_in_any_window(Duration::from_secs(1)) as u64;
    let outcome = match judge(&end.event, listed) {
        Ok(completed) => RunOutcome::Completed(Synced {
            pages: completed.pages,
            job_elapsed: Duration::from_millis(completed.elapsed_ms),
            requests,
            busiest_second,
        }),
        Err(why) => RunOutcome::Failed(why),
    };
    Ok(Run { wall, outcome })
}

/// `count` of each completed run over its wall time, per second.
pub(crate) fn per_second(
    runs: &[Run<Synced>],
    count: impl Fn(&Synced) -> u64,
) -> Option<Spread<f64>> {
    Spread::of(
        runs.iter()
            .filter(|run| !run.wall.is_zero())
            .filter_map(|run| match &run.outcome {
                RunOutcome::Completed(synced) => {
                    Some(count(synced) as f64 / run.wall.as_secs_f64())
                }
                RunOutcome::Failed(_) => None,
            })
            .collect(),
    )
}

/// A sync of every dossier of [`DEMARCHE`], in every state.
fn sync_command() -> Command {
    Command::start_job(
        CONNECTION,
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(DEMARCHE).unwrap_or(NonZeroU32::MIN),
            updated_since: None,
            state: None,
        }),
    )
}

/// The completion of a sync that read every listing to its end, or why not.
fn judge(end: &Event, listed: Listed) -> Result<&SyncCompleted, String> {
    let completed = match end {
        Event::SyncCompleted(completed) => completed,
        Event::CommandFailed(failed) => {
            return Err(format!("command.failed: {:?}", failed.reason));
        }
        _ => return Err("ended without a completion".into()),
    };
    let SyncSubject::Ds {
        deleted_records,
        pending_deleted_records,
        ..
    } = completed.subject
    else {
        return Err("not a démarche completion".into());
    };
    let read = Listed {
        dossiers: completed.records,
        deleted: deleted_records,
        pending_deleted: pending_deleted_records,
    };
    if completed.end != SyncEnd::Exhausted {
        return Err(format!("stopped early: {:?}", completed.end));
    }
    if read != listed {
        return Err(format!("read {read:?}, the sandbox lists {listed:?}"));
    }
    Ok(completed)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use contract::SyncCompleted;

    use super::*;

    const LISTED: Listed = Listed {
        dossiers: 2350,
        deleted: 40,
        pending_deleted: 12,
    };

    fn completed(records: u64, end: SyncEnd) -> Event {
        Event::SyncCompleted(SyncCompleted {
            connection: CONNECTION.into(),
            subject: SyncSubject::Ds {
                demarche: NonZeroU32::new(DEMARCHE).expect("non-zero"),
                deleted_records: 40,
                pending_deleted_records: 12,
            },
            pages: 26,
            records,
            elapsed_ms: 900,
            resume_point: Utc::now(),
            end,
        })
    }

    #[test]
    fn a_sync_that_read_every_listing_completes() {
        let end = completed(2350, SyncEnd::Exhausted);
        assert_eq!(judge(&end, LISTED).map(|c| c.pages), Ok(26));
    }

    #[test]
    fn rates_count_completed_runs_only() {
        let synced = Synced {
            pages: 26,
            job_elapsed: Duration::from_millis(400),
            requests: 26,
            busiest_second: 26,
        };
        let runs = vec![
            Run {
                wall: Duration::from_millis(500),
                outcome: RunOutcome::Completed(synced),
            },
            Run {
                wall: Duration::from_millis(100),
                outcome: RunOutcome::Failed("drift".into()),
            },
        ];
        let spread = per_second(&runs, |synced| u64::from(synced.pages)).expect("a run");
        assert!((spread.median - 52.0).abs() < 1e-9);
    }

    #[test]
    fn a_short_or_stopped_sync_fails() {
        assert!(judge(&completed(2349, SyncEnd::Exhausted), LISTED).is_err());
        assert!(judge(&completed(2350, SyncEnd::RepeatedPage), LISTED).is_err());
    }

    #[tokio::test]
    async fn the_seeded_demarche_is_what_the_sandbox_lists() {
        let rig = crate::rig::Rig::start(Duration::ZERO)
            .await
            .expect("sandbox starts");
        assert_eq!(Listed::in_sandbox(rig.sandbox()), LISTED);
        rig.shutdown().await;
    }
}
