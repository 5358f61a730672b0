//! A throwaway broker and Redis for the tests of a machine that has Docker and
//! nothing else.
//!
//! When `AMQP_URL` (or `REDIS_URL`) is unset and a Docker engine answers, the first
//! test of a process that asks for the broker (or Redis) starts a container with
//! testcontainers: `TESTKIT_RABBITMQ_IMAGE` (default `rabbitmq:3.13-management`) or
//! `TESTKIT_REDIS_IMAGE` (default `redis:7-alpine`), its ports published on
//! loopback. Every test of the process shares it; a watcher outside the process
//! removes it once the process has exited. Without Docker, the tests use the local
//! defaults (127.0.0.1:5672 and 127.0.0.1:6379), unless
//! `TESTKIT_REQUIRE_CONTAINERS` is set, which makes that an error: CI sets it to
//! prove that a run used containers and not the machine's own services.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

/// A container started for this test process.
pub(crate) struct Started {
    /// The container's id, for `docker exec`.
    pub(crate) id: String,
    /// Loopback ports the container's ports are published on, by container port.
    pub(crate) ports: Vec<(u16, u16)>,
}

impl Started {
    /// The loopback port `container_port` is published on.
    pub(crate) fn port(&self, container_port: u16) -> u16 {
        self.ports
            .iter()
            .find(|(inside, _)| *inside == container_port)
            .map(|(_, outside)| *outside)
            .unwrap_or_else(|| panic!("port {container_port} is not published"))
    }
}

/// What to start for one service.
struct Service {
    /// The variable that names the service's URL for the tests.
    url_var: &'static str,
    /// The variable that names the image, and its default.
    image_var: &'static str,
    default_image: &'static str,
    /// The line the service logs once it accepts connections.
    ready: WaitFor,
    ports: &'static [u16],
}

static BROKER: OnceLock<Option<Started>> = OnceLock::new();
static REDIS: OnceLock<Option<Started>> = OnceLock::new();

/// The broker container, when this process started one.
pub(crate) fn broker() -> Option<&'static Started> {
    BROKER
        .get_or_init(|| {
            start(Service {
                url_var: "AMQP_URL",
                image_var: "TESTKIT_RABBITMQ_IMAGE",
                default_image: "rabbitmq:3.13-management",
                ready: WaitFor::message_on_stdout("Server startup complete"),
                ports: &[5672, 15692],
            })
        })
        .as_ref()
}

/// The Redis container, when this process started one.
pub(crate) fn redis() -> Option<&'static Started> {
    REDIS
        .get_or_init(|| {
            start(Service {
                url_var: "REDIS_URL",
                image_var: "TESTKIT_REDIS_IMAGE",
                default_image: "redis:7-alpine",
                ready: WaitFor::message_on_stdout("Ready to accept connections"),
                ports: &[6379],
            })
        })
        .as_ref()
}

fn start(service: Service) -> Option<Started> {
    let named = std::env::var(service.url_var).is_ok_and(|url| !url.is_empty());
    if named {
        return None;
    }
    let required = std::env::var_os("TESTKIT_REQUIRE_CONTAINERS").is_some();
    if !docker_answers() {
        assert!(
            !required,
            "TESTKIT_REQUIRE_CONTAINERS is set, {} is not, and no Docker engine answers",
            service.url_var
        );
        return None;
    }
    let image = std::env::var(service.image_var).unwrap_or_else(|_| service.default_image.into());
    let (name, tag) = image.rsplit_once(':').unwrap_or((image.as_str(), "latest"));
    let (name, tag) = (name.to_owned(), tag.to_owned());
    // The caller may be inside a runtime: the container starts on a thread of its own.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime for testcontainers");
        runtime.block_on(async move {
            let mut image = GenericImage::new(name, tag).with_wait_for(service.ready);
            for &port in service.ports {
                image = image.with_exposed_port(port.tcp());
            }
            let container = image
                .with_startup_timeout(std::time::Duration::from_secs(120))
                .start()
                .await
                .unwrap_or_else(|error| {
                    panic!("cannot start the {} image: {error}", service.image_var)
                });
            let mut ports = Vec::new();
            for &port in service.ports {
                let published = container
                    .get_host_port_ipv4(port)
                    .await
                    .expect("a published port");
                ports.push((port, published));
            }
            let id = container.id().to_owned();
            remove_when_this_process_exits(&id);
            // The watcher removes it; dropping it here would remove it now.
            std::mem::forget(container);
            Some(Started { id, ports })
        })
    })
    .join()
    .expect("the container starter")
}

fn docker_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Starts a watcher in a session of its own, so that it outlives this process (and
/// an interrupt sent to its process group), that removes `container` once this
/// process has exited.
fn remove_when_this_process_exits(container: &str) {
    let watcher =
        "while kill -0 \"$0\" 2>/dev/null; do sleep 1; done; docker rm -f \"$1\" >/dev/null 2>&1";
    let spawned = Command::new("setsid")
        .args(["sh", "-c", watcher])
        .arg(std::process::id().to_string())
        .arg(container)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(error) = spawned {
        eprintln!("no watcher will remove container {container}: {error}");
    }
}
