//! One Apidae client per configured Apidae connection, built once at start-up, each
//! behind its connection's rate gate.

use std::collections::HashMap;

use apidae_client::{ApidaeClient, ApidaeEndpoint};
use rate_gate::RateGates;
use settings::{Connections, Credentials};

/// A configured Apidae connection that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("connection `{name}` cannot be used: {reason}")]
pub struct SetupError {
    name: String,
    reason: String,
}

/// An Apidae connection, ready to call.
pub(crate) struct ApidaeConnection {
    pub(crate) client: ApidaeClient,
    /// Objects per call: the connection's `page_size`, never above
    /// [`apidae_client::MAX_OBJECTS`].
    pub(crate) chunk_size: usize,
}

/// The Apidae connections by name; connections of other APIs are not this worker's.
pub(crate) struct ApidaeConnections(HashMap<String, ApidaeConnection>);

impl ApidaeConnections {
    /// A client for every Apidae connection; each waits on the gate of its connection
    /// from `gates`, shared with every replica.
    pub(crate) fn from_settings(
        connections: &Connections,
        gates: &RateGates,
    ) -> Result<Self, SetupError> {
        let mut built = HashMap::new();
        for (name, connection) in connections.iter() {
            let Credentials::Apidae(credentials) = &connection.credentials else {
                continue;
            };
            let setup_error = |reason: String| SetupError {
                name: name.to_string(),
                reason,
            };
            let endpoint = ApidaeEndpoint {
                base_url: connection.base_url.clone(),
                token_url: credentials.token_url.clone(),
                client_id: credentials.client_id.clone(),
                client_secret: credentials.client_secret.clone(),
                timeout: connection.request_timeout,
            };
            let gate = gates.gate(name.as_str(), connection.rate_limit);
            let client = ApidaeClient::new(endpoint, gate)
                .map_err(|error| setup_error(error.to_string()))?;
            let chunk_size = connection.page_size.get() as usize;
            built.insert(name.to_string(), ApidaeConnection { client, chunk_size });
        }
        Ok(ApidaeConnections(built))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&ApidaeConnection> {
        self.0.get(name)
    }
}
