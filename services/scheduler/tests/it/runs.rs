//! Runs published by two replicas: one per due time, each from the last resume point,
//! never two at once, and a lease that changes hands when its holder is killed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sandbox::SandboxConfig;

use crate::harness::{SCHEDULE, Scene, Timing};

/// Visible dossiers of démarche 4242 in the seeded data.
const SEEDED_DOSSIERS: usize = 2350;

/// Dossiers of démarche 4242 the tests change between runs.
fn some_dossiers(scene: &Scene, count: usize, skip: usize) -> Vec<i64> {
    scene
        .sandbox
        .dataset()
        .demarche(4242)
        .expect("the seeded démarche")
        .visible_dossiers()
        .map(|dossier| dossier.number)
        .skip(skip)
        .take(count)
        .collect()
}

#[tokio::test]
async fn two_replicas_publish_each_run_once_from_the_last_resume_point() {
    let mut scene = Scene::start(SandboxConfig::default(), Timing::every(3), 2).await;

    let full = scene.next_run().await;
    assert_eq!(full.since(), None, "the first run is a full sync");
    assert_eq!(full.dossiers.len(), SEEDED_DOSSIERS);

    let touched = some_dossiers(&scene, 3, 10);
    let removed = some_dossiers(&scene, 2, 500);
    for &number in &touched {
        assert!(scene.sandbox.touch_dossier(number));
    }
    for &number in &removed {
        assert!(scene.sandbox.delete_dossier(number));
    }
    let changed = scene.next_run().await;
    assert_eq!(changed.since(), Some(full.completed.resume_point));
    assert_eq!(
        changed.dossiers,
        touched.iter().copied().collect::<BTreeSet<_>>()
    );
    assert_eq!(
        changed.deleted,
        removed.iter().copied().collect::<BTreeSet<_>>()
    );

    let quiet = scene.next_run().await;
    assert_eq!(quiet.since(), Some(changed.completed.resume_point));
    assert!(quiet.dossiers.is_empty() && quiet.deleted.is_empty());

    let runs = [&full, &changed, &quiet];
    let jobs: BTreeSet<_> = runs.iter().map(|run| run.command.meta.job_id.0).collect();
    assert_eq!(jobs.len(), 3, "each run is a job of its own");
    let state = scene.recorded(quiet.command.meta.job_id).await;
    assert_eq!(state.skips, 0, "no run outlasted its interval");
    let last = state.last_run.expect("a finished run");
    assert_eq!(
        (last.outcome, last.records),
        (schedule::Outcome::Completed, 0)
    );
    assert_eq!(last.since, Some(changed.completed.resume_point));
    assert_eq!(state.resume_point, Some(quiet.completed.resume_point));

    let mut holders = 0;
    let mut published = 0;
    for index in 0..2 {
        let metrics = scene.metrics_of(index).await;
        for family in worker_metrics::SCHEDULER_METRIC_NAMES {
            assert!(metrics.contains(family), "{family} is missing:\n{metrics}");
        }
        assert!(metrics.contains(
            "estafette_schedule_last_outcome{worker=\"scheduler\",schedule=\"dossiers\",outcome=\"completed\"} 1"
        ), "{metrics}");
        holders += sample(
            &metrics,
            "estafette_scheduler_lease_held{worker=\"scheduler\"}",
        );
        published += sample(
            &metrics,
            "estafette_schedule_runs_published_total{worker=\"scheduler\",schedule=\"dossiers\"}",
        );
    }
    assert_eq!(holders, 1, "one replica holds the lease");
    let seen = 3 + scene.remaining_starts().await.len();
    assert_eq!(
        published as usize, seen,
        "every run published was counted once"
    );
    scene.finish(true).await;
}

/// The value of the series `series` in a text exposition, 0 when absent.
fn sample(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

#[tokio::test]
async fn a_run_that_outlasts_its_interval_skips_due_times_and_never_overlaps() {
    let config = SandboxConfig {
        latency: Duration::from_millis(120),
        ..SandboxConfig::default()
    };
    let mut scene = Scene::start(config, Timing::every(1), 2).await;

    let slow = scene.next_run().await;
    assert_eq!(slow.dossiers.len(), SEEDED_DOSSIERS);
    let during = scene
        .store
        .state(SCHEDULE)
        .await
        .expect("the store answers");
    assert!(
        during.skips >= 1,
        "a {} ms run with a 1 s interval skips due times; skips: {}",
        slow.completed.elapsed_ms,
        during.skips
    );
    let next = scene.next_run().await;
    assert_eq!(
        next.since(),
        Some(slow.completed.resume_point),
        "the next run was claimed after the slow one ended, from its resume point"
    );
    scene.finish(true).await;
}

#[tokio::test]
async fn killing_the_lease_holder_hands_over_without_publishing_a_run_twice() {
    let timing = Timing::every(2);
    let bound = Duration::from_secs_f64(timing.lease_seconds + timing.tick_seconds + 1.0);
    let mut scene = Scene::start(SandboxConfig::default(), timing, 2).await;
    let first = scene.next_run().await;
    let (index, holder) = scene
        .lease_holder()
        .await
        .expect("a replica holds the lease");

    let killed = Instant::now();
    scene.fleet.kill_and_replace(index);
    let successor = loop {
        let now_held = scene.store.lease_holder().await.expect("the store answers");
        if let Some(successor) = now_held.filter(|successor| *successor != holder) {
            break successor;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "nobody took the lease over"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let handover = killed.elapsed();
    println!("lease handed over from {holder} to {successor} in {handover:?}");
    assert!(
        handover <= bound,
        "the lease changed hands in {handover:?}, over lease + tick (+1 s): {bound:?}"
    );

    let mut runs = vec![first];
    while runs.len() < 3 {
        let command = scene.next_start().await;
        if command.meta.job_id == runs.last().expect("a run").command.meta.job_id {
            // Published again by the new holder (the old one died before the broker's
            // confirm was recorded): the same run, which the worker reads once.
            continue;
        }
        runs.push(scene.run_of(command).await);
    }
    for pair in runs.windows(2) {
        assert_eq!(
            pair[1].since(),
            Some(pair[0].completed.resume_point),
            "each run starts where the one before ended: no due time started twice"
        );
    }
    scene.finish(true).await;
}

#[tokio::test]
async fn a_run_without_an_end_within_max_run_is_given_up_and_its_late_end_ignored() {
    let config = SandboxConfig {
        latency: Duration::from_millis(120),
        ..SandboxConfig::default()
    };
    let timing = Timing {
        max_run_seconds: 1.0,
        ..Timing::every(1)
    };
    let mut scene = Scene::start(config, timing, 1).await;

    let slow = scene.next_start().await;
    let waited = Instant::now();
    let given_up = loop {
        let state = scene
            .store
            .state(SCHEDULE)
            .await
            .expect("the store answers");
        if let Some(last) = state.last_run.filter(|last| last.job == slow.meta.job_id) {
            break last;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the run was never given up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(given_up.outcome, schedule::Outcome::Failed);
    assert!(
        given_up
            .reason
            .as_deref()
            .is_some_and(|reason| reason.starts_with("no end within max_run_seconds")),
        "{given_up:?}"
    );
    let late = scene.completion_of(slow.meta.job_id).await;
    assert_eq!(
        late.records as usize, SEEDED_DOSSIERS,
        "the job itself went on to its end"
    );
    // Time for a replica to read that completion, and ignore it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = scene
        .store
        .state(SCHEDULE)
        .await
        .expect("the store answers");
    assert_eq!(
        state.resume_point, None,
        "a run given up never moves the resume point"
    );
    scene.finish(true).await;
}
