//! The part of handling a delivery that every worker shares: the consumer span, the
//! parse, and the dead letter of a command that cannot be read.

use std::future::Future;

use broker::{Incoming, Outcome};
use contract::Command;
use tracing::{Instrument, field::Empty};

use crate::failure::{Failure, dead_letter};

/// Handles `message` inside a consumer span that continues the producer's trace:
/// a command that parses goes to `handle`, one that does not is reported and
/// dead-lettered. The span has empty `job_id` and `page` fields for `handle` to record.
pub async fn handle_delivery<F, Fut>(message: &Incoming, handle: F) -> Outcome
where
    F: FnOnce(Command) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let span = tracing::info_span!(
        "process",
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
                tracing::Span::current()
                    .record("job_id", tracing::field::display(command.meta.job_id));
                handle(command).await
            }
            Err(rejection) => dead_letter(Failure::of_rejection(&rejection, &message.body)),
        }
    }
    .instrument(span)
    .await
}
