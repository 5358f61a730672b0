//! Stacks the settings sources into one TOML table, lowest first: the
//! embedded defaults, the optional file, `AMQP_URL` and `REDIS_URL`, then
//! `ESTAFETTE__` variables.
//!
//! Every source is flattened into leaf assignments (`broker.prefetch = 32`)
//! applied in order, so a higher layer replaces single keys and keeps the
//! rest. One exception: a layer that sets any form of a connection's secret
//! (`password`, `password_env`, `password_file`, and likewise for `token`
//! and `private_key`) replaces every form of that secret, so a file's
//! `password_env` is not reported as clashing with the defaults' literal
//! `password`.
//!
//! Why not `figment`, which layers providers the same way: it extracts through
//! serde, and a derived `Deserialize` stops at the first bad field, while these
//! settings report every problem of every section in one run (a deployment is
//! fixed in one pass, not one key per restart). Its merge also knows nothing of
//! the secret forms above. The layering itself is this small module.

use std::collections::BTreeMap;
use std::path::Path;

use toml::{Table, Value};

use crate::problem::Problems;
use crate::secret;

/// The reviewed defaults, embedded at build time.
const DEFAULTS: &str = include_str!("../defaults.toml");

/// Prefix of the environment variables that override single keys.
const ENV_PREFIX: &str = "ESTAFETTE__";

/// Separator between levels in an override variable's name.
const ENV_SEPARATOR: &str = "__";

/// Plain url variables that tests and CI export, and the key each one sets:
/// the broker url and the job-state store url.
const PLAIN_URLS: [(&str, [&str; 2]); 2] = [
    ("AMQP_URL", ["broker", "url"]),
    ("REDIS_URL", ["state", "url"]),
];

/// Sets one key path to one value.
#[derive(Debug)]
struct Assignment {
    path: Vec<String>,
    value: Value,
}

/// Every source merged into one table; unreadable sources become problems.
pub(crate) fn stack(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
    problems: &mut Problems,
) -> Table {
    let mut merged = Table::new();
    apply(&mut merged, parse(DEFAULTS, "defaults.toml", problems));
    if let Some(path) = file {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => apply(&mut merged, parse(&text, &origin, problems)),
            Err(error) => problems.push(origin, format!("cannot be read: {error}")),
        }
    }
    apply(&mut merged, plain_urls(env));
    apply(&mut merged, env_overrides(env, problems));
    merged
}

/// The leaf assignments of a TOML document, or a problem naming the line
/// (not the text, which may hold a secret) when it does not parse.
fn parse(text: &str, origin: &str, problems: &mut Problems) -> Vec<Assignment> {
    match text.parse::<Table>() {
        Ok(table) => {
            let mut assignments = Vec::new();
            flatten(table, &[], &mut assignments);
            assignments
        }
        Err(error) => {
            let location = error
                .span()
                .map(|span| format!("line {}: ", line_of(text, span.start)))
                .unwrap_or_default();
            problems.push(origin, format!("{location}{}", error.message().trim_end()));
            Vec::new()
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

/// Turns nested tables into leaf assignments; an empty table stays a leaf so
/// that `[connections.new]` alone still creates the connection.
fn flatten(table: Table, prefix: &[String], into: &mut Vec<Assignment>) {
    for (key, value) in table {
        let mut path = prefix.to_vec();
        path.push(key);
        match value {
            Value::Table(nested) if !nested.is_empty() => flatten(nested, &path, into),
            value => into.push(Assignment { path, value }),
        }
    }
}

/// `ESTAFETTE__SECTION__KEY=value` pairs as string assignments, keys
/// lowercased; the reader converts each string to the type its key expects.
fn env_overrides(env: &BTreeMap<String, String>, problems: &mut Problems) -> Vec<Assignment> {
    env.iter()
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            let path: Vec<String> = rest.split(ENV_SEPARATOR).map(str::to_lowercase).collect();
            if path.iter().any(String::is_empty) {
                problems.push(name, "has an empty key between separators");
                return None;
            }
            Some(Assignment {
                path,
                value: Value::String(value.clone()),
            })
        })
        .collect()
}

/// The assignments of the plain url variables that are set and not empty.
fn plain_urls(env: &BTreeMap<String, String>) -> Vec<Assignment> {
    PLAIN_URLS
        .iter()
        .filter_map(|(variable, path)| {
            let url = env.get(*variable).filter(|url| !url.is_empty())?;
            Some(Assignment {
                path: path.map(str::to_owned).to_vec(),
                value: Value::String(url.clone()),
            })
        })
        .collect()
}

fn apply(merged: &mut Table, layer: Vec<Assignment>) {
    for (connection, secret) in layer.iter().filter_map(secret_owner) {
        if let Some(Value::Table(existing)) = merged
            .get_mut("connections")
            .and_then(|connections| connections.get_mut(connection))
        {
            for form in secret::forms(secret) {
                existing.remove(&form);
            }
        }
    }
    for Assignment { path, value } in layer {
        set(merged, &path, value);
    }
}

/// The connection and the secret this assignment sets, if it sets a form of
/// one.
fn secret_owner(assignment: &Assignment) -> Option<(&str, &'static str)> {
    match assignment.path.as_slice() {
        [section, name, key] if section == "connections" => {
            secret::secret_of(key).map(|secret| (name.as_str(), secret))
        }
        _ => None,
    }
}

/// Sets `path` to `value`, creating tables on the way and replacing any
/// non-table found where a table is needed.
fn set(table: &mut Table, path: &[String], value: Value) {
    match path {
        [] => {}
        [key] => match value {
            Value::Table(empty) if empty.is_empty() => {
                table.entry(key.clone()).or_insert(Value::Table(empty));
            }
            value => {
                table.insert(key.clone(), value);
            }
        },
        [key, rest @ ..] => {
            let slot = table
                .entry(key.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            match slot {
                Value::Table(nested) => set(nested, rest, value),
                other => {
                    let mut nested = Table::new();
                    set(&mut nested, rest, value);
                    *other = Value::Table(nested);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn at<'t>(table: &'t Table, path: &str) -> Option<&'t Value> {
        let mut parts = path.split('.');
        let first = table.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    }

    #[test]
    fn the_embedded_defaults_parse() {
        let mut problems = Problems::default();
        let merged = stack(None, &BTreeMap::new(), &mut problems);

        assert!(problems.into_result(Some(())).is_ok());
        assert_eq!(
            at(&merged, "broker.prefix"),
            Some(&Value::String("estafette".into()))
        );
    }

    #[test]
    fn env_overrides_lowercase_every_level() {
        let mut problems = Problems::default();
        let merged = stack(
            None,
            &env(&[("ESTAFETTE__CONNECTIONS__PROD__BASE_URL", "https://x.test")]),
            &mut problems,
        );

        assert_eq!(
            at(&merged, "connections.prod.base_url"),
            Some(&Value::String("https://x.test".into()))
        );
    }

    #[test]
    fn an_env_override_with_an_empty_level_is_a_problem() {
        let mut problems = Problems::default();
        stack(
            None,
            &env(&[("ESTAFETTE__BROKER____URL", "x")]),
            &mut problems,
        );

        let error = problems.into_result(Some(())).unwrap_err();
        assert_eq!(error.problems()[0].key, "ESTAFETTE__BROKER____URL");
    }

    #[test]
    fn unrelated_variables_are_ignored() {
        let mut problems = Problems::default();
        let merged = stack(
            None,
            &env(&[("ESTAFETTE_CONFIG", "/nowhere"), ("PATH", "/bin")]),
            &mut problems,
        );

        assert!(problems.into_result(Some(())).is_ok());
        assert_eq!(
            merged,
            stack(None, &BTreeMap::new(), &mut Problems::default())
        );
    }

    #[test]
    fn amqp_url_replaces_the_default_broker_url_but_yields_to_the_explicit_override() {
        let from_amqp_url = stack(
            None,
            &env(&[("AMQP_URL", "amqp://ci:5672")]),
            &mut Problems::default(),
        );
        let both = stack(
            None,
            &env(&[
                ("AMQP_URL", "amqp://ci:5672"),
                ("ESTAFETTE__BROKER__URL", "amqp://explicit:5672"),
            ]),
            &mut Problems::default(),
        );

        assert_eq!(
            at(&from_amqp_url, "broker.url"),
            Some(&Value::String("amqp://ci:5672".into()))
        );
        assert_eq!(
            at(&both, "broker.url"),
            Some(&Value::String("amqp://explicit:5672".into()))
        );
    }

    #[test]
    fn a_higher_layer_credential_replaces_the_lower_one() {
        let mut merged = Table::new();
        apply(
            &mut merged,
            vec![Assignment {
                path: vec!["connections".into(), "a".into(), "token".into()],
                value: Value::String("literal".into()),
            }],
        );
        apply(
            &mut merged,
            vec![Assignment {
                path: vec!["connections".into(), "a".into(), "token_env".into()],
                value: Value::String("A_TOKEN".into()),
            }],
        );

        assert_eq!(at(&merged, "connections.a.token"), None);
        assert_eq!(
            at(&merged, "connections.a.token_env"),
            Some(&Value::String("A_TOKEN".into()))
        );
    }

    #[test]
    fn a_higher_layer_secret_form_replaces_only_that_secret() {
        let assign = |key: &str, value: &str| Assignment {
            path: vec!["connections".into(), "a".into(), key.into()],
            value: Value::String(value.into()),
        };
        let mut merged = Table::new();
        apply(
            &mut merged,
            vec![assign("password", "literal"), assign("user", "me")],
        );
        apply(&mut merged, vec![assign("password_file", "/run/secrets/a")]);
        apply(&mut merged, vec![assign("private_key_env", "A_KEY")]);

        assert_eq!(at(&merged, "connections.a.password"), None);
        assert_eq!(
            at(&merged, "connections.a.password_file"),
            Some(&Value::String("/run/secrets/a".into()))
        );
        assert_eq!(
            at(&merged, "connections.a.private_key_env"),
            Some(&Value::String("A_KEY".into()))
        );
        assert_eq!(
            at(&merged, "connections.a.user"),
            Some(&Value::String("me".into()))
        );
    }

    #[test]
    fn two_forms_set_by_one_layer_are_both_kept_to_be_reported() {
        let mut merged = Table::new();
        apply(
            &mut merged,
            ["password", "password_env"]
                .map(|key| Assignment {
                    path: vec!["connections".into(), "a".into(), key.into()],
                    value: Value::String("x".into()),
                })
                .into(),
        );

        assert!(at(&merged, "connections.a.password").is_some());
        assert!(at(&merged, "connections.a.password_env").is_some());
    }

    #[test]
    fn redis_url_replaces_the_default_state_url_but_yields_to_the_explicit_override() {
        let from_redis_url = stack(
            None,
            &env(&[("REDIS_URL", "redis://ci:6379")]),
            &mut Problems::default(),
        );
        let empty = stack(None, &env(&[("REDIS_URL", "")]), &mut Problems::default());
        let both = stack(
            None,
            &env(&[
                ("REDIS_URL", "redis://ci:6379"),
                ("ESTAFETTE__STATE__URL", "redis://explicit:6379"),
            ]),
            &mut Problems::default(),
        );

        assert_eq!(
            at(&from_redis_url, "state.url"),
            Some(&Value::String("redis://ci:6379".into()))
        );
        assert_eq!(
            at(&empty, "state.url"),
            Some(&Value::String("redis://127.0.0.1:6379".into()))
        );
        assert_eq!(
            at(&both, "state.url"),
            Some(&Value::String("redis://explicit:6379".into()))
        );
    }

    #[test]
    fn a_toml_syntax_error_names_the_line_but_not_its_text() {
        let mut problems = Problems::default();
        parse(
            "[broker]\nurl = \"amqp://user:hunter2@h\n",
            "bad.toml",
            &mut problems,
        );

        let error = problems.into_result(Some(())).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("bad.toml: line 2"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}
