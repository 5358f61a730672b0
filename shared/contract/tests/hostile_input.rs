//! Whatever bytes arrive, the command parser answers with a command or a reason: it
//! never panics, and a command it accepts survives its own round trip.

use contract::Command;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Any JSON value, nested a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,12}", inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An envelope that passes the outer checks, so the body parsers are what is tested.
fn envelope(kind: &str, body: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": 1,
        "kind": kind,
        "job_id": "3f6c2a9e-8b41-4d7a-9c15-2e7f0b5d8a63",
        "message_id": "fc2f81d7-d9d9-504d-8537-f96d92567878",
        "connection": "sandbox",
        "body": body,
    }))
    .expect("a JSON value serialises")
}

const KINDS: [&str; 10] = [
    "ds.sync",
    "ds.page",
    "divalto.sync",
    "amienscope.sync",
    "offset.page",
    "apidae.put",
    "apidae.delete",
    "apidae.chunk",
    "ds.status",
    "no.such.kind",
];

fn assert_round_trip(bytes: &[u8]) {
    if let Ok(command) = Command::from_json(bytes) {
        assert_eq!(Command::from_json(&command.to_json()), Ok(command));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_round_trip(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        assert_round_trip(&serde_json::to_vec(&value).expect("serialises"));
    }

    #[test]
    fn arbitrary_bodies_of_every_kind_never_panic(kind in 0..KINDS.len(), body in any_json()) {
        assert_round_trip(&envelope(KINDS[kind], body));
    }
}
