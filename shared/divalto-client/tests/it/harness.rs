//! A scripted upstream on a loopback port that records what it is sent, and a client
//! pointed at it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{MethodRouter, post};
use divalto_client::{DivaltoClient, DivaltoEndpoint, RecordCount, RecordQuery};
use rate_gate::RateGate;
use secrecy::SecretString;
use serde_json::{Value, json};
use settings::BaseUrl;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The password of every test client; tests check it never leaks.
pub(crate) const PASSWORD: &str = "pa55-w0rd!";

/// One scripted answer: status and raw body.
pub(crate) type Reply = (StatusCode, String);

/// How the upstream answers logins (given the 1-based login number) and reads (given
/// the request body).
pub(crate) struct Script {
    pub(crate) auth: Box<dyn Fn(usize) -> Reply + Send + Sync>,
    pub(crate) execute: Box<dyn Fn(&Value) -> Reply + Send + Sync>,
    /// How long each login waits before it answers.
    pub(crate) login_delay: Duration,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            auth: Box::new(issue_token),
            execute: Box::new(serve_page),
            login_delay: Duration::ZERO,
        }
    }
}

/// What the upstream was sent, in order.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) logins: Mutex<Vec<Value>>,
    pub(crate) reads: Mutex<Vec<Read>>,
}

/// One `RecordSql/Execute` request as received.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    pub(crate) content_type: Option<String>,
    pub(crate) body: Value,
}

impl Seen {
    pub(crate) fn login_count(&self) -> usize {
        self.logins.lock().expect("an unpoisoned log").len()
    }

    pub(crate) fn reads(&self) -> Vec<Read> {
        self.reads.lock().expect("an unpoisoned log").clone()
    }

    /// The token each read carried, in order.
    pub(crate) fn read_tokens(&self) -> Vec<String> {
        self.reads()
            .iter()
            .map(|read| read.body["access_token"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

struct Shared {
    script: Script,
    seen: Arc<Seen>,
}

/// The token of the `n`th login; like the real ones, it embeds the password.
pub(crate) fn token(n: usize) -> String {
    format!("eyJ0eXAi.{PASSWORD}.{n}")
}

/// A successful login handing out [`token`]`(n)`.
pub(crate) fn issue_token(n: usize) -> Reply {
    ok_json(json!({"error": 0, "access_token": token(n), "txterr": "", "infos": ""}))
}

/// Two records numbered after the offset, one value sent as a JSON number.
pub(crate) fn serve_page(body: &Value) -> Reply {
    let offset = body["offset"].as_u64().unwrap_or(0);
    ok_json(json!({
        "error": 0, "txterr": "", "tablename": "T057", "nbrecord": 2,
        "records": [
            {"record": {"ID": (offset + 1).to_string(), "VIL": "BOURG EN BRESSE", "RANK": 1}},
            {"record": {"ID": (offset + 2).to_string(), "VIL": "BROU", "RANK": 2}}
        ],
        "infos": ""
    }))
}

/// A rejection with `code` and `text`, in a 200 as the service sends them.
pub(crate) fn rejection(code: i64, text: &str) -> Reply {
    ok_json(
        json!({"error": code, "txterr": text, "tablename": "", "nbrecord": 0, "records": null, "infos": ""}),
    )
}

pub(crate) fn ok_json(value: Value) -> Reply {
    (StatusCode::OK, value.to_string())
}

async fn login(State(shared): State<Arc<Shared>>, body: String) -> Reply {
    let n = {
        let mut logins = shared.seen.logins.lock().expect("an unpoisoned log");
        logins.push(serde_json::from_str(&body).unwrap_or(Value::Null));
        logins.len()
    };
    tokio::time::sleep(shared.script.login_delay).await;
    (shared.script.auth)(n)
}

async fn read(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Reply {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    shared
        .seen
        .reads
        .lock()
        .expect("an unpoisoned log")
        .push(Read {
            content_type,
            body: body.clone(),
        });
    (shared.script.execute)(&body)
}

/// The service root under the loopback server, as on premises.
const ROOT: &str = "/DhsDivaltoServiceDivaApiRest";

/// Serves `script` on a fresh loopback port; returns the base URL (with the on-premises
/// prefix) and what the upstream sees.
pub(crate) async fn spawn_upstream(script: Script) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let shared = Arc::new(Shared {
        script,
        seen: seen.clone(),
    });
    let router = Router::new()
        .route(&format!("{ROOT}/api/v1/Authent/Auth"), post(login))
        .route(&format!("{ROOT}/api/v1/RecordSql/Execute"), post(read))
        .with_state(shared);
    (serve(router).await, seen)
}

/// Serves logins that always succeed and `execute` on the read path, on a fresh
/// loopback port; returns the base URL.
pub(crate) async fn spawn_reads(execute: MethodRouter) -> String {
    let router = Router::new()
        .route(
            &format!("{ROOT}/api/v1/Authent/Auth"),
            post(|| async { issue_token(1) }),
        )
        .route(&format!("{ROOT}/api/v1/RecordSql/Execute"), execute);
    serve(router).await
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the test upstream runs");
    });
    format!("http://{address}{ROOT}")
}

/// A gate generous enough never to hold a test back.
pub(crate) fn open_gate() -> Arc<RateGate> {
    RateGate::back_to_back(1_000, Duration::from_secs(1))
}

/// The endpoint settings of the test account.
pub(crate) fn endpoint(base_url: &str) -> DivaltoEndpoint {
    DivaltoEndpoint {
        base_url: base_url.parse::<BaseUrl>().expect("a usable base url"),
        domain: "C123456.divalto.com".into(),
        user: "apiuser".into(),
        password: SecretString::from(PASSWORD),
        environment: "ERP213".into(),
        token_lifetime: Duration::from_secs(45 * 60),
        timeout: Duration::from_secs(10),
    }
}

/// A client of the test account at `base_url`.
pub(crate) fn client(base_url: &str) -> DivaltoClient {
    DivaltoClient::new(endpoint(base_url), open_gate()).expect("a usable endpoint")
}

/// The postal codes, every field.
pub(crate) fn postal_codes() -> RecordQuery {
    RecordQuery {
        dhoq: "gtrstab.dhoq".into(),
        recordsql: "CODEPOSTAL".into(),
        ..RecordQuery::default()
    }
}

/// A page of ten.
pub(crate) fn ten() -> RecordCount {
    RecordCount::new(10, 1000).expect("a valid count")
}
