//! Cursor pagination of `dossiers` and `deletedDossiers`, with the documents
//! the official documentation publishes.

use std::collections::HashSet;

use sandbox::{EndOfList, SandboxConfig};
use serde_json::{Value, json};

use crate::harness::{TOKEN, TestSandbox, reference_query, spawn_sandbox};

const PAGINATION_DOCUMENT: &str = "docs_pagination_getDemarche.graphql";
const UPDATED_SINCE_DOCUMENT: &str = "docs_getDemarche.updatedSince.graphql";

/// Follows `endCursor` until `hasNextPage` is false; returns every node and the pages seen.
async fn walk(app: &TestSandbox, query: &str, mut variables: Value) -> (Vec<Value>, Vec<Value>) {
    let mut nodes = Vec::new();
    let mut pages = Vec::new();
    loop {
        let body = app.query(TOKEN, query, variables.clone()).await.json();
        let connection = body["data"]["demarche"]["dossiers"].clone();
        assert!(connection.is_object(), "{body}");
        nodes.extend(connection["nodes"].as_array().unwrap().iter().cloned());
        let page_info = connection["pageInfo"].clone();
        pages.push(page_info.clone());
        if page_info["hasNextPage"] != json!(true) {
            return (nodes, pages);
        }
        variables["after"] = page_info["endCursor"].clone();
    }
}

fn numbers(nodes: &[Value]) -> Vec<i64> {
    nodes
        .iter()
        .map(|node| node["number"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_full_walk_with_the_documented_query_returns_2350_distinct_dossiers_in_deposit_order() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = reference_query(PAGINATION_DOCUMENT);

    let (nodes, pages) = walk(&app, &query, json!({ "demarcheNumber": 4242 })).await;

    let mut expected: Vec<_> = app
        .sandbox
        .dataset()
        .demarche(4242)
        .unwrap()
        .visible_dossiers()
        .map(|dossier| (dossier.depose_at, dossier.number))
        .collect();
    expected.sort();
    let expected: Vec<i64> = expected.into_iter().map(|(_, number)| number).collect();
    let served = numbers(&nodes);
    assert_eq!(served.len(), 2350);
    assert_eq!(served.iter().collect::<HashSet<_>>().len(), 2350);
    assert_eq!(served, expected);
    assert_eq!(pages.len(), 24);
    assert!(pages.iter().all(|page| page["endCursor"].is_string()));
}

#[tokio::test]
async fn the_updated_since_document_filters_and_sorts_on_the_last_modification() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = reference_query(UPDATED_SINCE_DOCUMENT);
    let since = "2026-03-01T00:00:00+01:00";
    let since_instant = chrono::DateTime::parse_from_rfc3339(since).unwrap();

    let variables = json!({ "demarcheNumber": 4242, "first": 100, "updatedSince": since });
    let (nodes, pages) = walk(&app, &query, variables).await;

    let mut expected: Vec<_> = app
        .sandbox
        .dataset()
        .demarche(4242)
        .unwrap()
        .visible_dossiers()
        .filter(|dossier| dossier.updated_at >= since_instant)
        .map(|dossier| (dossier.updated_at, dossier.number))
        .collect();
    expected.sort();
    let expected: Vec<i64> = expected.into_iter().map(|(_, number)| number).collect();
    assert!(!expected.is_empty() && expected.len() < 2350);
    assert_eq!(numbers(&nodes), expected);
    assert_eq!(pages[0]["hasPreviousPage"], json!(false));
    assert!(
        pages[1..]
            .iter()
            .all(|page| page["hasPreviousPage"] == json!(true))
    );
}

#[tokio::test]
async fn first_500_is_silently_cut_to_100() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = "{ demarche(number: 4242) { dossiers(first: 500) { nodes { number } pageInfo { hasNextPage } } } }";
    let body = app.query(TOKEN, query, json!({})).await.json();
    let connection = &body["data"]["demarche"]["dossiers"];
    assert_eq!(connection["nodes"].as_array().unwrap().len(), 100);
    assert_eq!(connection["pageInfo"]["hasNextPage"], json!(true));
    assert!(body.get("errors").is_none());
}

#[tokio::test]
async fn first_and_last_together_are_a_bad_request() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = "{ demarche(number: 4242) { dossiers(first: 10, last: 10) { nodes { number } } } }";
    let body = app.query(TOKEN, query, json!({})).await.json();
    assert_eq!(body["data"], Value::Null);
    assert_eq!(
        body["errors"][0]["message"],
        r#"Arguments "first" and "last" are exclusive"#
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "bad_request");
}

#[tokio::test]
async fn before_and_after_together_are_a_bad_request() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let first = "{ demarche(number: 4242) { dossiers(first: 1) { pageInfo { endCursor } } } }";
    let cursor =
        app.query(TOKEN, first, json!({})).await.json()["data"]["demarche"]["dossiers"]["pageInfo"]
            ["endCursor"]
            .clone();
    let both = "query($c: String) { demarche(number: 4242) { dossiers(after: $c, before: $c) { nodes { number } } } }";
    let body = app.query(TOKEN, both, json!({ "c": cursor })).await.json();
    assert_eq!(
        body["errors"][0]["message"],
        r#"Arguments "before" and "after" are exclusive"#
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "bad_request");
}

const SMALL_PAGES: &str = "query($after: String) { demarche(number: 1717) { dossiers(first: 50, after: $after) { nodes { number } pageInfo { hasNextPage hasPreviousPage endCursor } } } }";

async fn last_page_and_the_one_after(app: &TestSandbox) -> (Value, Value) {
    let (_, pages) = walk(app, SMALL_PAGES, json!({})).await;
    let last_cursor = pages.last().unwrap()["endCursor"].clone();
    let last = app
        .query(
            TOKEN,
            SMALL_PAGES,
            json!({ "after": pages[pages.len() - 2]["endCursor"] }),
        )
        .await
        .json();
    let after = app
        .query(TOKEN, SMALL_PAGES, json!({ "after": last_cursor }))
        .await
        .json();
    (
        last["data"]["demarche"]["dossiers"].clone(),
        after["data"]["demarche"]["dossiers"].clone(),
    )
}

#[tokio::test]
async fn the_page_after_the_last_is_empty_with_a_null_end_cursor() {
    let app = spawn_sandbox(SandboxConfig::default()).await;

    let (last, after) = last_page_and_the_one_after(&app).await;

    assert_eq!(last["nodes"].as_array().unwrap().len(), 20);
    assert_eq!(last["pageInfo"]["hasNextPage"], json!(false));
    assert_eq!(after["nodes"], json!([]));
    assert_eq!(
        after["pageInfo"],
        json!({ "hasNextPage": false, "hasPreviousPage": true, "endCursor": null })
    );
}

#[tokio::test]
async fn repeat_last_page_serves_the_last_nodes_again_with_the_same_end_cursor() {
    let mut config = SandboxConfig::default();
    config.ds.end_of_list = EndOfList::RepeatLastPage;
    let app = spawn_sandbox(config).await;

    let (last, after) = last_page_and_the_one_after(&app).await;

    let repeated = numbers(after["nodes"].as_array().unwrap());
    let last_numbers = numbers(last["nodes"].as_array().unwrap());
    assert!(
        repeated.ends_with(&last_numbers),
        "{repeated:?} / {last_numbers:?}"
    );
    assert_eq!(
        after["pageInfo"]["endCursor"],
        last["pageInfo"]["endCursor"]
    );
    assert_eq!(after["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn deleted_dossiers_are_listed_by_deletion_date_since_a_given_date() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = r#"query($since: ISO8601DateTime) {
        demarche(number: 4242) {
          deletedDossiers(deletedSince: $since, first: 100) {
            nodes { number state reason dateSupression }
            pageInfo { hasNextPage }
          }
        }
      }"#;
    let all = app.query(TOKEN, query, json!({})).await.json();
    let nodes = all["data"]["demarche"]["deletedDossiers"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 40);
    let dates: Vec<chrono::DateTime<chrono::FixedOffset>> = nodes
        .iter()
        .map(|node| {
            chrono::DateTime::parse_from_rfc3339(node["dateSupression"].as_str().unwrap()).unwrap()
        })
        .collect();
    assert!(dates.windows(2).all(|pair| pair[0] <= pair[1]));

    let since = "2026-01-01T00:00:00+01:00";
    let recent = app
        .query(TOKEN, query, json!({ "since": since }))
        .await
        .json();
    let recent_nodes = recent["data"]["demarche"]["deletedDossiers"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    let since_instant = chrono::DateTime::parse_from_rfc3339(since).unwrap();
    assert_eq!(
        recent_nodes,
        dates.iter().filter(|date| **date >= since_instant).count()
    );
    assert!(recent_nodes > 0 && recent_nodes < 40);
}

#[tokio::test]
async fn edge_cursors_resume_the_walk_like_end_cursors() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let query = "query($after: String) { demarche(number: 1717) { dossiers(first: 3, after: $after) { edges { cursor node { number } } } } }";
    let first = app.query(TOKEN, query, json!({})).await.json();
    let edges = first["data"]["demarche"]["dossiers"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let from_second = app
        .query(TOKEN, query, json!({ "after": edges[0]["cursor"] }))
        .await
        .json();
    let resumed = from_second["data"]["demarche"]["dossiers"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(resumed[0]["node"], edges[1]["node"]);
    assert_eq!(resumed[1]["node"], edges[2]["node"]);
}
