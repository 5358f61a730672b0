//! Commands the worker refuses before calling the API, or cannot route.

use broker::{Outgoing, Target};
use contract::{
    Command, CommandBody, DossierRef, DsSync, FailureReason, JobId, MessageId, StatusAction,
    WorkerKind,
};
use sandbox::ds::dataset::DossierState;
use serde_json::json;

use crate::harness::{global_id, instructeur, spawn_app, status, status_of};

#[tokio::test]
async fn a_refusal_without_motivation_never_reaches_the_api() {
    let mut app = spawn_app(&[]).await;
    let dossier = app.dossiers_in(DossierState::EnInstruction, 0, 1)[0];
    let job = JobId::new_random();
    let body = serde_json::to_vec(&json!({
        "version": 1,
        "kind": "ds.status",
        "job_id": job,
        "message_id": MessageId::job_start(job),
        "connection": "sandbox",
        "body": {
            "dossier": dossier,
            "instructeur": instructeur(),
            "action": {"type": "refuse"},
        },
    }))
    .expect("json");
    app.publish_outgoing(&Outgoing {
        target: Target::Command(WorkerKind::SendStatus),
        message_id: MessageId::job_start(job),
        kind: "ds.status",
        body,
        headers: Vec::new(),
        job_end: None,
    })
    .await;

    let failed = app
        .reports(&[job])
        .await
        .remove(&job)
        .expect("a report")
        .failed();

    assert_eq!(failed.reason, FailureReason::InvalidBody);
    assert!(failed.message.contains("motivation"), "{}", failed.message);
    assert_eq!(app.state_of(dossier), DossierState::EnInstruction);
    assert_eq!(
        app.sandbox.stats().total,
        0,
        "no request reached the sandbox"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn commands_the_worker_cannot_run_fail_for_good_without_a_call() {
    let mut app = spawn_app(&[]).await;
    let dossier = app.dossiers_in(DossierState::EnInstruction, 0, 1)[0];
    let refuse_with_justificatif = status(
        dossier,
        StatusAction::Refuse {
            motivation: "Hors délai".into(),
            justificatif: Some("signed-blob".into()),
            disable_notification: false,
        },
    );
    let mut elsewhere = status(
        dossier,
        StatusAction::BackToInstruction {
            disable_notification: false,
        },
    );
    elsewhere.meta.connection = "nowhere".into();
    let mut other_api = elsewhere.clone();
    other_api.meta.job_id = JobId::new_random();
    other_api.meta.connection = "sandbox_divalto".into();
    let sync = Command::start_job(
        "sandbox",
        CommandBody::DsSync(DsSync {
            demarche: std::num::NonZeroU32::new(4242).expect("non-zero"),
            updated_since: None,
            state: None,
        }),
    );
    let mut misrouted = Outgoing::command(&sync, Vec::new());
    misrouted.target = Target::Command(WorkerKind::SendStatus);

    app.publish(&refuse_with_justificatif).await;
    app.publish(&elsewhere).await;
    app.publish(&other_api).await;
    app.publish_outgoing(&misrouted).await;
    let mut reports = app
        .reports(&[
            refuse_with_justificatif.meta.job_id,
            elsewhere.meta.job_id,
            other_api.meta.job_id,
            sync.meta.job_id,
        ])
        .await;
    let mut reason_of = |command: &Command| {
        reports
            .remove(&command.meta.job_id)
            .expect("reported")
            .failed()
            .reason
    };

    assert_eq!(
        reason_of(&refuse_with_justificatif),
        FailureReason::InvalidBody
    );
    assert_eq!(reason_of(&elsewhere), FailureReason::UnknownConnection);
    assert_eq!(reason_of(&other_api), FailureReason::ConnectionApiMismatch);
    assert_eq!(reason_of(&sync), FailureReason::UnknownKind);
    assert_eq!(
        app.sandbox.stats().total,
        0,
        "no request reached the sandbox"
    );
    assert_eq!(app.state_of(dossier), DossierState::EnInstruction);
    app.shutdown().await;
}

#[tokio::test]
async fn a_message_to_a_dossier_id_without_a_readable_number_fails_for_good() {
    let mut app = spawn_app(&[]).await;
    let command = status_of(
        DossierRef::Id(global_id("Dosier", 120_003)),
        StatusAction::SendMessage {
            body: "Bonjour".into(),
            attachment: None,
            correction: None,
        },
    );

    let failed = app.run(&command).await.failed();

    assert_eq!(failed.reason, FailureReason::InvalidBody);
    assert!(failed.message.contains("number"), "{}", failed.message);
    app.shutdown().await;
}
