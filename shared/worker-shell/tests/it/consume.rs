use std::time::Duration;

use broker::{Handler, Incoming, Outcome, Outgoing, Publisher, Settlement, Target};
use contract::{JobId, MessageId, WorkerKind};
use settings::Settings;
use tokio_util::sync::CancellationToken;

/// Settles each delivery as its body says; a retried one is acked when it comes back.
struct ByBody;

impl Handler for ByBody {
    async fn handle(&self, message: &Incoming, _publisher: &Publisher) -> Outcome {
        let settlement = match (message.body.as_slice(), message.attempt()) {
            (b"dead", _) => Settlement::DeadLetter {
                reason: "invalid_body",
                detail: "asked to".to_owned(),
            },
            (b"retry", 1) => Settlement::Retry {
                after: Duration::from_millis(50),
            },
            _ => Settlement::Ack,
        };
        Outcome {
            publish: Vec::new(),
            settlement,
            jobs: Vec::new(),
        }
    }
}

fn command(body: &str) -> Outgoing {
    Outgoing {
        target: Target::Command(WorkerKind::SendStatus),
        message_id: MessageId::job_start(JobId::new_random()),
        kind: "test",
        body: body.as_bytes().to_vec(),
        headers: Vec::new(),
        job_end: None,
    }
}

/// The value of the sample `series` (name and labels as exposed, minus `worker`).
fn sample(series: &str) -> f64 {
    let (name, labels) = series.split_once('{').unwrap_or((series, ""));
    let labels = labels.trim_end_matches('}');
    worker_metrics::encode()
        .lines()
        .filter_map(|line| {
            let (exposed, value) = line.rsplit_once(' ')?;
            let (exposed_name, exposed_labels) = exposed.split_once('{').unwrap_or((exposed, ""));
            let matches = exposed_name == name
                && labels
                    .split(',')
                    .filter(|label| !label.is_empty())
                    .all(|label| exposed_labels.contains(label));
            matches.then(|| value.parse::<f64>().expect("a sample value is a number"))
        })
        .next()
        .unwrap_or(0.0)
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{what} did not happen within 5 s:\n{}",
        worker_metrics::encode()
    );
}

#[tokio::test]
async fn consume_marks_readiness_and_counts_each_settlement() {
    worker_metrics::install("send-status").expect("first install");
    let prefix = testkit::unique_prefix();
    let settings = Settings::load(
        None,
        [
            ("AMQP_URL".to_owned(), testkit::amqp_url()),
            ("ESTAFETTE__BROKER__PREFIX".to_owned(), prefix.clone()),
        ],
    )
    .expect("valid settings");
    let broker = testkit::connect(&prefix).await;
    let readiness = worker_shell::readiness();
    readiness.set_broker_connected(true);
    assert!(!readiness.is_ready(), "nothing is declared yet");

    let shutdown = CancellationToken::new();
    let consumer = {
        let shutdown = shutdown.clone();
        let settings = settings.clone();
        let broker = testkit::connect(&prefix).await;
        tokio::spawn(async move {
            worker_shell::consume(&settings, &broker, WorkerKind::SendStatus, ByBody, shutdown)
                .await
        })
    };
    eventually("readiness", || readiness.is_ready()).await;

    let publisher = broker.publisher();
    for body in ["ack", "ack", "dead", "retry"] {
        publisher.publish(&command(body)).await.expect("confirmed");
    }
    eventually("every settlement", || {
        sample("estafette_messages_settled_total{outcome=\"acked\"}") == 3.0
            && sample("estafette_messages_settled_total{outcome=\"retried\"}") == 1.0
            && sample("estafette_messages_settled_total{outcome=\"dead_lettered\"}") == 1.0
            && sample("estafette_messages_in_flight") == 0.0
    })
    .await;

    assert_eq!(sample("estafette_messages_consumed_total"), 5.0);
    assert_eq!(
        sample("estafette_dead_letters_total{reason=\"invalid_body\"}"),
        1.0
    );
    assert_eq!(sample("estafette_oldest_unacked_delivery_age_seconds"), 0.0);
    assert!(
        worker_metrics::encode().contains("worker=\"send-status\""),
        "series carry the worker label"
    );

    shutdown.cancel();
    consumer
        .await
        .expect("the consumer task ends")
        .expect("a cancelled consumer stops cleanly");
    assert!(!readiness.is_ready(), "a stopped consumer is not ready");
}
