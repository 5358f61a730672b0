//! State changes and labels: one mutation each, made idempotent by the API's own
//! answer. A dossier already in the target state, a label already on (or already
//! off), comes back as [`MutationOutcome::AlreadyApplied`]: success, nothing changed.

use ds_client::{DsClient, InstructeurId, LabelId, MutationOutcome, StateChange, Transition};
use settle::CommandError;

use crate::done::Done;
use crate::dossier::Dossier;

/// A state change or a label change, as the command asks for it.
pub(crate) enum Decision {
    /// A state mutation.
    State {
        transition: Transition,
        disable_notification: bool,
    },
    /// `dossierAjouterLabel` (`on`) or `dossierSupprimerLabel`.
    Label { label: LabelId, on: bool },
}

impl Decision {
    /// Makes the mutation, without reading the dossier first.
    pub(crate) async fn apply(
        self,
        dossier: &Dossier,
        instructeur: &InstructeurId,
        client: &DsClient,
    ) -> Result<Done, CommandError> {
        let outcome = match self {
            Decision::State {
                transition,
                disable_notification,
            } => {
                let change = StateChange {
                    dossier: dossier.id.clone(),
                    instructeur: instructeur.clone(),
                    transition,
                    disable_notification,
                };
                client.change_state(&change).await?
            }
            Decision::Label { label, on: true } => client.add_label(&dossier.id, &label).await?,
            Decision::Label { label, on: false } => {
                client.remove_label(&dossier.id, &label).await?
            }
        };
        Ok(match outcome {
            MutationOutcome::Applied { state } => Done::applied(Some(state), None),
            MutationOutcome::AlreadyApplied { state, message } => {
                tracing::info!(api_message = %message, "already applied");
                Done::already_applied(state, None)
            }
        })
    }
}
