//! The schedule store against a real Redis (`REDIS_URL`, or 127.0.0.1:6379): each test
//! under its own namespace.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use contract::{Command, JobId};
use schedule::{Claim, Claimed, Outcome, RunEnd, ScheduleStore, definition, run_command};
use settings::Schedule;

async fn store() -> ScheduleStore {
    ScheduleStore::connect(&testkit::redis_url().into(), &testkit::unique_prefix())
        .await
        .expect("a Redis server is needed: set REDIS_URL or run one on 127.0.0.1:6379")
}

fn dossiers() -> Schedule {
    of_demarche(4242)
}

fn of_demarche(demarche: u32) -> Schedule {
    let settings = testkit::settings_from_toml(&format!(
        "[schedules.dossiers]\nkind = \"ds.sync\"\nconnection = \"sandbox\"\n\
         every_seconds = 60\nbody = {{ demarche = {demarche} }}\n"
    ));
    settings.schedules.get("dossiers").unwrap().clone()
}

/// The definition of [`dossiers`].
fn same() -> &'static str {
    static DEFINITION: LazyLock<String> = LazyLock::new(|| definition(&dossiers()));
    &DEFINITION
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 10, minute, 0).unwrap()
}

fn tick<'c>(
    holder: &'c str,
    minute: u32,
    command: &'c Command,
    since: Option<DateTime<Utc>>,
    generation: u64,
) -> Claim<'c> {
    Claim {
        holder: Some(holder),
        due: Some(at(minute)),
        command,
        since,
        generation,
        definition: same(),
    }
}

fn completed(job: JobId, resume_point: DateTime<Utc>, records: u64) -> RunEnd {
    RunEnd {
        job,
        outcome: Outcome::Completed,
        records,
        reason: None,
        resume_point: Some(resume_point),
    }
}

/// A store whose lease `replica-a` holds.
async fn leased_store() -> ScheduleStore {
    let store = store().await;
    assert!(
        store
            .hold_lease("replica-a", Duration::from_secs(10))
            .await
            .unwrap()
    );
    store
}

/// Claims the run due at `minute`, from `since`, in `generation`; returns its command.
async fn claimed(
    store: &ScheduleStore,
    minute: u32,
    since: Option<DateTime<Utc>>,
    generation: u64,
) -> Command {
    let command = run_command(&dossiers(), since);
    let claim = tick("replica-a", minute, &command, since, generation);
    assert_eq!(
        store.claim("dossiers", &claim).await.unwrap(),
        Claimed::Claimed
    );
    command
}

/// A leased store whose first run, a full sync claimed at minute 1, completed with
/// its resume point at minute 1.
async fn store_after_a_full_run() -> ScheduleStore {
    let store = leased_store().await;
    let first = claimed(&store, 1, None, 0).await;
    store
        .finish(&completed(first.meta.job_id, at(1), 10))
        .await
        .unwrap();
    store
}

/// What `holder` gets for claiming `command` as the full-sync run due at `minute`.
async fn claim(store: &ScheduleStore, holder: &str, minute: u32, command: &Command) -> Claimed {
    let claim = tick(holder, minute, command, None, 0);
    store.claim("dossiers", &claim).await.unwrap()
}

#[tokio::test]
async fn one_run_per_due_time_and_a_skip_while_one_is_in_flight() {
    let store = leased_store().await;
    let first = run_command(&dossiers(), None);

    assert_eq!(
        claim(&store, "replica-a", 1, &first).await,
        Claimed::Claimed
    );
    let again = run_command(&dossiers(), None);
    assert_eq!(
        claim(&store, "replica-a", 1, &again).await,
        Claimed::AlreadyHandled,
        "a due time is claimed once"
    );
    assert_eq!(
        claim(&store, "replica-a", 2, &again).await,
        Claimed::Skipped,
        "the next due time passes while the first run is in flight"
    );
    let now = Claim {
        holder: None,
        due: None,
        command: &again,
        since: None,
        generation: 0,
        definition: same(),
    };
    assert_eq!(
        store.claim("dossiers", &now).await.unwrap(),
        Claimed::StillRunning
    );

    let state = store.state("dossiers").await.unwrap();
    let running = state.running.unwrap();
    assert_eq!(running.job, first.meta.job_id);
    assert!(!running.published);
    assert_eq!(
        Command::from_json(running.command.as_bytes()),
        Ok(first.clone())
    );
    assert_eq!((state.skips, state.last_slot), (1, Some(at(2))));

    store
        .mark_published("dossiers", first.meta.job_id)
        .await
        .unwrap();
    assert!(
        store
            .state("dossiers")
            .await
            .unwrap()
            .running
            .unwrap()
            .published
    );
}

#[tokio::test]
async fn only_the_lease_holder_claims_and_a_lapsed_lease_is_taken_over() {
    let store = store().await;
    let lifetime = Duration::from_millis(300);
    assert!(store.hold_lease("replica-a", lifetime).await.unwrap());
    assert!(!store.hold_lease("replica-b", lifetime).await.unwrap());
    let command = run_command(&dossiers(), None);

    assert_eq!(
        claim(&store, "replica-b", 1, &command).await,
        Claimed::NotLeaseHolder
    );
    assert!(
        store.hold_lease("replica-a", lifetime).await.unwrap(),
        "the holder renews"
    );
    tokio::time::sleep(lifetime + Duration::from_millis(100)).await;
    assert!(
        store.hold_lease("replica-b", lifetime).await.unwrap(),
        "a lapsed lease is free"
    );
    assert_eq!(
        store.lease_holder().await.unwrap().as_deref(),
        Some("replica-b")
    );
    assert_eq!(
        claim(&store, "replica-a", 1, &command).await,
        Claimed::NotLeaseHolder,
        "the old holder can no longer claim"
    );
    store.release_lease("replica-a").await.unwrap();
    assert_eq!(
        store.lease_holder().await.unwrap().as_deref(),
        Some("replica-b")
    );
    store.release_lease("replica-b").await.unwrap();
    assert_eq!(store.lease_holder().await.unwrap(), None);
}

#[tokio::test]
async fn a_completed_run_moves_the_resume_point_and_the_next_run_starts_there() {
    let store = leased_store().await;
    let first = claimed(&store, 1, None, 0).await;

    let recorded = store
        .finish(&completed(first.meta.job_id, at(1), 2350))
        .await
        .unwrap();
    assert_eq!(recorded.as_deref(), Some("dossiers"));
    let again = store
        .finish(&completed(first.meta.job_id, at(9), 1))
        .await
        .unwrap();
    assert_eq!(again, None, "an end told twice is recorded once");
    let state = store.state("dossiers").await.unwrap();
    assert_eq!(state.resume_point, Some(at(1)));
    assert!(state.running.is_none() && state.last_success.is_some());
    let last = state.last_run.unwrap();
    assert_eq!(
        (last.job, last.outcome, last.records, last.since),
        (first.meta.job_id, Outcome::Completed, 2350, None)
    );

    let second = claimed(&store, 2, Some(at(1)), 0).await;
    store
        .finish(&completed(second.meta.job_id, at(2), 7))
        .await
        .unwrap();
    let state = store.state("dossiers").await.unwrap();
    assert_eq!(state.resume_point, Some(at(2)));
    assert_eq!(state.last_run.unwrap().since, Some(at(1)));
}

#[tokio::test]
async fn a_failed_run_keeps_the_resume_point() {
    let store = store_after_a_full_run().await;

    let failing = claimed(&store, 2, Some(at(1)), 0).await;
    let failure = RunEnd {
        job: failing.meta.job_id,
        outcome: Outcome::Failed,
        records: 0,
        reason: Some("job_state_lost: gone".into()),
        resume_point: None,
    };
    store.finish(&failure).await.unwrap();
    let state = store.state("dossiers").await.unwrap();
    assert_eq!(state.resume_point, Some(at(1)));
    let last = state.last_run.unwrap();
    assert_eq!(
        (last.outcome, last.reason.as_deref()),
        (Outcome::Failed, Some("job_state_lost: gone"))
    );
}

#[tokio::test]
async fn a_reset_during_a_run_wins_even_over_a_full_sync_and_a_stale_claim_is_refused() {
    let store = leased_store().await;
    let full = claimed(&store, 1, None, 0).await;
    assert!(
        !store.reset("dossiers").await.unwrap(),
        "nothing to forget yet"
    );
    store
        .finish(&completed(full.meta.job_id, at(1), 10))
        .await
        .unwrap();

    let state = store.state("dossiers").await.unwrap();
    assert_eq!(
        state.resume_point, None,
        "the run claimed before the reset did not set it"
    );
    assert_eq!(state.generation, 1);
    assert!(state.last_success.is_some(), "it still completed");
    let stale = run_command(&dossiers(), None);
    assert_eq!(
        claim(&store, "replica-a", 2, &stale).await,
        Claimed::ResumePointMoved,
        "a claim built before the reset is refused"
    );
    let fresh = claimed(&store, 2, None, 1).await;
    store
        .finish(&completed(fresh.meta.job_id, at(2), 10))
        .await
        .unwrap();
    assert_eq!(
        store.state("dossiers").await.unwrap().resume_point,
        Some(at(2))
    );
}

#[tokio::test]
async fn a_resume_point_serves_only_the_definition_that_reached_it() {
    let store = store_after_a_full_run().await;

    let state = store.state("dossiers").await.unwrap();
    assert_eq!(
        state.resume_point_for(&definition(&dossiers())),
        Some(at(1))
    );
    assert_eq!(
        state.resume_point_for(&definition(&of_demarche(5000))),
        None,
        "another démarche starts with a full sync"
    );
}

#[tokio::test]
async fn a_run_in_flight_is_finished_by_its_schedule_even_without_the_run_index() {
    let store = leased_store().await;
    let lost = claimed(&store, 1, None, 0).await;
    let given_up = RunEnd {
        job: lost.meta.job_id,
        outcome: Outcome::Failed,
        records: 0,
        reason: Some("no end within max_run_seconds".into()),
        resume_point: None,
    };

    assert!(store.finish_run("dossiers", &given_up).await.unwrap());
    assert!(
        !store.finish_run("dossiers", &given_up).await.unwrap(),
        "once"
    );
    let late = store
        .finish(&completed(lost.meta.job_id, at(1), 10))
        .await
        .unwrap();
    assert_eq!(late, None, "its late end is nobody's run any more");
    let state = store.state("dossiers").await.unwrap();
    assert!(state.running.is_none() && state.resume_point.is_none());
    assert_eq!(state.last_run.unwrap().outcome, Outcome::Failed);
}

#[tokio::test]
async fn a_schedule_is_tracked_from_the_first_time_it_is_seen() {
    let store = store().await;
    assert_eq!(
        store.state("dossiers").await.unwrap(),
        schedule::ScheduleState::default()
    );

    store.track("dossiers", at(1)).await.unwrap();
    store.track("dossiers", at(5)).await.unwrap();

    assert_eq!(
        store.state("dossiers").await.unwrap().tracked_since,
        Some(at(1))
    );
}
