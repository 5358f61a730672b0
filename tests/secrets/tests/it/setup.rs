//! One sandbox that knows the run's secrets, settings that hold them in every form the
//! settings read (literal, `_env`, `_file`), and the three workers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use contract::WorkerKind;
use sandbox::{
    AmienscopeAccount, AmienscopeConfig, ApidaeChange, ApidaeConfig, ApidaeProject, DivaltoAccount,
    DivaltoChange, DivaltoConfig, DsConfig, FaultConfig, FaultPlan, RateLimitConfig, Sandbox,
    SandboxConfig, ScheduledChange, TokenConfig,
};
use settings::{SecretString, Settings};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::secrets::{
    AMIENSCOPE_EMAIL, AMIENSCOPE_PRIVATE_KEY, AMIENSCOPE_PUBLIC_KEY, AMIENSCOPE_WRONG_KEY,
    APIDAE_CLIENT_ID, APIDAE_CLIENT_SECRET, APIDAE_WRONG_SECRET, DIVALTO_PASSWORD, DIVALTO_USER,
    DIVALTO_WRONG_PASSWORD, DS_EXPIRED_TOKEN, DS_TOKEN,
};

/// The Divalto environment both Divalto connections name.
const DIVALTO_ENVIRONMENT: &str = "SANDBOX";
/// The variable that holds the DS token (`token_env`).
const DS_TOKEN_VAR: &str = "SECRETS_TEST_DS_TOKEN";
/// The variable that holds the Apidae client secret (`client_secret_env`).
const APIDAE_SECRET_VAR: &str = "SECRETS_TEST_APIDAE_SECRET";

/// The sandbox's request ordinals that fail: the run's first requests are the DS
/// sync's, so its second page meets a 500, then a dropped connection, and a later
/// page a 429.
fn faults() -> FaultConfig {
    FaultConfig {
        plan: FaultPlan {
            server_errors: [2].into(),
            dropped_connections: [3].into(),
            rate_limited: [5].into(),
        },
        ..FaultConfig::default()
    }
}

/// Every upstream knows exactly the good credentials; DS also knows the refused token,
/// as expired. Divalto and Apidae revoke their sessions after their first answer, so
/// each signs in again mid-job.
pub(crate) fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        ds: DsConfig {
            tokens: vec![
                TokenConfig::valid(DS_TOKEN),
                TokenConfig::expired(DS_EXPIRED_TOKEN),
            ],
            // A one-second window keeps the injected 429's reset close.
            rate_limit: RateLimitConfig {
                limit: 1000,
                window: Duration::from_secs(1),
            },
            ..DsConfig::default()
        },
        divalto: DivaltoConfig {
            accounts: vec![DivaltoAccount {
                domain: String::new(),
                user: DIVALTO_USER.to_owned(),
                password: SecretString::from(DIVALTO_PASSWORD),
                env: DIVALTO_ENVIRONMENT.to_owned(),
            }],
            scheduled_changes: vec![ScheduledChange::new(1, DivaltoChange::ExpireTokens)],
            ..DivaltoConfig::default()
        },
        amienscope: AmienscopeConfig {
            accounts: vec![AmienscopeAccount {
                public_key: AMIENSCOPE_PUBLIC_KEY.to_owned(),
                private_key: SecretString::from(AMIENSCOPE_PRIVATE_KEY),
                email: AMIENSCOPE_EMAIL.to_owned(),
            }],
            ..AmienscopeConfig::default()
        },
        apidae: ApidaeConfig {
            clients: vec![ApidaeProject::writer(
                APIDAE_CLIENT_ID,
                APIDAE_CLIENT_SECRET,
            )],
            scheduled_changes: vec![ScheduledChange::new(1, ApidaeChange::ExpireTokens)],
            ..ApidaeConfig::default()
        },
        faults: faults(),
        ..SandboxConfig::default()
    }
}

/// A directory of its own for the settings file and the secret files, removed on drop.
pub(crate) struct ConfigDir(PathBuf);

impl ConfigDir {
    pub(crate) fn create(prefix: &str) -> ConfigDir {
        let path = std::env::temp_dir().join(prefix);
        std::fs::create_dir_all(&path).expect("a directory for the settings");
        ConfigDir(path)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("the settings directory is writable");
        path
    }
}

impl Drop for ConfigDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The settings of every worker: the defaults' connections pointed at `sandbox` with
/// the run's secrets, and a refused twin of each (`ds_refused`, `divalto_refused`,
/// `amienscope_refused`, `apidae_refused`).
pub(crate) fn settings(sandbox: &Sandbox, dir: &ConfigDir) -> Settings {
    let base = sandbox.base_url();
    let divalto_password = dir.write("divalto-password", &format!("{DIVALTO_PASSWORD}\n"));
    let amienscope_key = dir.write("amienscope-wrong-key", &format!("{AMIENSCOPE_WRONG_KEY}\n"));
    let fast = "rate_limit = { requests = 100, per_seconds = 1, burst = 1 }";
    let file = dir.write(
        "estafette.toml",
        &format!(
            r#"
[worker]
transient_retry_delay_seconds = 0.05

[connections.sandbox]
base_url = "{base}"
token_env = "{DS_TOKEN_VAR}"
page_size = 50
{fast}

[connections.ds_refused]
api = "ds"
base_url = "{base}"
token = "{DS_EXPIRED_TOKEN}"

[connections.sandbox_divalto]
base_url = "{base}/divalto"
user = "{DIVALTO_USER}"
password_file = "{divalto_password}"
environment = "{DIVALTO_ENVIRONMENT}"
page_size = 10
{fast}

[connections.divalto_refused]
api = "divalto"
base_url = "{base}/divalto"
user = "{DIVALTO_USER}"
password = "{DIVALTO_WRONG_PASSWORD}"
environment = "{DIVALTO_ENVIRONMENT}"

[connections.sandbox_amienscope]
base_url = "{base}/amienscope"
public_key = "{AMIENSCOPE_PUBLIC_KEY}"
private_key = "{AMIENSCOPE_PRIVATE_KEY}"
email = "{AMIENSCOPE_EMAIL}"
page_size = 50
{fast}

[connections.amienscope_refused]
api = "amienscope"
base_url = "{base}/amienscope"
public_key = "{AMIENSCOPE_PUBLIC_KEY}"
private_key_file = "{amienscope_key}"
email = "{AMIENSCOPE_EMAIL}"

[connections.sandbox_apidae]
base_url = "{base}/apidae"
token_url = "{base}/apidae/oauth/token"
client_id = "{APIDAE_CLIENT_ID}"
client_secret_env = "{APIDAE_SECRET_VAR}"
page_size = 50
{fast}

[connections.apidae_refused]
api = "apidae"
base_url = "{base}/apidae"
token_url = "{base}/apidae/oauth/token"
client_id = "{APIDAE_CLIENT_ID}"
client_secret = "{APIDAE_WRONG_SECRET}"
"#,
            divalto_password = divalto_password.display(),
            amienscope_key = amienscope_key.display(),
        ),
    );
    let env = [
        ("AMQP_URL", testkit::amqp_url()),
        ("REDIS_URL", testkit::redis_url()),
        (DS_TOKEN_VAR, DS_TOKEN.to_owned()),
        (APIDAE_SECRET_VAR, APIDAE_CLIENT_SECRET.to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value));
    Settings::load(Some(Path::new(&file)), env).expect("test settings are valid")
}

/// The three workers, each the real `run` on its own broker connection.
pub(crate) struct Workers {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    pub(crate) async fn start(settings: &Settings, prefix: &str) -> Workers {
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        for kind in [
            WorkerKind::FetchPage,
            WorkerKind::WriteDescriptors,
            WorkerKind::SendStatus,
        ] {
            let broker = testkit::connect(prefix).await;
            let store = testkit::job_store(prefix).await;
            let settings = settings.clone();
            let shutdown = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                let ran = match kind {
                    WorkerKind::FetchPage => fetch_page::run(&settings, &broker, &store, shutdown)
                        .await
                        .map_err(|error| error.to_string()),
                    WorkerKind::WriteDescriptors => {
                        write_descriptors::run(&settings, &broker, &store, shutdown)
                            .await
                            .map_err(|error| error.to_string())
                    }
                    WorkerKind::SendStatus => {
                        send_status::run(&settings, &broker, &store, shutdown)
                            .await
                            .map_err(|error| error.to_string())
                    }
                };
                ran.unwrap_or_else(|error| panic!("{kind:?} stopped: {error}"));
                broker.close(Duration::from_secs(1)).await;
            }));
        }
        Workers { shutdown, tasks }
    }

    /// Asks every worker to drain and waits until all have stopped.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the worker drains in time")
                .expect("the worker task did not panic");
        }
    }
}
