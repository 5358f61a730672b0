//! Scheduled syncs (`[schedules.<name>]`) and how the scheduler service runs them
//! (`[scheduler]`).

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contract::{Command, CommandBody};
use toml::Value;

use crate::api::Api;
use crate::connection::{ConnectionName, Connections, is_valid_name};
use crate::fields::{Fields, non_empty_text, positive_seconds, text};
use crate::problem::Problems;

/// How the scheduler service holds its lease and how often it looks at the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// How long the lease of the replica that publishes runs lasts without a renewal
    /// (key `lease_seconds`, 10 in the defaults). A replica that dies loses it at most
    /// this long after its last renewal; another takes it over at its next tick.
    pub lease: Duration,
    /// How often a replica looks at the clock and at the lease (key `tick_seconds`, 1
    /// in the defaults); it renews a lease it holds at every tick. Must be under a
    /// third of `lease_seconds`, so that two renewals may fail before the lease lapses.
    pub tick: Duration,
    /// How long a run may go without an end (key `max_run_seconds`, 86400 in the
    /// defaults): past it, the run is recorded as failed, its resume point kept, and the
    /// schedule runs again at its next due time. The guard against a run whose end
    /// never comes (its command purged from the dead letters, its end lost with the
    /// store's last second of writes).
    pub max_run: Duration,
}

impl SchedulerSettings {
    pub(crate) fn read(mut fields: Fields, problems: &mut Problems) -> Option<Self> {
        let lease = fields.required("lease_seconds", problems, positive_seconds);
        let tick = fields.required("tick_seconds", problems, positive_seconds);
        let max_run = fields.required("max_run_seconds", problems, positive_seconds);
        if let (Some(lease), Some(tick)) = (lease, tick)
            && tick * 3 >= lease
        {
            problems.push(
                fields.key("tick_seconds"),
                "must be under a third of lease_seconds",
            );
        }
        fields.finish(problems);
        Some(Self {
            lease: lease?,
            tick: tick?,
            max_run: max_run?,
        })
    }
}

/// Every configured schedule, by name; none unless the settings name some.
#[derive(Debug, Clone, Default)]
pub struct Schedules(BTreeMap<String, Schedule>);

impl Schedules {
    /// The schedule called `name`, if configured.
    pub fn get(&self, name: &str) -> Option<&Schedule> {
        self.0.get(name)
    }

    /// Every schedule, in name order.
    pub fn iter(&self) -> btree_map::Iter<'_, String, Schedule> {
        self.0.iter()
    }

    /// Whether no schedule is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads every entry of the `schedules` table; each must name a configured
    /// connection of the API its kind reads.
    pub(crate) fn read(
        fields: Fields,
        connections: Option<&Connections>,
        problems: &mut Problems,
    ) -> Option<Self> {
        let mut schedules = BTreeMap::new();
        let mut complete = true;
        for (name, value) in fields.into_entries() {
            match read_schedule(&name, value, connections, problems) {
                Some(schedule) => {
                    schedules.insert(name, schedule);
                }
                None => complete = false,
            }
        }
        complete.then_some(Self(schedules))
    }
}

impl<'a> IntoIterator for &'a Schedules {
    type Item = (&'a String, &'a Schedule);
    type IntoIter = btree_map::Iter<'a, String, Schedule>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// One sync the scheduler starts at set times, each run reading what changed since
/// the last run that read its whole listing.
///
/// Settings keys: `kind` (`ds.sync`, `divalto.sync` or `amienscope.sync`),
/// `connection` (a configured connection of the API the kind reads), exactly one of
/// `every_seconds` and `cron`, `body` (the command's body without its incremental
/// starting point, which the scheduler sets) and, for `divalto.sync` only, `since`.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The connection every run uses.
    pub connection: ConnectionName,
    /// The body of every run's command, without its starting point.
    pub body: CommandBody,
    /// When runs are due.
    pub timing: Timing,
    /// For a Divalto sync, the WHERE clause that passes the starting point to the
    /// query; without it every Divalto run reads the whole query.
    pub divalto_since: Option<DivaltoSince>,
}

impl Schedule {
    /// The command kind every run publishes.
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }
}

/// When a schedule's runs are due, in UTC.
#[derive(Debug, Clone)]
pub enum Timing {
    /// At every multiple of this period since the Unix epoch (key `every_seconds`,
    /// whole seconds): every replica finds the same due times.
    Every(Duration),
    /// At the times a cron expression names (key `cron`, e.g. `*/15 * * * *`:
    /// minute, hour, day of month, month, day of week; `croner` also reads a leading
    /// seconds field), in UTC.
    Cron(Box<croner::Cron>),
}

impl Timing {
    /// The first due time strictly after `instant`, if there is one.
    pub fn next_after(&self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Timing::Every(period) => {
                let period = i64::try_from(period.as_secs()).ok()?;
                let next = (instant.timestamp().div_euclid(period) + 1).checked_mul(period)?;
                DateTime::from_timestamp(next, 0)
            }
            Timing::Cron(cron) => cron.find_next_occurrence(&instant, false).ok(),
        }
    }

    /// How it is written in the settings, for people.
    pub fn describe(&self) -> String {
        match self {
            Timing::Every(period) => format!("every {} s", period.as_secs()),
            Timing::Cron(cron) => format!("cron {}", cron.pattern),
        }
    }
}

/// The named WHERE clause of a Divalto RecordSql that filters on modification date,
/// and how it receives a run's starting point (key `since`, a table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivaltoSince {
    /// The clause's name (key `where`).
    pub where_name: String,
    /// The clause parameter that receives the starting point (key `parameter`).
    pub parameter: String,
    /// How the starting point is written, a `chrono` format in UTC (key `format`,
    /// `%Y-%m-%dT%H:%M:%S` when absent).
    pub format: String,
}

impl DivaltoSince {
    const DEFAULT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
}

/// The command kinds a schedule may name, and the API each one reads.
const SCHEDULED_KINDS: [(&str, Api); 3] = [
    ("ds.sync", Api::Ds),
    ("divalto.sync", Api::Divalto),
    ("amienscope.sync", Api::Amienscope),
];

/// A run's starting point, set by the scheduler: a schedule's body must not set it.
const STARTING_POINT_FIELD: &str = "updated_since";

fn read_schedule(
    name: &str,
    value: Value,
    connections: Option<&Connections>,
    problems: &mut Problems,
) -> Option<Schedule> {
    let path = format!("schedules.{name}");
    if !is_valid_name(name) {
        problems.push(
            &path,
            "schedule names are 1 to 64 characters of a-z, 0-9, _ and -",
        );
    }
    let mut fields = Fields::of(path, value, problems)?;
    let kind = fields.required("kind", problems, |value| {
        let kind = text(value)?;
        SCHEDULED_KINDS
            .iter()
            .find(|(name, _)| *name == kind)
            .copied()
            .ok_or_else(|| {
                format!("must be ds.sync, divalto.sync or amienscope.sync, found {kind:?}")
            })
    });
    let connection = fields.required("connection", problems, |value| {
        ConnectionName::new(non_empty_text(value)?).map_err(|error| error.to_string())
    });
    if let (Some((kind, api)), Some(connection), Some(connections)) =
        (kind, &connection, connections)
    {
        match connections.get(connection.as_str()) {
            None => problems.push(fields.key("connection"), "names no configured connection"),
            Some(configured) if configured.api() != api => problems.push(
                fields.key("connection"),
                format!(
                    "is a {} connection; {kind} reads a {} one",
                    configured.api().name(),
                    api.name()
                ),
            ),
            Some(_) => {}
        }
    }
    let timing = read_timing(&mut fields, problems);
    let divalto_since = fields
        .take("since")
        .and_then(|value| read_divalto_since(fields.key("since"), value, problems));
    if divalto_since.is_some() && kind.is_some_and(|(kind, _)| kind != "divalto.sync") {
        problems.push(fields.key("since"), "is only for divalto.sync schedules");
    }
    let body = fields.required("body", problems, |value| match value {
        Value::Table(table) => Ok(table),
        other => Err(format!("expected a table, found {}", other.type_str())),
    });
    let body = match (kind, body) {
        (Some((kind, _)), Some(body)) => {
            let checked = check_body(kind, body, divalto_since.is_some());
            fields.checked("body", checked, problems)
        }
        _ => None,
    };
    fields.finish(problems);
    Some(Schedule {
        connection: connection?,
        body: body?,
        timing: timing?,
        divalto_since,
    })
}

fn read_timing(fields: &mut Fields, problems: &mut Problems) -> Option<Timing> {
    match (fields.take("every_seconds"), fields.take("cron")) {
        (Some(every), None) => fields.checked("every_seconds", read_every(every), problems),
        (None, Some(cron)) => fields.checked("cron", read_cron(cron), problems),
        (Some(_), Some(_)) => {
            problems.push(fields.key("cron"), "give every_seconds or cron, not both");
            None
        }
        (None, None) => {
            problems.push(fields.key("every_seconds"), "or cron is required");
            None
        }
    }
}

fn read_every(value: Value) -> Result<Timing, String> {
    let period = positive_seconds(value)?;
    if period.subsec_nanos() == 0 {
        Ok(Timing::Every(period))
    } else {
        Err("must be a whole number of seconds".to_owned())
    }
}

fn read_cron(value: Value) -> Result<Timing, String> {
    let cron = croner::Cron::from_str(&text(value)?)
        .map_err(|error| format!("is not a cron expression: {error}"))?;
    let timing = Timing::Cron(Box::new(cron));
    // `0 0 30 2 *` parses, and never comes.
    match timing.next_after(Utc::now()) {
        Some(_) => Ok(timing),
        None => Err("names no time that will come".to_owned()),
    }
}

fn read_divalto_since(path: String, value: Value, problems: &mut Problems) -> Option<DivaltoSince> {
    let mut fields = Fields::of(path, value, problems)?;
    let where_name = fields.required("where", problems, non_empty_text);
    let parameter = fields.required("parameter", problems, non_empty_text);
    let format = fields
        .optional("format", problems, |value| {
            let format = non_empty_text(value)?;
            let probe = chrono::format::StrftimeItems::new(&format);
            if probe
                .clone()
                .any(|item| item == chrono::format::Item::Error)
            {
                Err("is not a chrono date format".to_owned())
            } else {
                Ok(format)
            }
        })
        .unwrap_or_else(|| DivaltoSince::DEFAULT_FORMAT.to_owned());
    fields.finish(problems);
    Some(DivaltoSince {
        where_name: where_name?,
        parameter: parameter?,
        format,
    })
}

/// The body as the workers would read it: checked by the contract itself, through a
/// command envelope built around it.
fn check_body(kind: &str, body: toml::Table, divalto_since: bool) -> Result<CommandBody, String> {
    if body.contains_key(STARTING_POINT_FIELD) {
        return Err(format!(
            "must not set {STARTING_POINT_FIELD}: every run starts from the schedule's resume point"
        ));
    }
    let has_where = body
        .get("query")
        .and_then(Value::as_table)
        .is_some_and(|query| query.contains_key("where"));
    if divalto_since && has_where {
        return Err("must not set query.where: the schedule's since clause fills it".to_owned());
    }
    let body = serde_json::to_value(body).map_err(|error| error.to_string())?;
    let envelope = serde_json::json!({
        "version": contract::SCHEMA_VERSION,
        "kind": kind,
        "job_id": uuid::Uuid::nil(),
        "message_id": uuid::Uuid::nil(),
        "connection": "schedule",
        "body": body,
    });
    let bytes = serde_json::to_vec(&envelope).map_err(|error| error.to_string())?;
    Command::from_json(&bytes)
        .map(|command| command.body)
        .map_err(|rejection| rejection.detail)
}

#[cfg(test)]
mod tests;
