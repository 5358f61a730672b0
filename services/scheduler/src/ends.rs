//! Reading the run ends: the durable queue `<prefix>.scheduler`, every replica
//! reading it; each end recorded in the store before its event is acknowledged.

use std::time::Duration;

use broker::{Broker, BrokerError, EventDelivery, EventQueue};
use chrono::Utc;
use contract::EventEnvelope;
use schedule::{Outcome, RunEnd, ScheduleStore, run_end};
use settings::Settings;
use tokio_util::sync::CancellationToken;

/// The events that can end a run.
const ENDING_EVENTS: [&str; 3] = ["sync.completed", "job.failed", "command.failed"];

/// How far past this host's clock a completion's resume point may lie: the worker that
/// wrote it runs on another host, whose clock may be a little ahead.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// How long to wait before trying the store again when it did not answer.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Reads the run ends until `shutdown` is cancelled; a lost broker is reconnected.
/// Fails when the broker stays unreachable for `broker.reconnect_timeout`.
pub(crate) async fn run(
    settings: &Settings,
    broker: &Broker,
    store: &ScheduleStore,
    shutdown: CancellationToken,
) -> Result<(), BrokerError> {
    let readiness = worker_shell::readiness();
    loop {
        let opened = broker
            .event_queue(
                crate::RUN_ENDS_QUEUE,
                &ENDING_EVENTS,
                settings.broker.prefetch,
            )
            .await;
        match opened {
            Ok(queue) => {
                readiness.set_topology_declared(true);
                let read = read(queue, store, &shutdown).await;
                readiness.set_topology_declared(false);
                if read.is_ok() {
                    return Ok(());
                }
            }
            Err(_) if shutdown.is_cancelled() => return Ok(()),
            Err(error) => tracing::warn!(%error, "cannot read the run ends; reconnecting"),
        }
        if shutdown.is_cancelled() {
            return Ok(());
        }
        readiness.set_broker_connected(false);
        broker.reconnect(settings.broker.reconnect_timeout).await?;
        readiness.set_broker_connected(true);
    }
}

/// Reads `queue` until `shutdown` (`Ok`) or until its channel ends (`Err`).
async fn read(
    mut queue: EventQueue,
    store: &ScheduleStore,
    shutdown: &CancellationToken,
) -> Result<(), ()> {
    loop {
        let delivery = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            delivery = queue.next() => delivery.ok_or(())?,
        };
        if !record(&delivery, store, shutdown).await {
            // Stopping: the event stays in the queue for the next reader.
            return Ok(());
        }
        if let Err(error) = delivery.ack().await {
            // The broker delivers it again; recording an end twice changes nothing.
            tracing::warn!(%error, "an event was recorded but not acknowledged");
        }
    }
}

/// Records the run end `delivery` tells, if any; retries while the store does not
/// answer. Returns `false` when stopped before it could.
async fn record(
    delivery: &EventDelivery,
    store: &ScheduleStore,
    shutdown: &CancellationToken,
) -> bool {
    let Some(end) = read_end(&delivery.message.body) else {
        return true;
    };
    loop {
        match store.finish(&end).await {
            Ok(Some(schedule)) => {
                tracing::info!(
                    schedule,
                    job_id = %end.job.0,
                    outcome = end.outcome.as_str(),
                    records = end.records,
                    reason = end.reason.as_deref().unwrap_or_default(),
                    resume_point = end.resume_point.map(|at| at.to_rfc3339()).unwrap_or_default(),
                    "run ended"
                );
                return true;
            }
            Ok(None) => return true,
            Err(error) => {
                tracing::warn!(%error, "cannot record a run end yet; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return false,
                    () = tokio::time::sleep(STORE_RETRY) => {}
                }
            }
        }
    }
}

/// The run end an event body tells. A body that is no event is logged and dropped:
/// workers write every event, so it came from elsewhere. A completion whose resume
/// point lies in the future (beyond [`CLOCK_SKEW`]) could open a gap: it fails the run
/// instead.
fn read_end(body: &[u8]) -> Option<RunEnd> {
    let envelope: EventEnvelope = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::warn!(%error, bytes = body.len(), "dropped a message that is no event");
            return None;
        }
    };
    let mut end = run_end(&envelope)?;
    if end
        .resume_point
        .is_some_and(|at| at > Utc::now() + CLOCK_SKEW)
    {
        end.outcome = Outcome::Failed;
        end.resume_point = None;
        end.reason = Some("the completion's resume point lies in the future".into());
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use contract::{JobId, MessageId};

    use super::*;

    fn completion(resume_point: &str) -> Vec<u8> {
        let job = JobId::new_random();
        serde_json::to_vec(&serde_json::json!({
            "version": 1, "job_id": job, "message_id": MessageId::for_job(job, "end"),
            "type": "sync.completed", "connection": "sandbox", "demarche": 1,
            "deleted_records": 0, "pending_deleted_records": 0, "pages": 1, "records": 3,
            "elapsed_ms": 5, "resume_point": resume_point, "end": "exhausted",
        }))
        .unwrap()
    }

    #[test]
    fn a_completion_from_the_future_fails_the_run_beyond_clock_skew() {
        let end = read_end(&completion("2999-01-01T00:00:00Z")).unwrap();

        assert_eq!((end.outcome, end.resume_point), (Outcome::Failed, None));
        let end = read_end(&completion("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(end.outcome, Outcome::Completed);
        let ahead = (Utc::now() + chrono::TimeDelta::seconds(5)).to_rfc3339();
        let end = read_end(&completion(&ahead)).unwrap();
        assert_eq!(
            end.outcome,
            Outcome::Completed,
            "a clock a few seconds ahead"
        );
    }

    #[test]
    fn what_is_no_event_is_dropped() {
        assert_eq!(read_end(b"{\"type\":\"sync.completed\"}"), None);
        assert_eq!(read_end(b"\x00garbage"), None);
    }
}
