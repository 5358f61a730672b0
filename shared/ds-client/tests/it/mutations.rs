//! The send-status calls against the sandbox's stand-in of the API, and the
//! request they send, over real loopback connections.

use crate::harness::{client, open_gate, spawn_upstream};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use ds_client::{
    CorrectionReason, DossierGlobalId, DossierNumber, DossierState, DsClient, DsEndpoint,
    InstructeurId, LabelId, MessageRequest, MutationOutcome, StateChange, Transition,
};
use sandbox::ds::dataset::{
    DossierState as SeededState, LARGE_DEMARCHE, SMALL_DEMARCHE, global_id,
};
use sandbox::{Sandbox, SandboxConfig};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upstream_http::{PermanentReason, UpstreamError};

const PATIENT: Duration = Duration::from_secs(10);
/// An instructeur of démarche 4242 in the sandbox.
const INSTRUCTEUR: i64 = 7001;
/// The sandbox's instructeur of démarche 1717, with no rights on 4242.
const OTHER_INSTRUCTEUR: i64 = 7101;
/// A label of démarche 4242 that no seeded dossier carries.
const SPARE_LABEL: i64 = 506;
/// A label of démarche 1717.
const OTHER_DEMARCHE_LABEL: i64 = 504;

async fn sandbox() -> Sandbox {
    Sandbox::start(
        SandboxConfig::default(),
        "127.0.0.1:0".parse().expect("an address"),
    )
    .await
    .expect("the sandbox starts")
}

fn client_with(sandbox: &Sandbox, token: &str) -> DsClient {
    let endpoint = DsEndpoint {
        base_url: sandbox.base_url().parse().expect("a valid base url"),
        token: SecretString::from(token),
        timeout: PATIENT,
    };
    DsClient::new(endpoint, open_gate()).expect("a usable endpoint")
}

/// The number of the first dossier of démarche `demarche` in `state`.
fn first_in(sandbox: &Sandbox, demarche: i64, state: SeededState) -> u32 {
    let dataset = sandbox.dataset();
    let number = dataset
        .demarche(demarche)
        .and_then(|demarche| demarche.first_dossier_in(state))
        .expect("a seeded dossier in that state")
        .number;
    u32::try_from(number).expect("a small number")
}

fn number(value: u32) -> DossierNumber {
    DossierNumber::new(value).expect("a valid dossier number")
}

fn instructeur(id: i64) -> InstructeurId {
    InstructeurId::new(global_id("Instructeur", id))
}

fn label(id: i64) -> LabelId {
    LabelId::new(global_id("Label", id))
}

fn change(dossier: &DossierGlobalId, by: i64, transition: Transition) -> StateChange {
    StateChange {
        dossier: dossier.clone(),
        instructeur: instructeur(by),
        transition,
        disable_notification: true,
    }
}

fn reason(result: &Result<impl std::fmt::Debug, UpstreamError>) -> Option<PermanentReason> {
    match result {
        Err(UpstreamError::Permanent { reason, .. }) => Some(*reason),
        _ => None,
    }
}

fn error<T>(result: &Result<T, UpstreamError>) -> Option<&UpstreamError> {
    result.as_ref().err()
}

#[tokio::test]
async fn a_dossier_id_is_looked_up_by_number_and_an_unknown_number_is_refused() {
    let sandbox = sandbox().await;
    let client = client_with(&sandbox, "sandbox-token");
    let dossier = first_in(&sandbox, LARGE_DEMARCHE, SeededState::Accepte);

    let id = client.dossier_id(number(dossier)).await.expect("an id");
    assert_eq!(id.as_str(), global_id("Dossier", i64::from(dossier)));

    let missing = client.dossier_id(number(1)).await;
    assert!(
        matches!(
            &missing,
            Err(UpstreamError::Permanent { reason: PermanentReason::Refused, code: Some(code), .. }) if code == "not_found"
        ),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_dossier_goes_through_its_lifecycle_and_repeats_are_already_applied() {
    let sandbox = sandbox().await;
    let client = client_with(&sandbox, "sandbox-token");
    let dossier_number = first_in(&sandbox, LARGE_DEMARCHE, SeededState::EnConstruction);
    let dossier = client
        .dossier_id(number(dossier_number))
        .await
        .expect("an id");
    let state_now = || sandbox.dataset().dossier_state(i64::from(dossier_number));

    let passer = change(&dossier, INSTRUCTEUR, Transition::PasserEnInstruction);
    assert_eq!(
        client.change_state(&passer).await,
        Ok(MutationOutcome::Applied {
            state: DossierState::EnInstruction
        })
    );
    assert_eq!(
        client.change_state(&passer).await,
        Ok(MutationOutcome::AlreadyApplied {
            state: Some(DossierState::EnInstruction),
            message: "Le dossier est déjà en instruction".into()
        })
    );

    let accepter = change(
        &dossier,
        INSTRUCTEUR,
        Transition::Accepter {
            motivation: Some("Dossier complet.".into()),
            justificatif: None,
        },
    );
    assert_eq!(
        client.change_state(&accepter).await,
        Ok(MutationOutcome::Applied {
            state: DossierState::Accepte
        })
    );
    assert_eq!(state_now(), Some(SeededState::Accepte));
    assert!(matches!(
        client.change_state(&accepter).await,
        Ok(MutationOutcome::AlreadyApplied {
            state: Some(DossierState::Accepte),
            ..
        })
    ));

    let wrong_way = client.change_state(&passer).await;
    assert_eq!(
        wrong_way,
        Err(UpstreamError::Permanent {
            reason: PermanentReason::ChangeRefused,
            code: None,
            message: "Le dossier est déjà accepté".into()
        })
    );

    let steps = [
        (
            Transition::RepasserEnInstruction,
            DossierState::EnInstruction,
        ),
        (
            Transition::Refuser {
                motivation: "Hors champ.".into(),
            },
            DossierState::Refuse,
        ),
        (
            Transition::RepasserEnInstruction,
            DossierState::EnInstruction,
        ),
        (
            Transition::ClasserSansSuite {
                motivation: "Sans réponse.".into(),
            },
            DossierState::SansSuite,
        ),
        (
            Transition::RepasserEnInstruction,
            DossierState::EnInstruction,
        ),
        (
            Transition::RepasserEnConstruction,
            DossierState::EnConstruction,
        ),
    ];
    for (transition, target) in steps {
        let outcome = client
            .change_state(&change(&dossier, INSTRUCTEUR, transition.clone()))
            .await;
        assert_eq!(
            outcome,
            Ok(MutationOutcome::Applied { state: target }),
            "{transition:?}"
        );
        assert_eq!(transition.target_state(), target);
    }
    assert_eq!(state_now(), Some(SeededState::EnConstruction));
}

#[tokio::test]
async fn an_instructeur_without_access_is_a_refused_mutation() {
    let sandbox = sandbox().await;
    let client = client_with(&sandbox, "sandbox-token");
    let dossier_number = first_in(&sandbox, LARGE_DEMARCHE, SeededState::EnConstruction);
    let dossier = client
        .dossier_id(number(dossier_number))
        .await
        .expect("an id");

    let result = client
        .change_state(&change(
            &dossier,
            OTHER_INSTRUCTEUR,
            Transition::PasserEnInstruction,
        ))
        .await;

    assert_eq!(
        result,
        Err(UpstreamError::Permanent {
            reason: PermanentReason::ChangeRefused,
            code: None,
            message: "L’instructeur n’a pas les droits d’accès à ce dossier".into()
        })
    );
}

#[tokio::test]
async fn a_message_is_sent_and_read_back_and_a_correction_reopens_the_dossier() {
    let sandbox = sandbox().await;
    let client = client_with(&sandbox, "sandbox-token");
    let dossier_number = first_in(&sandbox, SMALL_DEMARCHE, SeededState::EnInstruction);
    let dossier = client
        .dossier_id(number(dossier_number))
        .await
        .expect("an id");
    let request = MessageRequest {
        dossier: dossier.clone(),
        instructeur: instructeur(OTHER_INSTRUCTEUR),
        body: "Merci de joindre l’attestation d’assurance.".into(),
        attachment: None,
        correction: Some(CorrectionReason::Incomplete),
    };

    let sent = client.send_message(&request).await.expect("a sent message");
    let messages = client
        .messages(number(dossier_number))
        .await
        .expect("messages");

    assert_eq!(sent.body, request.body);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].id, sent.id);
    assert_eq!(messages[0].body, request.body);
    assert_eq!(messages[0].created_at, sent.created_at);
    assert_eq!(messages[0].email, "manifestations@example.org");
    assert_eq!(
        sandbox.dataset().dossier_state(i64::from(dossier_number)),
        Some(SeededState::EnConstruction)
    );

    let stranger = MessageRequest {
        instructeur: instructeur(INSTRUCTEUR),
        correction: None,
        ..request
    };
    assert_eq!(
        reason(&client.send_message(&stranger).await),
        Some(PermanentReason::ChangeRefused)
    );
}

#[tokio::test]
async fn labels_go_on_and_off_and_repeats_are_already_applied() {
    let sandbox = sandbox().await;
    let client = client_with(&sandbox, "sandbox-token");
    let dossier_number = first_in(&sandbox, LARGE_DEMARCHE, SeededState::EnInstruction);
    let dossier = client
        .dossier_id(number(dossier_number))
        .await
        .expect("an id");
    let spare = label(SPARE_LABEL);

    assert_eq!(
        client.add_label(&dossier, &spare).await,
        Ok(MutationOutcome::Applied {
            state: DossierState::EnInstruction
        })
    );
    assert_eq!(
        client.add_label(&dossier, &spare).await,
        Ok(MutationOutcome::AlreadyApplied {
            state: None,
            message: "Ce label est déjà associé au dossier".into()
        })
    );
    assert_eq!(
        reason(
            &client
                .add_label(&dossier, &label(OTHER_DEMARCHE_LABEL))
                .await
        ),
        Some(PermanentReason::ChangeRefused)
    );
    assert_eq!(
        client.remove_label(&dossier, &spare).await,
        Ok(MutationOutcome::Applied {
            state: DossierState::EnInstruction
        })
    );
    assert_eq!(
        client.remove_label(&dossier, &spare).await,
        Ok(MutationOutcome::AlreadyApplied {
            state: None,
            message: "Ce label n’est pas associé au dossier".into()
        })
    );
}

#[tokio::test]
async fn a_read_only_token_is_forbidden_with_its_own_code() {
    let sandbox = sandbox().await;
    let reader = client_with(&sandbox, "read-only-token");
    let dossier_number = first_in(&sandbox, LARGE_DEMARCHE, SeededState::EnConstruction);
    let dossier = reader
        .dossier_id(number(dossier_number))
        .await
        .expect("reads are allowed");

    let state = reader
        .change_state(&change(
            &dossier,
            INSTRUCTEUR,
            Transition::PasserEnInstruction,
        ))
        .await;
    let labelled = reader.add_label(&dossier, &label(SPARE_LABEL)).await;
    let message = reader
        .send_message(&MessageRequest {
            dossier,
            instructeur: instructeur(INSTRUCTEUR),
            body: "Bonjour".into(),
            attachment: None,
            correction: None,
        })
        .await;

    for refused in [error(&state), error(&labelled), error(&message)] {
        assert!(
            matches!(
                refused,
                Some(UpstreamError::Permanent { reason: PermanentReason::Forbidden, code: Some(code), message })
                    if code == "read_only_token" && message.contains("lecture")
            ),
            "{refused:?}"
        );
    }
    assert_eq!(
        sandbox.dataset().dossier_state(i64::from(dossier_number)),
        Some(SeededState::EnConstruction)
    );
}

type Seen = Arc<Mutex<Vec<Value>>>;

async fn record(State(seen): State<Seen>, Json(body): Json<Value>) -> Json<Value> {
    seen.lock().expect("an unpoisoned log").push(body);
    Json(json!({"data": {"payload": {
        "result": {"id": "RG9zc2llci0x", "state": "refuse"},
        "errors": null,
    }}}))
}

#[tokio::test]
async fn a_state_change_posts_its_operation_with_the_input_variables() {
    let seen = Seen::default();
    let router = Router::new()
        .route("/api/v2/graphql", post(record))
        .with_state(seen.clone());
    let base_url = spawn_upstream(router).await;
    let client = client(&base_url, PATIENT, open_gate());
    let request = StateChange {
        dossier: DossierGlobalId::new("RG9zc2llci0x"),
        instructeur: InstructeurId::new("SW5zdHJ1Y3RldXItMQ=="),
        transition: Transition::Refuser {
            motivation: "Hors champ.".into(),
        },
        disable_notification: true,
    };

    let outcome = client.change_state(&request).await;

    assert_eq!(
        outcome,
        Ok(MutationOutcome::Applied {
            state: DossierState::Refuse
        })
    );
    let seen = seen.lock().expect("an unpoisoned log").clone();
    assert_eq!(seen[0]["operationName"], "Refuser");
    assert_eq!(
        seen[0]["variables"],
        json!({"input": {
            "dossierId": "RG9zc2llci0x",
            "instructeurId": "SW5zdHJ1Y3RldXItMQ==",
            "disableNotification": true,
            "motivation": "Hors champ.",
        }})
    );
    let query = seen[0]["query"].as_str().expect("a query string");
    assert!(query.contains("dossierRefuser(input: $input)"), "{query}");
}
