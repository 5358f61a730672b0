//! Every transition the state machine allows is made; every other one is refused by
//! the API for good; a repeated decision is reported as already applied.

use contract::{DsDossierState, FailureReason, StatusAction};
use sandbox::ds::dataset::DossierState;

use crate::harness::{spawn_app, status};

/// Builds the action of a case.
type MakeAction = fn() -> StatusAction;

fn pass() -> StatusAction {
    StatusAction::PassToInstruction {
        disable_notification: false,
    }
}

fn accept() -> StatusAction {
    StatusAction::Accept {
        motivation: Some("Dossier complet".into()),
        justificatif: None,
        disable_notification: true,
    }
}

fn refuse() -> StatusAction {
    StatusAction::Refuse {
        motivation: "Hors délai".into(),
        justificatif: None,
        disable_notification: false,
    }
}

fn classify() -> StatusAction {
    StatusAction::ClassifyWithoutFollowUp {
        motivation: "Demande retirée".into(),
        justificatif: None,
        disable_notification: false,
    }
}

fn back_to_instruction() -> StatusAction {
    StatusAction::BackToInstruction {
        disable_notification: false,
    }
}

fn back_to_construction() -> StatusAction {
    StatusAction::BackToConstruction {
        disable_notification: false,
    }
}

const CONSTRUCTION: DossierState = DossierState::EnConstruction;
const INSTRUCTION: DossierState = DossierState::EnInstruction;
const ACCEPTED: DossierState = DossierState::Accepte;
const REFUSED: DossierState = DossierState::Refuse;
const WITHOUT_FOLLOW_UP: DossierState = DossierState::SansSuite;

fn on_the_wire(state: DossierState) -> DsDossierState {
    match state {
        CONSTRUCTION => DsDossierState::EnConstruction,
        INSTRUCTION => DsDossierState::EnInstruction,
        ACCEPTED => DsDossierState::Accepte,
        REFUSED => DsDossierState::Refuse,
        WITHOUT_FOLLOW_UP => DsDossierState::SansSuite,
        DossierState::Brouillon => panic!("a brouillon is never served"),
    }
}

/// Runs one command per case, each on a dossier of its own in the case's state.
async fn run_cases(
    cases: &[(MakeAction, DossierState)],
) -> (
    crate::harness::TestApp,
    Vec<(u32, crate::harness::Reported)>,
) {
    let mut app = spawn_app(&[]).await;
    let mut used = std::collections::HashMap::<DossierState, usize>::new();
    let mut commands = Vec::new();
    for (action, from) in cases {
        let skip = used.entry(*from).or_default();
        let dossier = app.dossiers_in(*from, *skip, 1)[0];
        *skip += 1;
        let command = status(dossier, action());
        app.publish(&command).await;
        commands.push((dossier, command.meta.job_id));
    }
    let jobs: Vec<_> = commands.iter().map(|(_, job)| *job).collect();
    let mut reports = app.reports(&jobs).await;
    let results = commands
        .into_iter()
        .map(|(dossier, job)| (dossier, reports.remove(&job).expect("reported")))
        .collect();
    (app, results)
}

#[tokio::test]
async fn every_allowed_transition_is_made_and_reported_with_the_new_state() {
    let cases: [(MakeAction, DossierState, DossierState); 8] = [
        (pass, CONSTRUCTION, INSTRUCTION),
        (accept, INSTRUCTION, ACCEPTED),
        (refuse, INSTRUCTION, REFUSED),
        (classify, INSTRUCTION, WITHOUT_FOLLOW_UP),
        (back_to_instruction, ACCEPTED, INSTRUCTION),
        (back_to_instruction, REFUSED, INSTRUCTION),
        (back_to_instruction, WITHOUT_FOLLOW_UP, INSTRUCTION),
        (back_to_construction, INSTRUCTION, CONSTRUCTION),
    ];
    let runs: Vec<_> = cases
        .iter()
        .map(|(action, from, _)| (*action, *from))
        .collect();
    let (app, results) = run_cases(&runs).await;
    for ((action, from, to), (dossier, reported)) in cases.iter().zip(results) {
        let name = action().name();
        let sent = reported.sent();
        assert_eq!(sent.action, name);
        assert!(!sent.already_applied, "{name} from {from:?}");
        assert_eq!(sent.state, Some(on_the_wire(*to)), "{name} from {from:?}");
        assert_eq!(sent.connection, "sandbox");
        assert_eq!(app.state_of(dossier), *to, "{name} on {dossier}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn every_forbidden_transition_fails_for_good_with_the_api_message() {
    let cases: [(MakeAction, DossierState); 16] = [
        (pass, ACCEPTED),
        (pass, REFUSED),
        (pass, WITHOUT_FOLLOW_UP),
        (accept, CONSTRUCTION),
        (accept, REFUSED),
        (accept, WITHOUT_FOLLOW_UP),
        (refuse, CONSTRUCTION),
        (refuse, ACCEPTED),
        (refuse, WITHOUT_FOLLOW_UP),
        (classify, CONSTRUCTION),
        (classify, ACCEPTED),
        (classify, REFUSED),
        (back_to_instruction, CONSTRUCTION),
        (back_to_construction, ACCEPTED),
        (back_to_construction, REFUSED),
        (back_to_construction, WITHOUT_FOLLOW_UP),
    ];
    let (app, results) = run_cases(&cases).await;
    for ((action, from), (dossier, reported)) in cases.iter().zip(results) {
        let name = action().name();
        let failed = reported.failed();
        assert_eq!(
            failed.reason,
            FailureReason::UpstreamChangeRefused,
            "{name} from {from:?}"
        );
        assert!(
            failed.message.starts_with("Le dossier est déjà"),
            "{name} from {from:?}: {}",
            failed.message
        );
        assert_eq!(failed.command_kind.as_deref(), Some("ds.status"));
        assert_eq!(app.state_of(dossier), *from, "{name} left {dossier} alone");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_same_acceptance_delivered_twice_changes_the_state_once() {
    let mut app = spawn_app(&[]).await;
    let dossier = app.dossiers_in(INSTRUCTION, 0, 1)[0];
    let command = status(dossier, accept());

    let first = app.run(&command).await.sent();
    assert!(!first.already_applied);
    assert_eq!(first.state, Some(DsDossierState::Accepte));
    let processed_at = app
        .sandbox
        .dataset()
        .dossier(i64::from(dossier))
        .and_then(|(_, dossier)| dossier.processed_at);

    let second = app.run(&command).await.sent();
    assert!(second.already_applied);
    assert_eq!(second.state, Some(DsDossierState::Accepte));
    assert_eq!(app.state_of(dossier), ACCEPTED);
    let after = app
        .sandbox
        .dataset()
        .dossier(i64::from(dossier))
        .and_then(|(_, dossier)| dossier.processed_at);
    assert_eq!(after, processed_at, "the second delivery changed nothing");
    app.shutdown().await;
}

#[tokio::test]
async fn a_read_only_token_fails_for_good_and_changes_nothing() {
    let mut app = spawn_app(&[("ESTAFETTE__CONNECTIONS__SANDBOX__TOKEN", "read-only-token")]).await;
    let dossier = app.dossiers_in(INSTRUCTION, 0, 1)[0];

    let failed = app.run(&status(dossier, accept())).await.failed();

    assert_eq!(failed.reason, FailureReason::UpstreamForbidden);
    assert!(failed.message.contains("lecture"), "{}", failed.message);
    assert_eq!(app.state_of(dossier), INSTRUCTION);
    app.shutdown().await;
}
