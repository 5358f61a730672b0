//! Starts a sandbox on port 0 and talks to its GraphQL endpoint.

use std::net::SocketAddr;
use std::path::Path;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "sandbox-token";

/// An example document of the real API, kept in this checkout with the DS client (see
/// its `schema/README.md`): `shared/ds-client/schema/queries/` from the checkout's root.
pub(crate) fn reference_query(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the sandbox sits two folders below the checkout's root")
        .join("shared/ds-client/schema/queries")
        .join(file);
    std::fs::read_to_string(path).expect("the reference query is readable")
}

pub(crate) struct TestSandbox {
    pub(crate) sandbox: Sandbox,
    client: reqwest::Client,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("the answer is json")
    }
}

pub(crate) async fn spawn_sandbox(config: SandboxConfig) -> TestSandbox {
    let address: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let sandbox = Sandbox::start(config, address)
        .await
        .expect("the sandbox starts");
    TestSandbox {
        sandbox,
        client: reqwest::Client::new(),
    }
}

impl TestSandbox {
    fn endpoint(&self) -> String {
        format!("{}/api/v2/graphql", self.sandbox.base_url())
    }

    /// Posts a raw body with an optional `Authorization` header value.
    pub(crate) async fn post_raw(
        &self,
        authorization: Option<&str>,
        body: String,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .client
            .post(self.endpoint())
            .header("content-type", "application/json")
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok(Answer {
            status,
            headers,
            text,
        })
    }

    /// Posts a GraphQL request with `Bearer <token>`.
    pub(crate) async fn query(&self, token: &str, query: &str, variables: Value) -> Answer {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_raw(Some(&format!("Bearer {token}")), body)
            .await
            .expect("the sandbox answers")
    }
}
