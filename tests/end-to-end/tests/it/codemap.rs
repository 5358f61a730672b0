//! ARCHITECTURE.md's codemap, checked against the contract: it names every command and
//! event variant, so a message kind added to the code cannot stay unmapped.

use std::collections::BTreeSet;

use crate::catalogue::{Fill, commands, events};

/// The codemap section of ARCHITECTURE.md: from its heading to the next one.
fn codemap() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ARCHITECTURE.md");
    let text = std::fs::read_to_string(path).expect("ARCHITECTURE.md is readable");
    let start = text.find("\n## Codemap").expect("a codemap section");
    let rest = &text[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
    rest[..end].to_owned()
}

/// The Rust name of an enum value's variant, from its debug form: `DsSync(…)`.
fn variant(debug: String) -> String {
    debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_codemap_names_every_command_and_event_variant() {
    let codemap = codemap();
    let mut names: BTreeSet<String> = commands(Fill::Sparse)
        .iter()
        .map(|command| variant(format!("{:?}", command.body)))
        .collect();
    names.extend(
        events(Fill::Sparse)
            .iter()
            .map(|event| variant(format!("{:?}", event.event))),
    );
    assert_eq!(
        names.len(),
        16,
        "nine command kinds and seven event types: {names:?}"
    );
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !codemap.contains(name.as_str()))
        .collect();
    assert!(missing.is_empty(), "the codemap does not name {missing:?}");
}
