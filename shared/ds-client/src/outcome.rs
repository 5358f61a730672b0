//! What the writes return, decoded from the GraphQL `data` member: mutation
//! payloads (result or `errors`), messages and a dossier's global id.

use crate::ids::{DossierGlobalId, MessageId};
use crate::payload_errors::{Goal, Meaning, meaning};
use crate::values::DossierState;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use upstream_http::{PermanentReason, UpstreamError};

/// The code of a refusal for a read-only token: the API's payload errors carry no
/// code, so the client names this one to keep it apart from other refusals.
const READ_ONLY_TOKEN: &str = "read_only_token";

/// What a state or label mutation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MutationOutcome {
    /// The change was made.
    Applied {
        /// The dossier's state as the payload returns it.
        state: DossierState,
    },
    /// Nothing was changed because the API says the dossier already is as
    /// asked: the same change made earlier (a retry after a lost answer) or
    /// by someone else.
    AlreadyApplied {
        /// The state the dossier is in, for a state change; none for a label.
        state: Option<DossierState>,
        /// The API's message, for the logs.
        message: String,
    },
}

/// A message the API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message's global id.
    pub id: MessageId,
    /// When the server recorded it.
    pub created_at: DateTime<Utc>,
    /// Its text as the server stored it.
    pub body: String,
}

/// A message of a dossier, as `dossier { messages }` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierMessage {
    /// The message's global id.
    pub id: MessageId,
    /// Its text.
    pub body: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// Email of its author.
    pub email: String,
}

/// `data` of every mutation document: the field is aliased `payload`, its
/// result `result`.
#[derive(Deserialize)]
struct MutationData<T> {
    payload: Option<Payload<T>>,
}

#[derive(Deserialize)]
struct Payload<T> {
    result: Option<T>,
    #[serde(default)]
    errors: Option<Vec<ValidationError>>,
}

#[derive(Deserialize)]
struct ValidationError {
    message: String,
}

#[derive(Deserialize)]
pub(crate) struct DossierResult {
    state: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageResult {
    id: String,
    body: String,
    created_at: DateTime<Utc>,
}

/// A mutation payload: its result, or the messages of its `errors`.
enum Answer<T> {
    Done(T),
    Refused(Vec<String>),
}

fn decode_payload<T: DeserializeOwned>(data: Value) -> Result<Answer<T>, UpstreamError> {
    let payload = MutationData::<T>::deserialize(data)
        .map_err(|error| invalid(format!("mutation data has an unexpected shape: {error}")))?
        .payload
        .ok_or_else(|| invalid("the mutation payload is null".to_owned()))?;
    let errors: Vec<String> = payload
        .errors
        .unwrap_or_default()
        .into_iter()
        .map(|error| error.message)
        .collect();
    match (payload.result, errors.is_empty()) {
        (_, false) => Ok(Answer::Refused(errors)),
        (Some(result), true) => Ok(Answer::Done(result)),
        (None, true) => Err(invalid(
            "the mutation payload has neither a result nor errors".to_owned(),
        )),
    }
}

/// A state or label mutation's `data`, read against what the caller wanted.
pub(crate) fn decode_mutation_outcome(
    data: Value,
    goal: Goal,
) -> Result<MutationOutcome, UpstreamError> {
    match decode_payload::<DossierResult>(data)? {
        Answer::Done(dossier) => {
            let state = dossier.state.parse().map_err(|_| {
                invalid(format!(
                    "the payload names an unknown state {:?}",
                    dossier.state
                ))
            })?;
            Ok(MutationOutcome::Applied { state })
        }
        Answer::Refused(errors) => {
            let message = refusal(goal, errors)?;
            let state = match goal {
                Goal::State(state) => Some(state),
                Goal::LabelOn | Goal::LabelOff | Goal::NewMessage => None,
            };
            Ok(MutationOutcome::AlreadyApplied { state, message })
        }
    }
}

/// `dossierEnvoyerMessage`'s `data`.
pub(crate) fn decode_sent_message(data: Value) -> Result<SentMessage, UpstreamError> {
    match decode_payload::<MessageResult>(data)? {
        Answer::Done(message) => Ok(SentMessage {
            id: MessageId::new(message.id),
            created_at: message.created_at,
            body: message.body,
        }),
        Answer::Refused(errors) => Err(refusal(Goal::NewMessage, errors).map_or_else(
            |error| error,
            |message| UpstreamError::permanent(PermanentReason::ChangeRefused, message),
        )),
    }
}

/// Payload errors that all say "already done" give their joined messages;
/// otherwise a read-only token (forbidden, with the code `read_only_token`), or else
/// any refusal (a refused change), is a permanent error. These are told apart from
/// top-level GraphQL errors by their reason.
fn refusal(goal: Goal, errors: Vec<String>) -> Result<String, UpstreamError> {
    let meanings: Vec<Meaning> = errors.iter().map(|error| meaning(goal, error)).collect();
    let message = errors.join("; ");
    if meanings.contains(&Meaning::ReadOnlyToken) {
        return Err(UpstreamError::permanent_with_code(
            PermanentReason::Forbidden,
            READ_ONLY_TOKEN,
            message,
        ));
    }
    if meanings
        .iter()
        .all(|meaning| *meaning == Meaning::AlreadyApplied)
    {
        return Ok(message);
    }
    Err(UpstreamError::permanent(
        PermanentReason::ChangeRefused,
        message,
    ))
}

#[derive(Deserialize)]
struct DossierData<T> {
    dossier: T,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct MessagesOnly {
    messages: Vec<MessageNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageNode {
    id: String,
    body: String,
    created_at: DateTime<Utc>,
    email: String,
}

/// `DossierId`'s `data`.
pub(crate) fn decode_dossier_id(data: Value) -> Result<DossierGlobalId, UpstreamError> {
    let dossier = DossierData::<IdOnly>::deserialize(data)
        .map_err(|error| invalid(format!("dossier data has an unexpected shape: {error}")))?
        .dossier;
    Ok(DossierGlobalId::new(dossier.id))
}

/// `DossierMessages`'s `data`, in the server's order.
pub(crate) fn decode_messages(data: Value) -> Result<Vec<DossierMessage>, UpstreamError> {
    let dossier = DossierData::<MessagesOnly>::deserialize(data)
        .map_err(|error| invalid(format!("messages data has an unexpected shape: {error}")))?
        .dossier;
    Ok(dossier
        .messages
        .into_iter()
        .map(|message| DossierMessage {
            id: MessageId::new(message.id),
            body: message.body,
            created_at: message.created_at,
            email: message.email,
        })
        .collect())
}

fn invalid(message: String) -> UpstreamError {
    UpstreamError::invalid_response(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn applied(state: &str) -> Value {
        json!({"payload": {"result": {"id": "RG9zc2llci0x", "state": state}, "errors": null}})
    }

    fn refused(messages: &[&str]) -> Value {
        let errors: Vec<Value> = messages.iter().map(|m| json!({"message": m})).collect();
        json!({"payload": {"result": null, "errors": errors}})
    }

    fn reason_of(result: Result<MutationOutcome, UpstreamError>) -> Option<PermanentReason> {
        match result {
            Err(UpstreamError::Permanent { reason, .. }) => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn a_result_is_applied_with_the_payload_state() {
        assert_eq!(
            decode_mutation_outcome(applied("accepte"), Goal::State(DossierState::Accepte)),
            Ok(MutationOutcome::Applied {
                state: DossierState::Accepte
            })
        );
        assert_eq!(
            decode_mutation_outcome(applied("en_instruction"), Goal::LabelOn),
            Ok(MutationOutcome::Applied {
                state: DossierState::EnInstruction
            })
        );
    }

    #[test]
    fn already_there_is_applied_already_with_the_api_message() {
        assert_eq!(
            decode_mutation_outcome(
                refused(&["Le dossier est déjà refusé"]),
                Goal::State(DossierState::Refuse)
            ),
            Ok(MutationOutcome::AlreadyApplied {
                state: Some(DossierState::Refuse),
                message: "Le dossier est déjà refusé".into()
            })
        );
        assert_eq!(
            decode_mutation_outcome(
                refused(&["Ce label n'est pas associé au dossier"]),
                Goal::LabelOff
            ),
            Ok(MutationOutcome::AlreadyApplied {
                state: None,
                message: "Ce label n'est pas associé au dossier".into()
            })
        );
    }

    #[test]
    fn other_payload_errors_are_refusals_and_keep_every_message() {
        let result = decode_mutation_outcome(
            refused(&[
                "Le dossier est déjà accepté",
                "L’instructeur n’a pas les droits d’accès à ce dossier",
            ]),
            Goal::State(DossierState::Accepte),
        );
        assert_eq!(
            result,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::ChangeRefused,
                code: None,
                message: "Le dossier est déjà accepté; L’instructeur n’a pas les droits d’accès à ce dossier".into(),
            })
        );
        assert_eq!(
            reason_of(decode_mutation_outcome(
                refused(&["Le dossier est déjà accepté"]),
                Goal::State(DossierState::EnInstruction)
            )),
            Some(PermanentReason::ChangeRefused)
        );
    }

    #[test]
    fn a_read_only_token_is_forbidden_with_its_own_code() {
        let read_only = "Le jeton utilisé est configuré seulement en lecture";
        let forbidden = UpstreamError::Permanent {
            reason: PermanentReason::Forbidden,
            code: Some("read_only_token".into()),
            message: read_only.into(),
        };
        assert_eq!(
            decode_mutation_outcome(refused(&[read_only]), Goal::LabelOn),
            Err(forbidden.clone())
        );
        assert_eq!(
            decode_sent_message(refused(&[read_only])).map(|sent| sent.id),
            Err(forbidden)
        );
    }

    #[test]
    fn payload_errors_and_top_level_errors_have_different_reasons() {
        let answer = upstream_http::Answer {
            status: reqwest::StatusCode::OK,
            headers: reqwest::header::HeaderMap::new(),
            body: json!({"data": {"payload": null}, "errors": [{"message": "Dossier not found", "extensions": {"code": "not_found"}}]})
                .to_string()
                .into_bytes(),
        };
        let top_level = crate::classify::classify(&answer, Utc::now(), &[]);
        assert!(matches!(
            top_level,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::Refused,
                ..
            })
        ));
        let payload = decode_mutation_outcome(
            refused(&["Dossier introuvable"]),
            Goal::State(DossierState::Accepte),
        );
        assert_eq!(reason_of(payload), Some(PermanentReason::ChangeRefused));
    }

    #[test]
    fn malformed_payloads_are_invalid_responses() {
        for data in [
            json!({}),
            json!({"payload": null}),
            json!({"payload": {"result": null, "errors": null}}),
            json!({"payload": {"result": null, "errors": []}}),
            json!({"payload": {"result": {"id": "x", "state": "brouillon"}, "errors": null}}),
        ] {
            assert_eq!(
                reason_of(decode_mutation_outcome(
                    data.clone(),
                    Goal::State(DossierState::Accepte)
                )),
                Some(PermanentReason::InvalidResponse),
                "{data}"
            );
        }
    }

    #[test]
    fn a_sent_message_and_a_message_list_decode_in_utc() {
        let sent = decode_sent_message(json!({"payload": {
            "result": {"id": "Q29tbWVudGFpcmUtMQ==", "body": "Bonjour", "createdAt": "2026-03-01T10:00:00+01:00"},
            "errors": null,
        }}))
        .expect("a sent message");
        assert_eq!(sent.id, MessageId::new("Q29tbWVudGFpcmUtMQ=="));
        assert_eq!(sent.created_at.to_rfc3339(), "2026-03-01T09:00:00+00:00");
        assert_eq!(sent.body, "Bonjour");

        let messages = decode_messages(json!({"dossier": {"messages": [
            {"id": "Q29tbWVudGFpcmUtMQ==", "body": "Bonjour", "createdAt": "2026-03-01T10:00:00+01:00", "email": "a@example.org"}
        ]}}))
        .expect("messages");
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].email, "a@example.org");
        assert_eq!(
            decode_dossier_id(json!({"dossier": {"id": "RG9zc2llci0x"}})),
            Ok(DossierGlobalId::new("RG9zc2llci0x"))
        );
    }
}
