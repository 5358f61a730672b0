//! The `Mutation` root: the dossier state changes, messages and labels, with
//! the server's checks in the server's order and its payload errors. Each
//! field locks the dataset for its own change and answers with a copy of
//! what it changed.

use chrono::Utc;

use super::dataset::{
    CorrectionReason, Dataset, Demarche, Dossier, Label, Message, decode_global_id,
};
use super::executor::{FieldCall, FieldError, Resolve, Resolved};
use super::lifecycle::{Transition, ask_correction};
use super::resolvers::{DossierObject, LabelObject, MessageObject, unknown_field};
use super::store::LiveDataset;
use crate::auth::DemarcheScope;
use apollo_compiler::response::{JsonMap, JsonValue};

/// The payload error of every mutation run with a read-only token.
pub(crate) const READ_ONLY_TOKEN: &str = "Le jeton utilisé est configuré seulement en lecture";
/// The payload error when the instructeur cannot act on the dossier.
pub(crate) const NO_ACCESS: &str = "L’instructeur n’a pas les droits d’accès à ce dossier";
/// `dossierAjouterLabel` with a label the dossier already has.
pub(crate) const LABEL_ALREADY_ON_DOSSIER: &str = "Ce label est déjà associé au dossier";
/// `dossierAjouterLabel` with a label of another démarche.
pub(crate) const LABEL_OF_ANOTHER_DEMARCHE: &str =
    "Ce label n’appartient pas à la même démarche que le dossier";
/// `dossierSupprimerLabel` with a label the dossier does not have.
pub(crate) const LABEL_NOT_ON_DOSSIER: &str = "Ce label n’est pas associé au dossier";

/// The mutations the sandbox serves, by field name, with their payload type.
const SERVED: [(&str, &str); 9] = [
    (
        "dossierPasserEnInstruction",
        "DossierPasserEnInstructionPayload",
    ),
    ("dossierAccepter", "DossierAccepterPayload"),
    ("dossierRefuser", "DossierRefuserPayload"),
    ("dossierClasserSansSuite", "DossierClasserSansSuitePayload"),
    (
        "dossierRepasserEnInstruction",
        "DossierRepasserEnInstructionPayload",
    ),
    (
        "dossierRepasserEnConstruction",
        "DossierRepasserEnConstructionPayload",
    ),
    ("dossierEnvoyerMessage", "DossierEnvoyerMessagePayload"),
    ("dossierAjouterLabel", "DossierAjouterLabelPayload"),
    ("dossierSupprimerLabel", "DossierSupprimerLabelPayload"),
];

/// The `Mutation` root, seen through the caller's token.
pub(crate) struct MutationRoot<'a> {
    pub(crate) dataset: &'a LiveDataset,
    pub(crate) scope: &'a DemarcheScope,
    pub(crate) write_access: bool,
}

impl Resolve for MutationRoot<'_> {
    fn type_name(&self) -> &'static str {
        "Mutation"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let payload_type = SERVED
            .iter()
            .find(|(field, _)| *field == call.name)
            .map(|(_, payload)| *payload)
            .ok_or_else(|| unknown_field(call.name, self.type_name()))?;
        let input = Input::of(call)?;
        let mut payload = Payload::new(payload_type, input.string("clientMutationId"));
        if !self.write_access {
            payload.errors.push(READ_ONLY_TOKEN.to_owned());
            return Ok(Resolved::object(payload));
        }
        let mut dataset = self.dataset.write();
        let change = Change {
            dataset: &mut dataset,
            scope: self.scope,
            input: &input,
            payload: &mut payload,
        };
        match call.name {
            "dossierEnvoyerMessage" => change.send_message()?,
            "dossierAjouterLabel" => change.add_label()?,
            "dossierSupprimerLabel" => change.remove_label()?,
            state_change => {
                let transition = transition(state_change, &input)
                    .ok_or_else(|| unknown_field(call.name, "Mutation"))?;
                change.change_state(transition)?;
            }
        }
        Ok(Resolved::object(payload))
    }
}

/// The transition a state mutation asks for, with its motivation. The schema
/// makes the motivation of a refusal or a classement sans suite non-null.
fn transition(field: &str, input: &Input<'_>) -> Option<Transition> {
    let motivation = || input.string("motivation").map(str::to_owned);
    Some(match field {
        "dossierPasserEnInstruction" => Transition::PasserEnInstruction,
        "dossierAccepter" => Transition::Accepter {
            motivation: motivation(),
        },
        "dossierRefuser" => Transition::Refuser {
            motivation: motivation().unwrap_or_default(),
        },
        "dossierClasserSansSuite" => Transition::ClasserSansSuite {
            motivation: motivation().unwrap_or_default(),
        },
        "dossierRepasserEnInstruction" => Transition::RepasserEnInstruction,
        "dossierRepasserEnConstruction" => Transition::RepasserEnConstruction,
        _ => return None,
    })
}

/// The `input` argument of a mutation field.
struct Input<'c> {
    fields: &'c JsonMap,
}

impl<'c> Input<'c> {
    fn of(call: &'c FieldCall<'_>) -> Result<Self, FieldError> {
        call.argument("input")
            .and_then(JsonValue::as_object)
            .map(|fields| Self { fields })
            .ok_or_else(|| FieldError::new("the input argument is missing", "bad_request"))
    }

    fn string(&self, name: &str) -> Option<&'c str> {
        self.fields.get(name).and_then(JsonValue::as_str)
    }
}

/// One mutation field at work on the locked dataset.
struct Change<'c> {
    dataset: &'c mut Dataset,
    scope: &'c DemarcheScope,
    input: &'c Input<'c>,
    payload: &'c mut Payload,
}

impl Change<'_> {
    fn change_state(self, transition: Transition) -> Result<(), FieldError> {
        let (demarche, dossier) = self.dossier()?;
        if let Some(refusal) = transition.refusal(dossier.state) {
            self.payload.errors.push(refusal);
            return Ok(());
        }
        if self.instructeur_email(demarche).is_none() {
            self.payload.errors.push(NO_ACCESS.to_owned());
            return Ok(());
        }
        let number = dossier.number;
        if let Some(dossier) = self.dataset.dossier_mut(number) {
            transition.apply(dossier, Utc::now());
        }
        self.payload.dossier = copy_of(self.dataset, number);
        Ok(())
    }

    fn send_message(self) -> Result<(), FieldError> {
        let (demarche, dossier) = self.dossier()?;
        let Some(email) = self.instructeur_email(demarche) else {
            self.payload.errors.push(NO_ACCESS.to_owned());
            return Ok(());
        };
        let number = dossier.number;
        let correction = self
            .input
            .string("correction")
            .and_then(CorrectionReason::from_graphql_name);
        let now = Utc::now();
        let message = Message {
            number: self.dataset.allocate_message_number(),
            body: self.input.string("body").unwrap_or_default().to_owned(),
            created_at: now,
            email,
            attachment: self.input.string("attachment").map(str::to_owned),
            correction,
        };
        if let Some(dossier) = self.dataset.dossier_mut(number) {
            dossier.messages.push(message.clone());
            if let Some(reason) = correction {
                ask_correction(dossier, reason, now);
            }
        }
        self.payload.message = Some(message);
        Ok(())
    }

    fn add_label(self) -> Result<(), FieldError> {
        let (demarche, dossier) = self.dossier()?;
        let (label_demarche, label) = self.label()?;
        if dossier.labels.contains(&label.number) {
            self.payload
                .errors
                .push(LABEL_ALREADY_ON_DOSSIER.to_owned());
            return Ok(());
        }
        if label_demarche != demarche.number {
            self.payload
                .errors
                .push(LABEL_OF_ANOTHER_DEMARCHE.to_owned());
            return Ok(());
        }
        let number = dossier.number;
        if let Some(dossier) = self.dataset.dossier_mut(number) {
            dossier.labels.push(label.number);
        }
        self.payload.dossier = copy_of(self.dataset, number);
        self.payload.label = Some(label);
        Ok(())
    }

    fn remove_label(self) -> Result<(), FieldError> {
        let (_, dossier) = self.dossier()?;
        let (_, label) = self.label()?;
        if !dossier.labels.contains(&label.number) {
            self.payload.errors.push(LABEL_NOT_ON_DOSSIER.to_owned());
            return Ok(());
        }
        let number = dossier.number;
        if let Some(dossier) = self.dataset.dossier_mut(number) {
            dossier.labels.retain(|&on| on != label.number);
        }
        self.payload.dossier = copy_of(self.dataset, number);
        self.payload.label = Some(label);
        Ok(())
    }

    /// The dossier named by `dossierId`, as the server loads it: an unknown
    /// id is a top-level `not_found`, a dossier out of the token's démarches
    /// is hidden.
    fn dossier(&self) -> Result<(&Demarche, &Dossier), FieldError> {
        let found = self
            .input
            .string("dossierId")
            .and_then(|id| decode_global_id(id, "Dossier"))
            .and_then(|number| self.dataset.dossier(number))
            .ok_or_else(|| not_found("Dossier"))?;
        if self.scope.allows(found.0.number) {
            Ok(found)
        } else {
            Err(FieldError::new(
                "An object of type Dossier was hidden due to permissions",
                "unauthorized",
            ))
        }
    }

    /// The label named by `labelId` with the number of its démarche.
    fn label(&self) -> Result<(i64, Label), FieldError> {
        self.input
            .string("labelId")
            .and_then(|id| decode_global_id(id, "Label"))
            .and_then(|number| self.dataset.label(number))
            .map(|(demarche, label)| (demarche.number, label.clone()))
            .ok_or_else(|| not_found("Label"))
    }

    /// The email of the instructeur named by `instructeurId`, when they
    /// instruct the dossier's démarche.
    fn instructeur_email(&self, demarche: &Demarche) -> Option<String> {
        self.input
            .string("instructeurId")
            .and_then(|id| decode_global_id(id, "Instructeur"))
            .and_then(|number| demarche.instructeur(number))
            .map(|instructeur| instructeur.email.clone())
    }
}

fn not_found(type_name: &str) -> FieldError {
    FieldError::new(format!("{type_name} not found"), "not_found")
}

/// The dossier as it is now, detached from the locked dataset.
fn copy_of(dataset: &Dataset, number: i64) -> Option<(Demarche, Dossier)> {
    dataset
        .dossier(number)
        .map(|(demarche, dossier)| (demarche.detached(), dossier.clone()))
}

/// A mutation payload: the changed objects on success, the errors otherwise.
struct Payload {
    type_name: &'static str,
    client_mutation_id: Option<String>,
    dossier: Option<(Demarche, Dossier)>,
    label: Option<Label>,
    message: Option<Message>,
    errors: Vec<String>,
}

impl Payload {
    fn new(type_name: &'static str, client_mutation_id: Option<&str>) -> Self {
        Self {
            type_name,
            client_mutation_id: client_mutation_id.map(str::to_owned),
            dossier: None,
            label: None,
            message: None,
            errors: Vec::new(),
        }
    }
}

impl Resolve for Payload {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        Ok(match call.name {
            "clientMutationId" => Resolved::leaf(self.client_mutation_id.as_deref()),
            "dossier" => match &self.dossier {
                Some((demarche, dossier)) => {
                    Resolved::object(DossierObject::new(demarche, dossier))
                }
                None => Resolved::null(),
            },
            "label" => self
                .label
                .as_ref()
                .map_or_else(Resolved::null, |label| Resolved::object(LabelObject(label))),
            "message" => self
                .message
                .as_ref()
                .map_or_else(Resolved::null, |message| {
                    Resolved::object(MessageObject(message))
                }),
            "errors" if self.errors.is_empty() => Resolved::null(),
            "errors" => Resolved::list(
                self.errors
                    .iter()
                    .map(|message| Resolved::object(ValidationErrorObject(message))),
            ),
            other => return Err(unknown_field(other, self.type_name)),
        })
    }
}

struct ValidationErrorObject<'p>(&'p str);

impl Resolve for ValidationErrorObject<'_> {
    fn type_name(&self) -> &'static str {
        "ValidationError"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        match call.name {
            "message" => Ok(Resolved::leaf(self.0)),
            other => Err(unknown_field(other, self.type_name())),
        }
    }
}
