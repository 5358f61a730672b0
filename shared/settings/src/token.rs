//! A connection's credential: a literal, an environment variable or a file.

use std::collections::BTreeMap;

use secrecy::SecretString;

use crate::fields::{Fields, text};
use crate::problem::Problems;

/// The keys that can carry a credential; exactly one must be set.
pub(crate) const KEYS: [&str; 3] = ["token", "token_env", "token_file"];

/// Where a credential comes from.
enum Source {
    Literal(String),
    Variable(String),
    File(String),
}

/// The credential of the connection in `fields`, resolved against `env` or
/// the file system; missing or empty credentials are problems.
pub(crate) fn read(
    fields: &mut Fields,
    env: &BTreeMap<String, String>,
    problems: &mut Problems,
) -> Option<SecretString> {
    let key = fields.key("token");
    let mut sources = Vec::new();
    if let Some(literal) = fields.optional("token", problems, text) {
        sources.push(Source::Literal(literal));
    }
    if let Some(variable) = fields.optional("token_env", problems, text) {
        sources.push(Source::Variable(variable));
    }
    if let Some(path) = fields.optional("token_file", problems, text) {
        sources.push(Source::File(path));
    }
    let source = match sources.len() {
        1 => sources.pop()?,
        0 => {
            problems.push(
                key,
                "is required: set one of token, token_env or token_file",
            );
            return None;
        }
        _ => {
            problems.push(key, "set only one of token, token_env and token_file");
            return None;
        }
    };
    resolve(source, env)
        .map_err(|message| problems.push(key, message))
        .ok()
}

fn resolve(source: Source, env: &BTreeMap<String, String>) -> Result<SecretString, String> {
    let token = match source {
        Source::Literal(token) => token,
        Source::Variable(name) => env
            .get(&name)
            .cloned()
            .ok_or_else(|| format!("environment variable {name} is not set"))?,
        Source::File(path) => std::fs::read_to_string(&path)
            .map(|contents| contents.trim().to_owned())
            .map_err(|error| format!("cannot read {path}: {error}"))?,
    };
    if token.is_empty() {
        Err("is empty".to_owned())
    } else {
        Ok(SecretString::from(token))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use toml::{Table, Value};

    use super::*;

    fn read_from(toml: &str, env: &[(&str, &str)]) -> Result<String, Vec<String>> {
        let table: Table = toml.parse().unwrap();
        let env = env
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let mut problems = Problems::default();
        let mut fields =
            Fields::of("connections.a".into(), Value::Table(table), &mut problems).unwrap();
        let token = read(&mut fields, &env, &mut problems);
        problems
            .into_result(token)
            .map(|token| token.expose_secret().to_owned())
            .map_err(|error| error.problems().iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_literal_token_is_used_as_is() {
        assert_eq!(read_from("token = \"abc\"", &[]), Ok("abc".into()));
    }

    #[test]
    fn token_env_reads_the_named_variable_from_the_given_environment() {
        assert_eq!(
            read_from("token_env = \"DS_TOKEN\"", &[("DS_TOKEN", "from-env")]),
            Ok("from-env".into())
        );
    }

    #[test]
    fn token_file_reads_the_file_trimmed() {
        let path = std::env::temp_dir().join(format!("settings-token-{}", std::process::id()));
        std::fs::write(&path, "  from-file\n").unwrap();

        let token = read_from(
            &format!("token_file = {:?}", path.display().to_string()),
            &[],
        );

        std::fs::remove_file(&path).unwrap();
        assert_eq!(token, Ok("from-file".into()));
    }

    #[test]
    fn a_missing_credential_is_a_problem() {
        assert_eq!(
            read_from("", &[]),
            Err(vec![
                "connections.a.token: is required: set one of token, token_env or token_file"
                    .into()
            ])
        );
    }

    #[test]
    fn two_credentials_are_a_problem() {
        assert_eq!(
            read_from("token = \"a\"\ntoken_env = \"B\"", &[("B", "b")]),
            Err(vec![
                "connections.a.token: set only one of token, token_env and token_file".into()
            ])
        );
    }

    #[test]
    fn an_unset_variable_is_a_problem() {
        assert_eq!(
            read_from("token_env = \"NOPE\"", &[]),
            Err(vec![
                "connections.a.token: environment variable NOPE is not set".into()
            ])
        );
    }

    #[test]
    fn an_unreadable_file_is_a_problem() {
        let problems = read_from("token_file = \"/nonexistent/estafette-token\"", &[]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .starts_with("connections.a.token: cannot read /nonexistent/estafette-token: "),
            "{problems:?}"
        );
    }

    #[test]
    fn an_empty_token_is_a_problem() {
        assert_eq!(
            read_from("token_env = \"EMPTY\"", &[("EMPTY", "")]),
            Err(vec!["connections.a.token: is empty".into()])
        );
    }
}
