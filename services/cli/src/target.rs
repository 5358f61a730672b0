//! The broker a command goes through, once the connection it names is known to exist
//! and to speak the right API.

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
    crate::demo::connect(settings.broker.url.expose_secret(), topology).await
}
