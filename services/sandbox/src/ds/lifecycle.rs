//! The dossier lifecycle as the server enforces it: which state changes each
//! mutation allows, what they change, and how a correction request sends a
//! dossier back to construction.

use chrono::{DateTime, Utc};

use super::dataset::{CorrectionReason, Dossier, DossierState};

/// A state change asked by one of the state mutations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transition {
    /// `dossierPasserEnInstruction`: en_construction → en_instruction.
    PasserEnInstruction,
    /// `dossierAccepter`: en_instruction → accepte.
    Accepter { motivation: Option<String> },
    /// `dossierRefuser`: en_instruction → refuse.
    Refuser { motivation: String },
    /// `dossierClasserSansSuite`: en_instruction → sans_suite.
    ClasserSansSuite { motivation: String },
    /// `dossierRepasserEnInstruction`: accepte, refuse or sans_suite → en_instruction.
    RepasserEnInstruction,
    /// `dossierRepasserEnConstruction`: en_instruction → en_construction.
    RepasserEnConstruction,
}

impl Transition {
    /// The payload error the server gives when the dossier's state forbids
    /// the change: "Le dossier est déjà <état>", naming the current state.
    pub(crate) fn refusal(&self, state: DossierState) -> Option<String> {
        (!self.allowed_from(state)).then(|| already_in(state))
    }

    fn allowed_from(&self, state: DossierState) -> bool {
        match self {
            Self::PasserEnInstruction => state == DossierState::EnConstruction,
            Self::Accepter { .. } | Self::Refuser { .. } | Self::ClasserSansSuite { .. } => {
                state == DossierState::EnInstruction
            }
            Self::RepasserEnInstruction => state.is_closed(),
            Self::RepasserEnConstruction => state == DossierState::EnInstruction,
        }
    }

    /// Changes the dossier; call only once [`Self::refusal`] found nothing.
    pub(crate) fn apply(self, dossier: &mut Dossier, now: DateTime<Utc>) {
        match self {
            Self::PasserEnInstruction => {
                dossier.state = DossierState::EnInstruction;
                dossier.en_instruction_at = Some(now);
            }
            Self::Accepter { motivation } => close(dossier, DossierState::Accepte, motivation, now),
            Self::Refuser { motivation } => {
                close(dossier, DossierState::Refuse, Some(motivation), now);
            }
            Self::ClasserSansSuite { motivation } => {
                close(dossier, DossierState::SansSuite, Some(motivation), now);
            }
            Self::RepasserEnInstruction => {
                dossier.state = DossierState::EnInstruction;
                dossier.processed_at = None;
                dossier.motivation = None;
                dossier.archived = false;
            }
            Self::RepasserEnConstruction => back_to_construction(dossier),
        }
        dossier.updated_at = now;
    }
}

/// "Le dossier est déjà <état>", the server's words for a dossier whose state
/// forbids a change.
pub(crate) fn already_in(state: DossierState) -> String {
    format!("Le dossier est déjà {}", state.french_name())
}

/// A message that asks for a correction. As on the server, nothing happens
/// when a correction is already pending or the dossier is neither en
/// construction nor en instruction; a dossier en instruction goes back to
/// construction.
pub(crate) fn ask_correction(dossier: &mut Dossier, reason: CorrectionReason, now: DateTime<Utc>) {
    let may_flag = dossier.pending_correction.is_none()
        && matches!(
            dossier.state,
            DossierState::EnConstruction | DossierState::EnInstruction
        );
    if !may_flag {
        return;
    }
    dossier.pending_correction = Some(reason);
    if dossier.state == DossierState::EnInstruction {
        back_to_construction(dossier);
        dossier.updated_at = now;
    }
}

fn close(
    dossier: &mut Dossier,
    state: DossierState,
    motivation: Option<String>,
    now: DateTime<Utc>,
) {
    dossier.state = state;
    dossier.processed_at = Some(now);
    dossier.motivation = motivation;
}

fn back_to_construction(dossier: &mut Dossier) {
    dossier.state = DossierState::EnConstruction;
    dossier.en_instruction_at = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const STATES: [DossierState; 5] = [
        DossierState::EnConstruction,
        DossierState::EnInstruction,
        DossierState::Accepte,
        DossierState::Refuse,
        DossierState::SansSuite,
    ];

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 1, 8, 0, 0).unwrap()
    }

    fn dossier_in(state: DossierState) -> Dossier {
        let before = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
        Dossier {
            number: 1,
            state,
            archived: state.is_closed(),
            depose_at: Some(before),
            updated_at: before,
            en_instruction_at: (state != DossierState::EnConstruction).then_some(before),
            processed_at: state.is_closed().then_some(before),
            motivation: state.is_closed().then(|| "avant".to_owned()),
            groupe_instructeur: 1,
            labels: Vec::new(),
            messages: Vec::new(),
            pending_correction: None,
        }
    }

    /// Each transition, the one state it is allowed from (or the closed
    /// states), and the state it leads to.
    fn table() -> Vec<(Transition, Vec<DossierState>, DossierState)> {
        let closed = vec![
            DossierState::Accepte,
            DossierState::Refuse,
            DossierState::SansSuite,
        ];
        vec![
            (
                Transition::PasserEnInstruction,
                vec![DossierState::EnConstruction],
                DossierState::EnInstruction,
            ),
            (
                Transition::Accepter { motivation: None },
                vec![DossierState::EnInstruction],
                DossierState::Accepte,
            ),
            (
                Transition::Refuser {
                    motivation: "non".to_owned(),
                },
                vec![DossierState::EnInstruction],
                DossierState::Refuse,
            ),
            (
                Transition::ClasserSansSuite {
                    motivation: "rien".to_owned(),
                },
                vec![DossierState::EnInstruction],
                DossierState::SansSuite,
            ),
            (
                Transition::RepasserEnInstruction,
                closed,
                DossierState::EnInstruction,
            ),
            (
                Transition::RepasserEnConstruction,
                vec![DossierState::EnInstruction],
                DossierState::EnConstruction,
            ),
        ]
    }

    #[test]
    fn each_transition_runs_from_its_states_and_names_the_current_state_otherwise() {
        for (transition, allowed, target) in table() {
            for state in STATES {
                let refusal = transition.refusal(state);
                if allowed.contains(&state) {
                    assert_eq!(refusal, None, "{transition:?} from {state:?}");
                    let mut dossier = dossier_in(state);
                    transition.clone().apply(&mut dossier, now());
                    assert_eq!(dossier.state, target, "{transition:?} from {state:?}");
                    assert_eq!(dossier.updated_at, now());
                    assert_eq!(dossier.processed_at.is_some(), target.is_closed());
                    assert!(!dossier.archived || target.is_closed());
                } else {
                    assert_eq!(
                        refusal.as_deref(),
                        Some(format!("Le dossier est déjà {}", state.french_name()).as_str()),
                        "{transition:?} from {state:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_french_names_are_the_servers() {
        let names: Vec<String> = STATES.into_iter().map(already_in).collect();
        assert_eq!(
            names,
            [
                "Le dossier est déjà en construction",
                "Le dossier est déjà en instruction",
                "Le dossier est déjà accepté",
                "Le dossier est déjà refusé",
                "Le dossier est déjà classé sans suite",
            ]
        );
    }

    #[test]
    fn a_decision_keeps_its_motivation_and_reopening_clears_it() {
        let mut dossier = dossier_in(DossierState::EnInstruction);
        Transition::Refuser {
            motivation: "hors délai".to_owned(),
        }
        .apply(&mut dossier, now());
        assert_eq!(dossier.motivation.as_deref(), Some("hors délai"));
        Transition::RepasserEnInstruction.apply(&mut dossier, now());
        assert_eq!(dossier.motivation, None);
        assert_eq!(dossier.processed_at, None);
    }

    #[test]
    fn a_correction_sends_an_instructed_dossier_back_to_construction_once() {
        let mut dossier = dossier_in(DossierState::EnInstruction);
        ask_correction(&mut dossier, CorrectionReason::Incomplete, now());
        assert_eq!(dossier.state, DossierState::EnConstruction);
        assert_eq!(
            dossier.pending_correction,
            Some(CorrectionReason::Incomplete)
        );
        ask_correction(&mut dossier, CorrectionReason::Outdated, now());
        assert_eq!(
            dossier.pending_correction,
            Some(CorrectionReason::Incomplete)
        );

        let mut closed = dossier_in(DossierState::Accepte);
        ask_correction(&mut closed, CorrectionReason::Incorrect, now());
        assert_eq!(closed.state, DossierState::Accepte);
        assert_eq!(closed.pending_correction, None);
    }
}
