//! What a command asks for, checked before any call: a decision (a state or a
//! label change) or a message.

use contract::{FailureReason, StatusAction};
use ds_client::{LabelId, Transition};
use settle::CommandError;

use crate::decision::Decision;
use crate::message::Message;

/// A decision or a message.
pub(crate) enum Action<'a> {
    /// A state or label mutation.
    Decision(Decision),
    /// A message to the dossier's user.
    Message(Message<'a>),
}

impl<'a> Action<'a> {
    /// What `action` asks for; a justificatif the DS client cannot attach is refused.
    pub(crate) fn of(action: &'a StatusAction) -> Result<Action<'a>, CommandError> {
        let state = |transition, disable_notification: &bool| {
            Ok(Action::Decision(Decision::State {
                transition,
                disable_notification: *disable_notification,
            }))
        };
        match action {
            StatusAction::PassToInstruction {
                disable_notification,
            } => state(Transition::PasserEnInstruction, disable_notification),
            StatusAction::Accept {
                motivation,
                justificatif,
                disable_notification,
            } => state(
                Transition::Accepter {
                    motivation: motivation.clone(),
                    justificatif: justificatif.clone(),
                },
                disable_notification,
            ),
            StatusAction::Refuse {
                motivation,
                justificatif,
                disable_notification,
            } => {
                refuse_justificatif(action, justificatif.as_deref())?;
                state(
                    Transition::Refuser {
                        motivation: motivation.clone(),
                    },
                    disable_notification,
                )
            }
            StatusAction::ClassifyWithoutFollowUp {
                motivation,
                justificatif,
                disable_notification,
            } => {
                refuse_justificatif(action, justificatif.as_deref())?;
                state(
                    Transition::ClasserSansSuite {
                        motivation: motivation.clone(),
                    },
                    disable_notification,
                )
            }
            StatusAction::BackToInstruction {
                disable_notification,
            } => state(Transition::RepasserEnInstruction, disable_notification),
            StatusAction::BackToConstruction {
                disable_notification,
            } => state(Transition::RepasserEnConstruction, disable_notification),
            StatusAction::AddLabel { label } => Ok(Action::Decision(Decision::Label {
                label: LabelId::new(label.clone()),
                on: true,
            })),
            StatusAction::RemoveLabel { label } => Ok(Action::Decision(Decision::Label {
                label: LabelId::new(label.clone()),
                on: false,
            })),
            StatusAction::SendMessage {
                body,
                attachment,
                correction,
            } => Ok(Action::Message(Message {
                body,
                attachment: attachment.as_deref(),
                correction: *correction,
            })),
        }
    }
}

/// The DS client's refusal and classement sans suite take no justificatif yet: a
/// command carrying one fails rather than lose it.
fn refuse_justificatif(
    action: &StatusAction,
    justificatif: Option<&str>,
) -> Result<(), CommandError> {
    match justificatif {
        None => Ok(()),
        Some(_) => Err(CommandError::permanent(
            FailureReason::InvalidBody,
            format!(
                "invalid body: {}: a justificatif can only be attached to an acceptance for now",
                action.name()
            ),
        )),
    }
}
