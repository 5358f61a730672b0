//! The Kubernetes manifests in `deploy/k8s/`, checked against the workspace: the
//! binaries the Deployments run, the queues KEDA watches, the port and probes the
//! workers and the scheduler serve, the Secret keys they read, the settings file
//! they mount and the schedules it holds.

use std::collections::{BTreeMap, BTreeSet};

use broker::{Topology, TopologyOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::catalogue::worker_kinds;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The folder of the manifests, relative to the workspace.
const MANIFESTS: &str = "deploy/k8s";

/// The Secret every credential is read from; no manifest holds it.
const CREDENTIALS_SECRET: &str = "estafette-credentials";

/// The keys of the credentials Secret, as `deploy/k8s/README.md` documents them.
const CREDENTIALS_KEYS: &[&str] = &[
    "amqp-url",
    "redis-url",
    "redis-password",
    "ds-token",
    "divalto-password",
    "amienscope-private-key",
    "apidae-client-secret",
];

/// The Secret key holding the broker URL, read by the workers and by KEDA.
const BROKER_URL_KEY: &str = "amqp-url";

/// The variables a worker reads its broker and job store from.
const URL_VARIABLES: &[&str] = &["AMQP_URL", "REDIS_URL"];

/// The key of the settings file in its ConfigMap.
const SETTINGS_FILE: &str = "estafette.toml";

/// The variable naming the settings file.
const SETTINGS_FILE_VARIABLE: &str = "ESTAFETTE_CONFIG";

/// The name of the container port the workers serve `metrics.listen` on.
const METRICS_PORT_NAME: &str = "metrics";

/// The secrets a connection may carry; written bare, a key holds the secret itself.
const SECRET_NAMES: &[&str] = &["token", "password", "private_key", "client_secret"];

/// The APIs a production settings file connects to, one connection each at least.
const APIS: &[&str] = &["ds", "divalto", "amienscope", "apidae"];

/// The scheduler's binary and Deployment. It runs like a worker but consumes no
/// work queue, so KEDA does not scale it.
const SCHEDULER: &str = worker_metrics::SCHEDULER;

/// The fewest replicas of the scheduler: one holds the lease, another is ready to
/// take it over.
const SCHEDULER_MIN_REPLICAS: u64 = 2;

/// The kinds a schedule may publish, each with the `api` of the connections it may
/// name.
const SCHEDULED_KINDS: &[(&str, &str)] = &[
    ("ds.sync", "ds"),
    ("divalto.sync", "divalto"),
    ("amienscope.sync", "amienscope"),
];

/// One document of a manifest file.
struct Manifest {
    file: String,
    document: Value,
}

impl Manifest {
    fn kind(&self) -> &str {
        text(&self.document["kind"], &format!("{}: kind", self.file))
    }

    fn name(&self) -> &str {
        text(
            &self.document["metadata"]["name"],
            &format!("{}: metadata.name", self.file),
        )
    }

    fn context(&self) -> String {
        format!("{} {} {}", self.file, self.kind(), self.name())
    }
}

fn read(path: &str) -> String {
    let path = format!("{WORKSPACE}/{path}");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
}

/// Every document of every `*.yaml` file of the manifests folder, by file name.
fn manifests() -> Vec<Manifest> {
    let folder = format!("{WORKSPACE}/{MANIFESTS}");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {folder}: {error}"))
        .map(|entry| {
            let entry = entry.expect("a folder entry is readable");
            entry.file_name().to_string_lossy().into_owned()
        })
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{folder} holds manifests");
    let mut manifests = Vec::new();
    for file in files {
        let text = read(&format!("{MANIFESTS}/{file}"));
        for (index, document) in serde_norway::Deserializer::from_str(&text).enumerate() {
            let document = Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{file}: document {index} is not YAML: {error}"));
            assert!(
                document.is_object(),
                "{file}: document {index} is not a mapping"
            );
            manifests.push(Manifest {
                file: file.clone(),
                document,
            });
        }
    }
    manifests
}

fn of_kind<'a>(manifests: &'a [Manifest], kind: &str) -> Vec<&'a Manifest> {
    manifests
        .iter()
        .filter(|manifest| manifest.kind() == kind)
        .collect()
}

fn names(manifests: &[Manifest], kind: &str) -> BTreeSet<String> {
    of_kind(manifests, kind)
        .into_iter()
        .map(|manifest| manifest.name().to_owned())
        .collect()
}

fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is text, not {value}"))
}

fn list<'a>(value: &'a Value, what: &str) -> &'a [Value] {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{what} is a list, not {value}"))
}

/// Every mapping in `value`, nested ones included, each with its key.
fn entries<'a>(value: &'a Value, found: &mut Vec<(&'a str, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                found.push((key, inner));
                entries(inner, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| entries(item, found)),
        _ => {}
    }
}

/// Every value in `document` stored under `key`, at any depth.
fn values_under<'a>(document: &'a Value, key: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    entries(document, &mut found);
    found
        .into_iter()
        .filter(|(name, _)| *name == key)
        .map(|(_, value)| value)
        .collect()
}

/// The worker kinds' names, which are also their binaries' and Deployments' names.
fn worker_names() -> BTreeSet<&'static str> {
    worker_kinds()
        .into_iter()
        .map(|kind| kind.as_str())
        .collect()
}

/// The names of the Deployments: one per worker kind, and the scheduler.
fn deployment_names() -> BTreeSet<String> {
    worker_names()
        .into_iter()
        .chain([SCHEDULER])
        .map(str::to_owned)
        .collect()
}

/// The Deployments a ScaledObject scales.
fn scaled_names(manifests: &[Manifest]) -> BTreeSet<&str> {
    of_kind(manifests, "ScaledObject")
        .into_iter()
        .map(|scaled| {
            text(
                &scaled.document["spec"]["scaleTargetRef"]["name"],
                &format!("{}: scaleTargetRef.name", scaled.context()),
            )
        })
        .collect()
}

/// The one container of a Deployment.
fn container(deployment: &Manifest) -> &Value {
    let containers = list(
        &deployment.document["spec"]["template"]["spec"]["containers"],
        &format!("{}: containers", deployment.context()),
    );
    assert_eq!(
        containers.len(),
        1,
        "{}: one container",
        deployment.context()
    );
    &containers[0]
}

/// The container's variables, by name.
fn variables(deployment: &Manifest) -> BTreeMap<&str, &Value> {
    let context = deployment.context();
    list(&container(deployment)["env"], &format!("{context}: env"))
        .iter()
        .map(|variable| {
            (
                text(&variable["name"], &format!("{context}: env name")),
                variable,
            )
        })
        .collect()
}

/// The `(name, key)` of the Secret a variable is read from, if it is.
fn secret_source(variable: &Value) -> Option<(&str, &str)> {
    let reference = variable["valueFrom"]["secretKeyRef"].as_object()?;
    Some((
        reference.get("name")?.as_str()?,
        reference.get("key")?.as_str()?,
    ))
}

/// The settings file the ConfigMaps carry: exactly one holds it.
fn settings_file(manifests: &[Manifest]) -> (&Manifest, &str) {
    let holders: Vec<(&Manifest, &str)> = of_kind(manifests, "ConfigMap")
        .into_iter()
        .filter_map(|map| {
            let file = map.document["data"][SETTINGS_FILE].as_str()?;
            Some((map, file))
        })
        .collect();
    assert_eq!(
        holders.len(),
        1,
        "exactly one ConfigMap holds {SETTINGS_FILE}"
    );
    holders[0]
}

/// The `section.key = value` assignments of a flat TOML file: section headers,
/// single-line assignments, comments and blank lines. A line of any other shape
/// fails the test rather than be misread.
fn assignments(file: &str, origin: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut found = Vec::new();
    for (index, line) in file.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header
                .strip_suffix(']')
                .filter(|header| !header.starts_with('['))
                .unwrap_or_else(|| panic!("{origin} line {}: a table header", index + 1));
            section = header.trim().to_owned();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{origin} line {}: `key = value`", index + 1));
        let key = key.trim();
        assert!(
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{origin} line {}: a bare key",
            index + 1
        );
        found.push((format!("{section}.{key}"), value.trim().to_owned()));
    }
    found
}

/// A TOML value read as text: a basic string without its quotes, anything else as written.
fn unquoted(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|value| value.strip_suffix('"'))
        .unwrap_or(value)
}

/// The settings a worker of these manifests starts with, for the keys outside
/// `connections`: the reviewed defaults, then the mounted file.
fn layered_settings(manifests: &[Manifest]) -> BTreeMap<String, String> {
    let defaults = read("shared/settings/defaults.toml");
    let (_, file) = settings_file(manifests);
    assignments(&defaults, "defaults.toml")
        .into_iter()
        .chain(assignments(file, SETTINGS_FILE))
        .filter(|(key, _)| !key.starts_with("connections."))
        .map(|(key, value)| (key, unquoted(&value).to_owned()))
        .collect()
}

fn setting<'a>(settings: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    settings
        .get(key)
        .unwrap_or_else(|| panic!("the settings set {key}"))
}

/// The port of `metrics.listen`.
fn metrics_port(manifests: &[Manifest]) -> u64 {
    let settings = layered_settings(manifests);
    let listen = setting(&settings, "metrics.listen");
    let (_, port) = listen
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("metrics.listen {listen} names a port"));
    port.parse()
        .unwrap_or_else(|_| panic!("metrics.listen {listen} names a numeric port"))
}

/// The user the image runs as: the `--uid` its Dockerfile creates the user with.
fn image_user() -> u64 {
    let dockerfile = read("deploy/Dockerfile");
    let (_, after) = dockerfile
        .split_once("--uid ")
        .expect("the Dockerfile creates its user with --uid");
    let uid: String = after.chars().take_while(char::is_ascii_digit).collect();
    uid.parse().expect("the Dockerfile's --uid is a number")
}

#[test]
fn every_document_names_its_api_version_kind_and_name_in_the_estafette_namespace() {
    let manifests = manifests();
    let namespaces = names(&manifests, "Namespace");
    assert_eq!(namespaces.len(), 1, "one Namespace: {namespaces:?}");
    for manifest in &manifests {
        let context = manifest.context();
        assert!(
            !text(&manifest.document["apiVersion"], &context).is_empty(),
            "{context}: apiVersion"
        );
        assert!(!manifest.name().is_empty(), "{context}: metadata.name");
        if manifest.kind() != "Namespace" {
            let namespace = text(
                &manifest.document["metadata"]["namespace"],
                &format!("{context}: metadata.namespace"),
            );
            assert!(namespaces.contains(namespace), "{context}: in {namespace}");
        }
    }
}

#[test]
fn the_manifests_deploy_every_worker_kind_and_the_scheduler_and_scale_only_the_workers() {
    let manifests = manifests();
    let workers: BTreeSet<String> = worker_names().into_iter().map(str::to_owned).collect();
    let deployments = deployment_names();

    assert_eq!(names(&manifests, "Deployment"), deployments);
    assert_eq!(of_kind(&manifests, "Deployment").len(), deployments.len());
    let targets: Vec<&str> = of_kind(&manifests, "ScaledObject")
        .into_iter()
        .map(|scaled| {
            text(
                &scaled.document["spec"]["scaleTargetRef"]["name"],
                &format!("{}: scaleTargetRef.name", scaled.context()),
            )
        })
        .collect();
    assert_eq!(targets.len(), workers.len(), "one ScaledObject per worker");
    assert_eq!(
        targets
            .iter()
            .map(|&name| name.to_owned())
            .collect::<BTreeSet<_>>(),
        workers,
        "each ScaledObject scales a Deployment of the manifests"
    );
    assert_eq!(of_kind(&manifests, "ConfigMap").len(), 1);
    assert!(!of_kind(&manifests, "TriggerAuthentication").is_empty());
    assert!(
        of_kind(&manifests, "Secret").is_empty(),
        "no manifest holds a Secret: credentials stay out of the repository"
    );
}

#[test]
fn keda_owns_the_workers_replicas_and_the_scheduler_sets_its_own() {
    let manifests = manifests();
    let scaled = scaled_names(&manifests);
    for deployment in of_kind(&manifests, "Deployment") {
        let context = deployment.context();
        let replicas = &deployment.document["spec"]["replicas"];
        if scaled.contains(deployment.name()) {
            // Applying the file again must not undo what KEDA scaled.
            assert!(replicas.is_null(), "{context}: replicas left to KEDA");
            continue;
        }
        assert_eq!(deployment.name(), SCHEDULER, "{context}: nothing scales it");
        let replicas = replicas
            .as_u64()
            .unwrap_or_else(|| panic!("{context}: sets replicas, since nothing scales it"));
        assert!(
            replicas >= SCHEDULER_MIN_REPLICAS,
            "{context}: {replicas} replicas, none to take the lease over"
        );
    }
}

#[test]
fn each_deployment_runs_the_binary_of_its_worker_kind() {
    let manifests = manifests();
    for deployment in of_kind(&manifests, "Deployment") {
        let name = deployment.name();
        let command = &container(deployment)["command"];
        assert_eq!(command, &serde_json::json!([name]), "{name}: command");
        let manifest = read(&format!("services/{name}/Cargo.toml"));
        assert!(
            manifest
                .lines()
                .any(|line| line.trim() == format!("name = \"{name}\"")),
            "services/{name} is the package {name}"
        );
        assert!(
            !manifest.contains("[[bin]]"),
            "services/{name}'s binary keeps its package's name"
        );
        let main = format!("{WORKSPACE}/services/{name}/src/main.rs");
        assert!(std::path::Path::new(&main).is_file(), "{name} has a binary");
        assert!(
            read("deploy/Dockerfile")
                .split_whitespace()
                .any(|word| word == format!("target/release/{name}")),
            "the image holds {name}"
        );
        assert!(
            !text(&container(deployment)["image"], "image").is_empty(),
            "{name}: image"
        );
    }
}

#[test]
fn each_deployment_probes_and_exposes_the_metrics_port() {
    let manifests = manifests();
    let port = metrics_port(&manifests);
    for deployment in of_kind(&manifests, "Deployment") {
        let context = deployment.context();
        let container = container(deployment);
        let ports = list(&container["ports"], &format!("{context}: ports"));
        assert!(
            ports.iter().any(|declared| {
                declared["name"] == METRICS_PORT_NAME && declared["containerPort"] == port
            }),
            "{context}: port {METRICS_PORT_NAME} is {port}"
        );
        for (probe, path) in [("livenessProbe", "/livez"), ("readinessProbe", "/readyz")] {
            let get = &container[probe]["httpGet"];
            assert_eq!(get["path"], path, "{context}: {probe} path");
            assert!(
                get["port"] == METRICS_PORT_NAME || get["port"] == port,
                "{context}: {probe} on the metrics port"
            );
        }
        let annotations = &deployment.document["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{context}");
        assert_eq!(
            annotations["prometheus.io/port"],
            port.to_string(),
            "{context}"
        );
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{context}");
    }
}

#[test]
fn each_deployment_gives_its_worker_longer_than_the_drain_grace_to_stop() {
    let manifests = manifests();
    let settings = layered_settings(&manifests);
    let drain_grace: f64 = setting(&settings, "worker.drain_grace_seconds")
        .parse()
        .expect("worker.drain_grace_seconds is a number");
    for deployment in of_kind(&manifests, "Deployment") {
        let grace =
            deployment.document["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
                .as_u64()
                .unwrap_or_else(|| {
                    panic!("{}: terminationGracePeriodSeconds", deployment.context())
                });
        assert!(
            grace as f64 > drain_grace,
            "{}: {grace} s is not longer than the drain grace, {drain_grace} s",
            deployment.context()
        );
    }
}

#[test]
fn each_deployment_bounds_its_resources_and_runs_as_the_images_user_read_only() {
    let manifests = manifests();
    let user = image_user();
    for deployment in of_kind(&manifests, "Deployment") {
        let context = deployment.context();
        let container = container(deployment);
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"][bound][resource].is_string(),
                    "{context}: resources.{bound}.{resource}"
                );
            }
        }
        let pod = &deployment.document["spec"]["template"]["spec"]["securityContext"];
        let own = &container["securityContext"];
        let either = |key: &str| {
            if own[key].is_null() {
                &pod[key]
            } else {
                &own[key]
            }
        };
        assert_eq!(either("runAsNonRoot"), true, "{context}: runAsNonRoot");
        assert_eq!(either("runAsUser"), user, "{context}: runAsUser");
        assert_eq!(
            own["readOnlyRootFilesystem"], true,
            "{context}: readOnlyRootFilesystem"
        );
        assert_eq!(
            own["allowPrivilegeEscalation"], false,
            "{context}: allowPrivilegeEscalation"
        );
    }
}

#[test]
fn every_secret_reference_names_a_documented_key_of_the_credentials_secret() {
    let manifests = manifests();
    let mut used = BTreeSet::new();
    for manifest in &manifests {
        let context = manifest.context();
        let references = values_under(&manifest.document, "secretKeyRef")
            .into_iter()
            .chain(
                values_under(&manifest.document, "secretTargetRef")
                    .into_iter()
                    .flat_map(|targets| list(targets, &format!("{context}: secretTargetRef"))),
            );
        for reference in references {
            assert_eq!(reference["name"], CREDENTIALS_SECRET, "{context}");
            let key = text(&reference["key"], &format!("{context}: secret key"));
            assert!(
                CREDENTIALS_KEYS.contains(&key),
                "{context}: {key} is not a documented key of {CREDENTIALS_SECRET}"
            );
            used.insert(key);
        }
    }
    assert_eq!(
        used,
        CREDENTIALS_KEYS.iter().copied().collect(),
        "every documented key is used"
    );
    let readme = read(&format!("{MANIFESTS}/README.md"));
    for key in CREDENTIALS_KEYS {
        assert!(
            readme.contains(&format!("`{key}`")),
            "README.md documents {key}"
        );
    }
}

#[test]
fn every_config_map_reference_names_a_config_map_of_the_manifests() {
    let manifests = manifests();
    let maps: BTreeMap<&str, &Value> = of_kind(&manifests, "ConfigMap")
        .into_iter()
        .map(|map| (map.name(), &map.document["data"]))
        .collect();
    for manifest in &manifests {
        let context = manifest.context();
        for reference in values_under(&manifest.document, "configMapKeyRef") {
            let name = text(&reference["name"], &format!("{context}: configMapKeyRef"));
            let key = text(&reference["key"], &format!("{context}: configMapKeyRef"));
            let data = maps
                .get(name)
                .unwrap_or_else(|| panic!("{context}: no ConfigMap {name}"));
            assert!(data[key].is_string(), "{context}: {name} has no key {key}");
        }
        let sources = values_under(&manifest.document, "configMap")
            .into_iter()
            .chain(values_under(&manifest.document, "configMapRef"));
        for source in sources {
            let name = text(&source["name"], &format!("{context}: configMap name"));
            assert!(maps.contains_key(name), "{context}: no ConfigMap {name}");
        }
    }
}

#[test]
fn each_deployment_mounts_the_settings_file_it_names() {
    let manifests = manifests();
    let (map, _) = settings_file(&manifests);
    for deployment in of_kind(&manifests, "Deployment") {
        let context = deployment.context();
        let volumes = list(
            &deployment.document["spec"]["template"]["spec"]["volumes"],
            &format!("{context}: volumes"),
        );
        let mounts = list(
            &container(deployment)["volumeMounts"],
            &format!("{context}: volumeMounts"),
        );
        let folders: Vec<&str> = mounts
            .iter()
            .filter(|mount| {
                volumes.iter().any(|volume| {
                    volume["name"] == mount["name"] && volume["configMap"]["name"] == map.name()
                })
            })
            .map(|mount| text(&mount["mountPath"], &format!("{context}: mountPath")))
            .collect();
        assert_eq!(folders.len(), 1, "{context}: mounts {} once", map.name());
        let variables = variables(deployment);
        let named = variables
            .get(SETTINGS_FILE_VARIABLE)
            .unwrap_or_else(|| panic!("{context}: sets {SETTINGS_FILE_VARIABLE}"));
        assert_eq!(
            named["value"],
            format!("{}/{SETTINGS_FILE}", folders[0].trim_end_matches('/')),
            "{context}: {SETTINGS_FILE_VARIABLE}"
        );
    }
}

#[test]
fn each_deployment_reads_every_credential_of_the_settings_file_from_the_secret() {
    let manifests = manifests();
    let (_, file) = settings_file(&manifests);
    let credentials: BTreeSet<String> = assignments(file, SETTINGS_FILE)
        .into_iter()
        .filter(|(key, _)| key.starts_with("connections.") && key.ends_with("_env"))
        .map(|(_, value)| unquoted(&value).to_owned())
        .collect();
    assert!(
        !credentials.is_empty(),
        "the settings file names credentials"
    );
    for deployment in of_kind(&manifests, "Deployment") {
        let variables = variables(deployment);
        let needed = URL_VARIABLES
            .iter()
            .map(|&name| name.to_owned())
            .chain(credentials.iter().cloned());
        for name in needed {
            let variable = variables.get(name.as_str()).unwrap_or_else(|| {
                panic!(
                    "{}: {name} is unset, and the worker refuses to start",
                    deployment.context()
                )
            });
            let (secret, _) = secret_source(variable)
                .unwrap_or_else(|| panic!("{}: {name} comes from a Secret", deployment.context()));
            assert_eq!(
                secret,
                CREDENTIALS_SECRET,
                "{}: {name}",
                deployment.context()
            );
        }
    }
}

#[test]
fn the_settings_file_connects_to_every_api_with_credentials_named_not_written() {
    let manifests = manifests();
    let (_, file) = settings_file(&manifests);
    let assignments = assignments(file, SETTINGS_FILE);
    let apis: BTreeSet<&str> = assignments
        .iter()
        .filter(|(key, _)| key.starts_with("connections.") && key.ends_with(".api"))
        .map(|(_, value)| unquoted(value))
        .collect();
    assert_eq!(apis, APIS.iter().copied().collect(), "the connected APIs");
    for (key, _) in &assignments {
        let bare = key.rsplit('.').next().unwrap_or(key);
        assert!(
            !SECRET_NAMES.contains(&bare),
            "{SETTINGS_FILE}: {key} writes a secret: use {bare}_env"
        );
    }
}

#[test]
fn every_schedule_of_the_settings_file_names_a_connection_of_the_api_its_kind_reads() {
    let manifests = manifests();
    let (_, file) = settings_file(&manifests);
    let assignments = assignments(file, SETTINGS_FILE);
    let setting = |key: &str| {
        assignments
            .iter()
            .find(|(assigned, _)| assigned == key)
            .map(|(_, value)| unquoted(value))
    };
    let schedules: BTreeSet<&str> = assignments
        .iter()
        .filter_map(|(key, _)| key.strip_prefix("schedules.")?.split_once('.'))
        .map(|(name, _)| name)
        .collect();
    assert!(
        !schedules.is_empty(),
        "{SETTINGS_FILE} gives the scheduler no schedule"
    );
    for schedule in schedules {
        let required = |key: &str| {
            setting(&format!("schedules.{schedule}.{key}"))
                .unwrap_or_else(|| panic!("{SETTINGS_FILE}: schedules.{schedule} sets no {key}"))
        };
        let kind = required("kind");
        let (_, api) = SCHEDULED_KINDS
            .iter()
            .find(|(known, _)| *known == kind)
            .unwrap_or_else(|| panic!("{SETTINGS_FILE}: schedules.{schedule}: {kind} is no sync"));
        let connection = required("connection");
        assert_eq!(
            setting(&format!("connections.{connection}.api")),
            Some(*api),
            "{SETTINGS_FILE}: schedules.{schedule} names {connection}, no {api} connection of the file"
        );
        let every = setting(&format!("schedules.{schedule}.every_seconds"));
        let cron = setting(&format!("schedules.{schedule}.cron"));
        assert!(
            every.is_some() != cron.is_some(),
            "{SETTINGS_FILE}: schedules.{schedule} sets one of every_seconds and cron"
        );
        required("body");
    }
}

#[test]
fn no_document_writes_a_secret_in_a_settings_text() {
    let manifests = manifests();
    for manifest in &manifests {
        let mut found = Vec::new();
        entries(&manifest.document, &mut found);
        for (_, value) in found {
            let Some(content) = value.as_str() else {
                continue;
            };
            for line in content.lines() {
                let Some((key, _)) = line.split_once('=') else {
                    continue;
                };
                let key = key.trim();
                assert!(
                    !SECRET_NAMES.contains(&key),
                    "{}: `{key} = …` writes a secret",
                    manifest.context()
                );
            }
        }
    }
}

#[test]
fn each_scaled_object_scales_on_the_queue_of_its_worker_kind() {
    let manifests = manifests();
    let settings = layered_settings(&manifests);
    let topology = Topology::new(TopologyOptions::named(setting(&settings, "broker.prefix")));
    let queues: BTreeMap<&str, String> = worker_kinds()
        .into_iter()
        .map(|kind| (kind.as_str(), topology.work_queue(kind)))
        .collect();
    let authentications = names(&manifests, "TriggerAuthentication");
    for scaled in of_kind(&manifests, "ScaledObject") {
        let context = scaled.context();
        let spec = &scaled.document["spec"];
        let target = text(&spec["scaleTargetRef"]["name"], &context);
        let triggers = list(&spec["triggers"], &format!("{context}: triggers"));
        assert_eq!(triggers.len(), 1, "{context}: one trigger");
        let trigger = &triggers[0];
        assert_eq!(trigger["type"], "rabbitmq", "{context}: trigger type");
        let metadata = &trigger["metadata"];
        assert_eq!(
            metadata["queueName"], queues[target],
            "{context}: the queue of {target}"
        );
        assert_eq!(metadata["mode"], "QueueLength", "{context}: mode");
        let value: f64 = text(&metadata["value"], &format!("{context}: value"))
            .parse()
            .expect("the target queue length is a number");
        assert!(value > 0.0, "{context}: a positive target");
        let authentication = text(
            &trigger["authenticationRef"]["name"],
            &format!("{context}: authenticationRef"),
        );
        assert!(
            authentications.contains(authentication),
            "{context}: no TriggerAuthentication {authentication}"
        );
        let least = spec["minReplicaCount"].as_u64().expect("minReplicaCount");
        let most = spec["maxReplicaCount"].as_u64().expect("maxReplicaCount");
        assert!(
            1 <= most && least <= most,
            "{context}: {least}..={most} replicas"
        );
    }
}

#[test]
fn keda_reads_the_broker_url_the_workers_read() {
    let manifests = manifests();
    for authentication in of_kind(&manifests, "TriggerAuthentication") {
        let context = authentication.context();
        let targets = list(
            &authentication.document["spec"]["secretTargetRef"],
            &format!("{context}: secretTargetRef"),
        );
        let host: Vec<&Value> = targets
            .iter()
            .filter(|target| target["parameter"] == "host")
            .collect();
        assert_eq!(host.len(), 1, "{context}: one host parameter");
        assert_eq!(host[0]["name"], CREDENTIALS_SECRET, "{context}");
        assert_eq!(host[0]["key"], BROKER_URL_KEY, "{context}");
    }
    for deployment in of_kind(&manifests, "Deployment") {
        let variables = variables(deployment);
        let broker = variables
            .get("AMQP_URL")
            .and_then(|variable| secret_source(variable));
        assert_eq!(
            broker,
            Some((CREDENTIALS_SECRET, BROKER_URL_KEY)),
            "{}: AMQP_URL",
            deployment.context()
        );
    }
}

#[test]
fn the_job_store_runs_with_an_append_only_file_on_a_volume() {
    let manifests = manifests();
    let redis = of_kind(&manifests, "StatefulSet")
        .into_iter()
        .find(|manifest| manifest.name() == "redis")
        .expect("a StatefulSet runs the job state store");
    let spec = &redis.document["spec"];
    let args: Vec<&str> = spec["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("redis is started with arguments")
        .iter()
        .map(|arg| arg.as_str().expect("arguments are text"))
        .collect();
    let after = |flag: &str| {
        args.iter()
            .position(|arg| *arg == flag)
            .and_then(|index| args.get(index + 1).copied())
    };
    assert_eq!(after("--appendonly"), Some("yes"));
    assert_eq!(after("--appendfsync"), Some("everysec"));
    assert_eq!(after("--dir"), Some("/data"));
    let mount = &spec["template"]["spec"]["containers"][0]["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/data");
    assert_eq!(
        spec["volumeClaimTemplates"][0]["metadata"]["name"], mount["name"],
        "the data directory is a persistent volume"
    );
}
