//! A full run of every worker kind against one sandbox, with a distinctive value for
//! every credential: no log line (at any level), event, dead letter or exported span
//! may hold one, in any form.
//!
//! The run has every job succeed once (a DS sync over a few pages that meet a 500, a
//! dropped connection and a 429; a Divalto and an Amienscope sync, the Divalto session
//! revoked mid-job; an Apidae put, whose first write meets an error page and whose
//! token is revoked mid-job, and a removal; a DS status change), then takes every path
//! most likely to leak: each API refusing its connection's credentials, a message that
//! is not JSON for each worker, and commands that name a URL or a token of their own.
//!
//! One test in its own binary, because it owns the process's global subscriber. Run with
//! `--nocapture` to see what the run produced and how each refusal was reported.

mod capture;
mod commands;
mod secrets;
mod setup;

use broker::{Broker, Outgoing, Target};
use contract::{
    Command, CommandFailed, DescriptorsWritten, Event, EventEnvelope, FailureReason, JobId,
    MessageId, SyncCompleted, WorkerKind,
};
use sandbox::{ApidaeFault, Sandbox};
use serde_json::json;

use crate::capture::{LogLines, Spans, Traffic, Trap, render};
use crate::commands::{
    accept, altered, amienscope_sync, apidae_delete, apidae_put, divalto_sync,
    dossier_en_instruction, ds_sync,
};
use crate::secrets::{Finding, Needle, Output};
use crate::setup::{ConfigDir, Workers};

/// A value that is no secret, planted in each output to show the search reads it.
const PLANTED: &str = "planted-marker-5d1e0c";
/// Objects written to Apidae: two chunks of at most 50.
const APIDAE_OBJECTS: usize = 60;

#[tokio::test]
async fn a_full_run_of_every_worker_leaks_no_secret_anywhere() {
    let logs = LogLines::default();
    let spans = Spans::default();
    let telemetry = telemetry::init_with_exporter_and_log_writer(spans.clone(), logs.writer())
        .expect("first subscriber");
    let trap = Trap::start().await;
    let sandbox = Sandbox::start(
        setup::sandbox_config(),
        "127.0.0.1:0".parse().expect("address"),
    )
    .await
    .expect("sandbox starts");
    let prefix = testkit::unique_prefix();
    let dir = ConfigDir::create(&prefix);
    let settings = setup::settings(&sandbox, &dir);
    let mut run = Run::start(&prefix).await;
    let workers = Workers::start(&settings, &prefix).await;
    tracing::info!(marker = PLANTED, "a line the capture must hold");
    tracing::info_span!("planted", marker = PLANTED).in_scope(|| {});
    let objects: Vec<u64> = sandbox
        .apidae()
        .known_objects()
        .into_iter()
        .take(APIDAE_OBJECTS)
        .collect();
    let dossier = dossier_en_instruction(&sandbox);

    let ds_job = every_job_succeeds(&mut run, &sandbox, &objects, dossier).await;
    every_api_refuses_its_credentials(&mut run, &objects, dossier).await;
    every_worker_gets_garbage(&mut run).await;
    commands_name_a_url_or_a_token(&mut run, &trap.url(), &objects, dossier).await;
    workers.stop().await;
    run.settle().await;
    telemetry.flush().expect("spans flushed");
    let stats = sandbox.stats();
    sandbox.shutdown().await;

    assert_eq!(trap.close(), 0, "no worker called a URL a command named");
    assert!(stats.with_status(500) >= 2, "a 500 from DS and from Apidae");
    assert_eq!(stats.with_status(429), 1, "the planned 429 was served");
    assert_eq!(stats.dropped_connections, 1, "the planned drop happened");
    let outputs = [
        Output {
            name: "log lines",
            items: logs.lines(),
        },
        Output {
            name: "events",
            items: run.traffic.events_seen.iter().map(render).collect(),
        },
        Output {
            name: "dead letters",
            items: run.traffic.dead_letters_seen.iter().map(render).collect(),
        },
        Output {
            name: "spans",
            items: spans
                .exported()
                .iter()
                .map(|span| format!("{span:?}"))
                .collect(),
        },
    ];
    for output in &outputs {
        println!("{}: {}", output.name, output.items.len());
    }
    let [log_lines, events, dead_letters, exported] = &outputs;

    // The capture holds what the run must have produced...
    let planted = Needle::new("the planted marker", PLANTED);
    for output in [log_lines, dead_letters, exported] {
        assert!(output.holds(&planted), "the {} hold it", output.name);
    }
    let ds_job = Needle::new("the DS sync's job id", &ds_job.to_string());
    assert!(events.holds(&ds_job), "the events hold the DS sync's");
    assert!(log_lines.items.len() >= 1_000, "{}", log_lines.items.len());
    assert!(events.items.len() >= 30, "{}", events.items.len());
    // Every refused command has a dead letter (`settle` waited for each), and every
    // dead letter is of a refused command: an offset sync leaves one per page in flight.
    for dead_letter in &dead_letters.items {
        assert!(
            run.dead_letter_marks
                .iter()
                .any(|mark| dead_letter.contains(mark.as_str())),
            "a dead letter of no refused command: {dead_letter}"
        );
    }
    assert!(exported.items.len() >= 100, "{}", exported.items.len());

    // ...and no secret.
    let needles = secrets::needles(&[testkit::amqp_url(), testkit::redis_url()]);
    let findings: Vec<Finding> = outputs
        .iter()
        .flat_map(|output| output.find(&needles))
        .collect();
    let first: Vec<String> = findings.iter().take(10).map(Finding::to_string).collect();
    assert!(
        findings.is_empty(),
        "{} leaks, the first ones:\n{}",
        findings.len(),
        first.join("\n")
    );
}

/// A DS sync over a few pages (with a 500, a dropped connection and a 429), a Divalto
/// and an Amienscope sync, an Apidae put (with an error page) and removal, and a DS
/// status change, each to its successful end. Returns the DS sync's job.
async fn every_job_succeeds(
    run: &mut Run,
    sandbox: &Sandbox,
    objects: &[u64],
    dossier: u32,
) -> JobId {
    let ds = ds_sync("sandbox");
    for command in [
        &ds,
        &divalto_sync("sandbox_divalto"),
        &amienscope_sync("sandbox_amienscope"),
    ] {
        let completed = completion(&run.job(command).await);
        assert!(completed.pages >= 3, "{completed:?}");
    }
    sandbox
        .apidae()
        .fail_next_writes(ApidaeFault::HtmlServerError, 1);
    let written = descriptors_written(&run.job(&apidae_put("sandbox_apidae", objects)).await);
    assert_eq!(written.updated as usize, objects.len(), "{written:?}");
    let written = descriptors_written(
        &run.job(&apidae_delete("sandbox_apidae", &objects[..10]))
            .await,
    );
    assert_eq!(written.failed_chunks, 0, "{written:?}");
    let events = run.job(&accept("sandbox", dossier)).await;
    assert!(
        matches!(events.last().map(|e| &e.event), Some(Event::StatusSent(_))),
        "{events:?}"
    );
    ds.meta.job_id
}

/// Each API refuses the credentials of its `_refused` connection: one `command.failed`
/// and one dead letter each.
async fn every_api_refuses_its_credentials(run: &mut Run, objects: &[u64], dossier: u32) {
    for command in [
        ds_sync("ds_refused"),
        divalto_sync("divalto_refused"),
        amienscope_sync("amienscope_refused"),
        apidae_put("apidae_refused", &objects[..5]),
        accept("ds_refused", dossier),
    ] {
        let events = run.job(&command).await;
        let [failed] = &failures(&events)[..] else {
            panic!("one command.failed expected: {events:?}")
        };
        println!(
            "{} on {}: {:?} {:?} {}",
            command.body.kind(),
            command.meta.connection,
            failed.reason,
            failed.code,
            failed.message
        );
        assert!(
            matches!(
                failed.reason,
                FailureReason::UpstreamUnauthorized | FailureReason::UpstreamForbidden
            ),
            "{failed:?}"
        );
        run.expect_dead_letter(&command.meta.job_id.to_string());
    }
}

/// A message that is not JSON, for each worker.
async fn every_worker_gets_garbage(run: &mut Run) {
    for worker in [
        WorkerKind::FetchPage,
        WorkerKind::WriteDescriptors,
        WorkerKind::SendStatus,
    ] {
        let garbage = format!("{PLANTED} for {} is not json {{", worker.as_str());
        let outgoing = Outgoing {
            target: Target::Command(worker),
            message_id: MessageId::for_unparsed(garbage.as_bytes()),
            kind: "garbage",
            body: garbage.clone().into_bytes(),
            headers: Vec::new(),
            job_end: None,
        };
        let failed = run.refused(&outgoing, None).await;
        assert_eq!(failed.reason, FailureReason::MalformedJson, "{failed:?}");
        run.expect_dead_letter(&garbage);
    }
}

/// Commands that name a URL, a user and password, or a token of their own: each is
/// refused, and nothing calls `trap_url`.
async fn commands_name_a_url_or_a_token(
    run: &mut Run,
    trap_url: &str,
    objects: &[u64],
    dossier: u32,
) {
    let sync = ds_sync("sandbox");
    let sync_elsewhere = altered(&sync, |envelope| {
        envelope["connection"] = json!(format!("{trap_url}/api/v2/graphql"));
    });
    let sync_with_token = ds_sync("sandbox");
    let sync_with_token_body = altered(&sync_with_token, |envelope| {
        envelope["body"]["base_url"] = json!(trap_url);
        envelope["body"]["token"] = json!("decoy-token-from-a-command");
    });
    let put = apidae_put("sandbox_apidae", &objects[..1]);
    let put_with_secret = altered(&put, |envelope| {
        envelope["body"]["token_url"] = json!(format!("{trap_url}/oauth/token"));
        envelope["body"]["client_secret"] = json!("decoy-secret-from-a-command");
    });
    let status = accept("sandbox", dossier);
    let status_elsewhere = altered(&status, |envelope| {
        envelope["connection"] = json!(trap_url.replace("://", "://decoy:decoy-password@"));
    });
    for (command, body) in [
        (sync, sync_elsewhere),
        (sync_with_token, sync_with_token_body),
        (put, put_with_secret),
        (status, status_elsewhere),
    ] {
        let outgoing = Outgoing {
            body,
            ..Outgoing::command(&command, Vec::new())
        };
        let failed = run.refused(&outgoing, Some(command.meta.job_id)).await;
        println!(
            "{} naming a URL or a token: {:?} {}",
            command.body.kind(),
            failed.reason,
            failed.message
        );
        assert!(
            matches!(
                failed.reason,
                FailureReason::UnknownConnection | FailureReason::InvalidBody
            ),
            "{failed:?}"
        );
        run.expect_dead_letter(&command.meta.job_id.to_string());
    }
}

/// The broker side of the run: what is published, what comes back, and the dead
/// letters it must produce.
struct Run {
    broker: Broker,
    traffic: Traffic,
    /// A text of each dead letter expected: a job id, or a whole message.
    dead_letter_marks: Vec<String>,
}

impl Run {
    /// Declares the topology of every worker under `prefix` and subscribes to it.
    async fn start(prefix: &str) -> Run {
        let broker = testkit::connect(prefix).await;
        broker
            .declare(&[
                WorkerKind::FetchPage,
                WorkerKind::WriteDescriptors,
                WorkerKind::SendStatus,
            ])
            .await
            .expect("topology");
        let traffic = Traffic::subscribe(&broker).await;
        Run {
            broker,
            traffic,
            dead_letter_marks: Vec::new(),
        }
    }

    /// Publishes `command` (under its publish span, as a producer would) and returns
    /// its job's events up to the one that ends it, or up to its first failure.
    async fn job(&mut self, command: &Command) -> Vec<EventEnvelope> {
        self.broker
            .publish_command(command)
            .await
            .expect("command confirmed");
        self.traffic
            .until(Some(command.meta.job_id), |event| {
                matches!(
                    event,
                    Event::SyncCompleted(_)
                        | Event::DescriptorsWritten(_)
                        | Event::StatusSent(_)
                        | Event::CommandFailed(_)
                )
            })
            .await
    }

    /// Publishes `outgoing` as is and returns the failure reported for `job`.
    async fn refused(&mut self, outgoing: &Outgoing, job: Option<JobId>) -> CommandFailed {
        self.broker
            .publisher()
            .publish(outgoing)
            .await
            .expect("message confirmed");
        let events = self
            .traffic
            .until(job, |event| matches!(event, Event::CommandFailed(_)))
            .await;
        failures(&events)
            .pop()
            .expect("the events end with command.failed")
    }

    /// Expects a dead letter whose body holds `mark`.
    fn expect_dead_letter(&mut self, mark: &str) {
        self.dead_letter_marks.push(mark.to_owned());
    }

    /// Waits for every expected dead letter, then for the broker to fall quiet.
    async fn settle(&mut self) {
        self.traffic.settle(&self.dead_letter_marks).await;
    }
}

fn completion(events: &[EventEnvelope]) -> SyncCompleted {
    match events.last().map(|envelope| &envelope.event) {
        Some(Event::SyncCompleted(completed)) => completed.clone(),
        _ => panic!("sync.completed expected: {events:?}"),
    }
}

fn descriptors_written(events: &[EventEnvelope]) -> DescriptorsWritten {
    match events.last().map(|envelope| &envelope.event) {
        Some(Event::DescriptorsWritten(written)) => written.clone(),
        _ => panic!("descriptors.written expected: {events:?}"),
    }
}

fn failures(events: &[EventEnvelope]) -> Vec<CommandFailed> {
    events
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::CommandFailed(failed) => Some(failed.clone()),
            _ => None,
        })
        .collect()
}
