//! The scheduler through a broker restart. It restarts the broker every other test
//! shares, so it is ignored by a plain `cargo test`; `.ci/run` runs it alone, after
//! the other tests: `cargo test -p scheduler --test it -- --ignored`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sandbox::SandboxConfig;
use schedule::{LastRun, Outcome};

use crate::harness::{SCHEDULE, Scene, Timing};

/// Longest wait for the next run to be recorded, a broker restart included.
const RUN_PATIENCE: Duration = Duration::from_secs(120);

/// The next run the store records after `previous` (none: the first one), with the
/// resume point it left.
async fn next_recorded_run(
    scene: &Scene,
    previous: Option<&LastRun>,
) -> (LastRun, Option<DateTime<Utc>>) {
    let waited = Instant::now();
    loop {
        let state = scene
            .store
            .state(SCHEDULE)
            .await
            .expect("the store answers");
        if let Some(last) = state
            .last_run
            .filter(|last| previous.is_none_or(|previous| previous.job != last.job))
        {
            return (last, state.resume_point);
        }
        assert!(
            waited.elapsed() < RUN_PATIENCE,
            "no run recorded within {RUN_PATIENCE:?}; logs in {}",
            scene.fleet.logs().display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "restarts the broker every test shares: run alone, as .ci/run does"]
async fn a_run_in_flight_through_a_broker_restart_ends_and_the_next_starts_from_it() {
    let config = SandboxConfig {
        latency: Duration::from_millis(80),
        ..SandboxConfig::default()
    };
    let scene = Scene::start(config, Timing::every(2), 2).await;
    let waited = Instant::now();
    let in_flight = loop {
        let state = scene
            .store
            .state(SCHEDULE)
            .await
            .expect("the store answers");
        if let Some(running) = state.running.filter(|running| running.published) {
            break running;
        }
        assert!(waited.elapsed() < RUN_PATIENCE, "no run was published");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let restart = Instant::now();
    tokio::task::spawn_blocking(testkit::chaos::restart_broker)
        .await
        .expect("the broker restarts");
    let (first, mut resume_point) = next_recorded_run(&scene, None).await;
    assert_eq!(
        first.job, in_flight.job,
        "the run in flight is the one recorded"
    );
    assert_eq!(
        (first.outcome, first.records, first.since),
        (Outcome::Completed, 2350, None),
        "the full sync went on through the restart: {first:?}"
    );
    println!(
        "the run in flight was recorded {:?} after the restart began",
        restart.elapsed()
    );
    let mut previous = first;
    for _ in 0..2 {
        let (run, left) = next_recorded_run(&scene, Some(&previous)).await;
        assert_eq!(run.outcome, Outcome::Completed, "{run:?}");
        assert_eq!(
            run.since, resume_point,
            "each run starts where the last one ended"
        );
        (previous, resume_point) = (run, left);
    }
    scene.finish(true).await;
}
