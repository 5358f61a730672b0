//! What an action did, reported as `status.sent`.

use contract::DsDossierState;
use ds_client::DossierState;

/// An action that succeeded: made now, or found made before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    /// Nothing changed this time: the API said so, or a receipt did.
    pub(crate) already_applied: bool,
    /// The dossier's state as the API returned it.
    pub(crate) state: Option<DsDossierState>,
    /// The id of the message sent.
    pub(crate) message: Option<String>,
}

impl Done {
    pub(crate) fn applied(state: Option<DossierState>, message: Option<String>) -> Done {
        Done {
            already_applied: false,
            state: state.map(contract_state),
            message,
        }
    }

    pub(crate) fn already_applied(state: Option<DossierState>, message: Option<String>) -> Done {
        Done {
            already_applied: true,
            state: state.map(contract_state),
            message,
        }
    }
}

fn contract_state(state: DossierState) -> DsDossierState {
    match state {
        DossierState::EnConstruction => DsDossierState::EnConstruction,
        DossierState::EnInstruction => DsDossierState::EnInstruction,
        DossierState::Accepte => DsDossierState::Accepte,
        DossierState::Refuse => DsDossierState::Refuse,
        DossierState::SansSuite => DsDossierState::SansSuite,
    }
}
