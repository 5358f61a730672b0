//! The settings tree read from defaults, a file and the environment, and every
//! problem it reports.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;
use crate::test_file::TempFile;
use crate::{Api, Connection, Credentials, FanOut, PageSize, SignatureSettings};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn connection<'s>(settings: &'s Settings, name: &str) -> &'s Connection {
    settings
        .connections
        .get(name)
        .unwrap_or_else(|| panic!("connection {name} is configured"))
}

fn token_of(connection: &Connection) -> &str {
    match &connection.credentials {
        Credentials::Ds { token } => token.expose_secret(),
        other => panic!("expected ds credentials, found {other:?}"),
    }
}

fn password_of(connection: &Connection) -> &str {
    match &connection.credentials {
        Credentials::Divalto(login) => login.password.expose_secret(),
        other => panic!("expected divalto credentials, found {other:?}"),
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
fn defaults_alone_reach_a_local_broker_redis_and_the_sandbox() {
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
    assert_eq!(settings.worker.max_attempts, 8);
    assert_eq!(settings.worker.max_retry_delay, Duration::from_secs(60));
    assert_eq!(settings.broker.reconnect_timeout, Duration::from_secs(120));
    assert_eq!(settings.broker.confirm_timeout, Duration::from_secs(30));
    assert_eq!(settings.state.url.expose_secret(), "redis://127.0.0.1:6379");
    assert_eq!(settings.state.job_ttl, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(settings.metrics.listen.to_string(), "0.0.0.0:9464");
    let sandbox = connection(&settings, "sandbox");
    assert_eq!(sandbox.api(), Api::Ds);
    assert_eq!(sandbox.base_url.as_str(), "http://127.0.0.1:8080");
    assert_eq!(token_of(sandbox), "sandbox-token");
    assert_eq!(sandbox.rate_limit, Api::Ds.default_rate_limit());
    assert_eq!(sandbox.page_size, PageSize::max(Api::Ds));
    assert_eq!(sandbox.request_timeout, Duration::from_secs(30));
    assert_eq!(sandbox.fan_out, FanOut::default());
    let names: Vec<&str> = settings
        .connections
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "sandbox",
            "sandbox_amienscope",
            "sandbox_apidae",
            "sandbox_divalto"
        ]
    );
}

#[test]
fn the_default_divalto_sandbox_keeps_its_base_path() {
    let settings = Settings::load(None, env(&[])).unwrap();

    let divalto = connection(&settings, "sandbox_divalto");
    assert_eq!(divalto.api(), Api::Divalto);
    assert_eq!(divalto.base_url.as_str(), "http://127.0.0.1:8080/divalto");
    let Credentials::Divalto(login) = &divalto.credentials else {
        panic!("expected divalto credentials");
    };
    assert_eq!(login.domain, "");
    assert_eq!(login.user, "sandbox@sandbox.local");
    assert_eq!(login.password.expose_secret(), "sandbox-password");
    assert_eq!(login.environment, "SANDBOX");
    assert_eq!(login.token_lifetime, Duration::from_secs(1500));
    assert_eq!(divalto.rate_limit, Api::Divalto.default_rate_limit());
    assert_eq!(divalto.page_size.get(), 1000);
    assert_eq!(divalto.fan_out.window.get(), 4);
    assert_eq!(divalto.fan_out.max_pages.get(), 100_000);
}

#[test]
fn the_default_amienscope_sandbox_keeps_its_base_path() {
    let settings = Settings::load(None, env(&[])).unwrap();

    let amienscope = connection(&settings, "sandbox_amienscope");
    assert_eq!(amienscope.api(), Api::Amienscope);
    assert_eq!(
        amienscope.base_url.as_str(),
        "http://127.0.0.1:8080/amienscope"
    );
    let Credentials::Amienscope(keys) = &amienscope.credentials else {
        panic!("expected amienscope credentials");
    };
    assert_eq!(keys.public_key, "sandboxpublickey0123456789abcdef");
    assert_eq!(keys.private_key.expose_secret(), "sandbox-private-key");
    assert_eq!(keys.email, "sandbox@example.org");
    assert_eq!(keys.signature, SignatureSettings::default());
    assert_eq!(keys.id_field, "id");
    assert_eq!(
        keys.tombstone_statuses,
        [1, 5, 6],
        "the statuses not visible to the public"
    );
    assert_eq!(amienscope.rate_limit, Api::Amienscope.default_rate_limit());
    assert_eq!(amienscope.page_size.get(), 50);
    assert_eq!(amienscope.fan_out.window.get(), 4);
}

#[test]
fn an_apidae_connection_takes_an_oauth_client_and_a_token_url() {
    let file = TempFile::new(
        "apidae-connection",
        r#"
        [connections.tourisme]
        api = "apidae"
        base_url = "https://api.apidae-tourisme.com/"
        token_url = "https://api.apidae-tourisme.com/oauth/token"
        client_id = "project-42"
        client_secret_env = "APIDAE_SECRET"
        page_size = 40
        "#,
    );
    let settings = Settings::load(Some(&file.0), env(&[("APIDAE_SECRET", "s3cret")])).unwrap();

    let apidae = connection(&settings, "tourisme");
    assert_eq!(apidae.api(), Api::Apidae);
    let Credentials::Apidae(client) = &apidae.credentials else {
        panic!("expected apidae credentials");
    };
    assert_eq!(
        client.token_url.as_str(),
        "https://api.apidae-tourisme.com/oauth/token"
    );
    assert_eq!(client.client_id, "project-42");
    assert_eq!(client.client_secret.expose_secret(), "s3cret");
    assert_eq!(apidae.page_size.get(), 40);
    assert!(!format!("{settings:?}").contains("s3cret"));

    let too_big = TempFile::new(
        "apidae-too-big",
        "[connections.tourisme]\napi = \"apidae\"\nbase_url = \"https://a.example/\"\n\
         token_url = \"https://a.example/oauth/token\"\nclient_id = \"p\"\n\
         client_secret = \"s\"\npage_size = 51\n",
    );
    let problems = problems_of(Settings::load(Some(&too_big.0), env(&[])));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("page size 51 is outside 1..=50")),
        "{problems:?}"
    );
}

#[test]
fn each_api_s_connection_takes_its_defaults_from_a_minimal_file() {
    let file = TempFile::new(
        "minimal-connections",
        r#"
[connections.d]
api = "ds"
base_url = "https://ds.example.test"
token = "ds-token"

[connections.dv]
api = "divalto"
base_url = "https://api.divaltocloud.com/123456/TEST1/"
user = "api@C123456.divalto.com"
password = "divalto-password"
environment = "ERP213"

[connections.am]
api = "amienscope"
base_url = "https://api.amienscope.fr"
public_key = "0123456789abcdef0123456789abcdef"
private_key = "amienscope-key"
email = "integration@example.org"
"#,
    );

    let settings = Settings::load(Some(&file.0), env(&[])).unwrap();

    let ds = connection(&settings, "d");
    assert_eq!(ds.api(), Api::Ds);
    assert_eq!(token_of(ds), "ds-token");
    assert_eq!(ds.rate_limit, Api::Ds.default_rate_limit());
    assert_eq!(ds.page_size.get(), 100);
    assert_eq!(ds.request_timeout, Connection::DEFAULT_REQUEST_TIMEOUT);
    assert_eq!(ds.fan_out, FanOut::default());

    let divalto = connection(&settings, "dv");
    assert_eq!(
        divalto.base_url.as_str(),
        "https://api.divaltocloud.com/123456/TEST1"
    );
    let Credentials::Divalto(login) = &divalto.credentials else {
        panic!("expected divalto credentials");
    };
    assert_eq!(login.domain, "");
    assert_eq!(login.user, "api@C123456.divalto.com");
    assert_eq!(login.password.expose_secret(), "divalto-password");
    assert_eq!(login.environment, "ERP213");
    assert_eq!(login.token_lifetime, Duration::from_secs(1500));
    assert_eq!(divalto.rate_limit, Api::Divalto.default_rate_limit());
    assert_eq!(divalto.page_size.get(), 1000);
    assert_eq!(divalto.request_timeout, Connection::DEFAULT_REQUEST_TIMEOUT);
    assert_eq!(divalto.fan_out, FanOut::default());

    let amienscope = connection(&settings, "am");
    let Credentials::Amienscope(keys) = &amienscope.credentials else {
        panic!("expected amienscope credentials");
    };
    assert_eq!(keys.public_key, "0123456789abcdef0123456789abcdef");
    assert_eq!(keys.private_key.expose_secret(), "amienscope-key");
    assert_eq!(keys.email, "integration@example.org");
    assert_eq!(keys.signature.template, "{method}\n{path}\n{datetime}");
    assert_eq!(keys.signature.hash, "sha256");
    assert_eq!(keys.signature.encoding, "hex");
    assert_eq!(keys.signature.datetime, "unix");
    assert_eq!(keys.id_field, "id");
    assert_eq!(amienscope.rate_limit, Api::Amienscope.default_rate_limit());
    assert_eq!(amienscope.page_size.get(), 50);
    assert_eq!(amienscope.fan_out, FanOut::default());
}

#[test]
fn every_optional_key_of_the_offset_apis_can_be_set() {
    let file = TempFile::new(
        "full-connections",
        r#"
[connections.dv]
api = "divalto"
base_url = "http://erp.test:8080/DhsDivaltoServiceDivaApiRest"
domain = "C123456.divalto.com"
user = "api"
password = "p"
environment = "ERP213"
token_lifetime_seconds = 600
page_size = 2
window = 1000
max_pages = 7

[connections.am]
api = "amienscope"
base_url = "https://api.amienscope.fr"
public_key = "k"
private_key = "p"
email = "e@example.org"
signature_template = "{datetime}{path}"
signature_hash = "sha1"
signature_encoding = "base64"
signature_datetime = "iso8601"
id_field = "event_id"
tombstone_statuses = [3, 5]
page_size = 2
window = 1
max_pages = 1
"#,
    );

    let settings = Settings::load(Some(&file.0), env(&[])).unwrap();

    let divalto = connection(&settings, "dv");
    let Credentials::Divalto(login) = &divalto.credentials else {
        panic!("expected divalto credentials");
    };
    assert_eq!(
        divalto.base_url.as_str(),
        "http://erp.test:8080/DhsDivaltoServiceDivaApiRest"
    );
    assert_eq!(login.domain, "C123456.divalto.com");
    assert_eq!(login.token_lifetime, Duration::from_secs(600));
    assert_eq!(divalto.page_size.get(), 2);
    assert_eq!(divalto.fan_out.window.get(), 1000);
    assert_eq!(divalto.fan_out.max_pages.get(), 7);

    let amienscope = connection(&settings, "am");
    let Credentials::Amienscope(keys) = &amienscope.credentials else {
        panic!("expected amienscope credentials");
    };
    assert_eq!(
        keys.signature,
        SignatureSettings {
            template: "{datetime}{path}".into(),
            hash: "sha1".into(),
            encoding: "base64".into(),
            datetime: "iso8601".into(),
        }
    );
    assert_eq!(keys.id_field, "event_id");
    assert_eq!(keys.tombstone_statuses, [3, 5]);
    assert_eq!(amienscope.page_size.get(), 2);
    assert_eq!(amienscope.fan_out.window.get(), 1);
    assert_eq!(amienscope.fan_out.max_pages.get(), 1);
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
    let from_amqp_url = Settings::load(None, env(&[("AMQP_URL", "amqp://ci:5672/%2f")])).unwrap();
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

    let prod = connection(&settings, "prod");
    assert_eq!(prod.base_url.as_str(), "https://ds.example.test");
    assert_eq!(token_of(prod), "prod-token");
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

    assert_eq!(token_of(connection(&settings, "sandbox")), "rotated");
}

#[test]
fn a_divalto_password_can_come_from_the_environment() {
    let settings = Settings::load(
        None,
        env(&[
            ("ESTAFETTE__CONNECTIONS__X__API", "divalto"),
            (
                "ESTAFETTE__CONNECTIONS__X__BASE_URL",
                "https://api.divaltocloud.com/1/TEST",
            ),
            ("ESTAFETTE__CONNECTIONS__X__USER", "api@d.test"),
            ("ESTAFETTE__CONNECTIONS__X__ENVIRONMENT", "ERP"),
            ("ESTAFETTE__CONNECTIONS__X__PASSWORD", "from-override"),
            ("ESTAFETTE__CONNECTIONS__X__WINDOW", "8"),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PASSWORD_ENV",
                "SANDBOX_DIVALTO_PASSWORD",
            ),
            ("SANDBOX_DIVALTO_PASSWORD", "from-variable"),
        ]),
    )
    .unwrap();

    let x = connection(&settings, "x");
    assert_eq!(password_of(x), "from-override");
    assert_eq!(x.fan_out.window.get(), 8);
    assert_eq!(
        password_of(connection(&settings, "sandbox_divalto")),
        "from-variable"
    );
}

#[test]
fn an_env_literal_password_replaces_a_file_password_env() {
    let file = TempFile::new(
        "password-env",
        "[connections.sandbox_divalto]\npassword_env = \"DIVALTO_PASSWORD\"\n",
    );

    let settings = Settings::load(
        Some(&file.0),
        env(&[(
            "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PASSWORD",
            "from-override",
        )]),
    )
    .unwrap();

    assert_eq!(
        password_of(connection(&settings, "sandbox_divalto")),
        "from-override"
    );
}

#[test]
fn missing_or_doubled_password_and_private_key_forms_are_problems() {
    let file = TempFile::new(
        "secret-forms",
        r#"
[connections.sandbox_divalto]
password_env = "DIVALTO_PASSWORD"
password_file = "/run/secrets/divalto"

[connections.sandbox_amienscope]
private_key_env = "AMIENSCOPE_KEY"
private_key_file = "/run/secrets/amienscope"

[connections.dv]
api = "divalto"
base_url = "http://127.0.0.1:1"
user = "u"
environment = "E"

[connections.am]
api = "amienscope"
base_url = "http://127.0.0.1:1"
public_key = "k"
email = "e@example.org"
"#,
    );

    let problems = problems_of(Settings::load(Some(&file.0), env(&[])));

    assert_eq!(
        problems,
        [
            "connections.am.private_key: is required: set one of private_key, private_key_env or private_key_file",
            "connections.dv.password: is required: set one of password, password_env or password_file",
            "connections.sandbox_amienscope.private_key: set only one of private_key, private_key_env and private_key_file",
            "connections.sandbox_divalto.password: set only one of password, password_env and password_file",
        ]
    );
}

#[test]
fn missing_required_keys_of_the_offset_apis_are_problems() {
    let problems = problems_of(Settings::load(
        None,
        env(&[
            ("ESTAFETTE__CONNECTIONS__DV__API", "divalto"),
            ("ESTAFETTE__CONNECTIONS__DV__USER", ""),
            ("ESTAFETTE__CONNECTIONS__AM__API", "amienscope"),
            ("ESTAFETTE__CONNECTIONS__AM__ID_FIELD", ""),
            ("ESTAFETTE__CONNECTIONS__AM__TOMBSTONE_STATUSES", "5,six"),
        ]),
    ));

    assert_eq!(
        problems,
        [
            "connections.am.base_url: is required",
            "connections.am.public_key: is required",
            "connections.am.private_key: is required: set one of private_key, private_key_env or private_key_file",
            "connections.am.email: is required",
            "connections.am.id_field: must not be empty",
            "connections.am.tombstone_statuses: expected a whole number, found \"six\"",
            "connections.dv.base_url: is required",
            "connections.dv.user: must not be empty",
            "connections.dv.password: is required: set one of password, password_env or password_file",
            "connections.dv.environment: is required",
        ]
    );
}

#[test]
fn another_api_s_credential_keys_are_unknown_keys() {
    let problems = problems_of(Settings::load(
        None,
        env(&[
            ("ESTAFETTE__CONNECTIONS__SANDBOX__PASSWORD", "p"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX__EMAIL", "e@example.org"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__TOKEN", "t"),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__SIGNATURE_HASH",
                "sha1",
            ),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__USER", "u"),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__PASSWORD_FILE",
                "/x",
            ),
        ]),
    ));

    assert_eq!(
        problems,
        [
            "connections.sandbox.email: unknown key",
            "connections.sandbox.password: unknown key",
            "connections.sandbox_amienscope.password_file: unknown key",
            "connections.sandbox_amienscope.user: unknown key",
            "connections.sandbox_divalto.signature_hash: unknown key",
            "connections.sandbox_divalto.token: unknown key",
        ]
    );
}

#[test]
fn window_and_max_pages_are_unknown_on_ds_and_bounded_elsewhere() {
    let problems = problems_of(Settings::load(
        None,
        env(&[
            ("ESTAFETTE__CONNECTIONS__SANDBOX__WINDOW", "4"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX__MAX_PAGES", "10"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__WINDOW", "1001"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__MAX_PAGES", "0"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__WINDOW", "0"),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__MAX_PAGES",
                "many",
            ),
        ]),
    ));

    assert_eq!(
        problems,
        [
            "connections.sandbox.max_pages: unknown key",
            "connections.sandbox.window: unknown key",
            "connections.sandbox_amienscope.window: must be between 1 and 1000, found 0",
            "connections.sandbox_amienscope.max_pages: expected a whole number, found \"many\"",
            "connections.sandbox_divalto.window: must be between 1 and 1000, found 1001",
            "connections.sandbox_divalto.max_pages: must be between 1 and 4294967295, found 0",
        ]
    );
}

#[test]
fn page_size_bounds_depend_on_the_api() {
    let problems = problems_of(Settings::load(
        None,
        env(&[
            ("ESTAFETTE__CONNECTIONS__SANDBOX__PAGE_SIZE", "101"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "1"),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__PAGE_SIZE",
                "51",
            ),
        ]),
    ));

    assert_eq!(
        problems,
        [
            "connections.sandbox.page_size: page size 101 is outside 1..=100, the range allowed for ds",
            "connections.sandbox_amienscope.page_size: page size 51 is outside 2..=50, the range allowed for amienscope",
            "connections.sandbox_divalto.page_size: page size 1 is outside 2..=1000, the range allowed for divalto",
        ]
    );

    let lowest = Settings::load(
        None,
        env(&[
            ("ESTAFETTE__CONNECTIONS__SANDBOX__PAGE_SIZE", "1"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PAGE_SIZE", "2"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__PAGE_SIZE", "2"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__PAGE_SIZE", "1"),
        ]),
    )
    .unwrap();
    for (_, connection) in &lowest.connections {
        assert_eq!(connection.page_size.get(), connection.api().min_page_size());
    }
}

#[test]
fn redis_url_sets_the_state_url_unless_the_explicit_override_is_given() {
    let from_redis_url = Settings::load(None, env(&[("REDIS_URL", "redis://ci:6379/1")])).unwrap();
    let explicit = Settings::load(
        None,
        env(&[
            ("REDIS_URL", "redis://ci:6379/1"),
            ("ESTAFETTE__STATE__URL", "rediss://explicit:6380"),
            ("ESTAFETTE__STATE__JOB_TTL_SECONDS", "60"),
        ]),
    )
    .unwrap();

    assert_eq!(
        from_redis_url.state.url.expose_secret(),
        "redis://ci:6379/1"
    );
    assert_eq!(explicit.state.url.expose_secret(), "rediss://explicit:6380");
    assert_eq!(explicit.state.job_ttl, Duration::from_secs(60));
}

#[test]
fn the_metrics_listen_address_is_overridden_and_checked() {
    let moved =
        Settings::load(None, env(&[("ESTAFETTE__METRICS__LISTEN", "127.0.0.1:0")])).unwrap();
    assert_eq!(moved.metrics.listen.to_string(), "127.0.0.1:0");

    let problems = problems_of(Settings::load(
        None,
        env(&[("ESTAFETTE__METRICS__LISTEN", "9464")]),
    ));
    assert_eq!(
        problems,
        ["metrics.listen: expected an ip address and port such as 0.0.0.0:9464, found \"9464\""]
    );
}

#[test]
fn a_bad_state_section_is_a_problem() {
    let problems = problems_of(Settings::load(
        None,
        env(&[
            ("REDIS_URL", "http://state.test"),
            ("ESTAFETTE__STATE__JOB_TTL_SECONDS", "0"),
            ("ESTAFETTE__STATE__TTL", "1"),
        ]),
    ));

    assert_eq!(
        problems,
        [
            "state.url: must be a redis:// or rediss:// url with a host",
            "state.job_ttl_seconds: must be more than zero seconds",
            "state.ttl: unknown key",
        ]
    );
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
password = "p"
window = 2
page_size = 101
rate_limit = { requests = 10, per_seconds = 0, burst = 11 }
request_timeout_seconds = "never"
colour = "blue"

[connections.capped]
api = "ds"
base_url = "http://127.0.0.1:1"
token_env = "UNSET_TOKEN"
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
            "connections.Bad.api: unknown api \"dz\", expected one of: ds, divalto, amienscope, apidae",
            "connections.Bad.base_url: must use http or https, found ftp",
            "connections.Bad.rate_limit.per_seconds: must be more than zero seconds",
            "connections.Bad.rate_limit.burst: must not exceed requests",
            "connections.Bad.request_timeout_seconds: expected a number of seconds, found \"never\"",
            "connections.Bad.colour: unknown key",
            "connections.capped.token: environment variable UNSET_TOKEN is not set",
            "connections.capped.page_size: page size 101 is outside 1..=100, the range allowed for ds",
        ]
    );
}

#[test]
fn unknown_sections_and_env_typos_are_problems() {
    let problems = problems_of(Settings::load(
        None,
        env(&[
            ("ESTAFETTE__BROKER__URLL", "amqp://x"),
            ("ESTAFETTE__METRIKS__PORT", "9000"),
            ("ESTAFETTE__METRICS__PORT", "9000"),
        ]),
    ));

    assert_eq!(
        problems,
        [
            "broker.urll: unknown key",
            "metrics.port: unknown key",
            "metriks: unknown key"
        ]
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
fn debug_output_never_shows_a_secret() {
    let settings = Settings::load(
        None,
        env(&[
            (
                "ESTAFETTE__BROKER__URL",
                "amqp://user:broker-hunter2@broker.test/%2f",
            ),
            ("REDIS_URL", "redis://:redis-hunter2@state.test:6379"),
            ("ESTAFETTE__CONNECTIONS__SANDBOX__TOKEN", "token-hunter2"),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_DIVALTO__PASSWORD",
                "password-hunter2",
            ),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_AMIENSCOPE__PRIVATE_KEY",
                "key-hunter2",
            ),
            (
                "ESTAFETTE__CONNECTIONS__SANDBOX_APIDAE__CLIENT_SECRET",
                "secret-hunter2",
            ),
        ]),
    )
    .unwrap();

    let debug = format!("{settings:?} {settings:#?}");

    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("sandbox-password"), "{debug}");
    assert!(!debug.contains("sandbox-private-key"), "{debug}");
    assert!(!debug.contains("sandbox-apidae-secret"), "{debug}");
    assert_eq!(debug.matches("REDACTED").count(), 2 * 6, "{debug}");
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
            ("REDIS_URL", "http://:redis-hunter2@state.test"),
            ("ESTAFETTE__CONNECTIONS__X__TOKEN", "token-hunter2"),
            ("ESTAFETTE__CONNECTIONS__X__TOKEN_FILE", "/run/secrets/x"),
            ("ESTAFETTE__CONNECTIONS__Y__API", "divalto"),
            ("ESTAFETTE__CONNECTIONS__Y__PASSWORD", "password-hunter2"),
            ("ESTAFETTE__CONNECTIONS__Y__PASSWORD_ENV", "Y_PASSWORD"),
            ("ESTAFETTE__CONNECTIONS__Z__API", "amienscope"),
            ("ESTAFETTE__CONNECTIONS__Z__PRIVATE_KEY", "key-hunter2"),
            ("ESTAFETTE__CONNECTIONS__Z__TOKEN", "token-hunter2"),
        ]),
    ))
    .join("\n");

    assert!(!problems.contains("hunter2"), "{problems}");
}
