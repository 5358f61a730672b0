//! One client per configured connection, built once at start-up, each behind its
//! connection's rate gate.

use std::collections::HashMap;
use std::sync::Arc;

use amienscope_client::{
    AmienscopeClient, AmienscopeEndpoint, DatetimeFormat, SignatureEncoding, SignatureHash,
    SigningRecipe,
};
use divalto_client::{DivaltoClient, DivaltoEndpoint};
use ds_client::{DsClient, DsEndpoint, PageSize};
use rate_gate::{RateGate, RateGates};
use settings::{AmienscopeKeys, BaseUrl, Connection, Connections, Credentials, DivaltoLogin};

use crate::offset_reader::OffsetReader;

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

/// An offset-paginated connection, ready to call, with its fan-out settings.
pub(crate) struct OffsetUpstream {
    pub(crate) reader: OffsetReader,
    /// Records asked for per page.
    pub(crate) limit: u32,
    /// Page commands a job keeps in flight unless its command says otherwise.
    pub(crate) window: u32,
    /// Pages a job may read at most.
    pub(crate) max_pages: u32,
}

/// A connection's client, by the kind of pagination it uses.
pub(crate) enum Upstream {
    /// Cursor pagination, one page after the other.
    Ds(DsUpstream),
    /// Offset pagination, fanned out.
    Offset(OffsetUpstream),
}

/// The clients of every configured connection, by connection name.
pub(crate) struct Upstreams(HashMap<String, Upstream>);

impl Upstreams {
    /// A client for every connection fetch-page reads; each waits on the gate of its
    /// connection from `gates`, shared with every replica.
    pub(crate) fn from_settings(
        connections: &Connections,
        gates: &RateGates,
    ) -> Result<Self, UpstreamSetupError> {
        let mut upstreams = HashMap::new();
        for (name, connection) in connections.iter() {
            let gate = || gates.gate(name.as_str(), connection.rate_limit);
            let upstream = build(connection, gate).map_err(|reason| UpstreamSetupError {
                name: name.to_string(),
                reason,
            })?;
            if let Some(upstream) = upstream {
                upstreams.insert(name.to_string(), upstream);
            }
        }
        Ok(Upstreams(upstreams))
    }

    /// The connection of that name, if one is configured.
    pub(crate) fn get(&self, name: &str) -> Option<&Upstream> {
        self.0.get(name)
    }
}

/// The connection's client behind the connection's `gate`, or none when its API is not
/// one fetch-page reads.
fn build(
    connection: &Connection,
    gate: impl FnOnce() -> Arc<RateGate>,
) -> Result<Option<Upstream>, String> {
    let base_url = connection.base_url.clone();
    let timeout = connection.request_timeout;
    let offset = |reader| {
        Upstream::Offset(OffsetUpstream {
            reader,
            limit: connection.page_size.get(),
            window: connection.fan_out.window.get(),
            max_pages: connection.fan_out.max_pages.get(),
        })
    };
    match &connection.credentials {
        Credentials::Ds { token } => {
            let endpoint = DsEndpoint {
                base_url,
                token: token.clone(),
                timeout,
            };
            let client = DsClient::new(endpoint, gate()).map_err(|e| e.to_string())?;
            let page_size = PageSize::new(connection.page_size.get()).map_err(|e| e.to_string())?;
            Ok(Some(Upstream::Ds(DsUpstream { client, page_size })))
        }
        Credentials::Divalto(login) => {
            let client = DivaltoClient::new(divalto_endpoint(base_url, login, timeout), gate())
                .map_err(|e| e.to_string())?;
            Ok(Some(offset(OffsetReader::Divalto(client))))
        }
        Credentials::Amienscope(keys) => {
            let endpoint = amienscope_endpoint(base_url, keys, timeout)?;
            let client = AmienscopeClient::new(endpoint, gate()).map_err(|e| e.to_string())?;
            Ok(Some(offset(OffsetReader::Amienscope {
                client,
                tombstone_statuses: keys.tombstone_statuses.clone(),
            })))
        }
        Credentials::Apidae(_) => Ok(None),
    }
}

fn divalto_endpoint(
    base_url: BaseUrl,
    login: &DivaltoLogin,
    timeout: std::time::Duration,
) -> DivaltoEndpoint {
    DivaltoEndpoint {
        base_url,
        domain: login.domain.clone(),
        user: login.user.clone(),
        password: login.password.clone(),
        environment: login.environment.clone(),
        token_lifetime: login.token_lifetime,
        timeout,
    }
}

fn amienscope_endpoint(
    base_url: BaseUrl,
    keys: &AmienscopeKeys,
    timeout: std::time::Duration,
) -> Result<AmienscopeEndpoint, String> {
    let signature = &keys.signature;
    let signing = SigningRecipe {
        template: signature.template.clone(),
        hash: signature
            .hash
            .parse::<SignatureHash>()
            .map_err(|e| e.to_string())?,
        encoding: signature
            .encoding
            .parse::<SignatureEncoding>()
            .map_err(|e| e.to_string())?,
        datetime: signature
            .datetime
            .parse::<DatetimeFormat>()
            .map_err(|e| e.to_string())?,
    };
    Ok(AmienscopeEndpoint {
        base_url,
        public_key: keys.public_key.clone(),
        private_key: keys.private_key.clone(),
        email: keys.email.clone(),
        signing,
        id_field: keys.id_field.clone(),
        timeout,
    })
}
