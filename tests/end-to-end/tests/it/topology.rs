//! Exchanges, queues, routing keys and delivery modes against the broker crate.

use std::collections::BTreeSet;

use broker::{Topology, TopologyOptions};
use serde_json::{Value, json};

use crate::catalogue::{Fill, commands, events, worker_kinds};
use crate::document::{Document, as_str};

/// The prefix the document shows: the default of `broker.prefix`.
const DOCUMENTED_PREFIX: &str = "estafette";

#[test]
fn the_document_names_exactly_the_exchanges_the_broker_declares() {
    let document = Document::load();
    let topology = topology();
    let documented: BTreeSet<(&str, &str, bool)> = amqp_bindings(&document, "routingKey")
        .map(|(_, binding)| {
            let exchange = &binding["exchange"];
            let name = as_str(&exchange["name"], "exchange.name");
            let kind = as_str(&exchange["type"], "exchange.type");
            (name, kind, exchange["durable"] == json!(true))
        })
        .collect();
    let commands = topology.commands_exchange();
    let internal = topology.internal_exchange();
    let events = topology.events_exchange();
    let dead_letters = topology.dead_letters();
    let declared = BTreeSet::from([
        (commands.as_str(), "direct", true),
        (internal.as_str(), "direct", true),
        (events.as_str(), "topic", true),
        (dead_letters.as_str(), "fanout", true),
    ]);

    assert_eq!(documented, declared);
}

#[test]
fn the_document_names_exactly_the_queues_the_broker_declares() {
    let document = Document::load();
    let topology = topology();
    let mut documented = BTreeSet::new();
    for (channel, binding) in amqp_bindings(&document, "queue") {
        let name = as_str(&binding["queue"]["name"], "queue.name");
        assert_eq!(channel["address"], json!(name), "address of queue {name}");
        assert_eq!(
            binding["queue"]["durable"],
            json!(true),
            "{name} is durable"
        );
        documented.insert(name.to_owned());
    }
    let mut declared: BTreeSet<String> = worker_kinds()
        .into_iter()
        .map(|worker| topology.work_queue(worker))
        .collect();
    declared.insert(topology.dead_letters());
    declared.insert(topology.event_queue(scheduler::RUN_ENDS_QUEUE));

    assert_eq!(documented, declared);
}

#[test]
fn every_work_queue_dead_letters_after_the_default_delivery_limit() {
    let document = Document::load();
    let topology = topology();
    let options = TopologyOptions::named(DOCUMENTED_PREFIX);
    for worker in worker_kinds() {
        let queue = topology.work_queue(worker);
        let (channel, _) = amqp_bindings(&document, "queue")
            .find(|(_, binding)| binding["queue"]["name"] == json!(queue))
            .unwrap_or_else(|| panic!("no channel for the queue {queue}"));

        assert_eq!(
            channel["x-queue-arguments"],
            json!({
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": topology.dead_letters(),
                "x-delivery-limit": options.delivery_limit,
            }),
            "arguments of {queue}"
        );
    }
}

#[test]
fn commands_are_routed_by_worker_kind_through_their_exchange_and_events_by_type() {
    let document = Document::load();
    let topology = topology();
    let mut routed = BTreeSet::new();
    for (channel, binding) in amqp_bindings(&document, "routingKey") {
        let exchange = &binding["exchange"]["name"];
        for name in channel_message_names(&document, channel) {
            let step = contract::JOB_STEP_KINDS.contains(&name);
            let routing_key = if *exchange == json!(topology.commands_exchange()) {
                assert!(
                    !step,
                    "{name} is published by workers only, not to the commands exchange"
                );
                command_routing_key(name)
            } else if *exchange == json!(topology.internal_exchange()) {
                assert!(step, "{name} is a producer's command, not an internal one");
                command_routing_key(name)
            } else if *exchange == json!(topology.events_exchange()) {
                event_routing_key(name)
            } else {
                continue;
            };
            assert_eq!(channel["address"], json!(routing_key), "route of {name}");
            routed.insert(name);
        }
    }
    let sent: BTreeSet<&str> = commands(Fill::Sparse)
        .iter()
        .map(|command| command.body.kind())
        .chain(events(Fill::Sparse).iter().map(|event| event.routing_key()))
        .collect();

    assert_eq!(routed, sent);
}

#[test]
fn every_operation_concerns_persistent_messages() {
    let document = Document::load();
    for (name, operation) in document.operations() {
        assert_eq!(
            operation["bindings"]["amqp"]["deliveryMode"],
            json!(2),
            "delivery mode of {name}"
        );
    }
}

#[test]
fn workers_receive_only_from_their_work_queues_and_the_scheduler_from_its_own() {
    let document = Document::load();
    let topology = topology();
    let work_queues: BTreeSet<String> = worker_kinds()
        .into_iter()
        .map(|worker| topology.work_queue(worker))
        .collect();
    let run_ends = topology.event_queue(scheduler::RUN_ENDS_QUEUE);
    for (name, operation) in document.operations() {
        if operation["action"] != json!("receive") {
            continue;
        }
        let channel = document.resolve(&operation["channel"]);
        let queue = as_str(&channel["bindings"]["amqp"]["queue"]["name"], name);

        assert!(
            work_queues.contains(queue) || queue == run_ends,
            "{name} receives from {queue}"
        );
    }
}

fn topology() -> Topology {
    Topology::new(TopologyOptions::named(DOCUMENTED_PREFIX))
}

/// The channels whose AMQP binding `is` the given shape, with that binding.
fn amqp_bindings<'a>(
    document: &'a Document,
    shape: &'a str,
) -> impl Iterator<Item = (&'a Value, &'a Value)> {
    document
        .channels()
        .values()
        .map(|channel| (channel, &channel["bindings"]["amqp"]))
        .filter(move |(_, binding)| binding["is"] == json!(shape))
}

fn channel_message_names<'a>(document: &'a Document, channel: &'a Value) -> Vec<&'a str> {
    channel["messages"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, message)| as_str(&document.resolve(message)["name"], key))
        .collect()
}

fn command_routing_key(kind: &str) -> &'static str {
    commands(Fill::Sparse)
        .iter()
        .find(|command| command.body.kind() == kind)
        .unwrap_or_else(|| panic!("the code has no command `{kind}`"))
        .body
        .worker()
        .as_str()
}

fn event_routing_key(event_type: &str) -> &'static str {
    events(Fill::Sparse)
        .iter()
        .find(|event| event.event.type_name() == event_type)
        .unwrap_or_else(|| panic!("the code has no event `{event_type}`"))
        .routing_key()
}
