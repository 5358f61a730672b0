//! Authentication, request shapes and GraphQL errors over HTTP.

use reqwest::StatusCode;
use sandbox::{SandboxConfig, TokenConfig};
use serde_json::{Value, json};

use crate::harness::{TOKEN, spawn_sandbox};

const DEMARCHE_TITLE: &str = "query($n: Int!) { demarche(number: $n) { title } }";

#[tokio::test]
async fn a_request_without_a_token_is_forbidden() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let body = json!({ "query": DEMARCHE_TITLE, "variables": { "n": 4242 } }).to_string();
    let answer = app.post_raw(None, body).await.unwrap();
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.json(),
        json!({"errors":[{"message":"Without a token, only persisted queries are allowed","extensions":{"code":"forbidden"}}],"data":null})
    );
}

#[tokio::test]
async fn an_unknown_token_is_forbidden_too() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let answer = app
        .query("not-a-token", DEMARCHE_TITLE, json!({ "n": 4242 }))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.json()["errors"][0]["extensions"]["code"],
        "forbidden"
    );
}

#[tokio::test]
async fn an_expired_token_is_unauthorized() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let answer = app
        .query("expired-token", DEMARCHE_TITLE, json!({ "n": 4242 }))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.json(),
        json!({"errors":[{"message":"Token expired","extensions":{"code":"unauthorized"}}],"data":null})
    );
}

#[tokio::test]
async fn every_documented_header_form_is_accepted() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let body = json!({ "query": DEMARCHE_TITLE, "variables": { "n": 1717 } }).to_string();
    for header in [
        format!("Bearer {TOKEN}"),
        format!("Bearer token={TOKEN}"),
        format!("Token {TOKEN}"),
    ] {
        let answer = app.post_raw(Some(&header), body.clone()).await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{header}");
        assert_eq!(
            answer.json()["data"]["demarche"]["title"],
            "Déclaration de manifestation sportive"
        );
    }
}

#[tokio::test]
async fn a_demarche_outside_the_token_scope_is_hidden_as_unauthorized() {
    let mut config = SandboxConfig::default();
    config
        .ds
        .tokens
        .push(TokenConfig::limited_to("narrow", [1717]));
    let app = spawn_sandbox(config).await;
    let hidden = app
        .query("narrow", DEMARCHE_TITLE, json!({ "n": 4242 }))
        .await;
    assert_eq!(hidden.status, StatusCode::OK);
    let body = hidden.json();
    assert_eq!(body["data"], Value::Null);
    assert_eq!(
        body["errors"][0]["message"],
        "An object of type Demarche was hidden due to permissions"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "unauthorized");
    let visible = app
        .query("narrow", DEMARCHE_TITLE, json!({ "n": 1717 }))
        .await;
    assert_eq!(
        visible.json()["data"]["demarche"]["title"],
        "Déclaration de manifestation sportive"
    );
}

#[tokio::test]
async fn an_unknown_demarche_is_not_found() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let body = app
        .query(TOKEN, DEMARCHE_TITLE, json!({ "n": 99 }))
        .await
        .json();
    assert_eq!(body["errors"][0]["message"], "Demarche not found");
    assert_eq!(body["errors"][0]["extensions"]["code"], "not_found");
    assert_eq!(body["errors"][0]["path"], json!(["demarche"]));
}

#[tokio::test]
async fn an_invalid_document_gets_errors_and_no_data() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let answer = app
        .query(
            TOKEN,
            "{ demarche(number: 4242) { dossiers { nodes { colour } } } }",
            json!({}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert!(body.get("data").is_none(), "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|error| error["message"].as_str().unwrap().contains("colour"))
    );
    assert!(errors.iter().all(|error| error["locations"].is_array()));
}

#[tokio::test]
async fn a_syntax_error_has_no_code() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let body = app
        .query(TOKEN, "{ demarche(number: 4242 { id } }", json!({}))
        .await
        .json();
    assert!(body.get("data").is_none());
    assert!(body["errors"][0].get("extensions").is_none(), "{body}");
}

#[tokio::test]
async fn an_unparseable_body_is_a_bad_request() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let answer = app
        .post_raw(Some("Bearer sandbox-token"), "{not json".to_owned())
        .await
        .unwrap();
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json()["errors"][0]["extensions"]["code"],
        "bad_request"
    );
}

#[tokio::test]
async fn variables_sent_as_a_string_are_read_as_json_or_refused() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let as_string = json!({ "query": DEMARCHE_TITLE, "variables": "{\"n\": 1717}" }).to_string();
    let answer = app
        .post_raw(Some("Bearer sandbox-token"), as_string)
        .await
        .unwrap();
    assert_eq!(
        answer.json()["data"]["demarche"]["title"],
        "Déclaration de manifestation sportive"
    );
    let broken = json!({ "query": DEMARCHE_TITLE, "variables": "{n: 1717" }).to_string();
    let answer = app
        .post_raw(Some("Bearer sandbox-token"), broken)
        .await
        .unwrap();
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json()["errors"][0]["extensions"]["code"],
        "graphql_parse_failed"
    );
}

#[tokio::test]
async fn a_variable_of_the_wrong_type_gets_an_error_and_no_data() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let answer = app
        .query(TOKEN, DEMARCHE_TITLE, json!({ "n": "quatre" }))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert!(body.get("data").is_none());
    assert!(!body["errors"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn aliases_fragments_and_include_work_over_http() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = r#"
        query($withLabels: Boolean!) {
          d: demarche(number: 4242) {
            ...Names
            labels @include(if: $withLabels) { name color }
            dossiers(first: 2) { edges { cursor node { n: number __typename } } }
          }
        }
        fragment Names on Demarche { title num: number }
    "#;
    let body = app
        .query(TOKEN, query, json!({ "withLabels": true }))
        .await
        .json();
    let demarche = &body["data"]["d"];
    assert_eq!(demarche["num"], 4242);
    assert_eq!(
        demarche["labels"][0],
        json!({ "name": "Urgent", "color": "pink_macaron" })
    );
    let edges = demarche["dossiers"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["__typename"], "Dossier");
    assert!(edges[0]["cursor"].is_string());
    let without = app
        .query(TOKEN, query, json!({ "withLabels": false }))
        .await
        .json();
    assert!(without["data"]["d"].get("labels").is_none());
}
