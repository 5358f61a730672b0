//! The broker's own access control, as `deploy/rabbitmq/definitions.json` grants it:
//! a producer may publish start commands, never a worker's internal ones.

use broker::{Broker, BrokerError, Outgoing, Target};
use contract::{Command, CommandBody, DsSync, WorkerKind};

/// The permissions the shipped definitions give `user`, for the default prefix.
fn shipped_permissions(user: &str) -> [String; 3] {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/rabbitmq/definitions.json"
    );
    let definitions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the definitions are readable"))
            .expect("the definitions are JSON");
    let grant = definitions["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .find(|grant| grant["user"] == user)
        .unwrap_or_else(|| panic!("the definitions grant {user} nothing"));
    ["configure", "write", "read"].map(|what| {
        grant[what]
            .as_str()
            .expect("a permission is a pattern")
            .to_owned()
    })
}

/// A user of this test's own, with the shipped producer permissions moved from the
/// default prefix to `prefix`; removed when dropped.
struct Producer {
    name: String,
}

impl Producer {
    fn create(prefix: &str) -> Producer {
        let name = format!("producer-{prefix}");
        testkit::rabbitmqctl(&["add_user", &name, "producer-password"]);
        let [configure, write, read] = shipped_permissions("producer")
            .map(|pattern| pattern.replace(r"estafette\.", &format!(r"{prefix}\.")));
        testkit::rabbitmqctl(&[
            "set_permissions",
            "-p",
            "/",
            &name,
            &configure,
            &write,
            &read,
        ]);
        Producer { name }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        testkit::rabbitmqctl(&["delete_user", &self.name]);
    }
}

#[tokio::test]
async fn a_producer_may_publish_a_start_command_but_not_an_internal_one() {
    let prefix = testkit::unique_prefix();
    let workers = testkit::connect(&prefix).await;
    workers
        .declare(&[WorkerKind::FetchPage])
        .await
        .expect("the workers' topology");
    let user = Producer::create(&prefix);
    let producer = Broker::connect(
        &testkit::amqp_url_as(&user.name, "producer-password"),
        testkit::test_topology(&prefix),
    )
    .await
    .expect("the producer connects");
    let start = Command::start_job(
        "sandbox",
        CommandBody::DsSync(DsSync {
            demarche: std::num::NonZeroU32::new(4242).expect("non-zero"),
            updated_since: None,
            state: None,
        }),
    );

    producer
        .publish_command(&start)
        .await
        .expect("a producer publishes start commands");
    let forged = Outgoing {
        target: Target::Internal(WorkerKind::FetchPage),
        ..Outgoing::command(&start, Vec::new())
    };
    let refused = producer.publisher().publish(&forged).await;

    let Err(BrokerError::Unconfirmed { detail, .. }) = refused else {
        panic!("the broker took a producer's internal command: {refused:?}")
    };
    assert!(detail.contains("ACCESS_REFUSED"), "{detail}");
}
