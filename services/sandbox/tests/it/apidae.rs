//! The Apidae private-descriptor write stand-in over HTTP: tokens, writes, refusals,
//! and injected error pages.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use sandbox::apidae::{KNOWN_OBJECTS_FROM, TOKEN_PATH, WRITE_PATH};
use sandbox::{
    ApidaeChange, ApidaeConfig, ApidaeFault, ApidaeFaultPlan, ApidaeProject, KnownObjects,
    SandboxConfig, ScheduledChange, TechnicalNames,
};
use serde_json::{Value, json};

use crate::harness::{TestSandbox, spawn_sandbox};

const CLIENT_ID: &str = "sandbox-apidae-client";
const SECRET: &str = "sandbox-apidae-secret";
const BOUNDARY: &str = "test-boundary-7f3a";

/// The first seeded object id, always known by default.
const KNOWN: u64 = KNOWN_OBJECTS_FROM;
/// An id no seed ever makes known.
const UNKNOWN: u64 = 42;

struct Answer {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("the answer is json")
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("a readable body");
    Answer {
        status,
        content_type,
        text,
    }
}

fn with_apidae(apidae: ApidaeConfig) -> SandboxConfig {
    SandboxConfig {
        apidae,
        ..SandboxConfig::default()
    }
}

async fn request_token(app: &TestSandbox, client_id: &str, secret: &str) -> Answer {
    let response = reqwest::Client::new()
        .get(format!(
            "{}{TOKEN_PATH}?grant_type=client_credentials",
            app.sandbox.base_url()
        ))
        .basic_auth(client_id, Some(secret))
        .header("accept", "application/json")
        .send()
        .await
        .expect("the sandbox answers");
    answer(response).await
}

async fn token(app: &TestSandbox) -> String {
    let answer = request_token(app, CLIENT_ID, SECRET).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

/// A multipart body with one field `name` holding `value`.
fn form(name: &str, value: &str) -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n--{BOUNDARY}--\r\n"
    )
}

async fn send(app: &TestSandbox, method: Method, path: &str, token: &str, body: String) -> Answer {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", app.sandbox.base_url()))
        .header("authorization", format!("Bearer {token}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("the sandbox answers");
    answer(response).await
}

async fn write(app: &TestSandbox, method: Method, token: &str, payload: &Value) -> Answer {
    send(
        app,
        method,
        WRITE_PATH,
        token,
        form("donneesPrivees", &payload.to_string()),
    )
    .await
}

fn put_payload(ids: &[u64], name: &str, french: &str) -> Value {
    let objects: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "donneesPrivees": [
                {"nomTechnique": name, "descriptif": {"libelleFr": french, "libelleEn": "Content"}}
            ]})
        })
        .collect();
    json!({ "objetsTouristiques": objects })
}

fn texts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, text)| (key.to_string(), text.to_string()))
        .collect()
}

fn known_ids(app: &TestSandbox, count: usize) -> Vec<u64> {
    app.sandbox
        .apidae()
        .known_objects()
        .into_iter()
        .take(count)
        .collect()
}

#[tokio::test]
async fn the_token_endpoint_grants_known_clients_and_refuses_others() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let granted = request_token(&app, CLIENT_ID, SECRET).await;
    assert_eq!(granted.status, StatusCode::OK);
    let body = granted.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 12 * 3600);
    assert_eq!(body["scope"], "api_ecriture");
    assert!(!body["access_token"].as_str().unwrap().is_empty());

    let posted = reqwest::Client::new()
        .post(format!("{}{TOKEN_PATH}", app.sandbox.base_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(posted.status(), StatusCode::OK);

    let refused = request_token(&app, CLIENT_ID, "wrong").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_client");
    assert!(!refused.text.contains("wrong"));
    let unknown = request_token(&app, "someone-else", SECRET).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

    let no_grant = reqwest::Client::new()
        .get(format!("{}{TOKEN_PATH}", app.sandbox.base_url()))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(no_grant.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.sandbox.apidae().token_calls(), 5);
}

#[tokio::test]
async fn the_token_lifetime_is_configurable() {
    let app = spawn_sandbox(with_apidae(ApidaeConfig {
        token_lifetime: Duration::from_secs(600),
        ..ApidaeConfig::default()
    }))
    .await;
    let granted = request_token(&app, CLIENT_ID, SECRET).await;
    assert_eq!(granted.json()["expires_in"], 600);
}

#[tokio::test]
async fn a_put_stores_descriptors_and_answers_the_known_ids_only() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let known = known_ids(&app, 2);
    let payload = json!({"objetsTouristiques": [
        {"id": known[0], "donneesPrivees": [
            {"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "Gîte « été »", "libelleEn": "Content_1"}},
            {"nomTechnique": "2_ChampPrive", "descriptif": {"libelleFr": "Descriptif_2"}}
        ]},
        {"id": UNKNOWN, "donneesPrivees": [
            {"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "ignored"}}
        ]},
        {"id": known[1], "donneesPrivees": [
            {"nomTechnique": "1_ChampPrive", "descriptif": {"libelleFr": "Descriptif_3"}}
        ]}
    ]});
    let answer = write(&app, Method::PUT, &token, &payload).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(answer.content_type.starts_with("application/json"));
    assert_eq!(
        answer.json(),
        json!({"id": [known[0], known[1]], "status": "MODIFICATION_DONNEES_PRIVEES"})
    );

    let apidae = app.sandbox.apidae();
    assert_eq!(
        apidae.descriptors_of(known[0]),
        BTreeMap::from([
            (
                "1_ChampPrive".to_owned(),
                texts(&[("libelleFr", "Gîte « été »"), ("libelleEn", "Content_1")])
            ),
            (
                "2_ChampPrive".to_owned(),
                texts(&[("libelleFr", "Descriptif_2")])
            ),
        ])
    );
    assert!(apidae.descriptors_of(UNKNOWN).is_empty());
    assert_eq!(
        apidae.stored().keys().copied().collect::<Vec<_>>(),
        vec![known[0], known[1]]
    );

    let replaced = write(
        &app,
        Method::PUT,
        &token,
        &put_payload(&[known[0]], "1_ChampPrive", "Nouveau"),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(
        apidae.descriptors_of(known[0])["1_ChampPrive"],
        texts(&[("libelleFr", "Nouveau"), ("libelleEn", "Content")])
    );
    assert_eq!(apidae.write_calls(), 2);
}

#[tokio::test]
async fn fifty_one_objects_are_refused_with_no_action_and_nothing_is_written() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let ids = known_ids(&app, 51);
    let answer = write(&app, Method::PUT, &token, &put_payload(&ids, "a", "x")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json(),
        json!({"status": "NO_ACTION", "message": "La liste des objets à modifier est trop importante. Max attendus : 50 - Reçus : 51"})
    );
    assert!(app.sandbox.apidae().stored().is_empty());

    let answer = write(
        &app,
        Method::PUT,
        &token,
        &put_payload(&ids[..50], "a", "x"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["status"], "MODIFICATION_DONNEES_PRIVEES");
    assert_eq!(answer.json()["id"].as_array().unwrap().len(), 50);
    assert_eq!(app.sandbox.apidae().stored().len(), 50);
}

#[tokio::test]
async fn the_write_path_without_its_slash_is_an_authentication_error() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let slashless = WRITE_PATH.trim_end_matches('/');
    for method in [Method::PUT, Method::DELETE] {
        let answer = send(
            &app,
            method,
            slashless,
            &token,
            form(
                "donneesPrivees",
                &put_payload(&[KNOWN], "a", "x").to_string(),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.json()["error"], "unauthorized");
    }
    assert!(app.sandbox.apidae().stored().is_empty());
    assert_eq!(app.sandbox.apidae().write_calls(), 2);
}

#[tokio::test]
async fn both_delete_forms_remove_exactly_the_named_descriptors() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let ids = known_ids(&app, 2);
    let payload = json!({"objetsTouristiques": ids.iter().map(|id| json!({"id": id, "donneesPrivees": [
        {"nomTechnique": "a", "descriptif": {"libelleFr": "A"}},
        {"nomTechnique": "b", "descriptif": {"libelleFr": "B"}},
        {"nomTechnique": "c", "descriptif": {"libelleFr": "C"}}
    ]})).collect::<Vec<_>>()});
    assert_eq!(
        write(&app, Method::PUT, &token, &payload).await.status,
        StatusCode::OK
    );

    let by_name = json!({"objetsTouristiques": [
        {"id": ids[0], "donneesPriveesASupprimer": ["a", "b"]},
        {"id": UNKNOWN, "donneesPriveesASupprimer": ["a"]}
    ]});
    let answer = write(&app, Method::DELETE, &token, &by_name).await;
    assert_eq!(
        answer.json(),
        json!({"id": [ids[0]], "status": "SUPPRESSION_DONNEES_PRIVEES"})
    );
    let by_descriptor = json!({"objetsTouristiques": [
        {"id": ids[1], "donneesPrivees": [{"nomTechnique": "c"}, {"nomTechnique": "missing"}]}
    ]});
    let answer = write(&app, Method::DELETE, &token, &by_descriptor).await;
    assert_eq!(
        answer.json(),
        json!({"id": [ids[1]], "status": "SUPPRESSION_DONNEES_PRIVEES"})
    );

    let apidae = app.sandbox.apidae();
    let names = |id| {
        apidae
            .descriptors_of(id)
            .into_keys()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(names(ids[0]), BTreeSet::from(["c".to_owned()]));
    assert_eq!(
        names(ids[1]),
        BTreeSet::from(["a".to_owned(), "b".to_owned()])
    );
}

#[tokio::test]
async fn a_technical_name_the_project_does_not_own_is_forbidden_and_nothing_is_written() {
    let app = spawn_sandbox(with_apidae(ApidaeConfig {
        clients: vec![ApidaeProject {
            technical_names: TechnicalNames::Only(BTreeSet::from(["mine".to_owned()])),
            ..ApidaeProject::sandbox()
        }],
        ..ApidaeConfig::default()
    }))
    .await;
    let token = token(&app).await;
    let payload = json!({"objetsTouristiques": [
        {"id": KNOWN, "donneesPrivees": [
            {"nomTechnique": "mine", "descriptif": {"libelleFr": "ok"}},
            {"nomTechnique": "theirs", "descriptif": {"libelleFr": "no"}}
        ]}
    ]});
    let answer = write(&app, Method::PUT, &token, &payload).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.json()["errorType"], "ECRITURE_FORBIDDEN");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("theirs")
    );
    assert!(app.sandbox.apidae().stored().is_empty());

    let allowed = write(
        &app,
        Method::PUT,
        &token,
        &put_payload(&[KNOWN], "mine", "ok"),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
}

#[tokio::test]
async fn a_project_without_write_rights_is_forbidden() {
    let app = spawn_sandbox(with_apidae(ApidaeConfig {
        clients: vec![ApidaeProject {
            can_write: false,
            ..ApidaeProject::sandbox()
        }],
        ..ApidaeConfig::default()
    }))
    .await;
    let token = token(&app).await;
    let answer = write(&app, Method::PUT, &token, &put_payload(&[KNOWN], "a", "x")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.json()["errorType"], "ECRITURE_FORBIDDEN");
    assert!(app.sandbox.apidae().stored().is_empty());
}

#[tokio::test]
async fn a_missing_field_or_bad_json_gets_its_error_type() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let missing = send(&app, Method::PUT, WRITE_PATH, &token, form("other", "{}")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.json(),
        json!({"errorType": "ECRITURE_BAD_REQUEST", "message": "Paramètre 'donneesPrivees' manquant dans la requête"})
    );
    for body in [
        form("donneesPrivees", "{\"objetsTouristiques\":[{"),
        form(
            "donneesPrivees",
            "{\"objetsTouristiques\":[{\"id\":\"x\"}]}",
        ),
    ] {
        let invalid = send(&app, Method::PUT, WRITE_PATH, &token, body).await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert_eq!(invalid.json()["errorType"], "ECRITURE_INVALID_JSON_DATA");
    }
    let no_descriptif =
        json!({"objetsTouristiques": [{"id": KNOWN, "donneesPrivees": [{"nomTechnique": "a"}]}]});
    let answer = write(&app, Method::PUT, &token, &no_descriptif).await;
    assert_eq!(answer.json()["errorType"], "ECRITURE_INVALID_JSON_DATA");
    let answer = write(&app, Method::DELETE, &token, &no_descriptif).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "descriptif is optional on delete"
    );
    assert_eq!(app.sandbox.apidae().write_calls(), 5);
}

#[tokio::test]
async fn expired_missing_or_unknown_tokens_get_a_401() {
    let app = spawn_sandbox(with_apidae(ApidaeConfig {
        token_lifetime: Duration::from_millis(300),
        ..ApidaeConfig::default()
    }))
    .await;
    let payload = put_payload(&[KNOWN], "a", "x");
    let short = token(&app).await;
    assert_eq!(
        write(&app, Method::PUT, &short, &payload).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = write(&app, Method::PUT, &short, &payload).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.json()["error"], "invalid_token");

    let unknown = write(&app, Method::PUT, "not-a-token", &payload).await;
    assert_eq!(unknown.json()["error"], "invalid_token");
    let missing = reqwest::Client::new()
        .put(format!("{}{WRITE_PATH}", app.sandbox.base_url()))
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expire_tokens_revokes_the_tokens_issued_so_far() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let old = token(&app).await;
    app.sandbox.apidae().expire_tokens();
    let payload = put_payload(&[KNOWN], "a", "x");
    let refused = write(&app, Method::PUT, &old, &payload).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let new = token(&app).await;
    assert_eq!(
        write(&app, Method::PUT, &new, &payload).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn planned_html_pages_replace_the_answer() {
    let app = spawn_sandbox(with_apidae(ApidaeConfig {
        fault_plan: ApidaeFaultPlan {
            pages: BTreeMap::from([
                (2, ApidaeFault::HtmlUnavailable),
                (3, ApidaeFault::HtmlServerError),
                (4, ApidaeFault::PlainUnavailable),
            ]),
        },
        ..ApidaeConfig::default()
    }))
    .await;
    let token = token(&app).await;
    let payload = put_payload(&[KNOWN], "a", "x");
    let unavailable = write(&app, Method::PUT, &token, &payload).await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(unavailable.content_type.starts_with("text/html"));
    assert!(
        unavailable.text.contains("HTTP Status 503"),
        "{}",
        unavailable.text
    );
    assert!(unavailable.text.contains("Apache Tomcat"));
    let server_error = write(&app, Method::PUT, &token, &payload).await;
    assert_eq!(server_error.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(server_error.content_type.starts_with("text/html"));
    let plain = write(&app, Method::PUT, &token, &payload).await;
    assert_eq!(plain.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(plain.text, "Service Unavailable");
    assert!(plain.content_type.starts_with("text/plain"));
    assert!(app.sandbox.apidae().stored().is_empty());
    let ok = write(&app, Method::PUT, &token, &payload).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn scheduled_and_requested_failures_hit_the_next_writes() {
    let app = spawn_sandbox(with_apidae(ApidaeConfig {
        scheduled_changes: vec![ScheduledChange::new(
            1,
            ApidaeChange::FailNextWrites {
                fault: ApidaeFault::HtmlUnavailable,
                count: 1,
            },
        )],
        known_objects: KnownObjects::Only(BTreeSet::from([7])),
        ..ApidaeConfig::default()
    }))
    .await;
    let token = token(&app).await;
    let payload = put_payload(&[7], "a", "x");
    let statuses = [
        write(&app, Method::PUT, &token, &payload).await.status,
        write(&app, Method::PUT, &token, &payload).await.status,
        write(&app, Method::PUT, &token, &payload).await.status,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK
        ]
    );
    app.sandbox
        .apidae()
        .fail_next_writes(ApidaeFault::PlainUnavailable, 2);
    for _ in 0..2 {
        let answer = write(&app, Method::PUT, &token, &payload).await;
        assert_eq!(answer.text, "Service Unavailable");
    }
    assert_eq!(
        write(&app, Method::PUT, &token, &payload).await.status,
        StatusCode::OK
    );
    assert_eq!(app.sandbox.apidae().known_objects(), BTreeSet::from([7]));
}
