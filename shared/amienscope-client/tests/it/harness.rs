//! A tiny upstream on a loopback port that records what it sees, and a client pointed at it.

use amienscope_client::{AmienscopeClient, AmienscopeEndpoint, UpdatesListing};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use rate_gate::RateGate;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A 32-character public key, as the API hands them out.
pub(crate) const PUBLIC_KEY: &str = "0123456789abcdef0123456789abcdef";
/// The private key every test client signs with; tests check it never leaks.
pub(crate) const PRIVATE_KEY: &str = "very-private-signing-key-42";
/// The e-mail address every test client sends.
pub(crate) const EMAIL: &str = "integration@example.org";
/// Calls that should never hit the timeout.
pub(crate) const PATIENT: Duration = Duration::from_secs(10);

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) public_key: Option<String>,
    pub(crate) datetime: Option<String>,
    pub(crate) signature: Option<String>,
    pub(crate) email: Option<String>,
}

/// Every request the upstream saw, in order.
pub(crate) type Log = Arc<Mutex<Vec<Seen>>>;

/// What the upstream answers to every request.
#[derive(Clone)]
pub(crate) struct Reply {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    /// A 200 with `body` as JSON.
    pub(crate) fn json(body: serde_json::Value) -> Self {
        Self::status(StatusCode::OK, body.to_string())
            .with_header("content-type", "application/json")
    }

    /// Any status with a raw body.
    pub(crate) fn status(status: StatusCode, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The same reply with one more header.
    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Clone)]
struct Upstream {
    log: Log,
    reply: Reply,
}

async fn record(State(upstream): State<Upstream>, request: Request) -> Response {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let seen = Seen {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        public_key: header("x-public-key"),
        datetime: header("x-datetime"),
        signature: header("x-signature"),
        email: header("email_addr"),
    };
    upstream.log.lock().expect("an unpoisoned log").push(seen);
    let Reply {
        status,
        headers,
        body,
    } = upstream.reply;
    let mut response = (status, body).into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("a valid test header value"));
    }
    response
}

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

/// An upstream answering `reply` on every path, recording each request.
pub(crate) async fn recording_upstream(reply: Reply) -> (String, Log) {
    let log = Log::default();
    let router = Router::new().fallback(record).with_state(Upstream {
        log: log.clone(),
        reply,
    });
    (spawn_upstream(router).await, log)
}

/// The requests `log` holds so far.
pub(crate) fn seen(log: &Log) -> Vec<Seen> {
    log.lock().expect("an unpoisoned log").clone()
}

/// A gate generous enough never to hold a test back.
pub(crate) fn open_gate() -> Arc<RateGate> {
    RateGate::back_to_back(1_000, Duration::from_secs(1))
}

/// The endpoint settings of the test clients: default recipe and id field.
pub(crate) fn endpoint(base_url: &str, timeout: Duration) -> AmienscopeEndpoint {
    let base_url = base_url.parse().expect("a valid base url");
    let mut endpoint =
        AmienscopeEndpoint::new(base_url, PUBLIC_KEY, SecretString::from(PRIVATE_KEY), EMAIL);
    endpoint.timeout = timeout;
    endpoint
}

/// A client for `base_url` with the test keys.
pub(crate) fn client(base_url: &str) -> AmienscopeClient {
    AmienscopeClient::new(endpoint(base_url, PATIENT), open_gate()).expect("a usable endpoint")
}

/// Every category, changed since 2015-10-10 00:00 Paris time.
pub(crate) fn since_2015() -> UpdatesListing {
    UpdatesListing {
        since: 1_444_428_000,
        category: None,
    }
}

/// The default recipe computed here, apart from the crate: HMAC-SHA256 of
/// `GET\n<path>\n<datetime>`, lowercase hex.
pub(crate) fn expected_default_signature(path: &str, datetime: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(PRIVATE_KEY.as_bytes()).expect("hmac takes any key");
    mac.update(format!("GET\n{path}\n{datetime}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
