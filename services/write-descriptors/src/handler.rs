//! From a delivery to an outcome: parse, pick the Apidae connection, dispatch by kind.

use broker::{Handler, Incoming, Outcome, Publisher};
use contract::{Command, CommandBody, DescriptorWrite, FailureReason};
use job_state::JobStore;
use rate_gate::RateGates;
use settings::{Settings, WorkerSettings};
use settle::{CommandError, Failure};

use crate::chunks;
use crate::connections::{ApidaeConnections, SetupError};

/// The write-descriptors message handler: holds the Apidae clients and a handle on the
/// shared job store, where chunk results wait for the job's last chunk.
pub struct WriteDescriptors {
    connections: ApidaeConnections,
    worker: WorkerSettings,
    store: JobStore,
}

impl WriteDescriptors {
    /// Builds a client for every configured Apidae connection, each behind a rate gate
    /// shared with every replica through `store`'s Redis. A chunk records its result
    /// in `store` once its `chunk.written` is confirmed.
    pub fn new(settings: &Settings, store: JobStore) -> Result<Self, SetupError> {
        Ok(WriteDescriptors {
            connections: ApidaeConnections::from_settings(
                &settings.connections,
                &RateGates::new(store.connection(), &settings.broker.prefix),
            )?,
            worker: settings.worker.clone(),
            store,
        })
    }

    async fn handle_command(
        &self,
        command: Command,
        attempt: u32,
        publisher: &Publisher,
    ) -> Outcome {
        let Some(connection) = self.connections.get(&command.meta.connection) else {
            let message = format!(
                "no Apidae connection named `{}` is configured",
                command.meta.connection
            );
            return settle::dead_letter(Failure::of_command(
                &command,
                FailureReason::UnknownConnection,
                None,
                message,
            ));
        };
        let meta = &command.meta;
        let result = match &command.body {
            CommandBody::ApidaePut(put) => {
                let write = DescriptorWrite::Put {
                    objects: put.objects.clone(),
                };
                chunks::start(meta, write, connection, &self.store, publisher).await
            }
            CommandBody::ApidaeDelete(delete) => {
                let write = DescriptorWrite::Delete {
                    objects: delete.objects.clone(),
                };
                chunks::start(meta, write, connection, &self.store, publisher).await
            }
            CommandBody::ApidaeChunk(chunk) => {
                tracing::Span::current().record("page", chunk.chunk);
                chunks::write(meta, chunk, connection, &self.store, publisher).await
            }
            other => Err(CommandError::permanent(
                FailureReason::UnknownKind,
                format!("`{}` is not a write-descriptors command", other.kind()),
            )),
        };
        settle::settle_in_job(&command, result, &self.worker, attempt, &self.store).await
    }
}

impl Handler for WriteDescriptors {
    async fn handle(&self, message: &Incoming, publisher: &Publisher) -> Outcome {
        worker_shell::handle_delivery(message, |command| {
            self.handle_command(command, message.attempt(), publisher)
        })
        .await
    }
}
