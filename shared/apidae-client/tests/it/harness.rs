//! A scripted upstream on a loopback port that records what it is sent, and a client
//! pointed at it.

use apidae_client::{ApidaeClient, ApidaeEndpoint};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get};
use rate_gate::RateGate;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const CLIENT_ID: &str = "test-client";
/// The secret of every test client; tests check it never leaks.
pub(crate) const SECRET: &str = "s3cr3t";
/// `Basic base64("test-client:s3cr3t")`.
pub(crate) const BASIC: &str = "Basic dGVzdC1jbGllbnQ6czNjcjN0";

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
    pub(crate) retry_after: Option<&'static str>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, value: Value) -> Self {
        Self {
            status,
            content_type: "application/json;charset=UTF-8",
            body: value.to_string(),
            retry_after: None,
        }
    }

    pub(crate) fn text(status: StatusCode, content_type: &'static str, body: &str) -> Self {
        Self {
            status,
            content_type,
            body: body.to_owned(),
            retry_after: None,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response();
        if let Some(value) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, value.parse().expect("a header value"));
        }
        response
    }
}

type TokenScript = Box<dyn Fn(usize) -> Reply + Send + Sync>;
type WriteScript = Box<dyn Fn(usize, &Write) -> Reply + Send + Sync>;

/// How the upstream answers token requests (given the 1-based request number) and
/// writes (given the 1-based write number and the write).
pub(crate) struct Script {
    pub(crate) token: TokenScript,
    pub(crate) write: WriteScript,
    /// How long each write waits before it answers.
    pub(crate) write_delay: Duration,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            token: Box::new(|n| grant(n, 43200)),
            write: Box::new(|_, write| accept_all(write)),
            write_delay: Duration::ZERO,
        }
    }
}

/// One token request as received.
#[derive(Debug, Clone)]
pub(crate) struct TokenRequest {
    pub(crate) method: Method,
    /// `http://<Host header><path>`: the URL requested, without its query.
    pub(crate) url: String,
    pub(crate) query: Option<String>,
    pub(crate) authorization: Option<String>,
    pub(crate) accept: Option<String>,
}

/// One write request as received.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Write {
    /// The bearer token the write carried.
    pub(crate) fn token(&self) -> String {
        self.authorization
            .as_deref()
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("")
            .to_owned()
    }

    /// The JSON of the form field `donneesPrivees`, read with the announced boundary.
    pub(crate) fn payload(&self) -> Value {
        let boundary = self
            .content_type
            .as_deref()
            .and_then(|value| value.strip_prefix("multipart/form-data; boundary="))
            .expect("a multipart content type");
        let body = String::from_utf8(self.body.clone()).expect("an ascii body");
        let opening = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"donneesPrivees\"\r\n\r\n"
        );
        let closing = format!("\r\n--{boundary}--\r\n");
        let json = body
            .strip_prefix(&opening)
            .and_then(|rest| rest.strip_suffix(&closing))
            .expect("one donneesPrivees part");
        serde_json::from_str(json).expect("the field is json")
    }

    /// The object ids of the payload.
    pub(crate) fn ids(&self) -> Vec<u64> {
        self.payload()["objetsTouristiques"]
            .as_array()
            .expect("a list of objects")
            .iter()
            .map(|object| object["id"].as_u64().expect("an integer id"))
            .collect()
    }
}

/// What the upstream was sent, in order.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) tokens: Mutex<Vec<TokenRequest>>,
    pub(crate) writes: Mutex<Vec<Write>>,
}

impl Seen {
    pub(crate) fn token_requests(&self) -> Vec<TokenRequest> {
        self.tokens.lock().expect("an unpoisoned log").clone()
    }

    pub(crate) fn writes(&self) -> Vec<Write> {
        self.writes.lock().expect("an unpoisoned log").clone()
    }

    /// The token each write carried, in order.
    pub(crate) fn write_tokens(&self) -> Vec<String> {
        self.writes().iter().map(Write::token).collect()
    }
}

struct Shared {
    script: Script,
    seen: Arc<Seen>,
}

/// The token of the `n`th token request.
pub(crate) fn token(n: usize) -> String {
    format!("0b6e-tok-{n}")
}

/// A successful token answer handing out [`token`]`(n)`, valid `expires_in` seconds.
pub(crate) fn grant(n: usize, expires_in: u64) -> Reply {
    Reply::json(
        StatusCode::OK,
        json!({"access_token": token(n), "token_type": "bearer", "expires_in": expires_in, "scope": "api_ecriture"}),
    )
}

/// A success naming every object of the write.
pub(crate) fn accept_all(write: &Write) -> Reply {
    let status = if write.method == Method::DELETE {
        "SUPPRESSION_DONNEES_PRIVEES"
    } else {
        "MODIFICATION_DONNEES_PRIVEES"
    };
    Reply::json(StatusCode::OK, json!({"id": write.ids(), "status": status}))
}

/// The OAuth refusal of an expired token.
pub(crate) fn invalid_token(token: &str) -> Reply {
    Reply::json(
        StatusCode::UNAUTHORIZED,
        json!({"error": "invalid_token", "error_description": format!("Invalid access token: {token}")}),
    )
}

async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Reply {
    let n = {
        let mut tokens = shared.seen.tokens.lock().expect("an unpoisoned log");
        tokens.push(TokenRequest {
            method,
            url: format!(
                "http://{}{}",
                text(&headers, header::HOST).unwrap_or_default(),
                uri.path()
            ),
            query,
            authorization: text(&headers, header::AUTHORIZATION),
            accept: text(&headers, header::ACCEPT),
        });
        tokens.len()
    };
    (shared.script.token)(n)
}

async fn write_endpoint(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let write = Write {
        method,
        path: uri.path().to_owned(),
        authorization: text(&headers, header::AUTHORIZATION),
        content_type: text(&headers, header::CONTENT_TYPE),
        body: body.to_vec(),
    };
    let n = {
        let mut writes = shared.seen.writes.lock().expect("an unpoisoned log");
        writes.push(write.clone());
        writes.len()
    };
    tokio::time::sleep(shared.script.write_delay).await;
    (shared.script.write)(n, &write)
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// A running upstream: its root URL and what it has seen.
pub(crate) struct Upstream {
    pub(crate) root: String,
    pub(crate) seen: Arc<Seen>,
}

impl Upstream {
    /// A client of this upstream with the test credentials and `timeout`.
    pub(crate) fn client_with_timeout(&self, timeout: Duration) -> ApidaeClient {
        self.client_with(timeout, open_gate())
    }

    /// A client of this upstream with the test credentials, `timeout` and `gate`.
    pub(crate) fn client_with(&self, timeout: Duration, gate: Arc<RateGate>) -> ApidaeClient {
        ApidaeClient::new(
            ApidaeEndpoint {
                base_url: self.root.parse().expect("a base url"),
                token_url: self.token_url().parse().expect("a token url"),
                client_id: CLIENT_ID.to_owned(),
                client_secret: SecretString::from(SECRET),
                timeout,
            },
            gate,
        )
        .expect("a usable endpoint")
    }

    /// The token URL the test clients are configured with.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/oauth/token", self.root)
    }

    pub(crate) fn client(&self) -> ApidaeClient {
        self.client_with_timeout(Duration::from_secs(5))
    }
}

/// A gate generous enough never to hold a test back.
pub(crate) fn open_gate() -> Arc<RateGate> {
    RateGate::back_to_back(1_000, Duration::from_secs(1))
}

/// Serves `script` under `/apidae` on a loopback port; both the slashed write path and
/// its slash-less twin are recorded.
pub(crate) async fn upstream(script: Script) -> Upstream {
    let seen = Arc::new(Seen::default());
    let shared = Arc::new(Shared {
        script,
        seen: seen.clone(),
    });
    let app = Router::new()
        .route(
            "/apidae/oauth/token",
            get(token_endpoint).post(token_endpoint),
        )
        .route("/apidae/api/v002/donnees-privees/", any(write_endpoint))
        .route("/apidae/api/v002/donnees-privees", any(write_endpoint))
        .with_state(shared);
    Upstream {
        root: serve(app).await,
        seen,
    }
}

/// Serves tokens that are always granted and answers every write with `write`, under
/// `/apidae` on a loopback port; nothing is recorded.
pub(crate) async fn upstream_writing(write: MethodRouter) -> Upstream {
    let app = Router::new()
        .route("/apidae/oauth/token", get(|| async { grant(1, 43200) }))
        .route("/apidae/api/v002/donnees-privees/", write);
    Upstream {
        root: serve(app).await,
        seen: Arc::default(),
    }
}

/// Serves `app` on a loopback port; returns its root URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("the upstream serves");
    });
    format!("http://{address}/apidae")
}
