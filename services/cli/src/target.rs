//! The broker a command goes through, once the connection it names is known to exist
//! and to speak the right API; or, with `--dry-run`, what would go through it.

use std::process::ExitCode;

use anyhow::Context as _;
use broker::{Broker, Outgoing, Topology, TopologyOptions};
use contract::Command;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::value::RawValue;
use settings::{Api, Settings};

/// `command` as the worker will read it: refused here, with the worker's reason, when
/// the worker would refuse it.
pub(crate) fn checked(command: Command) -> anyhow::Result<Command> {
    Command::from_json(&command.to_json())
        .map_err(|rejection| anyhow::anyhow!("{}", rejection.detail))
}

/// Checks that the settings define `connection` for `api`.
fn check_connection(settings: &Settings, connection: &str, api: Api) -> anyhow::Result<()> {
    match settings.connections.get(connection) {
        None => anyhow::bail!(
            "no connection named `{connection}` is configured; workers and this tool read the \
             same settings (ESTAFETTE_CONFIG and ESTAFETTE__CONNECTIONS__<NAME>__* variables)"
        ),
        Some(found) if found.api() != api => anyhow::bail!(
            "connection `{connection}` speaks {}, not {api}",
            found.api()
        ),
        Some(_) => Ok(()),
    }
}

/// Checks that the settings define the command's connection for `api`, then connects to
/// the configured broker and declares the topology of the command's worker.
pub(crate) async fn broker_for(command: &Command, api: Api) -> anyhow::Result<Broker> {
    let settings = Settings::from_process_env()?;
    check_connection(&settings, &command.meta.connection, api)?;
    let broker = connect(&settings).await?;
    broker.declare(&[command.body.worker()]).await?;
    Ok(broker)
}

/// What `--dry-run` prints: a message as the publisher would send it.
#[derive(Serialize)]
struct DryRun<'a> {
    exchange: String,
    routing_key: &'a str,
    mandatory: bool,
    properties: Properties<'a>,
    /// The body as its bytes would be (a raw value keeps its key order).
    body: &'a RawValue,
}

/// The AMQP properties of a published command.
#[derive(Serialize)]
struct Properties<'a> {
    content_type: &'static str,
    delivery_mode: u8,
    message_id: String,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// `--dry-run`: checks the command's connection as [`broker_for`] does, then prints
/// what publishing `command` would send (exchange, routing key, AMQP properties, and
/// the body exactly as its bytes would be) as one JSON object. Connects to nothing.
/// Left out: the `traceparent` header a real publish adds, new each time (optional for
/// other producers).
pub(crate) fn print_dry_run(command: &Command, api: Api) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_process_env()?;
    check_connection(&settings, &command.meta.connection, api)?;
    let topology = Topology::new(TopologyOptions::named(settings.broker.prefix.clone()));
    let outgoing = Outgoing::command(command, Vec::new());
    let route = topology.route(&outgoing.target);
    let body = RawValue::from_string(String::from_utf8(outgoing.body.clone())?)?;
    let message = DryRun {
        exchange: route.exchange,
        routing_key: route.routing_key,
        mandatory: route.mandatory,
        properties: Properties {
            content_type: broker::CONTENT_TYPE,
            delivery_mode: broker::DELIVERY_MODE,
            message_id: outgoing.message_id.to_string(),
            kind: outgoing.kind,
        },
        body: &body,
    };
    println!("{}", serde_json::to_string_pretty(&message)?);
    Ok(ExitCode::SUCCESS)
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
