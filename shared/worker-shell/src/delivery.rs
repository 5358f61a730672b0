//! The part of handling a delivery that every worker shares: the consumer span, the
//! parse, and the dead letter of a command that cannot be read, or of a page or chunk
//! command that no worker published.

use std::future::Future;

use broker::{Incoming, Outcome};
use contract::{Command, FailureReason};
use tracing::{Instrument, Span, field::Empty};

use settle::{Failure, dead_letter};

use crate::series::JobOf;

/// Handles `message` inside a consumer span that continues the producer's trace:
/// a command that parses goes to `handle`, one that does not is reported and
/// dead-lettered. So is a page or chunk command that did not come through the
/// internal exchange (`internal_command_from_outside`): a producer cannot speak
/// inside a job, and the job it names is left alone.
///
/// The span follows OpenTelemetry's messaging conventions (`otel.kind = consumer`,
/// `messaging.system`, `messaging.operation.type`, the destination, the routing key,
/// the message id) and has a `trace_id` field (the OpenTelemetry trace id, for log
/// lines) and, once the command is parsed, `job_id` and `connection`; `page` is left
/// empty for `handle` to record.
///
/// The outcome carries the job marks of what `handle` did: a start command starts
/// its job, a completion or failure event ends it; the consumer counts them once the
/// delivery is settled.
pub async fn handle_delivery<F, Fut>(message: &Incoming, handle: F) -> Outcome
where
    F: FnOnce(Command) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let span = consumer_span(message);
    async {
        match Command::from_json(&message.body) {
            Ok(command) => {
                let span = Span::current();
                span.record("job_id", tracing::field::display(command.meta.job_id));
                span.record("connection", command.meta.connection.as_str());
                if command.body.is_job_step() && !message.internal {
                    return dead_letter(Failure::of_command(
                        &command,
                        FailureReason::InternalCommandFromOutside,
                        None,
                        format!(
                            "`{}` is published by workers only, through the internal exchange; \
                             this one came from outside",
                            command.body.kind()
                        ),
                    ));
                }
                let job = JobOf::of(&command);
                let mut outcome = handle(command).await;
                outcome.jobs = job.marks(&outcome);
                outcome
            }
            Err(rejection) => dead_letter(Failure::of_rejection(&rejection, &message.body)),
        }
    }
    .instrument(span)
    .await
}

/// The `process` span of one delivery, a child of the context its headers carry
/// (a redelivery keeps them, so every attempt joins the same trace).
fn consumer_span(message: &Incoming) -> Span {
    let span = tracing::info_span!(
        "process",
        otel.name = %format_args!("process {}", message.routing_key),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.destination.name = %message.routing_key,
        messaging.rabbitmq.destination.routing_key = %message.routing_key,
        messaging.message.id = message.message_id.as_deref().unwrap_or_default(),
        trace_id = Empty,
        job_id = Empty,
        connection = Empty,
        page = Empty,
    );
    telemetry::propagation::set_parent(&span, &message.headers);
    if let Some(trace_id) = telemetry::propagation::trace_id(&span) {
        span.record("trace_id", trace_id);
    }
    span
}
