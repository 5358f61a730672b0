//! Messages are stored once however often their command is delivered.

use chrono::Utc;
use contract::StatusAction;
use ds_client::{DossierNumber, InstructeurId, MessageRequest};
use job_state::ReceiptCheck;
use sandbox::ds::dataset::DossierState;

use crate::harness::{TestApp, instructeur, spawn_app, status};

fn message(body: &str) -> StatusAction {
    StatusAction::SendMessage {
        body: body.into(),
        attachment: None,
        correction: None,
    }
}

fn stored(app: &TestApp, dossier: u32, body: &str) -> usize {
    app.sandbox
        .dataset()
        .dossier_messages(i64::from(dossier))
        .expect("a visible dossier")
        .iter()
        .filter(|message| message.body == body)
        .count()
}

#[tokio::test]
async fn a_message_delivered_twice_is_stored_once() {
    let mut app = spawn_app(&[]).await;
    let dossier = app.dossiers_in(DossierState::EnConstruction, 0, 1)[0];
    let body = "Votre dossier est bien reçu.";
    let command = status(dossier, message(body));

    let first = app.run(&command).await.sent();
    assert!(!first.already_applied);
    let id = first.message.clone().expect("the message id");
    assert_eq!(stored(&app, dossier, body), 1);

    let second = app.run(&command).await.sent();
    assert!(second.already_applied);
    assert_eq!(second.message, Some(id));
    assert_eq!(stored(&app, dossier, body), 1);

    // Another command with the same text is another message.
    let other = app.run(&status(dossier, message(body))).await.sent();
    assert!(!other.already_applied);
    assert_eq!(stored(&app, dossier, body), 2);
    app.shutdown().await;
}

#[tokio::test]
async fn a_message_sent_before_a_crash_is_found_and_not_sent_again() {
    let mut app = spawn_app(&[]).await;
    let dossier = app.dossiers_in(DossierState::EnInstruction, 0, 1)[0];
    let body = "Merci de compléter votre dossier.";
    let command = status(dossier, message(body));

    // An earlier delivery marked its attempt, sent the message, and crashed
    // before recording the receipt.
    let key = send_status::message_receipt_key(command.meta.message_id);
    assert_eq!(
        app.store
            .begin_attempt(&key, Utc::now())
            .await
            .expect("store"),
        ReceiptCheck::FirstAttempt
    );
    let client = app.client();
    let number = DossierNumber::new(dossier).expect("a dossier number");
    let sent = client
        .send_message(&MessageRequest {
            dossier: client.dossier_id(number).await.expect("dossier id"),
            instructeur: InstructeurId::new(instructeur()),
            body: body.into(),
            attachment: None,
            correction: None,
        })
        .await
        .expect("the earlier delivery's message");
    assert_eq!(stored(&app, dossier, body), 1);

    let redelivered = app.run(&command).await.sent();

    assert!(redelivered.already_applied);
    assert_eq!(redelivered.message.as_deref(), Some(sent.id.as_str()));
    assert_eq!(stored(&app, dossier, body), 1);
    assert_eq!(
        app.store
            .begin_attempt(&key, Utc::now())
            .await
            .expect("store"),
        ReceiptCheck::Recorded(sent.id.into_string()),
        "the found message is recorded as the receipt"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_attempt_that_crashed_before_sending_sends_on_redelivery() {
    let mut app = spawn_app(&[]).await;
    let dossier = app.dossiers_in(DossierState::EnInstruction, 1, 1)[0];
    let body = "Votre dossier passe en commission.";
    let command = status(dossier, message(body));
    let key = send_status::message_receipt_key(command.meta.message_id);
    app.store
        .begin_attempt(&key, Utc::now())
        .await
        .expect("store");

    let redelivered = app.run(&command).await.sent();

    assert!(!redelivered.already_applied);
    assert!(redelivered.message.is_some());
    assert_eq!(stored(&app, dossier, body), 1);
    app.shutdown().await;
}
