//! One client per configured connection, built once at start-up.

use std::{collections::HashMap, sync::Arc};

use ds_client::{DsClient, DsEndpoint, PageSize};
use governor::{Quota, RateLimiter};
use settings::{Api, Connection, Connections};

/// A configured connection that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("connection `{name}` cannot be used: {reason}")]
pub struct UpstreamSetupError {
    name: String,
    reason: String,
}

/// A demarches-simplifiees connection, ready to call.
pub(crate) struct DsUpstream {
    pub(crate) client: DsClient,
    pub(crate) page_size: PageSize,
}

/// The clients of every configured connection, by connection name.
pub(crate) struct Upstreams {
    ds: HashMap<String, DsUpstream>,
}

impl Upstreams {
    pub(crate) fn from_settings(connections: &Connections) -> Result<Self, UpstreamSetupError> {
        let mut ds = HashMap::new();
        for (name, connection) in connections.iter() {
            match connection.api {
                Api::Ds => {
                    ds.insert(name.to_string(), ds_upstream(name.as_ref(), connection)?);
                }
            }
        }
        Ok(Upstreams { ds })
    }

    /// The demarches-simplifiees connection of that name, if one is configured.
    pub(crate) fn ds(&self, name: &str) -> Option<&DsUpstream> {
        self.ds.get(name)
    }
}

fn ds_upstream(name: &str, connection: &Connection) -> Result<DsUpstream, UpstreamSetupError> {
    let setup_error = |reason: String| UpstreamSetupError {
        name: name.to_owned(),
        reason,
    };
    let limit = &connection.rate_limit;
    let period = limit.per / limit.requests.get();
    let quota = Quota::with_period(period)
        .ok_or_else(|| setup_error("the rate limit period is zero".into()))?
        .allow_burst(limit.burst);
    let endpoint = DsEndpoint {
        base_url: connection.base_url.to_string(),
        token: connection.token.clone(),
        timeout: connection.request_timeout,
    };
    let client = DsClient::new(endpoint, Arc::new(RateLimiter::direct(quota)))
        .map_err(|e| setup_error(e.to_string()))?;
    let page_size =
        PageSize::new(connection.page_size.get()).map_err(|e| setup_error(e.to_string()))?;
    Ok(DsUpstream { client, page_size })
}
