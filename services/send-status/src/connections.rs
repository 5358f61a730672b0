//! One DS client per configured demarches-simplifiees connection, built once at
//! start-up behind its connection's rate gate; the other connections are remembered
//! only to name their API.

use std::collections::HashMap;

use ds_client::{DsClient, DsEndpoint};
use rate_gate::RateGates;
use settings::{Api, Connections, Credentials};

/// A configured DS connection that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("connection `{name}` cannot be used: {reason}")]
pub struct SetupError {
    name: String,
    reason: String,
}

/// What a command's connection name points at.
pub(crate) enum Lookup<'a> {
    /// A DS connection, ready to call.
    Ds(&'a DsClient),
    /// A connection of another API.
    OtherApi(Api),
    /// No connection of that name.
    Unknown,
}

/// The DS clients by connection name, and the API of every other connection.
pub(crate) struct DsConnections {
    clients: HashMap<String, DsClient>,
    others: HashMap<String, Api>,
}

impl DsConnections {
    /// A client for every DS connection; each waits on the gate of its connection from
    /// `gates`, shared with every replica, fetch-page's included.
    pub(crate) fn from_settings(
        connections: &Connections,
        gates: &RateGates,
    ) -> Result<Self, SetupError> {
        let mut clients = HashMap::new();
        let mut others = HashMap::new();
        for (name, connection) in connections.iter() {
            let Credentials::Ds { token } = &connection.credentials else {
                others.insert(name.to_string(), connection.api());
                continue;
            };
            let endpoint = DsEndpoint {
                base_url: connection.base_url.clone(),
                token: token.clone(),
                timeout: connection.request_timeout,
            };
            let gate = gates.gate(name.as_str(), connection.rate_limit);
            let client = DsClient::new(endpoint, gate).map_err(|error| SetupError {
                name: name.to_string(),
                reason: error.to_string(),
            })?;
            clients.insert(name.to_string(), client);
        }
        Ok(DsConnections { clients, others })
    }

    pub(crate) fn lookup(&self, name: &str) -> Lookup<'_> {
        match (self.clients.get(name), self.others.get(name)) {
            (Some(client), _) => Lookup::Ds(client),
            (None, Some(api)) => Lookup::OtherApi(*api),
            (None, None) => Lookup::Unknown,
        }
    }
}
