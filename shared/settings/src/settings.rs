//! The settings tree and how it is loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::broker::BrokerSettings;
use crate::connection::Connections;
use crate::fields::Fields;
use crate::layers;
use crate::problem::{Problems, SettingsError};
use crate::worker::WorkerSettings;

/// Variable naming the optional settings file.
const CONFIG_FILE_VAR: &str = "ESTAFETTE_CONFIG";

/// Everything a service is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The message broker.
    pub broker: BrokerSettings,
    /// Worker timings.
    pub worker: WorkerSettings,
    /// Upstream connections by name.
    pub connections: Connections,
}

impl Settings {
    /// Loads the defaults, then `file` if given, then the overrides found in
    /// `env` (`AMQP_URL` and `ESTAFETTE__*`); `token_env` credentials are
    /// looked up in `env` too. Fails with every problem found.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let mut problems = Problems::default();
        let merged = layers::stack(file, &env, &mut problems);
        let settings = read(Fields::root(merged), &env, &mut problems);
        problems.into_result(settings)
    }

    /// [`Settings::load`] with the process environment, and the file named
    /// by `ESTAFETTE_CONFIG` when it is set. Variables that are not valid
    /// UTF-8 are ignored.
    pub fn from_process_env() -> Result<Self, SettingsError> {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let file = env
            .get(CONFIG_FILE_VAR)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from);
        Self::load(file.as_deref(), env)
    }
}

fn read(
    mut root: Fields,
    env: &BTreeMap<String, String>,
    problems: &mut Problems,
) -> Option<Settings> {
    let broker = root
        .section("broker", problems)
        .and_then(|fields| BrokerSettings::read(fields, problems));
    let worker = root
        .section("worker", problems)
        .and_then(|fields| WorkerSettings::read(fields, problems));
    let connections = root
        .section("connections", problems)
        .and_then(|fields| Connections::read(fields, env, problems));
    root.finish(problems);
    Some(Settings {
        broker: broker?,
        worker: worker?,
        connections: connections?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::{Api, PageSize};

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    /// A settings file unique to the calling test, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, contents: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("settings-{}-{name}.toml", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn problems_of(result: Result<Settings, SettingsError>) -> Vec<String> {
        result
            .unwrap_err()
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn defaults_alone_reach_a_local_broker_and_the_sandbox() {
        let settings = Settings::load(None, env(&[])).unwrap();

        assert_eq!(
            settings.broker.url.expose_secret(),
            "amqp://127.0.0.1:5672/%2f"
        );
        assert_eq!(settings.broker.prefix, "estafette");
        assert_eq!(settings.broker.prefetch, 16);
        assert_eq!(settings.worker.drain_grace, Duration::from_secs(30));
        assert_eq!(
            settings.worker.transient_retry_delay,
            Duration::from_secs(2)
        );
        assert_eq!(settings.worker.max_rate_limit_wait, Duration::from_secs(65));
        let sandbox = settings.connections.get("sandbox").unwrap();
        assert_eq!(sandbox.api, Api::Ds);
        assert_eq!(sandbox.base_url.as_str(), "http://127.0.0.1:8080");
        assert_eq!(sandbox.token.expose_secret(), "sandbox-token");
        assert_eq!(sandbox.rate_limit, Api::Ds.default_rate_limit());
        assert_eq!(sandbox.page_size, PageSize::max(Api::Ds));
        assert_eq!(sandbox.request_timeout, Duration::from_secs(30));
        assert_eq!(settings.connections.iter().count(), 1);
    }

    #[test]
    fn an_env_override_beats_the_file_which_beats_the_defaults() {
        let file = TempFile::new(
            "precedence",
            "[broker]\nprefetch = 8\nprefix = \"from-file\"\n",
        );

        let settings =
            Settings::load(Some(&file.0), env(&[("ESTAFETTE__BROKER__PREFETCH", "32")])).unwrap();

        assert_eq!(settings.broker.prefetch, 32);
        assert_eq!(settings.broker.prefix, "from-file");
        assert_eq!(settings.worker.drain_grace, Duration::from_secs(30));
    }

    #[test]
    fn amqp_url_sets_the_broker_url_unless_the_explicit_override_is_given() {
        let from_amqp_url =
            Settings::load(None, env(&[("AMQP_URL", "amqp://ci:5672/%2f")])).unwrap();
        let explicit = Settings::load(
            None,
            env(&[
                ("AMQP_URL", "amqp://ci:5672/%2f"),
                ("ESTAFETTE__BROKER__URL", "amqp://explicit:5672/%2f"),
            ]),
        )
        .unwrap();

        assert_eq!(
            from_amqp_url.broker.url.expose_secret(),
            "amqp://ci:5672/%2f"
        );
        assert_eq!(
            explicit.broker.url.expose_secret(),
            "amqp://explicit:5672/%2f"
        );
    }

    #[test]
    fn a_connection_can_be_defined_entirely_from_the_environment() {
        let settings = Settings::load(
            None,
            env(&[
                ("ESTAFETTE__CONNECTIONS__PROD__API", "ds"),
                (
                    "ESTAFETTE__CONNECTIONS__PROD__BASE_URL",
                    "https://ds.example.test/",
                ),
                ("ESTAFETTE__CONNECTIONS__PROD__TOKEN_ENV", "DS_TOKEN"),
                ("ESTAFETTE__CONNECTIONS__PROD__PAGE_SIZE", "50"),
                ("ESTAFETTE__CONNECTIONS__PROD__RATE_LIMIT__REQUESTS", "100"),
                (
                    "ESTAFETTE__CONNECTIONS__PROD__RATE_LIMIT__PER_SECONDS",
                    "60",
                ),
                ("DS_TOKEN", "prod-token"),
            ]),
        )
        .unwrap();

        let prod = settings.connections.get("prod").unwrap();
        assert_eq!(prod.base_url.as_str(), "https://ds.example.test");
        assert_eq!(prod.token.expose_secret(), "prod-token");
        assert_eq!(prod.page_size.get(), 50);
        assert_eq!(prod.rate_limit.requests.get(), 100);
        assert_eq!(prod.rate_limit.burst.get(), 1);
        assert!(settings.connections.get("sandbox").is_some());
    }

    #[test]
    fn a_file_credential_replaces_the_default_literal_token() {
        let file = TempFile::new(
            "credential",
            "[connections.sandbox]\ntoken_env = \"SANDBOX_TOKEN\"\n",
        );

        let settings = Settings::load(Some(&file.0), env(&[("SANDBOX_TOKEN", "rotated")])).unwrap();

        let sandbox = settings.connections.get("sandbox").unwrap();
        assert_eq!(sandbox.token.expose_secret(), "rotated");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let file = TempFile::new(
            "many-problems",
            r#"
[broker]
prefetch = 0
prefixx = "typo"

[worker]
drain_grace_seconds = -1

[connections.Bad]
api = "dz"
base_url = "ftp://example.test"
token_env = "UNSET_TOKEN"
page_size = 101
rate_limit = { requests = 10, per_seconds = 0, burst = 11 }
request_timeout_seconds = "never"
colour = "blue"

[connections.capped]
api = "ds"
base_url = "http://127.0.0.1:1"
token = "t"
page_size = 101
"#,
        );

        let problems = problems_of(Settings::load(
            Some(&file.0),
            env(&[("ESTAFETTE__WORKER__MAX_RATE_LIMIT_WAIT_SECONDS", "soon")]),
        ));

        assert_eq!(
            problems,
            [
                "broker.prefetch: must be between 1 and 65535, found 0",
                "broker.prefixx: unknown key",
                "worker.drain_grace_seconds: must be a non-negative number of seconds, found -1",
                "worker.max_rate_limit_wait_seconds: expected a number of seconds, found \"soon\"",
                "connections.Bad: connection names are 1 to 64 characters of a-z, 0-9, _ and -",
                "connections.Bad.api: unknown api \"dz\", expected one of: ds",
                "connections.Bad.base_url: must use http or https, found ftp",
                "connections.Bad.token: environment variable UNSET_TOKEN is not set",
                "connections.Bad.rate_limit.per_seconds: must be more than zero seconds",
                "connections.Bad.rate_limit.burst: must not exceed requests",
                "connections.Bad.request_timeout_seconds: expected a number of seconds, found \"never\"",
                "connections.Bad.colour: unknown key",
                "connections.capped.page_size: page size 101 is outside 1..=100, the range ds serves",
            ]
        );
    }

    #[test]
    fn unknown_sections_and_env_typos_are_problems() {
        let problems = problems_of(Settings::load(
            None,
            env(&[
                ("ESTAFETTE__BROKER__URLL", "amqp://x"),
                ("ESTAFETTE__METRICS__PORT", "9000"),
            ]),
        ));

        assert_eq!(
            problems,
            ["broker.urll: unknown key", "metrics: unknown key"]
        );
    }

    #[test]
    fn a_missing_required_key_is_a_problem() {
        let problems = problems_of(Settings::load(
            None,
            env(&[("ESTAFETTE__CONNECTIONS__EMPTY__API", "ds")]),
        ));

        assert_eq!(
            problems,
            [
                "connections.empty.base_url: is required",
                "connections.empty.token: is required: set one of token, token_env or token_file",
            ]
        );
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_a_problem() {
        let file = TempFile::new("shape", "worker = 3\n[connections]\nsandbox = \"x\"\n");

        let problems = problems_of(Settings::load(Some(&file.0), env(&[])));

        assert_eq!(
            problems,
            [
                "worker: expected a table, found integer",
                "connections.sandbox: expected a table, found string",
            ]
        );
    }

    #[test]
    fn an_unreadable_file_is_a_problem() {
        let path = Path::new("/nonexistent/estafette.toml");

        let problems = problems_of(Settings::load(Some(path), env(&[])));

        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("/nonexistent/estafette.toml: cannot be read: "),
            "{problems:?}"
        );
    }

    #[test]
    fn debug_output_never_shows_a_token_or_broker_password() {
        let settings = Settings::load(
            None,
            env(&[
                (
                    "ESTAFETTE__BROKER__URL",
                    "amqp://user:broker-hunter2@broker.test/%2f",
                ),
                ("ESTAFETTE__CONNECTIONS__SANDBOX__TOKEN", "token-hunter2"),
            ]),
        )
        .unwrap();

        let debug = format!("{settings:?} {settings:#?}");

        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }

    #[test]
    fn problem_messages_never_show_a_secret() {
        let problems = problems_of(Settings::load(
            None,
            env(&[
                (
                    "ESTAFETTE__BROKER__URL",
                    "http://user:broker-hunter2@broker.test",
                ),
                ("ESTAFETTE__CONNECTIONS__X__TOKEN", "token-hunter2"),
                ("ESTAFETTE__CONNECTIONS__X__TOKEN_FILE", "/run/secrets/x"),
            ]),
        ))
        .join("\n");

        assert!(!problems.contains("hunter2"), "{problems}");
    }
}
