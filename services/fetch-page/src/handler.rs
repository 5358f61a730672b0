//! From a delivery to an outcome: parse, pick the connection, dispatch by kind.

use broker::{Handler, Incoming, Outcome};
use contract::{Command, CommandBody, FailureReason};
use settings::{Settings, WorkerSettings};
use tracing::{Instrument, field::Empty};

use crate::{
    ds_sync,
    failure::{self, Failure},
    upstreams::{UpstreamSetupError, Upstreams},
};

/// The fetch-page message handler: holds the upstream clients, never any job state.
pub struct FetchPage {
    upstreams: Upstreams,
    worker: WorkerSettings,
}

impl FetchPage {
    /// Builds a client for every configured connection.
    pub fn new(settings: &Settings) -> Result<Self, UpstreamSetupError> {
        Ok(FetchPage {
            upstreams: Upstreams::from_settings(&settings.connections)?,
            worker: settings.worker.clone(),
        })
    }

    async fn handle_command(&self, command: Command, previous_deliveries: u32) -> Outcome {
        let Some(upstream) = self.upstreams.ds(&command.meta.connection) else {
            let message = format!(
                "no connection named `{}` is configured",
                command.meta.connection
            );
            return failure::dead_letter(Failure::of_command(
                &command,
                FailureReason::UnknownConnection,
                None,
                message,
            ));
        };
        tracing::Span::current().record("job_id", tracing::field::display(command.meta.job_id));
        let result = match &command.body {
            CommandBody::DsSync(sync) => Ok(ds_sync::start(&command.meta, sync)),
            CommandBody::DsPage(page) => {
                tracing::Span::current().record("page", page.page);
                ds_sync::fetch(&command.meta, page, upstream).await
            }
        };
        result.unwrap_or_else(|error| {
            failure::from_upstream(&command, error, &self.worker, previous_deliveries)
        })
    }
}

impl Handler for FetchPage {
    async fn handle(&self, message: &Incoming) -> Outcome {
        let span = tracing::info_span!(
            "fetch-page process",
            otel.kind = "consumer",
            messaging.system = "rabbitmq",
            messaging.operation.type = "process",
            messaging.destination.name = %message.routing_key,
            messaging.message.id = message.message_id.as_deref().unwrap_or_default(),
            job_id = Empty,
            page = Empty,
        );
        telemetry::propagation::set_parent(&span, &message.headers);
        async {
            match Command::from_json(&message.body) {
                Ok(command) => {
                    self.handle_command(command, message.previous_deliveries)
                        .await
                }
                Err(rejection) => {
                    failure::dead_letter(Failure::of_rejection(&rejection, &message.body))
                }
            }
        }
        .instrument(span)
        .await
    }
}
