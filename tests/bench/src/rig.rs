//! The upstream side of a suite: a sandbox on a free local port, and the settings
//! that point workers at one of its connections.

use std::time::Duration;

use sandbox::{Sandbox, SandboxConfig};
use settings::Settings;

use crate::error::BenchError;

/// A running sandbox.
pub(crate) struct Rig {
    sandbox: Sandbox,
}

impl Rig {
    /// Starts a sandbox that adds `latency` to every request, on a free local port.
    pub(crate) async fn start(latency: Duration) -> Result<Rig, BenchError> {
        let config = SandboxConfig {
            latency,
            ..SandboxConfig::default()
        };
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let sandbox = Sandbox::start(config, address)
            .await
            .map_err(BenchError::Sandbox)?;
        Ok(Rig { sandbox })
    }

    /// The running sandbox, to read or change what its stand-ins hold.
    pub(crate) fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The default settings with `prefetch` deliveries per worker, and `connection`
    /// given a rate limit that never holds a request back plus `overrides`: keys of
    /// that connection (`BASE_URL`, `PAGE_SIZE`…) with their values.
    pub(crate) fn settings(
        &self,
        prefetch: u16,
        connection: &str,
        overrides: &[(&str, String)],
    ) -> Result<Settings, BenchError> {
        let key = |name: &str| {
            format!(
                "ESTAFETTE__CONNECTIONS__{}__{name}",
                connection.to_uppercase()
            )
        };
        let mut env = vec![
            ("AMQP_URL".to_owned(), testkit::amqp_url()),
            ("REDIS_URL".to_owned(), testkit::redis_url()),
            (
                "ESTAFETTE__BROKER__PREFETCH".to_owned(),
                prefetch.to_string(),
            ),
            (
                "ESTAFETTE__WORKER__DRAIN_GRACE_SECONDS".to_owned(),
                "5".to_owned(),
            ),
        ];
        env.extend([
            (key("RATE_LIMIT__REQUESTS"), RATE_REQUESTS.to_string()),
            (key("RATE_LIMIT__PER_SECONDS"), RATE_PER_SECONDS.to_string()),
            (key("RATE_LIMIT__BURST"), RATE_BURST.to_string()),
        ]);
        env.extend(
            overrides
                .iter()
                .map(|(name, setting)| (key(name), setting.clone())),
        );
        Ok(Settings::load(None, env)?)
    }

    /// Stops the sandbox.
    pub(crate) async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

/// Requests the connection may make per [`RATE_PER_SECONDS`]: far above what the
/// benchmark asks for, so the limiter never holds a request back.
pub(crate) const RATE_REQUESTS: u32 = 100_000;
/// The period of [`RATE_REQUESTS`], in seconds.
pub(crate) const RATE_PER_SECONDS: u32 = 1;
/// Requests the connection may make at once.
pub(crate) const RATE_BURST: u32 = 1000;
