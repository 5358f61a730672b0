//! A tiny upstream on a loopback port, and a client pointed at it.

use axum::Router;
use ds_client::{DemarcheNumber, DossiersPageRequest, DsClient, DsEndpoint, PageSize};
use rate_gate::RateGate;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// The token every test client sends; tests check it never leaks.
pub(crate) const TOKEN: &str = "dG9rZW4tdXVpZDtzZWNyZXQtdmFsdWU=";

/// Serves `router` on a fresh loopback port and returns its base URL.
pub(crate) async fn spawn_upstream(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the test upstream runs");
    });
    format!("http://{address}")
}

/// A gate generous enough never to hold a test back.
pub(crate) fn open_gate() -> Arc<RateGate> {
    RateGate::back_to_back(1_000, Duration::from_secs(1))
}

/// A client for `base_url` with the test token.
pub(crate) fn client(base_url: &str, timeout: Duration, gate: Arc<RateGate>) -> DsClient {
    DsClient::new(endpoint(base_url, timeout), gate).expect("a usable endpoint")
}

/// The endpoint settings of [`client`].
pub(crate) fn endpoint(base_url: &str, timeout: Duration) -> DsEndpoint {
    DsEndpoint {
        base_url: base_url.parse().expect("a valid base url"),
        token: SecretString::from(TOKEN),
        timeout,
    }
}

/// The first page of démarche 4242, full size.
pub(crate) fn first_page() -> DossiersPageRequest {
    DossiersPageRequest {
        demarche: DemarcheNumber::new(4242).expect("a valid démarche"),
        first: PageSize::MAX,
        after: None,
        updated_since: None,
        state: None,
    }
}
