//! The calls of the send-status worker: look a dossier up, change its state,
//! message its user, put labels on and off.

use crate::client::DsClient;
use crate::documents::{self, Document};
use crate::ids::{DossierGlobalId, DossierNumber, LabelId};
use crate::mutation::{DossierNumberVariables, MessageRequest, StateChange, label_variables};
use crate::outcome::{
    DossierMessage, MutationOutcome, SentMessage, decode_dossier_id, decode_messages,
    decode_mutation_outcome, decode_sent_message,
};
use crate::payload_errors::Goal;
use serde::Serialize;
use serde_json::Value;
use upstream_http::UpstreamError;

impl DsClient {
    /// The global id of the dossier with this number, which the mutations take.
    pub async fn dossier_id(
        &self,
        number: DossierNumber,
    ) -> Result<DossierGlobalId, UpstreamError> {
        let variables = DossierNumberVariables {
            number: number.get(),
        };
        decode_dossier_id(self.call(documents::DOSSIER_ID, variables).await?)
    }

    /// Changes a dossier's state. A dossier already in the target state comes
    /// back as [`MutationOutcome::AlreadyApplied`], so a retried change is safe.
    pub async fn change_state(
        &self,
        request: &StateChange,
    ) -> Result<MutationOutcome, UpstreamError> {
        let goal = Goal::State(request.transition.target_state());
        let data = self
            .call(request.transition.document(), request.variables())
            .await?;
        decode_mutation_outcome(data, goal)
    }

    /// Sends a message to a dossier's user. The API cannot tell a repeat: read
    /// [`DsClient::messages`] first to recognise a message already sent.
    pub async fn send_message(
        &self,
        request: &MessageRequest,
    ) -> Result<SentMessage, UpstreamError> {
        decode_sent_message(
            self.call(documents::ENVOYER_MESSAGE, request.variables())
                .await?,
        )
    }

    /// The messages of the dossier with this number, in the server's order.
    pub async fn messages(
        &self,
        dossier: DossierNumber,
    ) -> Result<Vec<DossierMessage>, UpstreamError> {
        let variables = DossierNumberVariables {
            number: dossier.get(),
        };
        decode_messages(self.call(documents::DOSSIER_MESSAGES, variables).await?)
    }

    /// Puts a label on a dossier; a label already there is
    /// [`MutationOutcome::AlreadyApplied`].
    pub async fn add_label(
        &self,
        dossier: &DossierGlobalId,
        label: &LabelId,
    ) -> Result<MutationOutcome, UpstreamError> {
        let data = self
            .call(documents::AJOUTER_LABEL, label_variables(dossier, label))
            .await?;
        decode_mutation_outcome(data, Goal::LabelOn)
    }

    /// Takes a label off a dossier; a label already absent is
    /// [`MutationOutcome::AlreadyApplied`].
    pub async fn remove_label(
        &self,
        dossier: &DossierGlobalId,
        label: &LabelId,
    ) -> Result<MutationOutcome, UpstreamError> {
        let data = self
            .call(documents::SUPPRIMER_LABEL, label_variables(dossier, label))
            .await?;
        decode_mutation_outcome(data, Goal::LabelOff)
    }

    #[tracing::instrument(
        name = "ds_client.call",
        skip_all,
        fields(operation = document.operation_name)
    )]
    async fn call(
        &self,
        document: Document,
        variables: impl Serialize,
    ) -> Result<Value, UpstreamError> {
        let data = self.post(document, variables).await?;
        serde_json::from_str(data.get()).map_err(|error| {
            UpstreamError::invalid_response(format!("the answer's data is unreadable: {error}"))
        })
    }
}
