//! `docker-compose.yml` checked against the repository without a Docker engine: the
//! files it builds from and mounts, the binaries `deploy/Dockerfile` copies (and
//! `.dockerignore` and `.ci/stack` let in and build), the sandbox's flags, the
//! workers' and the scheduler's broker, Redis and connection settings, the
//! scheduler's schedules, the start order, the published ports and the targets
//! Prometheus scrapes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use contract::WorkerKind;
use serde_norway::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The Dockerfile every Estafette service is built from, relative to the root.
const OUR_DOCKERFILE: &str = "deploy/Dockerfile";

/// The worker kinds, each of which needs its own service.
const WORKER_KINDS: [WorkerKind; 3] = [
    WorkerKind::FetchPage,
    WorkerKind::WriteDescriptors,
    WorkerKind::SendStatus,
];

/// The scheduler's binary. It runs like a worker (the workers' settings, broker,
/// Redis, metrics port and health check) but consumes no work queue.
const SCHEDULER_BINARY: &str = worker_metrics::SCHEDULER;

/// The estafette tool's binary: its command line is a subcommand, not flags.
const CLI_BINARY: &str = "estafette";

/// The file `.ci/stack` builds the release binaries of the prebuilt image with.
const CI_STACK: &str = ".ci/stack";

/// The kinds a schedule may publish, each with the `api` of the connections it may
/// name.
const SCHEDULED_KINDS: &[(&str, &str)] = &[
    ("ds.sync", "ds"),
    ("divalto.sync", "divalto"),
    ("amienscope.sync", "amienscope"),
];

/// Flags clap gives every binary without a field declaring them.
const CLAP_BUILT_IN_FLAGS: &[&str] = &["help", "version"];

/// Programs besides our binaries that a health check may run in our runtime image
/// (Debian's essential set, which `debian:bookworm-slim` keeps).
const RUNTIME_IMAGE_PROGRAMS: &[&str] = &["bash", "sh"];

/// The depends_on conditions Compose knows.
const CONDITIONS: &[&str] = &[
    "service_started",
    "service_healthy",
    "service_completed_successfully",
];

fn root() -> PathBuf {
    PathBuf::from(ROOT)
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

// ---------------------------------------------------------------------------
// docker-compose.yml

/// `text` with every `${NAME:-default}` and `${NAME-default}` replaced by its
/// default, as Compose reads it when no such variable is set.
fn with_defaults(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed ${...}") + start;
        let inner = &rest[start + 2..end];
        let default = inner
            .split_once(":-")
            .or_else(|| inner.split_once('-'))
            .map_or("", |(_, default)| default);
        out.push_str(default);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The services of docker-compose.yml as Compose reads it with no variable set,
/// anchors resolved and `<<` merges applied.
fn services() -> BTreeMap<String, Value> {
    parse_services(&with_defaults(&read("docker-compose.yml")))
}

/// The services as written, their `${...}` variables left in place.
fn services_as_written() -> BTreeMap<String, Value> {
    parse_services(&read("docker-compose.yml"))
}

fn parse_services(text: &str) -> BTreeMap<String, Value> {
    let mut document: Value = serde_norway::from_str(text).expect("docker-compose.yml parses");
    document.apply_merge().expect("docker-compose.yml merges");
    document
        .get("services")
        .and_then(Value::as_mapping)
        .expect("docker-compose.yml has services")
        .iter()
        .map(|(name, service)| {
            let name = name
                .as_str()
                .expect("a service name is a string")
                .to_owned();
            (name, service.clone())
        })
        .collect()
}

/// A command line as words: a list as is, a string split on whitespace.
fn words(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| scalar(item).expect("a command word is a scalar"))
            .collect(),
        Some(Value::String(line)) => line.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The program a container runs: the entrypoint's first word, else the command's.
fn program(service: &Value) -> Option<String> {
    let entrypoint = words(service.get("entrypoint"));
    match entrypoint.first() {
        Some(first) => Some(first.clone()),
        None => words(service.get("command")).first().cloned(),
    }
}

/// The Dockerfile a service is built from, relative to the root.
fn dockerfile(service: &Value) -> Option<PathBuf> {
    let build = service.get("build")?;
    let (context, file) = match build {
        Value::String(context) => (context.as_str(), "Dockerfile"),
        _ => (
            build.get("context").and_then(Value::as_str).unwrap_or("."),
            build
                .get("dockerfile")
                .and_then(Value::as_str)
                .unwrap_or("Dockerfile"),
        ),
    };
    Some(normalize(&Path::new(context).join(file)))
}

/// A relative path without `.` components.
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|component| !matches!(component, std::path::Component::CurDir))
        .collect()
}

fn built_from_our_dockerfile(service: &Value) -> bool {
    dockerfile(service).is_some_and(|path| path == Path::new(OUR_DOCKERFILE))
}

/// A service's environment, from either the mapping or the `KEY=value` list form.
fn environment(service: &Value) -> BTreeMap<String, String> {
    match service.get("environment") {
        Some(Value::Mapping(variables)) => variables
            .iter()
            .map(|(key, value)| {
                let key = key
                    .as_str()
                    .expect("a variable name is a string")
                    .to_owned();
                (key, scalar(value).unwrap_or_default())
            })
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((key, value)) => (key.to_owned(), value.to_owned()),
                None => (item.to_owned(), String::new()),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The services a service depends on, with their conditions.
fn depends_on(service: &Value) -> BTreeMap<String, String> {
    match service.get("depends_on") {
        Some(Value::Sequence(names)) => names
            .iter()
            .map(|name| {
                let name = name.as_str().expect("a dependency is a name").to_owned();
                (name, "service_started".to_owned())
            })
            .collect(),
        Some(Value::Mapping(dependencies)) => dependencies
            .iter()
            .map(|(name, spec)| {
                let name = name.as_str().expect("a dependency is a name").to_owned();
                let condition = spec
                    .get("condition")
                    .and_then(Value::as_str)
                    .unwrap_or("service_started");
                (name, condition.to_owned())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// A published port: the host port (if any) and the container port.
struct PortMapping {
    published: Option<u16>,
    target: u16,
}

fn port_number(text: &str) -> u16 {
    let text = text.split('/').next().unwrap_or(text);
    text.parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a single port"))
}

fn ports(service: &Value) -> Vec<PortMapping> {
    let Some(entries) = service.get("ports").and_then(Value::as_sequence) else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|entry| match entry {
            Value::Mapping(_) => PortMapping {
                published: entry
                    .get("published")
                    .and_then(scalar)
                    .map(|port| port_number(&port)),
                target: port_number(&entry.get("target").and_then(scalar).expect("a target")),
            },
            _ => {
                let text = scalar(entry).expect("a port is a scalar");
                let parts: Vec<&str> = text.split(':').collect();
                let target = port_number(parts.last().expect("a port"));
                let published = (parts.len() > 1).then(|| port_number(parts[parts.len() - 2]));
                PortMapping { published, target }
            }
        })
        .collect()
}

/// A bind mount: the host path and the container path.
struct BindMount {
    host: String,
    container: String,
}

fn bind_mounts(service: &Value) -> Vec<BindMount> {
    let Some(entries) = service.get("volumes").and_then(Value::as_sequence) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| match entry {
            Value::String(short) => {
                let mut parts = short.split(':');
                let host = parts.next()?.to_owned();
                let container = parts.next()?.to_owned();
                let is_path = host.starts_with('.') || host.starts_with('/');
                is_path.then_some(BindMount { host, container })
            }
            _ => (entry.get("type").and_then(Value::as_str) == Some("bind")).then(|| BindMount {
                host: entry
                    .get("source")
                    .and_then(Value::as_str)
                    .expect("a bind mount has a source")
                    .to_owned(),
                container: entry
                    .get("target")
                    .and_then(Value::as_str)
                    .expect("a bind mount has a target")
                    .to_owned(),
            }),
        })
        .collect()
}

/// The long flags of a command line, without their values.
fn flags(command: &[String]) -> Vec<String> {
    command
        .iter()
        .filter_map(|word| word.strip_prefix("--"))
        .map(|flag| flag.split('=').next().unwrap_or(flag).to_owned())
        .collect()
}

/// The value that follows `--flag` (or `--flag=value`) in a command line.
fn flag_value(command: &[String], flag: &str) -> Option<String> {
    let long = format!("--{flag}");
    command.iter().enumerate().find_map(|(index, word)| {
        if *word == long {
            command.get(index + 1).cloned()
        } else {
            word.strip_prefix(&format!("{long}=")).map(str::to_owned)
        }
    })
}

// ---------------------------------------------------------------------------
// The workspace's binaries and the Dockerfile

/// Every binary of the workspace, with the source file of its `main`.
fn our_binaries() -> BTreeMap<String, PathBuf> {
    let mut binaries = BTreeMap::new();
    for group in ["services", "shared", "tests"] {
        let entries = fs::read_dir(root().join(group)).expect("member folder");
        for entry in entries {
            let crate_dir = entry.expect("folder entry").path();
            let Ok(manifest) = fs::read_to_string(crate_dir.join("Cargo.toml")) else {
                continue;
            };
            binaries.extend(binaries_of(&manifest, &crate_dir));
        }
    }
    binaries
}

/// The binaries a manifest declares with `[[bin]]`, or its package's default binary.
fn binaries_of(manifest: &str, crate_dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut package = None;
    let mut declared = Vec::new();
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            if line == "[[bin]]" {
                declared.push((None, None));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match (section, key.trim()) {
            ("[package]", "name") => package = Some(value),
            ("[[bin]]", "name") => declared.last_mut().expect("a bin").0 = Some(value),
            ("[[bin]]", "path") => declared.last_mut().expect("a bin").1 = Some(value),
            _ => {}
        }
    }
    let default_main = crate_dir.join("src/main.rs");
    if declared.is_empty() {
        return match package {
            Some(name) if default_main.exists() => BTreeMap::from([(name, default_main)]),
            _ => BTreeMap::new(),
        };
    }
    declared
        .into_iter()
        .map(|(name, path)| {
            let name = name.expect("a [[bin]] has a name");
            let main = path.map_or_else(|| default_main.clone(), |path| crate_dir.join(path));
            (name, main)
        })
        .collect()
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn dockerfile_instructions() -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read(OUR_DOCKERFILE).lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                if !current.trim().is_empty() {
                    instructions.push(current.trim().to_owned());
                }
                current.clear();
            }
        }
    }
    instructions
}

/// The shell commands of the Dockerfile's `RUN` instructions, as word lists.
fn dockerfile_shell_commands() -> Vec<Vec<String>> {
    dockerfile_instructions()
        .iter()
        .filter_map(|instruction| instruction.strip_prefix("RUN "))
        .flat_map(|script| script.split("&&").flat_map(|part| part.split(';')))
        .map(|command| command.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The binaries the Dockerfile copies out of `target/release/`.
fn dockerfile_copied_binaries() -> BTreeSet<String> {
    dockerfile_shell_commands()
        .iter()
        .filter(|command| command.first().is_some_and(|word| word == "cp"))
        .flatten()
        .filter_map(|word| word.strip_prefix("target/release/"))
        .map(str::to_owned)
        .collect()
}

/// The binaries the Dockerfile's `cargo build` names with `--bin`; `None` when it
/// builds every binary (`--bins`, or no `--bin` at all).
fn dockerfile_built_binaries() -> Option<BTreeSet<String>> {
    let build = dockerfile_shell_commands()
        .into_iter()
        .find(|command| {
            command.iter().any(|word| word == "cargo") && command.contains(&"build".to_owned())
        })
        .expect("the Dockerfile runs cargo build");
    let named: BTreeSet<String> = build
        .iter()
        .zip(build.iter().skip(1))
        .filter(|(flag, _)| *flag == "--bin")
        .map(|(_, name)| name.clone())
        .collect();
    (!named.is_empty()).then_some(named)
}

/// The binaries the `prebuilt` target copies from a host build: the `COPY`
/// instructions that read `target/release/`, not another stage.
fn dockerfile_prebuilt_binaries() -> BTreeSet<String> {
    dockerfile_instructions()
        .iter()
        .filter(|instruction| instruction.starts_with("COPY ") && !instruction.contains("--from"))
        .flat_map(|instruction| instruction.split_whitespace())
        .filter_map(|word| word.strip_prefix("target/release/"))
        .map(str::to_owned)
        .collect()
}

/// The release binaries `.dockerignore` lets into the build context.
fn dockerignore_admitted_binaries() -> BTreeSet<String> {
    read(".dockerignore")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("!target/release/"))
        .map(str::to_owned)
        .collect()
}

/// The binaries `.ci/stack`'s `cargo build --release` names with `--bin`.
fn ci_stack_built_binaries() -> BTreeSet<String> {
    let script = read(CI_STACK);
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in script.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    let build = commands
        .iter()
        .map(|command| command.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.starts_with(&["cargo", "build", "--release"]))
        .unwrap_or_else(|| panic!("{CI_STACK} runs cargo build --release"));
    build
        .iter()
        .zip(build.iter().skip(1))
        .filter(|(flag, _)| **flag == "--bin")
        .map(|(_, name)| (*name).to_owned())
        .collect()
}

/// The long flags a clap `Parser` in `source` declares: each `#[arg(long ...)]`
/// field, kebab-cased, or its explicit `long = "..."` name.
fn declared_long_flags(source: &str) -> BTreeSet<String> {
    let mut declared = BTreeSet::new();
    let mut pending: Option<Option<String>> = None;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[arg(") && line.contains("long") {
            let explicit = line
                .split_once("long = \"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(name, _)| name.to_owned());
            pending = Some(explicit);
            continue;
        }
        let Some(explicit) = pending.as_ref() else {
            continue;
        };
        if line.starts_with("///") || line.starts_with("#[") || line.is_empty() {
            continue;
        }
        if let Some((field, _)) = line.trim_start_matches("pub ").split_once(':') {
            let name = explicit
                .clone()
                .unwrap_or_else(|| field.trim().replace('_', "-"));
            declared.insert(name);
        }
        pending = None;
    }
    declared
}

// ---------------------------------------------------------------------------
// shared/settings/defaults.toml

/// The string keys of every `[connections.<name>]` section of the defaults.
fn default_connections() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut connections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in read("shared/settings/defaults.toml").lines().map(str::trim) {
        if line.starts_with('[') {
            current = line
                .strip_prefix("[connections.")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_owned);
            if let Some(name) = &current {
                connections.entry(name.clone()).or_default();
            }
            continue;
        }
        let (Some(name), Some((key, value))) = (&current, line.split_once('=')) else {
            continue;
        };
        let value = value.trim();
        if let Some(text) = value
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
        {
            connections
                .get_mut(name)
                .expect("the section was opened")
                .insert(key.trim().to_owned(), text.to_owned());
        }
    }
    connections
}

/// The port of `metrics.listen` in the defaults.
fn default_metrics_port() -> u16 {
    let defaults = read("shared/settings/defaults.toml");
    let metrics = defaults
        .split_once("[metrics]")
        .expect("the defaults have a [metrics] section")
        .1;
    let listen = metrics
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("listen = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("metrics.listen is set");
    socket_port(listen)
}

fn socket_port(address: &str) -> u16 {
    port_number(address.rsplit_once(':').expect("host:port").1)
}

// ---------------------------------------------------------------------------
// Where services listen

/// The host and port a url names, the scheme's port when it names none.
fn url_host_port(url: &str) -> (String, u16) {
    let (scheme, rest) = url.split_once("://").expect("a url has a scheme");
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port_number(port)),
        None => {
            let port = match scheme {
                "amqp" => 5672,
                "redis" => 6379,
                "http" => 80,
                "https" => 443,
                other => panic!("no default port known for {other}"),
            };
            (authority.to_owned(), port)
        }
    }
}

fn worker_binaries() -> BTreeSet<&'static str> {
    WORKER_KINDS.iter().map(|kind| kind.as_str()).collect()
}

/// The binaries that run like workers: every worker kind's, and the scheduler's.
fn shell_binaries() -> BTreeSet<&'static str> {
    let mut binaries = worker_binaries();
    binaries.insert(SCHEDULER_BINARY);
    binaries
}

/// The ports a service accepts connections on inside the stack: a worker's or the
/// scheduler's `metrics.listen`, the sandbox's `--listen`, and every port it
/// publishes or exposes.
fn listening_ports(service: &Value) -> BTreeSet<u16> {
    let mut listening: BTreeSet<u16> = ports(service).iter().map(|port| port.target).collect();
    if let Some(exposed) = service.get("expose").and_then(Value::as_sequence) {
        listening.extend(
            exposed
                .iter()
                .filter_map(scalar)
                .map(|port| port_number(&port)),
        );
    }
    let program = program(service).unwrap_or_default();
    if shell_binaries().contains(program.as_str()) {
        let port = environment(service)
            .get("ESTAFETTE__METRICS__LISTEN")
            .map_or_else(default_metrics_port, |listen| socket_port(listen));
        listening.insert(port);
    }
    if program == "sandbox" {
        let command = words(service.get("command"));
        let listen = flag_value(&command, "listen").expect("the sandbox is given --listen");
        listening.insert(socket_port(&listen));
    }
    listening
}

/// Asserts that `url`, set by `owner`, names a service of the stack on a port it listens on.
fn assert_reaches_a_service(services: &BTreeMap<String, Value>, owner: &str, url: &str) -> String {
    let (host, port) = url_host_port(url);
    let target = services
        .get(&host)
        .unwrap_or_else(|| panic!("{owner}: {url} names no compose service"));
    assert!(
        listening_ports(target).contains(&port),
        "{owner}: {url}: {host} does not listen on {port}"
    );
    host
}

/// The services whose program is a worker binary or the scheduler.
fn shell_services(services: &BTreeMap<String, Value>) -> Vec<(&String, &Value)> {
    services
        .iter()
        .filter(|(_, service)| {
            program(service).is_some_and(|program| shell_binaries().contains(program.as_str()))
        })
        .collect()
}

/// The one service that runs `binary`.
fn service_running<'s>(
    services: &'s BTreeMap<String, Value>,
    binary: &str,
) -> (&'s String, &'s Value) {
    let runners: Vec<(&String, &Value)> = services
        .iter()
        .filter(|(_, service)| program(service).as_deref() == Some(binary))
        .collect();
    assert_eq!(
        runners.len(),
        1,
        "{binary} runs in {} services",
        runners.len()
    );
    runners[0]
}

/// The settings file a service names with `ESTAFETTE_CONFIG`, as the host path it
/// bind-mounts there; `None` when it names none.
fn mounted_settings_file(name: &str, service: &Value) -> Option<String> {
    let named = environment(service).get("ESTAFETTE_CONFIG")?.clone();
    let mount = bind_mounts(service)
        .into_iter()
        .find(|mount| mount.container == named)
        .unwrap_or_else(|| {
            panic!("{name}: ESTAFETTE_CONFIG names {named}, which it does not mount")
        });
    Some(normalize(Path::new(&mount.host)).display().to_string())
}

/// The `[schedules.<name>]` tables of a settings file, each as its keys and their
/// values (a string without its quotes, anything else as written).
fn schedules_of(file: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut schedules: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in read(file).lines().map(str::trim) {
        if line.starts_with('[') {
            current = line
                .strip_prefix("[schedules.")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_owned);
            if let Some(name) = &current {
                schedules.entry(name.clone()).or_default();
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (Some(name), Some((key, value))) = (&current, line.split_once('=')) else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or(value);
        schedules
            .get_mut(name)
            .expect("the table was opened")
            .insert(key.trim().to_owned(), value.to_owned());
    }
    schedules
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn every_service_has_an_image_or_a_build_whose_dockerfile_exists() {
    for (name, service) in services() {
        assert!(
            service.get("image").is_some() || service.get("build").is_some(),
            "{name} has neither image nor build"
        );
        if let Some(path) = dockerfile(&service) {
            assert!(
                root().join(&path).is_file(),
                "{name} builds from {}, which does not exist",
                path.display()
            );
        }
    }
}

#[test]
fn every_mounted_host_path_exists() {
    for (name, service) in services() {
        for mount in bind_mounts(&service) {
            assert!(
                root().join(&mount.host).exists(),
                "{name} mounts {}, which does not exist",
                mount.host
            );
        }
    }
}

#[test]
fn every_program_of_our_image_is_a_binary_the_dockerfile_builds_and_copies() {
    let binaries = our_binaries();
    let copied = dockerfile_copied_binaries();
    let built = dockerfile_built_binaries();
    assert!(
        !copied.is_empty(),
        "the Dockerfile copies no target/release binary"
    );
    for binary in &copied {
        assert!(
            binaries.contains_key(binary),
            "the Dockerfile copies {binary}, not ours"
        );
        if let Some(built) = &built {
            assert!(
                built.contains(binary),
                "the Dockerfile copies {binary} but does not build it"
            );
        }
    }
    for (name, service) in services()
        .iter()
        .filter(|(_, s)| built_from_our_dockerfile(s))
    {
        let program = program(service).unwrap_or_else(|| panic!("{name} names no program"));
        assert!(
            binaries.contains_key(&program),
            "{name} runs {program}, not one of our binaries"
        );
        assert!(
            copied.contains(&program),
            "{name} runs {program}, which the Dockerfile does not copy"
        );
    }
}

#[test]
fn our_binaries_are_started_with_flags_they_declare() {
    let binaries = our_binaries();
    for (name, service) in services()
        .iter()
        .filter(|(_, s)| built_from_our_dockerfile(s))
    {
        if service.get("entrypoint").is_some() {
            continue;
        }
        let command = words(service.get("command"));
        let Some(main) = command.first().and_then(|program| binaries.get(program)) else {
            continue;
        };
        let declared = declared_long_flags(&fs::read_to_string(main).expect("main source"));
        for flag in flags(&command) {
            assert!(
                declared.contains(&flag) || CLAP_BUILT_IN_FLAGS.contains(&flag.as_str()),
                "{name} passes --{flag}, which {} does not declare",
                main.display()
            );
        }
    }
    let sandbox = services()
        .into_values()
        .find(|s| program(s).as_deref() == Some("sandbox"));
    let sandbox = sandbox.expect("a service runs the sandbox");
    assert!(
        flag_value(&words(sandbox.get("command")), "listen")
            .is_some_and(|listen| listen.starts_with("0.0.0.0:")),
        "the sandbox must listen on every interface for the workers to reach it"
    );
}

#[test]
fn the_prebuilt_image_holds_what_the_build_stage_copies_ci_builds_and_the_context_admits() {
    let prebuilt = dockerfile_prebuilt_binaries();
    assert_eq!(
        prebuilt,
        dockerfile_copied_binaries(),
        "the prebuilt target and the build stage fill the image with the same binaries"
    );
    assert_eq!(
        dockerignore_admitted_binaries(),
        prebuilt,
        ".dockerignore must let in exactly the binaries the prebuilt target copies"
    );
    assert_eq!(
        ci_stack_built_binaries(),
        prebuilt,
        "{CI_STACK} must build exactly the binaries the prebuilt target copies"
    );
    for binary in shell_binaries() {
        assert!(prebuilt.contains(binary), "the image lacks {binary}");
    }
}

#[test]
fn every_worker_kind_and_the_scheduler_run_in_their_own_service_with_settable_replicas() {
    let services = services_as_written();
    for binary in shell_binaries() {
        let runners: Vec<&String> = services
            .iter()
            .filter(|(_, service)| program(service).as_deref() == Some(binary))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(runners.len(), 1, "{binary} runs in {runners:?}");
        let service = &services[runners[0]];
        let replicas = service
            .get("deploy")
            .and_then(|deploy| deploy.get("replicas"))
            .and_then(scalar)
            .unwrap_or_else(|| panic!("{} sets no deploy.replicas", runners[0]));
        let variable = format!("{}_REPLICAS", binary.to_uppercase().replace('-', "_"));
        assert!(
            replicas.starts_with(&format!("${{{variable}:-")),
            "{}: replicas `{replicas}` is not settable through {variable}",
            runners[0]
        );
        assert!(
            service.get("container_name").is_none(),
            "{} has a container_name, which forbids replicas",
            runners[0]
        );
    }
}

#[test]
fn workers_the_scheduler_and_the_cli_reach_the_broker_and_redis_by_service_name() {
    let services = services();
    let broker_users = services.iter().filter(|(_, service)| {
        program(service).is_some_and(|program| {
            shell_binaries().contains(program.as_str()) || program == CLI_BINARY
        })
    });
    let mut checked = 0;
    for (name, service) in broker_users {
        let environment = environment(service);
        for variable in ["AMQP_URL", "REDIS_URL"] {
            let url = environment
                .get(variable)
                .unwrap_or_else(|| panic!("{name} does not set {variable}"));
            let host = assert_reaches_a_service(&services, name, url);
            assert!(
                depends_on(service).contains_key(&host),
                "{name} reaches {host} without depending on it"
            );
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        WORKER_KINDS.len() + 2,
        "three workers, the scheduler and the cli"
    );
}

#[test]
fn the_scheduler_and_the_cli_read_the_mounted_schedules_of_sandbox_connections() {
    let services = services();
    let connections = default_connections();
    let (name, scheduler) = service_running(&services, SCHEDULER_BINARY);
    let file = mounted_settings_file(name, scheduler)
        .unwrap_or_else(|| panic!("{name} names no settings file: it has no schedule"));
    let schedules = schedules_of(&file);
    assert!(!schedules.is_empty(), "{file} configures no schedule");
    for (schedule, keys) in &schedules {
        let key = |key: &str| {
            keys.get(key)
                .unwrap_or_else(|| panic!("{file}: schedules.{schedule} sets no {key}"))
        };
        let kind = key("kind");
        let (_, api) = SCHEDULED_KINDS
            .iter()
            .find(|(known, _)| known == kind)
            .unwrap_or_else(|| panic!("{file}: schedules.{schedule}: {kind} is not a sync"));
        let connection = key("connection");
        let configured = connections.get(connection).unwrap_or_else(|| {
            panic!("{file}: schedules.{schedule} names {connection}, absent from defaults.toml")
        });
        assert_eq!(
            configured.get("api").map(String::as_str),
            Some(*api),
            "{file}: schedules.{schedule}: {connection} is no {api} connection"
        );
        assert!(
            keys.contains_key("every_seconds") != keys.contains_key("cron"),
            "{file}: schedules.{schedule} sets one of every_seconds and cron"
        );
        key("body");
    }
    // `estafette schedules` lists and starts the schedules its own settings name.
    let (cli_name, cli) = service_running(&services, CLI_BINARY);
    assert_eq!(
        mounted_settings_file(cli_name, cli).as_deref(),
        Some(file.as_str()),
        "{cli_name} reads the scheduler's settings file"
    );
}

#[test]
fn workers_reach_every_local_connection_through_the_sandbox_service() {
    let services = services();
    let connections = default_connections();
    let (sandbox_name, sandbox) = services
        .iter()
        .find(|(_, service)| program(service).as_deref() == Some("sandbox"))
        .expect("a service runs the sandbox");
    let sandbox_port = socket_port(
        &flag_value(&words(sandbox.get("command")), "listen").expect("the sandbox's --listen"),
    );
    for (name, service) in shell_services(&services) {
        let environment = environment(service);
        for (variable, url) in &environment {
            let Some(rest) = variable.strip_prefix("ESTAFETTE__CONNECTIONS__") else {
                continue;
            };
            let (connection, key) = rest.split_once("__").expect("connection and key");
            let connection = connection.to_lowercase();
            assert!(
                connections.contains_key(&connection),
                "{name}: {variable} names connection `{connection}`, absent from defaults.toml"
            );
            if ["BASE_URL", "TOKEN_URL"].contains(&key) {
                let (host, port) = url_host_port(url);
                assert_eq!(
                    &host, sandbox_name,
                    "{name}: {variable} must point at the sandbox"
                );
                assert_eq!(
                    port, sandbox_port,
                    "{name}: {variable} must use the sandbox's port"
                );
            }
        }
        for (connection, keys) in &connections {
            for key in ["base_url", "token_url"] {
                let Some(default) = keys.get(key) else {
                    continue;
                };
                let (host, _) = url_host_port(default);
                if host != "127.0.0.1" && host != "localhost" {
                    continue;
                }
                let variable = format!(
                    "ESTAFETTE__CONNECTIONS__{}__{}",
                    connection.to_uppercase(),
                    key.to_uppercase()
                );
                assert!(
                    environment.contains_key(&variable),
                    "{name} leaves {connection}.{key} on its own loopback: set {variable}"
                );
            }
        }
        assert!(
            depends_on(service).contains_key(sandbox_name),
            "{name} does not wait for the sandbox"
        );
    }
}

#[test]
fn depends_on_names_existing_services_with_known_conditions() {
    let services = services();
    for (name, service) in &services {
        for (dependency, condition) in depends_on(service) {
            let target = services
                .get(&dependency)
                .unwrap_or_else(|| panic!("{name} depends on {dependency}, not a service"));
            assert!(
                CONDITIONS.contains(&condition.as_str()),
                "{name}: unknown condition {condition}"
            );
            if condition == "service_healthy" {
                assert!(
                    target.get("healthcheck").is_some(),
                    "{name} waits for {dependency} to be healthy, but it has no healthcheck"
                );
            }
        }
    }
}

#[test]
fn redis_keeps_the_job_state_in_an_append_only_file_on_a_volume() {
    let services = services();
    let redis = &services["redis"];
    let command = words(redis.get("command"));
    assert_eq!(flag_value(&command, "appendonly").as_deref(), Some("yes"));
    assert_eq!(
        flag_value(&command, "appendfsync").as_deref(),
        Some("everysec")
    );
    let dir = flag_value(&command, "dir").expect("redis names its data directory");
    let volumes = words(redis.get("volumes"));
    assert!(
        volumes
            .iter()
            .any(|volume| volume.ends_with(&format!(":{dir}"))),
        "the data directory {dir} is a volume: {volumes:?}"
    );
}

#[test]
fn the_broker_redis_and_sandbox_are_waited_for_until_healthy() {
    let services = services();
    for (name, service) in shell_services(&services) {
        let dependencies = depends_on(service);
        for dependency in ["rabbitmq", "redis", "sandbox"] {
            assert_eq!(
                dependencies.get(dependency).map(String::as_str),
                Some("service_healthy"),
                "{name} must wait for {dependency} to be healthy"
            );
        }
    }
}

#[test]
fn health_checks_of_our_image_run_programs_it_has_on_ports_the_service_uses() {
    let binaries = our_binaries();
    for (name, service) in services()
        .iter()
        .filter(|(_, s)| built_from_our_dockerfile(s))
    {
        let Some(test) = service
            .get("healthcheck")
            .and_then(|check| check.get("test"))
        else {
            continue;
        };
        let words = words(Some(test));
        let command: Vec<&String> = match words.first().map(String::as_str) {
            Some("CMD") => words.iter().skip(1).collect(),
            Some("CMD-SHELL") => vec![&words[1]],
            _ => words.iter().collect(),
        };
        let first = command.first().expect("a health check runs something");
        let first = first.split_whitespace().next().unwrap_or_default();
        assert!(
            RUNTIME_IMAGE_PROGRAMS.contains(&first) || binaries.contains_key(first),
            "{name}'s health check runs {first}, which the runtime image lacks"
        );
        let script = command
            .iter()
            .map(|word| word.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        for probe in script.split("/dev/tcp/").skip(1) {
            let port = probe
                .split_once('/')
                .map(|(_, rest)| rest)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .expect("/dev/tcp/<host>/<port>");
            assert!(
                listening_ports(service).contains(&port_number(port)),
                "{name}'s health check probes port {port}, which it does not listen on"
            );
        }
    }
}

#[test]
fn published_host_ports_are_unique_and_replicated_services_publish_none() {
    let mut published: BTreeMap<u16, String> = BTreeMap::new();
    for (name, service) in services() {
        let replicated = service
            .get("deploy")
            .and_then(|d| d.get("replicas"))
            .is_some();
        for port in ports(&service) {
            let Some(host_port) = port.published else {
                continue;
            };
            assert!(
                !replicated,
                "{name} has replicas but publishes host port {host_port}"
            );
            if let Some(other) = published.insert(host_port, name.clone()) {
                panic!("host port {host_port} is published by both {other} and {name}");
            }
        }
    }
}

#[test]
fn prometheus_scrapes_compose_services_on_the_ports_they_listen_on() {
    let services = services();
    let config: Value =
        serde_norway::from_str(&read("deploy/prometheus.yml")).expect("prometheus.yml parses");
    let jobs = config
        .get("scrape_configs")
        .and_then(Value::as_sequence)
        .expect("scrape_configs");
    let mut scraped = BTreeSet::new();
    for job in jobs {
        let statics = job.get("static_configs").and_then(Value::as_sequence);
        for target in statics.into_iter().flatten().flat_map(|c| {
            c.get("targets")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
        }) {
            let target = target.as_str().expect("a target is host:port");
            let (host, port) = target.rsplit_once(':').expect("host:port");
            scraped.insert((host.to_owned(), port_number(port)));
        }
        let discovered = job.get("dns_sd_configs").and_then(Value::as_sequence);
        for config in discovered.into_iter().flatten() {
            let port = config
                .get("port")
                .and_then(Value::as_u64)
                .expect("a dns_sd port");
            let port = u16::try_from(port).expect("a port");
            for name in config
                .get("names")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let name = name.as_str().expect("a name").trim_start_matches("tasks.");
                scraped.insert((name.to_owned(), port));
            }
        }
    }
    for (host, port) in &scraped {
        let service = services
            .get(host)
            .unwrap_or_else(|| panic!("Prometheus scrapes {host}, not a compose service"));
        assert!(
            listening_ports(service).contains(port),
            "Prometheus scrapes {host}:{port}, but {host} does not listen on {port}"
        );
    }
    let metrics_port = default_metrics_port();
    for (name, _) in shell_services(&services) {
        assert!(
            scraped.contains(&(name.clone(), metrics_port)),
            "Prometheus does not scrape {name}:{metrics_port}"
        );
    }
}

#[test]
fn rabbitmq_gets_its_plugins_and_only_the_guest_user() {
    let services = services();
    let rabbitmq = services
        .values()
        .find(|service| {
            service
                .get("image")
                .and_then(Value::as_str)
                .is_some_and(|image| image.starts_with("rabbitmq:"))
        })
        .expect("a service runs RabbitMQ");
    let mounts = bind_mounts(rabbitmq);
    let mounted_from = |host: &str| {
        mounts
            .iter()
            .find(|mount| normalize(Path::new(&mount.host)) == Path::new(host))
            .map(|mount| mount.container.clone())
            .unwrap_or_else(|| panic!("RabbitMQ does not mount {host}"))
    };

    assert_eq!(
        mounted_from("deploy/rabbitmq/enabled_plugins"),
        "/etc/rabbitmq/enabled_plugins"
    );
    let plugins = read("deploy/rabbitmq/enabled_plugins");
    for plugin in ["rabbitmq_management", "rabbitmq_prometheus"] {
        assert!(plugins.contains(plugin), "enabled_plugins lacks {plugin}");
    }

    let conf_path = mounted_from("deploy/rabbitmq/rabbitmq.conf");
    assert!(
        conf_path == "/etc/rabbitmq/rabbitmq.conf"
            || (conf_path.starts_with("/etc/rabbitmq/conf.d/") && conf_path.ends_with(".conf")),
        "RabbitMQ does not read its configuration from {conf_path}"
    );
    let conf = read("deploy/rabbitmq/rabbitmq.conf");
    let definitions_path = conf
        .lines()
        .find_map(|line| line.trim().strip_prefix("load_definitions = "))
        .expect("rabbitmq.conf sets load_definitions");
    assert_eq!(
        mounted_from("deploy/rabbitmq/definitions.json"),
        definitions_path
    );

    let definitions: serde_json::Value =
        serde_json::from_str(&read("deploy/rabbitmq/definitions.json")).expect("definitions parse");
    let users: Vec<&str> = definitions["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|user| user["name"].as_str().expect("a user name"))
        .collect();
    assert_eq!(users, ["guest", "worker", "producer"]);
    for user in users {
        let granted = definitions["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .any(|grant| grant["user"] == user && grant["vhost"] == "/");
        assert!(granted, "{user} has no permissions on `/`");
    }
    let environment = environment(&services["fetch-page"]);
    assert!(
        environment["AMQP_URL"].starts_with("amqp://worker:worker@"),
        "the workers connect as the worker user"
    );
}

#[test]
fn the_cli_service_runs_estafette_on_demand() {
    let services = services();
    let cli = services
        .values()
        .find(|service| program(service).as_deref() == Some(CLI_BINARY))
        .expect("a service runs the estafette tool");
    assert_eq!(
        words(cli.get("entrypoint")),
        [CLI_BINARY],
        "its command is the subcommand"
    );
    let profiles = words(cli.get("profiles"));
    assert!(
        !profiles.is_empty(),
        "the cli runs with `docker compose run` only, so it needs a profile"
    );
    // A job waits in its queue for a worker: a replica restarting must not stop
    // the tool from publishing it and following its events.
    let waited_for: Vec<String> = depends_on(cli).into_keys().collect();
    assert_eq!(waited_for, ["rabbitmq", "redis"]);
}
