//! The settings tree and how it is loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::broker::BrokerSettings;
use crate::connection::Connections;
use crate::fields::Fields;
use crate::layers;
use crate::metrics::MetricsSettings;
use crate::problem::{Problems, SettingsError};
use crate::schedule::{SchedulerSettings, Schedules};
use crate::state::StateSettings;
use crate::worker::WorkerSettings;

/// Variable naming the optional settings file.
const CONFIG_FILE_VAR: &str = "ESTAFETTE_CONFIG";

/// Everything a service is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The message broker.
    pub broker: BrokerSettings,
    /// Worker timings.
    pub worker: WorkerSettings,
    /// The job-state store.
    pub state: StateSettings,
    /// Where a worker serves its metrics and health endpoints.
    pub metrics: MetricsSettings,
    /// Upstream connections by name.
    pub connections: Connections,
    /// How the scheduler service runs.
    pub scheduler: SchedulerSettings,
    /// Syncs the scheduler service starts at set times, by name.
    pub schedules: Schedules,
}

impl Settings {
    /// Loads the defaults, then `file` if given, then the overrides found in
    /// `env` (`AMQP_URL`, `REDIS_URL` and `ESTAFETTE__*`); secrets given by
    /// `token_env`, `password_env` or `private_key_env` are looked up in
    /// `env` too. Fails with every problem found.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let mut problems = Problems::default();
        let merged = layers::stack(file, &env, &mut problems);
        let settings = read(Fields::root(merged), &env, &mut problems);
        problems.into_result(settings)
    }

    /// [`Settings::load`] with the process environment, and the file named
    /// by `ESTAFETTE_CONFIG` when it is set. Variables that are not valid
    /// UTF-8 are ignored.
    pub fn from_process_env() -> Result<Self, SettingsError> {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let file = env
            .get(CONFIG_FILE_VAR)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from);
        Self::load(file.as_deref(), env)
    }
}

fn read(
    mut root: Fields,
    env: &BTreeMap<String, String>,
    problems: &mut Problems,
) -> Option<Settings> {
    let broker = root
        .section("broker", problems)
        .and_then(|fields| BrokerSettings::read(fields, problems));
    let worker = root
        .section("worker", problems)
        .and_then(|fields| WorkerSettings::read(fields, problems));
    let state = root
        .section("state", problems)
        .and_then(|fields| StateSettings::read(fields, problems));
    let metrics = root
        .section("metrics", problems)
        .and_then(|fields| MetricsSettings::read(fields, problems));
    let connections = root
        .section("connections", problems)
        .and_then(|fields| Connections::read(fields, env, problems));
    let scheduler = root
        .section("scheduler", problems)
        .and_then(|fields| SchedulerSettings::read(fields, problems));
    let schedules = match root.take("schedules") {
        Some(value) => Fields::of("schedules".into(), value, problems)
            .and_then(|fields| Schedules::read(fields, connections.as_ref(), problems)),
        None => Some(Schedules::default()),
    };
    root.finish(problems);
    Some(Settings {
        broker: broker?,
        worker: worker?,
        state: state?,
        metrics: metrics?,
        connections: connections?,
        scheduler: scheduler?,
        schedules: schedules?,
    })
}

#[cfg(test)]
mod tests;
