//! The one place where the API's French payload messages are read: a
//! mutation's `errors` carry no code, so "already done" and "read-only token"
//! are told apart from other refusals by their text.

use crate::values::DossierState;

/// Every mutation run with a read-only token gets this payload error.
const READ_ONLY_TOKEN: &str = "Le jeton utilisé est configuré seulement en lecture";
/// A state mutation on a dossier whose state forbids it: followed by the state's name.
const ALREADY_IN_STATE: &str = "Le dossier est déjà ";
/// `dossierAjouterLabel` with a label the dossier already carries.
const LABEL_ALREADY_ON_DOSSIER: &str = "Ce label est déjà associé au dossier";
/// `dossierSupprimerLabel` with a label the dossier does not carry.
const LABEL_NOT_ON_DOSSIER: &str = "Ce label n’est pas associé au dossier";
/// The server's lower-case French names of the states, as its messages use them.
const STATE_NAMES: [(DossierState, &str); 5] = [
    (DossierState::EnConstruction, "en construction"),
    (DossierState::EnInstruction, "en instruction"),
    (DossierState::Accepte, "accepté"),
    (DossierState::Refuse, "refusé"),
    (DossierState::SansSuite, "classé sans suite"),
];

/// What the caller wanted the mutation to leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Goal {
    /// The dossier in this state.
    State(DossierState),
    /// The label on the dossier.
    LabelOn,
    /// The label off the dossier.
    LabelOff,
    /// A new message: it is never "already" sent as far as the API tells.
    NewMessage,
}

/// What one payload error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// The dossier already is as the goal asks: nothing left to do.
    AlreadyApplied,
    /// The token may only read.
    ReadOnlyToken,
    /// Any other refusal.
    Refused,
}

/// Reads one payload error against the goal. Either apostrophe (’ or ') is
/// accepted, and case, surrounding blanks and a final period are ignored.
pub(crate) fn meaning(goal: Goal, message: &str) -> Meaning {
    let message = normalise(message);
    if message == normalise(READ_ONLY_TOKEN) {
        return Meaning::ReadOnlyToken;
    }
    let already = match goal {
        Goal::State(state) => STATE_NAMES
            .iter()
            .find(|(named, _)| *named == state)
            .is_some_and(|(_, name)| message == normalise(&format!("{ALREADY_IN_STATE}{name}"))),
        Goal::LabelOn => message == normalise(LABEL_ALREADY_ON_DOSSIER),
        Goal::LabelOff => message == normalise(LABEL_NOT_ON_DOSSIER),
        Goal::NewMessage => false,
    };
    if already {
        Meaning::AlreadyApplied
    } else {
        Meaning::Refused
    }
}

fn normalise(text: &str) -> String {
    text.trim()
        .trim_end_matches('.')
        .replace('\'', "’")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use DossierState::*;

    #[test]
    fn already_in_the_target_state_is_recognised_for_every_state() {
        let cases = [
            (EnConstruction, "Le dossier est déjà en construction"),
            (EnInstruction, "Le dossier est déjà en instruction"),
            (Accepte, "Le dossier est déjà accepté"),
            (Refuse, "Le dossier est déjà refusé"),
            (SansSuite, "Le dossier est déjà classé sans suite"),
        ];
        for (target, message) in cases {
            assert_eq!(
                meaning(Goal::State(target), message),
                Meaning::AlreadyApplied,
                "{message}"
            );
            for (other, _) in STATE_NAMES.iter().filter(|(state, _)| *state != target) {
                assert_eq!(
                    meaning(Goal::State(*other), message),
                    Meaning::Refused,
                    "{message} while aiming at {other:?}"
                );
            }
        }
    }

    #[test]
    fn label_errors_are_recognised_with_either_apostrophe_and_only_for_their_direction() {
        let already_on = "Ce label est déjà associé au dossier";
        assert_eq!(meaning(Goal::LabelOn, already_on), Meaning::AlreadyApplied);
        assert_eq!(meaning(Goal::LabelOff, already_on), Meaning::Refused);
        for not_on in [
            "Ce label n’est pas associé au dossier",
            "Ce label n'est pas associé au dossier",
        ] {
            assert_eq!(meaning(Goal::LabelOff, not_on), Meaning::AlreadyApplied);
            assert_eq!(meaning(Goal::LabelOn, not_on), Meaning::Refused);
        }
    }

    #[test]
    fn blanks_case_and_a_final_period_do_not_matter() {
        assert_eq!(
            meaning(Goal::State(Accepte), "  le dossier est DÉJÀ accepté. "),
            Meaning::AlreadyApplied
        );
    }

    #[test]
    fn the_read_only_token_is_recognised_whatever_the_goal() {
        for goal in [
            Goal::State(Accepte),
            Goal::LabelOn,
            Goal::LabelOff,
            Goal::NewMessage,
        ] {
            assert_eq!(
                meaning(goal, "Le jeton utilisé est configuré seulement en lecture"),
                Meaning::ReadOnlyToken
            );
        }
    }

    #[test]
    fn other_refusals_stay_refusals() {
        for message in [
            "L’instructeur n’a pas les droits d’accès à ce dossier",
            "L'instructeur n'a pas les droits d'accès à ce dossier",
            "Ce label n’appartient pas à la même démarche que le dossier",
            "Le dossier est en attente de correction",
            "Le dossier est déjà",
            "",
        ] {
            for goal in [Goal::State(EnInstruction), Goal::LabelOn, Goal::NewMessage] {
                assert_eq!(meaning(goal, message), Meaning::Refused, "{message}");
            }
        }
    }
}
