//! The broker a command goes through, once the connection it names is known to exist
//! and to speak the right API.

use anyhow::Context as _;
use broker::{Broker, Topology, TopologyOptions};
use contract::WorkerKind;
use secrecy::ExposeSecret;
use settings::{Api, Settings};

/// Checks that the settings define `connection` for `api`, then connects to the
/// configured broker and declares `worker`'s topology.
pub(crate) async fn broker_for(
    connection: &str,
    api: Api,
    worker: WorkerKind,
) -> anyhow::Result<Broker> {
    let settings = Settings::from_process_env()?;
    match settings.connections.get(connection) {
        None => anyhow::bail!(
            "no connection named `{connection}` is configured; workers and this tool read the \
             same settings (ESTAFETTE_CONFIG and ESTAFETTE__CONNECTIONS__<NAME>__* variables)"
        ),
        Some(found) if found.api() != api => anyhow::bail!(
            "connection `{connection}` speaks {}, not {api}",
            found.api()
        ),
        Some(_) => {}
    }
    let broker = connect(&settings).await?;
    broker.declare(&[worker]).await?;
    Ok(broker)
}

/// Connects to the broker the settings name, under their topology prefix.
pub(crate) async fn connect(settings: &Settings) -> anyhow::Result<Broker> {
    let topology = Topology::new(TopologyOptions {
        queue_expires: settings.broker.queue_expires,
        ..TopologyOptions::named(settings.broker.prefix.clone())
    });
    connect_to(settings.broker.url.expose_secret(), topology).await
}

/// Connects to the broker, or explains how to get one.
pub(crate) async fn connect_to(url: &str, topology: Topology) -> anyhow::Result<Broker> {
    Broker::connect(url, topology).await.with_context(|| {
        format!(
            "no RabbitMQ answers at {}.\n\
             Start one with `docker compose up -d rabbitmq`, or install Debian's `rabbitmq-server` \
             package and run `rabbitmq-server -detached`; then set AMQP_URL if it is not on 127.0.0.1:5672",
            redact_password(url)
        )
    })
}

/// The URL with its password, if any, replaced by `***`.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn a_broker_password_is_never_printed() {
        assert_eq!(
            redact_password("amqp://guest:s3cret@host:5672/%2f"),
            "amqp://guest:***@host:5672/%2f"
        );
        assert_eq!(
            redact_password("amqp://127.0.0.1:5672/%2f"),
            "amqp://127.0.0.1:5672/%2f"
        );
    }
}
