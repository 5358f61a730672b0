//! From a delivery to an outcome: parse, pick the DS connection, apply the decision,
//! report it.

use broker::{Handler, Incoming, Outcome, Outgoing, Publisher};
use contract::{
    Command, CommandBody, CommandMeta, DsStatus, Event, EventEnvelope, FailureReason, StatusSent,
};
use ds_client::{DsClient, InstructeurId};
use job_state::JobStore;
use rate_gate::RateGates;
use settings::{Settings, WorkerSettings};
use settle::{CommandError, Failure};

use crate::action::Action;
use crate::connections::{DsConnections, Lookup, SetupError};
use crate::done::Done;
use crate::{dossier, message};

/// The send-status message handler: holds the DS clients and a handle on the shared
/// job store, where message receipts are kept.
pub struct SendStatus {
    connections: DsConnections,
    worker: WorkerSettings,
    store: JobStore,
}

impl SendStatus {
    /// Builds a client for every configured DS connection, each behind a rate gate
    /// shared with every replica through `store`'s Redis.
    pub fn new(settings: &Settings, store: JobStore) -> Result<Self, SetupError> {
        Ok(SendStatus {
            connections: DsConnections::from_settings(
                &settings.connections,
                &RateGates::new(store.connection(), &settings.broker.prefix),
            )?,
            worker: settings.worker.clone(),
            store,
        })
    }

    async fn handle_command(&self, command: Command, attempt: u32) -> Outcome {
        let fail = |reason, message: String| {
            settle::dead_letter(Failure::of_command(&command, reason, None, message))
        };
        let CommandBody::DsStatus(status) = &command.body else {
            return fail(
                FailureReason::UnknownKind,
                format!("`{}` is not a send-status command", command.body.kind()),
            );
        };
        let client = match self.connections.lookup(&command.meta.connection) {
            Lookup::Ds(client) => client,
            Lookup::OtherApi(api) => {
                return fail(
                    FailureReason::ConnectionApiMismatch,
                    format!(
                        "`ds.status` cannot run on connection `{}`, which speaks {api}",
                        command.meta.connection
                    ),
                );
            }
            Lookup::Unknown => {
                return fail(
                    FailureReason::UnknownConnection,
                    format!(
                        "no connection named `{}` is configured",
                        command.meta.connection
                    ),
                );
            }
        };
        match self.perform(&command.meta, status, client).await {
            Ok(done) => {
                tracing::info!(
                    action = status.action.name(),
                    already_applied = done.already_applied,
                    "status sent"
                );
                let event = status_sent(&command.meta, status, done);
                Outcome::ack(vec![Outgoing::event(
                    &event,
                    telemetry::propagation::inject_current(),
                )])
            }
            Err(error) => settle::settle(&command, error, &self.worker, attempt),
        }
    }

    async fn perform(
        &self,
        meta: &CommandMeta,
        status: &DsStatus,
        client: &DsClient,
    ) -> Result<Done, CommandError> {
        // Checked before any call, so a command that cannot be sent costs nothing.
        let action = Action::of(&status.action)?;
        let dossier = dossier::resolve(&status.dossier, client).await?;
        let instructeur = InstructeurId::new(status.instructeur.clone());
        match action {
            Action::Decision(decision) => decision.apply(&dossier, &instructeur, client).await,
            Action::Message(request) => {
                let key = message::message_receipt_key(meta.message_id);
                message::send(request, &dossier, &instructeur, &key, client, &self.store).await
            }
        }
    }
}

/// The `status.sent` of a command: its id derives from the command's, so every
/// delivery of the command reports under the same id.
fn status_sent(meta: &CommandMeta, status: &DsStatus, done: Done) -> EventEnvelope {
    let event = Event::StatusSent(StatusSent {
        connection: meta.connection.clone(),
        dossier: status.dossier.clone(),
        action: status.action.name().to_owned(),
        already_applied: done.already_applied,
        state: done.state,
        message: done.message,
    });
    EventEnvelope::new(
        Some(meta.job_id),
        meta.message_id.caused_by("status.sent"),
        event,
    )
}

impl Handler for SendStatus {
    /// Publishes nothing before it returns: `status.sent` is part of the outcome.
    async fn handle(&self, message: &Incoming, _publisher: &Publisher) -> Outcome {
        worker_shell::handle_delivery(message, |command| {
            self.handle_command(command, message.attempt())
        })
        .await
    }
}
