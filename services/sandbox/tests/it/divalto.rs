//! The Divalto RecordSql stand-in over HTTP: authentication, tokens, paging
//! quirks, errors and data changes between pages.

use std::collections::HashSet;
use std::time::Duration;

use sandbox::divalto::{
    ERROR_INVALID_TOKEN, ERROR_MALFORMED_REQUEST, ERROR_NOT_AUTHORISED, ERROR_UNKNOWN_NAME,
};
use sandbox::{
    DivaltoChange, DivaltoConfig, DivaltoTable, FaultConfig, FaultPlan, SandboxConfig,
    ScheduledChange,
};
use serde_json::{Value, json};

use crate::harness::{TestSandbox, spawn_sandbox};

const USER: &str = "sandbox@sandbox.local";
const PASSWORD: &str = "sandbox-password";
const ENV: &str = "SANDBOX";

async fn post(app: &TestSandbox, path: &str, body: String) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/divalto/api/v1/{path}", app.sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response.json().await.expect("the answer is json")
}

async fn auth(app: &TestSandbox, body: Value) -> Value {
    post(app, "Authent/Auth", body.to_string()).await
}

async fn token(app: &TestSandbox) -> String {
    let answer = auth(
        app,
        json!({"domain":"","user":USER,"password":PASSWORD,"env":ENV,"infos":""}),
    )
    .await;
    assert_eq!(answer["error"], 0, "{answer}");
    answer["access_token"].as_str().unwrap().to_owned()
}

/// A RecordSql body on the articles, with `extra` tags overriding the defaults.
fn articles(token: &str, extra: Value) -> Value {
    let mut body = json!({
        "dhoq": "gtrsart.dhoq", "recordsql": "Article", "access_token": token,
        "parameters": "", "fields": "*", "where": "", "where_parameters": "",
        "offset": 0, "count": 10, "orderby": "", "having": "", "having_parameters": "",
        "infos": "",
    });
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

async fn execute(app: &TestSandbox, body: Value) -> Value {
    post(app, "RecordSql/Execute", body.to_string()).await
}

fn ids(answer: &Value, field: &str) -> Vec<u64> {
    answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|wrapper| wrapper["record"][field].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_sandbox_account_gets_a_token_with_or_without_a_domain() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    for (domain, user) in [
        ("", USER),
        ("sandbox.local", USER),
        ("SANDBOX.LOCAL", "sandbox"),
    ] {
        let answer = auth(
            &app,
            json!({"domain":domain,"user":user,"password":PASSWORD,"env":ENV,"infos":""}),
        )
        .await;
        assert_eq!(answer["error"], 0, "{answer}");
        assert_eq!(answer["txterr"], "");
        assert_eq!(answer["infos"], "");
        assert!(answer["access_token"].as_str().unwrap().len() >= 32);
    }
    assert_eq!(app.sandbox.divalto().auth_calls(), 3);
}

#[tokio::test]
async fn a_wrong_password_environment_or_user_is_refused_in_the_body() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    for (user, password, env) in [
        (USER, "wrong", ENV),
        (USER, PASSWORD, "PROD"),
        ("other@sandbox.local", PASSWORD, ENV),
    ] {
        let answer = auth(
            &app,
            json!({"domain":"","user":user,"password":password,"env":env,"infos":""}),
        )
        .await;
        assert_ne!(answer["error"], 0, "{answer}");
        assert_eq!(answer["access_token"], "");
        assert!(!answer["txterr"].as_str().unwrap().is_empty());
        assert!(!answer.to_string().contains("wrong"), "no password echoed");
    }
}

#[tokio::test]
async fn an_expired_or_unknown_token_gets_an_error_and_null_records() {
    let mut config = SandboxConfig::default();
    config.divalto.token_lifetime = Duration::from_millis(300);
    let app = spawn_sandbox(config).await;
    let token = token(&app).await;

    let fresh = execute(&app, articles(&token, json!({}))).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = execute(&app, articles(&token, json!({}))).await;
    let unknown = execute(&app, articles("not-a-token", json!({}))).await;

    assert_eq!(fresh["error"], 0);
    for answer in [expired, unknown] {
        assert_eq!(answer["error"], ERROR_INVALID_TOKEN, "{answer}");
        assert_eq!(answer["txterr"], "erreur : jeton invalide ou expiré");
        assert_eq!(answer["records"], Value::Null);
        assert_eq!(answer["nbrecord"], 0);
    }
    assert_eq!(app.sandbox.divalto().record_sql_calls(), 3);
}

#[tokio::test]
async fn expiring_tokens_from_the_handle_forces_a_new_authentication() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let old = token(&app).await;

    app.sandbox.divalto().expire_tokens();

    let refused = execute(&app, articles(&old, json!({}))).await;
    assert_eq!(refused["error"], ERROR_INVALID_TOKEN);
    let new = token(&app).await;
    assert_ne!(new, old);
    assert_eq!(execute(&app, articles(&new, json!({}))).await["error"], 0);
}

#[tokio::test]
async fn count_zero_returns_one_record_and_a_large_count_is_cut_to_the_cap() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;

    let zero = execute(&app, articles(&token, json!({"count": 0}))).await;
    let absent = execute(
        &app,
        json!({"dhoq":"gtrsart.dhoq","recordsql":"Article","access_token":token}),
    )
    .await;
    let large = execute(&app, articles(&token, json!({"count": 5000}))).await;

    assert_eq!(zero["nbrecord"], 1);
    assert_eq!(zero["records"].as_array().unwrap().len(), 1);
    assert_eq!(absent["nbrecord"], 1);
    assert_eq!(large["error"], 0);
    assert_eq!(large["nbrecord"], 1000);
    assert_eq!(large["records"].as_array().unwrap().len(), 1000);
}

#[tokio::test]
async fn the_cap_is_configurable() {
    let config = SandboxConfig {
        divalto: DivaltoConfig {
            record_cap: 100,
            ..DivaltoConfig::default()
        },
        ..SandboxConfig::default()
    };
    let app = spawn_sandbox(config).await;
    let token = token(&app).await;
    let answer = execute(&app, articles(&token, json!({"count": 150}))).await;
    assert_eq!(answer["nbrecord"], 100);
}

#[tokio::test]
async fn a_full_walk_over_the_articles_ends_with_an_empty_page() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let mut served = Vec::new();
    let mut counts = Vec::new();
    loop {
        let answer = execute(
            &app,
            articles(
                &token,
                json!({"offset": served.len(), "count": 1000, "fields": "ART_ID"}),
            ),
        )
        .await;
        assert_eq!(answer["tablename"], "ART");
        let nbrecord = answer["nbrecord"].as_u64().unwrap();
        counts.push(nbrecord);
        served.extend(ids(&answer, "ART_ID"));
        if nbrecord < 1000 {
            break;
        }
    }
    assert_eq!(counts.len(), 11);
    assert_eq!(counts.last(), Some(&0));
    assert_eq!(served.len(), 10_000);
    assert_eq!(served.iter().collect::<HashSet<_>>().len(), 10_000);
    assert!(served.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(served, app.sandbox.divalto().ids(DivaltoTable::Article));
}

#[tokio::test]
async fn the_payment_modes_take_three_pages_of_ten() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let mut counts = Vec::new();
    for offset in [0, 10, 20] {
        let answer = execute(
            &app,
            json!({"dhoq":"gtrstab.dhoq","recordsql":"MODEREGLEMENT","access_token":token,
                   "fields":"DOS;REGL;LIB","offset":offset,"count":10}),
        )
        .await;
        assert_eq!(answer["tablename"], "T006");
        let first = &answer["records"][0]["record"];
        assert_eq!(
            first.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["DOS", "LIB", "REGL"]
        );
        assert_eq!(first["DOS"], "998");
        counts.push(answer["nbrecord"].as_u64().unwrap());
    }
    assert_eq!(counts, [10, 10, 9]);
}

#[tokio::test]
async fn an_unauthorised_pair_gets_error_54() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;

    let empty = execute(
        &app,
        json!({"dhoq":"xxrstab.dhoq","recordsql":"","access_token":token,"fields":"*",
               "where":" ","offset":0,"count":0,"infos":" "}),
    )
    .await;
    let other = execute(
        &app,
        articles(&token, json!({"dhoq":"gtrstab.dhoq","recordsql":"CATFOU"})),
    )
    .await;

    assert_eq!(
        empty,
        json!({"error":54,"txterr":"erreur : dhoq '' non autorisé","tablename":"",
               "nbrecord":0,"records":null,"infos":""})
    );
    assert_eq!(other["error"], ERROR_NOT_AUTHORISED);
    assert_eq!(other["records"], Value::Null);
}

#[tokio::test]
async fn bad_tags_and_bad_bodies_get_an_error_body() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let mut spaced = articles(&token, json!({}));
    let dhoq = spaced.as_object_mut().unwrap().remove("dhoq").unwrap();
    spaced["dhoq "] = dhoq;

    for body in [spaced.to_string(), "not json".to_owned(), "[]".to_owned()] {
        let answer = post(&app, "RecordSql/Execute", body).await;
        assert_eq!(answer["error"], ERROR_MALFORMED_REQUEST, "{answer}");
        assert_eq!(answer["records"], Value::Null);
    }
    let unknown_field = execute(&app, articles(&token, json!({"fields": "REF;NOPE"}))).await;
    assert_eq!(unknown_field["error"], ERROR_UNKNOWN_NAME);
    let unknown_where = execute(&app, articles(&token, json!({"where": "Between_Ean"}))).await;
    assert_eq!(unknown_where["error"], ERROR_UNKNOWN_NAME);
}

#[tokio::test]
async fn every_value_is_a_string_in_the_documented_format() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let answer = execute(&app, articles(&token, json!({"count": 50}))).await;

    assert_eq!(answer["infos"], "");
    for wrapper in answer["records"].as_array().unwrap() {
        let record = wrapper["record"].as_object().unwrap();
        assert!(record.values().all(Value::is_string), "{record:?}");
        let price = record["PRIXUN"].as_str().unwrap();
        let (units, cents) = price.split_once('.').unwrap();
        assert!(units.parse::<u32>().is_ok() && cents.len() == 2, "{price}");
        assert_eq!(record["USERCRDH"].as_str().unwrap().len(), 14);
        assert_eq!(record["DATCRE"].as_str().unwrap().len(), 8);
        assert!(record["ART_ID"].as_str().unwrap().parse::<u64>().is_ok());
    }
    let selected = execute(&app, articles(&token, json!({"fields": "ref;PRIXUN"}))).await;
    assert_eq!(
        selected["records"][0]["record"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["PRIXUN", "REF"]
    );
}

#[tokio::test]
async fn token_infos_come_as_json_inside_a_string() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let answer = execute(&app, articles(&token, json!({"infos": "<infostoken>1"}))).await;

    let infos: Value = serde_json::from_str(answer["infos"].as_str().unwrap()).unwrap();
    let token_infos = &infos["InfosToken"];
    assert_eq!(token_infos["ExpireMinutes"], "30");
    assert_eq!(token_infos["Env"], ENV);
    assert_eq!(token_infos["User"], USER);
    assert_eq!(token_infos["Domain"], "");
    let utc = token_infos["ExpireUtcTime"].as_str().unwrap();
    let expires = chrono::NaiveDateTime::parse_from_str(utc, "%Y%m%d%H%M%S").unwrap();
    let minutes = (expires.and_utc() - chrono::Utc::now()).num_minutes();
    assert!((28..=30).contains(&minutes), "{utc}");
    assert_eq!(token_infos["ExpireLocalTime"].as_str().unwrap().len(), 14);
}

#[tokio::test]
async fn rows_changed_through_the_handle_shift_later_pages() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let token = token(&app).await;
    let handle = app.sandbox.divalto();
    let before = handle.ids(DivaltoTable::Article);
    let page = |offset: u64| articles(&token, json!({"offset": offset, "count": 10}));

    assert!(handle.delete(DivaltoTable::Article, before[0]));
    let shifted = execute(&app, page(10)).await;
    assert_eq!(ids(&shifted, "ART_ID"), before[11..21]);

    let new_id = before.last().unwrap() + 1;
    assert!(handle.insert(DivaltoTable::Article, new_id));
    assert!(!handle.insert(DivaltoTable::Article, new_id));
    let last = execute(&app, page(9_990)).await;
    assert_eq!(ids(&last, "ART_ID").last(), Some(&new_id));
    assert_eq!(last["records"][9]["record"]["ART_ID"], new_id.to_string());
}

#[tokio::test]
async fn scheduled_changes_apply_between_two_pages() {
    let seeded = spawn_sandbox(SandboxConfig::default()).await;
    let ids = seeded.sandbox.divalto().ids(DivaltoTable::Article);
    seeded.sandbox.shutdown().await;
    let config = SandboxConfig {
        divalto: DivaltoConfig {
            scheduled_changes: vec![
                ScheduledChange::new(
                    1,
                    DivaltoChange::Delete {
                        table: DivaltoTable::Article,
                        id: ids[0],
                    },
                ),
                ScheduledChange::new(2, DivaltoChange::ExpireTokens),
            ],
            ..DivaltoConfig::default()
        },
        ..SandboxConfig::default()
    };
    let app = spawn_sandbox(config).await;
    let token = token(&app).await;
    let page = |offset: u64| articles(&token, json!({"offset": offset, "count": 10}));

    let first = execute(&app, page(0)).await;
    let second = execute(&app, page(10)).await;
    let third = execute(&app, page(20)).await;

    assert_eq!(self::ids(&first, "ART_ID"), ids[0..10]);
    assert_eq!(self::ids(&second, "ART_ID"), ids[11..21], "one row skipped");
    assert_eq!(third["error"], ERROR_INVALID_TOKEN);
}

#[tokio::test]
async fn injected_faults_reach_the_divalto_routes_too() {
    let config = SandboxConfig {
        faults: FaultConfig {
            plan: FaultPlan {
                server_errors: [1].into(),
                ..FaultPlan::default()
            },
            ..FaultConfig::default()
        },
        ..SandboxConfig::default()
    };
    let app = spawn_sandbox(config).await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/divalto/api/v1/Authent/Auth",
            app.sandbox.base_url()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        reqwest::StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(!token(&app).await.is_empty());
    assert_eq!(app.sandbox.divalto().auth_calls(), 1);
}
