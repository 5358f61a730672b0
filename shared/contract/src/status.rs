//! demarches-simplifiees dossier decisions: the command that applies one, and the
//! event that reports the dossier's state afterwards.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::DsDossierState;

/// Body of `ds.status`: apply one decision to one dossier, as one instructeur.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DsStatus {
    /// The dossier, by number or by global id.
    pub dossier: DossierRef,
    /// The global id of the instructeur recorded as acting.
    pub instructeur: String,
    /// What to do.
    pub action: StatusAction,
}

/// A dossier named by its number (a JSON number) or its global id (a JSON string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum DossierRef {
    /// The dossier number, as users see it.
    Number(NonZeroU32),
    /// The GraphQL global id, as mutations take it.
    Id(String),
}

/// A decision about a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StatusAction {
    /// `dossierPasserEnInstruction`: en construction → en instruction.
    PassToInstruction {
        /// Do not e-mail the applicant.
        #[serde(default)]
        disable_notification: bool,
    },
    /// `dossierAccepter`: en instruction → accepté.
    Accept {
        /// Why, shown to the applicant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        motivation: Option<String>,
        /// A signed blob id from `createDirectUpload`, attached as the decision.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        justificatif: Option<String>,
        /// Do not e-mail the applicant.
        #[serde(default)]
        disable_notification: bool,
    },
    /// `dossierRefuser`: en instruction → refusé; a motivation is required.
    Refuse {
        /// Why, shown to the applicant.
        motivation: String,
        /// A signed blob id from `createDirectUpload`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        justificatif: Option<String>,
        /// Do not e-mail the applicant.
        #[serde(default)]
        disable_notification: bool,
    },
    /// `dossierClasserSansSuite`: en instruction → classé sans suite; a motivation is
    /// required.
    ClassifyWithoutFollowUp {
        /// Why, shown to the applicant.
        motivation: String,
        /// A signed blob id from `createDirectUpload`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        justificatif: Option<String>,
        /// Do not e-mail the applicant.
        #[serde(default)]
        disable_notification: bool,
    },
    /// `dossierRepasserEnInstruction`: accepté, refusé or sans suite → en instruction.
    BackToInstruction {
        /// Do not e-mail the applicant.
        #[serde(default)]
        disable_notification: bool,
    },
    /// `dossierRepasserEnConstruction`: en instruction → en construction.
    BackToConstruction {
        /// Do not e-mail the applicant.
        #[serde(default)]
        disable_notification: bool,
    },
    /// `dossierEnvoyerMessage`: a message to the applicant.
    SendMessage {
        /// The message text.
        body: String,
        /// A signed blob id from `createDirectUpload`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<String>,
        /// Ask the applicant to correct the dossier, which goes back to construction.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        correction: Option<CorrectionReason>,
    },
    /// `dossierAjouterLabel`.
    AddLabel {
        /// The label's global id.
        label: String,
    },
    /// `dossierSupprimerLabel`.
    RemoveLabel {
        /// The label's global id.
        label: String,
    },
}

/// Why a message asks for a correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionReason {
    /// The dossier is incomplete.
    Incomplete,
    /// The dossier holds incorrect information.
    Incorrect,
    /// The dossier holds outdated information.
    Outdated,
}

impl StatusAction {
    /// The action's `type` on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            StatusAction::PassToInstruction { .. } => "pass_to_instruction",
            StatusAction::Accept { .. } => "accept",
            StatusAction::Refuse { .. } => "refuse",
            StatusAction::ClassifyWithoutFollowUp { .. } => "classify_without_follow_up",
            StatusAction::BackToInstruction { .. } => "back_to_instruction",
            StatusAction::BackToConstruction { .. } => "back_to_construction",
            StatusAction::SendMessage { .. } => "send_message",
            StatusAction::AddLabel { .. } => "add_label",
            StatusAction::RemoveLabel { .. } => "remove_label",
        }
    }
}

impl DsStatus {
    /// Why the command cannot be sent as given: required texts that are blank.
    pub(crate) fn check(&self) -> Result<(), String> {
        let blank = |text: &str| text.trim().is_empty();
        if let DossierRef::Id(id) = &self.dossier
            && blank(id)
        {
            return Err("invalid body: the dossier id is empty".into());
        }
        if blank(&self.instructeur) {
            return Err("invalid body: the instructeur id is empty".into());
        }
        let missing = match &self.action {
            StatusAction::Refuse { motivation, .. }
            | StatusAction::ClassifyWithoutFollowUp { motivation, .. }
                if blank(motivation) =>
            {
                Some("a motivation is required")
            }
            StatusAction::SendMessage { body, .. } if blank(body) => {
                Some("the message body is empty")
            }
            StatusAction::AddLabel { label } | StatusAction::RemoveLabel { label }
                if blank(label) =>
            {
                Some("the label id is empty")
            }
            _ => None,
        };
        match missing {
            Some(problem) => Err(format!("invalid body: {}: {problem}", self.action.name())),
            None => Ok(()),
        }
    }
}

/// Payload of `status.sent`: the decision was applied, or found already applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusSent {
    /// The connection used.
    pub connection: String,
    /// The dossier, as the command named it.
    pub dossier: DossierRef,
    /// The action's `type`.
    pub action: String,
    /// The API answered that the dossier already was as asked (the state, the label),
    /// or the message was found already sent: nothing changed this time.
    pub already_applied: bool,
    /// The dossier's state as the API returned it, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DsDossierState>,
    /// The id of the message sent, for `send_message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(action: serde_json::Value) -> Result<(), String> {
        let status: DsStatus = serde_json::from_value(serde_json::json!({
            "dossier": 1234, "instructeur": "SW5zdHJ1Y3RldXItMQ==", "action": action
        }))
        .map_err(|error| error.to_string())?;
        status.check()
    }

    #[test]
    fn a_refusal_needs_a_motivation() {
        assert!(command(serde_json::json!({"type": "refuse"})).is_err());
        let blank = command(serde_json::json!({"type": "refuse", "motivation": "  "}));
        assert_eq!(
            blank,
            Err("invalid body: refuse: a motivation is required".into())
        );
        assert_eq!(
            command(serde_json::json!({"type": "refuse", "motivation": "incomplet"})),
            Ok(())
        );
    }

    #[test]
    fn an_acceptance_may_come_without_motivation() {
        assert_eq!(command(serde_json::json!({"type": "accept"})), Ok(()));
    }

    #[test]
    fn dossiers_are_named_by_number_or_id() {
        let by_number: DossierRef = serde_json::from_value(serde_json::json!(42)).expect("n");
        let by_id: DossierRef =
            serde_json::from_value(serde_json::json!("RG9zc2llci00Mg==")).expect("id");
        assert_eq!(
            by_number,
            DossierRef::Number(NonZeroU32::new(42).expect("42"))
        );
        assert_eq!(by_id, DossierRef::Id("RG9zc2llci00Mg==".into()));
    }
}
