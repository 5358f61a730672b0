//! The upstream side of a suite: a sandbox on a free local port, and the settings
//! that point workers at one of its connections.

use std::time::Duration;

use sandbox::{DsConfig, RateLimitConfig, Sandbox, SandboxConfig};
use settings::Settings;

use crate::error::BenchError;

/// A running sandbox.
pub(crate) struct Rig {
    sandbox: Sandbox,
}

impl Rig {
    /// Starts a sandbox that adds `latency` to every request, on a free local port.
    /// Its demarches-simplifiees stand-in admits every request: the suites measure
    /// Estafette, and the ratelimit suite the limiter Estafette itself applies.
    pub(crate) async fn start(latency: Duration) -> Result<Rig, BenchError> {
        let config = SandboxConfig {
            latency,
            ds: DsConfig {
                rate_limit: RateLimitConfig {
                    limit: u32::MAX,
                    window: Duration::from_secs(1),
                },
                ..DsConfig::default()
            },
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

    /// The default settings read from [`Rig::env`].
    pub(crate) fn settings(
        &self,
        prefetch: u16,
        connection: &str,
        overrides: &[(&str, String)],
    ) -> Result<Settings, BenchError> {
        Ok(Settings::load(
            None,
            self.env(prefetch, connection, overrides),
        )?)
    }

    /// The variables that give the default settings `prefetch` deliveries per worker,
    /// and `connection` a rate limit that never holds a request back plus `overrides`:
    /// keys of that connection (`BASE_URL`, `PAGE_SIZE`, `RATE_LIMIT__REQUESTS`…) with
    /// their values. A later variable of the same name wins.
    pub(crate) fn env(
        &self,
        prefetch: u16,
        connection: &str,
        overrides: &[(&str, String)],
    ) -> Vec<(String, String)> {
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
        env
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_override_wins_over_the_unlimited_rate() {
        let rig = Rig::start(Duration::ZERO).await.expect("sandbox starts");
        let settings = rig
            .settings(
                4,
                "sandbox",
                &[
                    ("RATE_LIMIT__REQUESTS", "20".to_owned()),
                    ("RATE_LIMIT__BURST", "1".to_owned()),
                ],
            )
            .expect("settings load");
        let sandbox = settings.connections.get("sandbox").expect("connection");
        assert_eq!(sandbox.rate_limit.requests.get(), 20);
        assert_eq!(sandbox.rate_limit.burst.get(), 1);
        assert_eq!(sandbox.rate_limit.per, Duration::from_secs(1));
        assert_eq!(settings.broker.prefetch, 4);
        rig.shutdown().await;
    }
}
