//! Named upstream connections that commands refer to by name.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::collections::btree_map;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use toml::Value;

use crate::api::{Api, PageSize, RateLimit};
use crate::base_url::BaseUrl;
use crate::credentials::Credentials;
use crate::fan_out::FanOut;
use crate::fields::{Fields, in_range, positive_seconds, text, whole_number};
use crate::problem::Problems;

/// Every configured connection, by name.
#[derive(Debug, Clone, Default)]
pub struct Connections(BTreeMap<ConnectionName, Connection>);

impl Connections {
    /// The connection called `name`, if configured.
    pub fn get(&self, name: &str) -> Option<&Connection> {
        self.0.get(name)
    }

    /// Every connection, in name order.
    pub fn iter(&self) -> btree_map::Iter<'_, ConnectionName, Connection> {
        self.0.iter()
    }

    /// Reads every entry of the `connections` table.
    pub(crate) fn read(
        fields: Fields,
        env: &BTreeMap<String, String>,
        problems: &mut Problems,
    ) -> Option<Self> {
        let mut connections = BTreeMap::new();
        let mut complete = true;
        for (name, value) in fields.into_entries() {
            match read_connection(name, value, env, problems) {
                Some((name, connection)) => {
                    connections.insert(name, connection);
                }
                None => complete = false,
            }
        }
        complete.then_some(Self(connections))
    }
}

impl<'a> IntoIterator for &'a Connections {
    type Item = (&'a ConnectionName, &'a Connection);
    type IntoIter = btree_map::Iter<'a, ConnectionName, Connection>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<(ConnectionName, Connection)> for Connections {
    fn from_iter<I: IntoIterator<Item = (ConnectionName, Connection)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A connection's name: 1 to 64 characters of `a-z`, `0-9`, `_` and `-`.
///
/// Environment overrides are lowercased and split on `__`, so a name holding
/// `-` or `__` cannot be addressed from the environment; set it in the file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionName(String);

impl ConnectionName {
    /// `name` if it is 1 to 64 characters of `a-z`, `0-9`, `_` and `-`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidConnectionName> {
        let name = name.into();
        if is_valid_name(&name) {
            Ok(Self(name))
        } else {
            Err(InvalidConnectionName)
        }
    }

    /// The name as written in settings.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ConnectionName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ConnectionName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `name` is 1 to 64 characters of `a-z`, `0-9`, `_` and `-`: the rule for
/// connection and schedule names.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    (1..=64).contains(&name.len()) && name.chars().all(allowed)
}

/// A connection name with a character outside `a-z0-9_-`, empty, or too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection names are 1 to 64 characters of a-z, 0-9, _ and -")]
pub struct InvalidConnectionName;

/// Everything needed to call one upstream account.
///
/// Settings keys: `api` (required; it decides which credential keys are
/// known), `base_url` (required), the API's credential keys (see
/// [`Credentials`]), `rate_limit`, `page_size` and `request_timeout_seconds`
/// (each defaulted per API when absent), and for APIs read by offset,
/// `window` and `max_pages` (see [`FanOut`]).
#[derive(Debug, Clone)]
pub struct Connection {
    /// Root URL the API paths are appended to; it may hold a path prefix.
    pub base_url: BaseUrl,
    /// Who the connection signs in as; `Debug` prints every secret redacted.
    pub credentials: Credentials,
    /// How fast requests may be sent.
    pub rate_limit: RateLimit,
    /// Records asked for per page.
    pub page_size: PageSize,
    /// How long one request may take before it is abandoned as transient.
    pub request_timeout: Duration,
    /// How many offset pages may be in flight, and how many a sync reads at
    /// most; the defaults on a ds connection, which pages by cursor.
    pub fan_out: FanOut,
}

impl Connection {
    /// Request timeout when the settings name none.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// Which API the upstream speaks, as its credentials tell.
    pub fn api(&self) -> Api {
        self.credentials.api()
    }
}

fn read_connection(
    name: String,
    value: Value,
    env: &BTreeMap<String, String>,
    problems: &mut Problems,
) -> Option<(ConnectionName, Connection)> {
    let path = format!("connections.{name}");
    let valid_name = ConnectionName::new(name)
        .map_err(|error| problems.push(&path, error.to_string()))
        .ok();
    let mut fields = Fields::of(path, value, problems)?;

    let api = fields.required("api", problems, |value| {
        text(value)?
            .parse::<Api>()
            .map_err(|error| error.to_string())
    });
    let base_url = fields.required("base_url", problems, |value| {
        text(value)?
            .parse::<BaseUrl>()
            .map_err(|error| error.to_string())
    });
    let credentials = match api {
        Some(api) => Credentials::read(api, &mut fields, env, problems),
        None => {
            skip_api_keys(&mut fields, env);
            None
        }
    };
    let rate_limit = match fields.take("rate_limit") {
        Some(value) => read_rate_limit(fields.key("rate_limit"), value, problems),
        None => api.map(Api::default_rate_limit),
    };
    let page_size = match (fields.optional("page_size", problems, whole_number), api) {
        (Some(size), Some(api)) => fields.checked("page_size", read_page_size(api, size), problems),
        (None, Some(api)) => Some(PageSize::max(api)),
        (_, None) => None,
    };
    let request_timeout = fields
        .optional("request_timeout_seconds", problems, positive_seconds)
        .unwrap_or(Connection::DEFAULT_REQUEST_TIMEOUT);
    let fan_out = match api {
        Some(api) if api.pages_by_offset() => FanOut::read(&mut fields, problems),
        _ => FanOut::default(),
    };
    fields.finish(problems);

    Some((
        valid_name?,
        Connection {
            base_url: base_url?,
            credentials: credentials?,
            rate_limit: rate_limit?,
            page_size: page_size?,
            request_timeout,
            fan_out,
        },
    ))
}

/// Takes, unchecked, every key that some API reads: with the connection's
/// API unknown, which of them belong is unknown too, so only keys no API
/// knows are left to be reported.
fn skip_api_keys(fields: &mut Fields, env: &BTreeMap<String, String>) {
    let mut unchecked = Problems::default();
    for api in Api::ALL {
        Credentials::read(api, fields, env, &mut unchecked);
    }
    FanOut::read(fields, &mut unchecked);
}

fn read_page_size(api: Api, size: i64) -> Result<PageSize, String> {
    let size = u32::try_from(size).map_err(|_| {
        format!(
            "must be between {} and {}, found {size}",
            api.min_page_size(),
            api.max_page_size()
        )
    })?;
    PageSize::new(api, size).map_err(|error| error.to_string())
}

fn read_rate_limit(path: String, value: Value, problems: &mut Problems) -> Option<RateLimit> {
    let mut fields = Fields::of(path, value, problems)?;
    let count = |value: Value| {
        in_range(whole_number(value)?, 1, u32::MAX)
            .and_then(|count| NonZeroU32::try_from(count).map_err(|error| error.to_string()))
    };
    let requests = fields.required("requests", problems, count);
    let per = fields.required("per_seconds", problems, positive_seconds);
    let burst = fields
        .optional("burst", problems, count)
        .unwrap_or(NonZeroU32::MIN);
    if requests.is_some_and(|requests| burst > requests) {
        problems.push(fields.key("burst"), "must not exceed requests");
    }
    fields.finish(problems);
    Some(RateLimit {
        requests: requests?,
        per: per?,
        burst,
    })
}
