//! The send-status worker: applies one demarches-simplifiees decision per `ds.status`
//! command (a state change, a message to the dossier's user, a label put on or taken
//! off) and reports it in a `status.sent` event, or in `command.failed` when the API
//! refuses it for good.
//!
//! Commands are delivered at least once, so every action is made safe to repeat:
//!
//! - **State changes and labels** are idempotent by the API's own answer. The
//!   mutation is called without reading the dossier first; a dossier already in the
//!   target state ("Le dossier est déjà accepté" to an acceptance), a label already on
//!   or already off, is success with `already_applied: true`. Any other refusal (a
//!   transition the state machine forbids, an instructeur without access) is a
//!   permanent failure carrying the API's message.
//! - **Messages** have no natural idempotence: the API would store the same message
//!   twice. The command's message id is the idempotency key
//!   ([`message_receipt_key`]), and the job store keeps a receipt under it
//!   (`job_state::JobStore::begin_attempt`, `record_receipt`), expiring with the
//!   store's job time to live:
//!   1. a receipt recorded → `already_applied: true` with the recorded message id, no
//!      call;
//!   2. otherwise the first attempt's time is recorded once and kept; when an earlier
//!      attempt left it (that delivery may have sent the message, then crashed), the
//!      dossier's messages are read back and a message with the same body created at
//!      or after that time, less [`CLOCK_SKEW`], is taken as ours: its receipt is
//!      recorded and nothing is sent;
//!   3. otherwise the message is sent, then its receipt recorded.
//!
//!   Reading messages back needs the dossier number: a dossier named by a global id
//!   must have the documented form (base64 of `Dossier-<number>`) for a message, or
//!   the command fails with `invalid_body`.
//!
//!   What remains at-least-once (a message sent twice): a crash or a lost answer
//!   after the API stored the message and before the receipt was recorded, when the
//!   read-back does not find it: the API's clock more than [`CLOCK_SKEW`] behind the
//!   worker's, the server storing the body altered, the message deleted meanwhile, or
//!   the receipt expired or lost (store flushed, or the redelivery after the job time
//!   to live). What can go the other way (a message not sent): two commands sending
//!   the same body to the same dossier, where the first attempt of one failed before
//!   the API stored its message and the other's message was stored after that
//!   attempt started; the read-back cannot tell two identical bodies apart and takes
//!   the other's message as its own. Two deliveries of one command running at the
//!   same moment are not guarded against either.
//!
//! The `status.sent` id derives from the command's message id, so every delivery
//! reports under the same id; it is published before the delivery is acked.
//!
//! `main.rs` only wires; tests call the same [`run`].

mod action;
mod connections;
mod decision;
mod done;
mod dossier;
mod handler;
mod message;

use broker::Broker;
use contract::WorkerKind;
use job_state::JobStore;
use settings::Settings;
use tokio_util::sync::CancellationToken;

pub use connections::SetupError;
pub use handler::SendStatus;
pub use message::{CLOCK_SKEW, message_receipt_key};

/// Why the worker stopped before it was asked to.
pub type RunError = worker_shell::RunError<SetupError>;

/// Declares the worker's topology and consumes its queue until `shutdown` is cancelled,
/// then drains in-flight commands within the configured grace. Message receipts are
/// kept in `store`.
pub async fn run(
    settings: &Settings,
    broker: &Broker,
    store: &JobStore,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let handler = SendStatus::new(settings, store.clone()).map_err(RunError::Setup)?;
    worker_shell::consume(settings, broker, WorkerKind::SendStatus, handler, shutdown).await?;
    Ok(())
}
