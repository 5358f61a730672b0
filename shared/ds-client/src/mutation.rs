//! The writes callers ask for, the documents they run and the variables they send.

use crate::documents::{self, Document};
use crate::ids::{DossierGlobalId, InstructeurId, LabelId};
use crate::values::DossierState;
use serde::Serialize;

/// A change of a dossier's state, made in the name of an instructeur.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The dossier to change.
    pub dossier: DossierGlobalId,
    /// The instructeur recorded as the author; they must be able to see the dossier.
    pub instructeur: InstructeurId,
    /// Which change.
    pub transition: Transition,
    /// Whether to keep the server from emailing the dossier's user.
    pub disable_notification: bool,
}

/// A state mutation of the API, with what each one takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `dossierPasserEnInstruction`: en_construction → en_instruction.
    PasserEnInstruction,
    /// `dossierAccepter`: en_instruction → accepte.
    Accepter {
        /// The decision's motivation, shown to the user.
        motivation: Option<String>,
        /// A signed blob id from `createDirectUpload`, attached to the decision.
        justificatif: Option<String>,
    },
    /// `dossierRefuser`: en_instruction → refuse; the API requires a motivation.
    Refuser {
        /// The decision's motivation, shown to the user.
        motivation: String,
    },
    /// `dossierClasserSansSuite`: en_instruction → sans_suite; the API requires a motivation.
    ClasserSansSuite {
        /// The decision's motivation, shown to the user.
        motivation: String,
    },
    /// `dossierRepasserEnInstruction`: accepte, refuse or sans_suite → en_instruction.
    RepasserEnInstruction,
    /// `dossierRepasserEnConstruction`: en_instruction → en_construction.
    RepasserEnConstruction,
}

impl Transition {
    /// The state the dossier is in once the change is made.
    pub fn target_state(&self) -> DossierState {
        match self {
            Transition::PasserEnInstruction | Transition::RepasserEnInstruction => {
                DossierState::EnInstruction
            }
            Transition::Accepter { .. } => DossierState::Accepte,
            Transition::Refuser { .. } => DossierState::Refuse,
            Transition::ClasserSansSuite { .. } => DossierState::SansSuite,
            Transition::RepasserEnConstruction => DossierState::EnConstruction,
        }
    }

    pub(crate) fn document(&self) -> Document {
        match self {
            Transition::PasserEnInstruction => documents::PASSER_EN_INSTRUCTION,
            Transition::Accepter { .. } => documents::ACCEPTER,
            Transition::Refuser { .. } => documents::REFUSER,
            Transition::ClasserSansSuite { .. } => documents::CLASSER_SANS_SUITE,
            Transition::RepasserEnInstruction => documents::REPASSER_EN_INSTRUCTION,
            Transition::RepasserEnConstruction => documents::REPASSER_EN_CONSTRUCTION,
        }
    }

    fn motivation(&self) -> Option<&str> {
        match self {
            Transition::Accepter { motivation, .. } => motivation.as_deref(),
            Transition::Refuser { motivation } | Transition::ClasserSansSuite { motivation } => {
                Some(motivation)
            }
            _ => None,
        }
    }

    fn justificatif(&self) -> Option<&str> {
        match self {
            Transition::Accepter { justificatif, .. } => justificatif.as_deref(),
            _ => None,
        }
    }
}

/// A message to a dossier's user, sent in the name of an instructeur.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRequest {
    /// The dossier whose user receives the message.
    pub dossier: DossierGlobalId,
    /// The instructeur recorded as the author; they must be able to see the dossier.
    pub instructeur: InstructeurId,
    /// The text of the message.
    pub body: String,
    /// A signed blob id from `createDirectUpload`, attached to the message.
    pub attachment: Option<String>,
    /// Makes the message a correction request: the dossier goes back to construction.
    pub correction: Option<CorrectionReason>,
}

/// Why a message asks the user to correct the dossier (`CorrectionReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrectionReason {
    /// `incomplete`: the dossier lacks something.
    Incomplete,
    /// `incorrect`: the dossier is not valid.
    Incorrect,
    /// `outdated`: the dossier must be updated and submitted again.
    Outdated,
}

impl CorrectionReason {
    /// Every reason.
    pub const ALL: [CorrectionReason; 3] = [
        CorrectionReason::Incomplete,
        CorrectionReason::Incorrect,
        CorrectionReason::Outdated,
    ];

    /// The API's spelling of the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionReason::Incomplete => "incomplete",
            CorrectionReason::Incorrect => "incorrect",
            CorrectionReason::Outdated => "outdated",
        }
    }
}

/// `{"input": …}`, the one argument of every mutation.
#[derive(Serialize)]
pub(crate) struct MutationVariables<T> {
    input: T,
}

/// Unset optional fields are left out, so the server applies its defaults.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StateChangeInput<'a> {
    dossier_id: &'a str,
    instructeur_id: &'a str,
    disable_notification: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    motivation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    justificatif: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageInput<'a> {
    dossier_id: &'a str,
    instructeur_id: &'a str,
    body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correction: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LabelInput<'a> {
    dossier_id: &'a str,
    label_id: &'a str,
}

/// The variables of a lookup by dossier number.
#[derive(Serialize)]
pub(crate) struct DossierNumberVariables {
    pub(crate) number: u32,
}

impl StateChange {
    pub(crate) fn variables(&self) -> MutationVariables<impl Serialize + '_> {
        MutationVariables {
            input: StateChangeInput {
                dossier_id: self.dossier.as_str(),
                instructeur_id: self.instructeur.as_str(),
                disable_notification: self.disable_notification,
                motivation: self.transition.motivation(),
                justificatif: self.transition.justificatif(),
            },
        }
    }
}

impl MessageRequest {
    pub(crate) fn variables(&self) -> MutationVariables<impl Serialize + '_> {
        MutationVariables {
            input: MessageInput {
                dossier_id: self.dossier.as_str(),
                instructeur_id: self.instructeur.as_str(),
                body: &self.body,
                attachment: self.attachment.as_deref(),
                correction: self.correction.map(CorrectionReason::as_str),
            },
        }
    }
}

/// The variables of `dossierAjouterLabel` and `dossierSupprimerLabel`.
pub(crate) fn label_variables<'a>(
    dossier: &'a DossierGlobalId,
    label: &'a LabelId,
) -> MutationVariables<impl Serialize + 'a> {
    MutationVariables {
        input: LabelInput {
            dossier_id: dossier.as_str(),
            label_id: label.as_str(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::ExecutableDocument;
    use apollo_compiler::response::JsonMap;
    use serde_json::json;

    fn change(transition: Transition) -> StateChange {
        StateChange {
            dossier: DossierGlobalId::new("RG9zc2llci0xMjAwMDE="),
            instructeur: InstructeurId::new("SW5zdHJ1Y3RldXItNzAwMQ=="),
            transition,
            disable_notification: false,
        }
    }

    fn every_transition() -> Vec<Transition> {
        vec![
            Transition::PasserEnInstruction,
            Transition::Accepter {
                motivation: None,
                justificatif: None,
            },
            Transition::Accepter {
                motivation: Some("Complet".into()),
                justificatif: Some("blob".into()),
            },
            Transition::Refuser {
                motivation: "Hors champ".into(),
            },
            Transition::ClasserSansSuite {
                motivation: "Sans réponse".into(),
            },
            Transition::RepasserEnInstruction,
            Transition::RepasserEnConstruction,
        ]
    }

    /// The variables must be accepted by the real schema for the document, as
    /// the server coerces them: names, types, required fields and enum values.
    fn assert_accepted(document: Document, variables: &serde_json::Value) {
        let schema = crate::reference_schema::load();
        let executable = ExecutableDocument::parse_and_validate(
            &schema,
            document.source,
            document.operation_name,
        )
        .expect("the document is valid");
        let operation = executable
            .operations
            .get(Some(document.operation_name))
            .expect("the named operation exists");
        let values: JsonMap = serde_json::from_value(variables.clone()).expect("an object");
        if let Err(error) =
            apollo_compiler::request::coerce_variable_values(&schema, operation, &values)
        {
            panic!("{} refuses {variables}: {error:?}", document.operation_name);
        }
    }

    #[test]
    fn every_transition_sends_variables_its_document_accepts() {
        for transition in every_transition() {
            let request = change(transition);
            let variables = serde_json::to_value(request.variables()).expect("serialises");
            assert_accepted(request.transition.document(), &variables);
        }
    }

    #[test]
    #[should_panic(expected = "Refuser refuses")]
    fn the_schema_check_catches_a_missing_required_field() {
        let variables = json!({"input": {"dossierId": "a", "instructeurId": "b"}});
        assert_accepted(documents::REFUSER, &variables);
    }

    #[test]
    fn a_state_change_sends_only_what_is_set() {
        let variables = serde_json::to_value(change(Transition::PasserEnInstruction).variables())
            .expect("serialises");
        assert_eq!(
            variables,
            json!({"input": {
                "dossierId": "RG9zc2llci0xMjAwMDE=",
                "instructeurId": "SW5zdHJ1Y3RldXItNzAwMQ==",
                "disableNotification": false,
            }})
        );
        let refuser = change(Transition::Refuser {
            motivation: "Hors champ".into(),
        });
        let variables = serde_json::to_value(refuser.variables()).expect("serialises");
        assert_eq!(variables["input"]["motivation"], "Hors champ");
        assert!(variables["input"].get("justificatif").is_none());
    }

    #[test]
    fn each_transition_names_its_target_state() {
        let targets: Vec<DossierState> = every_transition()
            .iter()
            .map(Transition::target_state)
            .collect();
        use DossierState::*;
        assert_eq!(
            targets,
            [
                EnInstruction,
                Accepte,
                Accepte,
                Refuse,
                SansSuite,
                EnInstruction,
                EnConstruction
            ]
        );
    }

    #[test]
    fn messages_and_labels_send_variables_their_documents_accept() {
        for correction in [None, Some(CorrectionReason::Incomplete)] {
            let request = MessageRequest {
                dossier: DossierGlobalId::new("RG9zc2llci0xMjAwMDE="),
                instructeur: InstructeurId::new("SW5zdHJ1Y3RldXItNzAwMQ=="),
                body: "Bonjour".into(),
                attachment: correction.map(|_| "blob".to_owned()),
                correction,
            };
            let variables = serde_json::to_value(request.variables()).expect("serialises");
            assert_accepted(documents::ENVOYER_MESSAGE, &variables);
        }
        let dossier = DossierGlobalId::new("RG9zc2llci0xMjAwMDE=");
        let label = LabelId::new("TGFiZWwtNTA2");
        let variables =
            serde_json::to_value(label_variables(&dossier, &label)).expect("serialises");
        assert_eq!(
            variables,
            json!({"input": {"dossierId": "RG9zc2llci0xMjAwMDE=", "labelId": "TGFiZWwtNTA2"}})
        );
        assert_accepted(documents::AJOUTER_LABEL, &variables);
        assert_accepted(documents::SUPPRIMER_LABEL, &variables);
        let lookup =
            serde_json::to_value(DossierNumberVariables { number: 120_001 }).expect("serialises");
        assert_accepted(documents::DOSSIER_ID, &lookup);
        assert_accepted(documents::DOSSIER_MESSAGES, &lookup);
    }

    #[test]
    fn correction_reasons_match_the_schema_enum() {
        let schema = crate::reference_schema::load();
        let values: Vec<&str> = schema
            .get_enum("CorrectionReason")
            .expect("the schema defines CorrectionReason")
            .values
            .keys()
            .map(|name| name.as_str())
            .collect();
        let ours: Vec<&str> = CorrectionReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(values, ours);
    }
}
