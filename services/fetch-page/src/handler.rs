//! From a delivery to an outcome: parse, pick the connection, dispatch by kind.

use broker::{Handler, Incoming, Outcome, Publisher};
use contract::{Command, CommandBody, FailureReason};
use job_state::JobStore;
use rate_gate::RateGates;
use settings::{Settings, WorkerSettings};
use settle::{CommandError, Failure};

use crate::{
    ds_sync,
    offset_sync::{self, SyncRequest},
    upstreams::{Upstream, UpstreamSetupError, Upstreams},
};

/// The fetch-page message handler: holds the upstream clients and a handle on the
/// shared job store; no job state lives in the worker's memory.
pub struct FetchPage {
    upstreams: Upstreams,
    worker: WorkerSettings,
    store: JobStore,
}

impl FetchPage {
    /// Builds a client for every configured connection, each behind a rate gate shared
    /// with every replica through `store`'s Redis. Pages record their progress in
    /// `store` once what they published is confirmed.
    pub fn new(settings: &Settings, store: JobStore) -> Result<Self, UpstreamSetupError> {
        Ok(FetchPage {
            upstreams: Upstreams::from_settings(
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
        let Some(upstream) = self.upstreams.get(&command.meta.connection) else {
            let message = format!(
                "no connection named `{}` is configured",
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
        let result = match (&command.body, upstream) {
            (CommandBody::DsSync(sync), Upstream::Ds(_)) => {
                ds_sync::start(meta, sync, &self.store).await
            }
            (CommandBody::DsPage(page), Upstream::Ds(ds)) => {
                tracing::Span::current().record("page", page.page);
                ds_sync::fetch(meta, page, ds, &self.store, publisher).await
            }
            (CommandBody::DivaltoSync(sync), Upstream::Offset(offset)) => {
                offset_sync::start(
                    meta,
                    SyncRequest::divalto(sync),
                    offset,
                    &self.store,
                    publisher,
                )
                .await
            }
            (CommandBody::AmienscopeSync(sync), Upstream::Offset(offset)) => {
                offset_sync::start(
                    meta,
                    SyncRequest::amienscope(sync),
                    offset,
                    &self.store,
                    publisher,
                )
                .await
            }
            (CommandBody::OffsetPage(page), Upstream::Offset(offset)) => {
                tracing::Span::current().record("page", page.page);
                offset_sync::fetch(meta, page, offset, &self.store, publisher).await
            }
            (body, _) => Err(CommandError::permanent(
                FailureReason::ConnectionApiMismatch,
                format!(
                    "`{}` cannot run on connection `{}`, which speaks another API",
                    body.kind(),
                    meta.connection
                ),
            )),
        };
        settle::settle_in_job(&command, result, &self.worker, attempt, &self.store).await
    }
}

impl Handler for FetchPage {
    async fn handle(&self, message: &Incoming, publisher: &Publisher) -> Outcome {
        worker_shell::handle_delivery(message, |command| {
            self.handle_command(command, message.attempt(), publisher)
        })
        .await
    }
}
