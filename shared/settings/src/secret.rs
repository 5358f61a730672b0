//! A connection's secrets (`token`, `password`, `private_key`), each given as
//! a literal, an environment variable or a file.
//!
//! A secret called `name` is set by exactly one of its three forms: `name`
//! (the value itself), `name_env` (the variable holding it) or `name_file`
//! (a file holding it, trimmed).

use std::collections::BTreeMap;

use secrecy::SecretString;

use crate::fields::{Fields, text};
use crate::problem::Problems;

/// Every secret a connection may carry, whichever its API.
const NAMES: [&str; 4] = ["token", "password", "private_key", "client_secret"];

/// Suffix of the form naming an environment variable.
const ENV_SUFFIX: &str = "_env";

/// Suffix of the form naming a file.
const FILE_SUFFIX: &str = "_file";

/// The secret that `key` is one form of, if it is one.
pub(crate) fn secret_of(key: &str) -> Option<&'static str> {
    NAMES
        .into_iter()
        .find(|name| forms(name).iter().any(|form| form == key))
}

/// The three keys that can set the secret `name`: literal, variable, file.
pub(crate) fn forms(name: &str) -> [String; 3] {
    [
        name.to_owned(),
        format!("{name}{ENV_SUFFIX}"),
        format!("{name}{FILE_SUFFIX}"),
    ]
}

/// Where a secret comes from.
enum Source {
    Literal(String),
    Variable(String),
    File(String),
}

/// The secret `name` of the connection in `fields`, resolved against `env`
/// or the file system; a missing, doubly set or empty secret is a problem
/// recorded against `name`.
pub(crate) fn read(
    name: &str,
    fields: &mut Fields,
    env: &BTreeMap<String, String>,
    problems: &mut Problems,
) -> Option<SecretString> {
    let key = fields.key(name);
    let [literal, variable, file] = forms(name);
    let mut sources = Vec::new();
    if let Some(value) = fields.optional(&literal, problems, text) {
        sources.push(Source::Literal(value));
    }
    if let Some(value) = fields.optional(&variable, problems, text) {
        sources.push(Source::Variable(value));
    }
    if let Some(value) = fields.optional(&file, problems, text) {
        sources.push(Source::File(value));
    }
    let source = match sources.len() {
        1 => sources.pop()?,
        0 => {
            problems.push(
                key,
                format!("is required: set one of {literal}, {variable} or {file}"),
            );
            return None;
        }
        _ => {
            problems.push(
                key,
                format!("set only one of {literal}, {variable} and {file}"),
            );
            return None;
        }
    };
    resolve(source, env)
        .map_err(|message| problems.push(key, message))
        .ok()
}

fn resolve(source: Source, env: &BTreeMap<String, String>) -> Result<SecretString, String> {
    let secret = match source {
        Source::Literal(secret) => secret,
        Source::Variable(name) => env
            .get(&name)
            .cloned()
            .ok_or_else(|| format!("environment variable {name} is not set"))?,
        Source::File(path) => std::fs::read_to_string(&path)
            .map(|contents| contents.trim().to_owned())
            .map_err(|error| format!("cannot read {path}: {error}"))?,
    };
    if secret.is_empty() {
        Err("is empty".to_owned())
    } else {
        Ok(SecretString::from(secret))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use toml::{Table, Value};

    use super::*;

    fn read_from(name: &str, toml: &str, env: &[(&str, &str)]) -> Result<String, Vec<String>> {
        let table: Table = toml.parse().unwrap();
        let env = env
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let mut problems = Problems::default();
        let mut fields =
            Fields::of("connections.a".into(), Value::Table(table), &mut problems).unwrap();
        let secret = read(name, &mut fields, &env, &mut problems);
        fields.finish(&mut problems);
        problems
            .into_result(secret)
            .map(|secret| secret.expose_secret().to_owned())
            .map_err(|error| error.problems().iter().map(ToString::to_string).collect())
    }

    #[test]
    fn every_form_belongs_to_its_secret_and_nothing_else_does() {
        assert_eq!(secret_of("token"), Some("token"));
        assert_eq!(secret_of("password_env"), Some("password"));
        assert_eq!(secret_of("private_key_file"), Some("private_key"));
        assert_eq!(secret_of("user"), None);
        assert_eq!(secret_of("token_lifetime_seconds"), None);
    }

    #[test]
    fn a_literal_secret_is_used_as_is() {
        assert_eq!(read_from("token", "token = \"abc\"", &[]), Ok("abc".into()));
    }

    #[test]
    fn the_env_form_reads_the_named_variable_from_the_given_environment() {
        assert_eq!(
            read_from(
                "password",
                "password_env = \"DIVALTO_PASSWORD\"",
                &[("DIVALTO_PASSWORD", "from-env")]
            ),
            Ok("from-env".into())
        );
    }

    #[test]
    fn the_file_form_reads_the_file_trimmed() {
        let path = std::env::temp_dir().join(format!("settings-secret-{}", std::process::id()));
        std::fs::write(&path, "  from-file\n").unwrap();

        let secret = read_from(
            "private_key",
            &format!("private_key_file = {:?}", path.display().to_string()),
            &[],
        );

        std::fs::remove_file(&path).unwrap();
        assert_eq!(secret, Ok("from-file".into()));
    }

    #[test]
    fn a_missing_secret_is_a_problem_naming_its_forms() {
        assert_eq!(
            read_from("token", "", &[]),
            Err(vec![
                "connections.a.token: is required: set one of token, token_env or token_file"
                    .into()
            ])
        );
        assert_eq!(
            read_from("password", "", &[]),
            Err(vec![
                "connections.a.password: is required: set one of password, password_env or password_file"
                    .into()
            ])
        );
        assert_eq!(
            read_from("private_key", "", &[]),
            Err(vec![
                "connections.a.private_key: is required: set one of private_key, private_key_env or private_key_file"
                    .into()
            ])
        );
    }

    #[test]
    fn two_forms_of_one_secret_are_a_problem() {
        assert_eq!(
            read_from("token", "token = \"a\"\ntoken_env = \"B\"", &[("B", "b")]),
            Err(vec![
                "connections.a.token: set only one of token, token_env and token_file".into()
            ])
        );
        assert_eq!(
            read_from(
                "password",
                "password = \"a\"\npassword_file = \"/run/secrets/p\"",
                &[]
            ),
            Err(vec![
                "connections.a.password: set only one of password, password_env and password_file"
                    .into()
            ])
        );
        assert_eq!(
            read_from(
                "private_key",
                "private_key_env = \"A\"\nprivate_key_file = \"/run/secrets/k\"",
                &[("A", "a")]
            ),
            Err(vec![
                "connections.a.private_key: set only one of private_key, private_key_env and private_key_file"
                    .into()
            ])
        );
    }

    #[test]
    fn another_secret_s_forms_are_left_unread() {
        assert_eq!(
            read_from("password", "password = \"a\"\ntoken = \"b\"", &[]),
            Err(vec!["connections.a.token: unknown key".into()])
        );
    }

    #[test]
    fn an_unset_variable_is_a_problem() {
        assert_eq!(
            read_from("token", "token_env = \"NOPE\"", &[]),
            Err(vec![
                "connections.a.token: environment variable NOPE is not set".into()
            ])
        );
    }

    #[test]
    fn an_unreadable_file_is_a_problem() {
        let problems = read_from(
            "password",
            "password_file = \"/nonexistent/estafette-password\"",
            &[],
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with(
                "connections.a.password: cannot read /nonexistent/estafette-password: "
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn an_empty_secret_is_a_problem() {
        assert_eq!(
            read_from(
                "private_key",
                "private_key_env = \"EMPTY\"",
                &[("EMPTY", "")]
            ),
            Err(vec!["connections.a.private_key: is empty".into()])
        );
    }
}
