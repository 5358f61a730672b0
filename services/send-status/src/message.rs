//! Messages to a dossier's user: the API cannot recognise a repeat, so a receipt
//! kept in the job store under the command's idempotency key stands in for it. See
//! the crate documentation for what remains at-least-once.

use chrono::{DateTime, Duration, Utc};
use contract::{CorrectionReason, FailureReason, MessageId};
use ds_client::{DossierMessage, DsClient, InstructeurId, MessageRequest};
use job_state::{JobStore, ReceiptCheck};
use settle::CommandError;

use crate::done::Done;
use crate::dossier::Dossier;

/// How far the API's clock may be behind the worker's: a message created up to this
/// long before the first attempt started still counts as sent by it.
pub const CLOCK_SKEW: Duration = Duration::seconds(10);

/// The idempotency key of a `send_message` command: its receipt is recorded in the
/// job store under this key.
pub fn message_receipt_key(command: MessageId) -> String {
    format!("ds.status/send_message/{}", command.0)
}

/// A message the command asks for.
pub(crate) struct Message<'a> {
    pub(crate) body: &'a str,
    pub(crate) attachment: Option<&'a str>,
    pub(crate) correction: Option<CorrectionReason>,
}

/// Sends the message once per idempotency `key`: a recorded receipt answers without
/// a call; after an attempt that left no receipt, a message of the same body created
/// since that attempt started is taken as ours; otherwise the message is sent and
/// its receipt recorded.
pub(crate) async fn send(
    message: Message<'_>,
    dossier: &Dossier,
    instructeur: &InstructeurId,
    key: &str,
    client: &DsClient,
    store: &JobStore,
) -> Result<Done, CommandError> {
    let Some(number) = dossier.number else {
        return Err(CommandError::permanent(
            FailureReason::InvalidBody,
            "invalid body: send_message: name the dossier by its number (or by a global id of \
             the form base64 of `Dossier-<number>`): a message already sent is recognised by \
             reading the dossier's messages, which needs the number",
        ));
    };
    match store.begin_attempt(key, Utc::now()).await? {
        ReceiptCheck::Recorded(id) => {
            tracing::info!(message_id = %id, "message sent before, by its receipt");
            return Ok(Done::already_applied(None, Some(id)));
        }
        ReceiptCheck::EarlierAttempt { since } => {
            let messages = client.messages(number).await?;
            if let Some(found) = sent_since(&messages, message.body, since) {
                tracing::info!(message_id = %found.id, "message found sent by an earlier attempt");
                store.record_receipt(key, found.id.as_str()).await?;
                return Ok(Done::already_applied(None, Some(found.id.to_string())));
            }
        }
        ReceiptCheck::FirstAttempt => {}
    }
    let request = MessageRequest {
        dossier: dossier.id.clone(),
        instructeur: instructeur.clone(),
        body: message.body.to_owned(),
        attachment: message.attachment.map(str::to_owned),
        correction: message.correction.map(correction_reason),
    };
    let sent = client.send_message(&request).await?;
    store.record_receipt(key, sent.id.as_str()).await?;
    Ok(Done::applied(None, Some(sent.id.into_string())))
}

/// The earliest message with this body created at or after `since`, less the
/// allowed clock skew.
fn sent_since<'m>(
    messages: &'m [DossierMessage],
    body: &str,
    since: DateTime<Utc>,
) -> Option<&'m DossierMessage> {
    let earliest = since - CLOCK_SKEW;
    messages
        .iter()
        .filter(|message| message.body.trim() == body.trim() && message.created_at >= earliest)
        .min_by_key(|message| message.created_at)
}

fn correction_reason(reason: CorrectionReason) -> ds_client::CorrectionReason {
    match reason {
        CorrectionReason::Incomplete => ds_client::CorrectionReason::Incomplete,
        CorrectionReason::Incorrect => ds_client::CorrectionReason::Incorrect,
        CorrectionReason::Outdated => ds_client::CorrectionReason::Outdated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(1_800_000_000 + seconds)
    }

    fn message(id: &str, body: &str, created_at: DateTime<Utc>) -> DossierMessage {
        DossierMessage {
            id: ds_client::MessageId::new(id),
            body: body.to_owned(),
            created_at,
            email: "instructeur@example.org".to_owned(),
        }
    }

    #[test]
    fn a_message_of_the_same_body_since_the_first_attempt_is_ours() {
        let messages = [
            message("old", "Bonjour", at(-60)),
            message("other", "Au revoir", at(5)),
            message("ours", "Bonjour", at(3)),
            message("later", "Bonjour", at(8)),
        ];
        let found = sent_since(&messages, "Bonjour", at(0)).map(|m| m.id.as_str());
        assert_eq!(found, Some("ours"));
    }

    #[test]
    fn a_few_seconds_of_clock_skew_are_allowed_and_no_more() {
        let skewed = [message("skewed", "Bonjour", at(-9))];
        assert!(sent_since(&skewed, "Bonjour", at(0)).is_some());
        let older = [message("older", "Bonjour", at(-11))];
        assert!(sent_since(&older, "Bonjour", at(0)).is_none());
    }

    #[test]
    fn another_body_is_never_ours() {
        let messages = [message("other", "Bonjour !", at(1))];
        assert!(sent_since(&messages, "Bonjour", at(0)).is_none());
    }
}
