//! The Amienscope updates stand-in over HTTP: signed requests, the listing
//! forms and their quirks, and events changed between pages.

use std::collections::HashSet;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use reqwest::StatusCode;
use sandbox::{
    AmienscopeChange, AmienscopeConfig, Event, EventStatus, SandboxConfig, ScheduledChange,
};
use serde_json::Value;
use sha2::Sha256;

use crate::harness::{TestSandbox, spawn_sandbox};

const PUBLIC_KEY: &str = "sandboxpublickey0123456789abcdef";
const PRIVATE_KEY: &str = "sandbox-private-key";
const EMAIL: &str = "sandbox@example.org";

/// How to sign one request.
struct Signer {
    private_key: &'static str,
    public_key: &'static str,
    email: &'static str,
    datetime: String,
}

impl Signer {
    fn now() -> Self {
        Self {
            private_key: PRIVATE_KEY,
            public_key: PUBLIC_KEY,
            email: EMAIL,
            datetime: chrono::Utc::now().timestamp().to_string(),
        }
    }

    fn signature(&self, path: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.private_key.as_bytes()).unwrap();
        mac.update(format!("GET\n{path}\n{}", self.datetime).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

async fn get_signed(app: &TestSandbox, path: &str, signer: &Signer) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", app.sandbox.base_url()))
        .header("X-Public-Key", signer.public_key)
        .header("X-Datetime", &signer.datetime)
        .header("X-Signature", signer.signature(path))
        .header("email_addr", signer.email)
        .send()
        .await
        .expect("the sandbox answers");
    let status = response.status();
    (status, response.json().await.expect("the answer is json"))
}

async fn get(app: &TestSandbox, path: &str) -> Vec<Value> {
    let (status, body) = get_signed(app, path, &Signer::now()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("a bare array").clone()
}

fn ids(items: &[Value]) -> Vec<u64> {
    items
        .iter()
        .map(|item| item["id"].as_u64().unwrap())
        .collect()
}

fn event_ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|event| event.id).collect()
}

#[tokio::test]
async fn a_signed_request_gets_a_bare_array_of_events() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let items = get(&app, "/amienscope/get/updates/0/0,10").await;

    assert_eq!(items.len(), 10);
    let item = &items[0];
    assert!(item["id"].is_u64());
    assert!(item["title"].is_string());
    assert!(item["category_id"].is_u64());
    assert!(item["updated_at"].is_i64());
    assert!(item["visit_count"].is_u64());
    let status = item["event_status_id"].as_u64().unwrap();
    let label = item["event_status_label"].as_str().unwrap();
    assert!(
        [
            (1, "En attente de publication"),
            (2, "Publié"),
            (3, "Annulé"),
            (5, "Supprimé"),
            (6, "Archivé")
        ]
        .contains(&(status, label))
    );
    let next_date = item["next_date"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(next_date).is_ok());
    let expected = app.sandbox.amienscope().listing(0, None);
    assert_eq!(ids(&items), event_ids(&expected[..10]));
}

#[tokio::test]
async fn an_rfc_3339_datetime_is_accepted_too() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let signer = Signer {
        datetime: chrono::Utc::now().to_rfc3339(),
        ..Signer::now()
    };
    let (status, _) = get_signed(&app, "/amienscope/get/updates/0/0,1", &signer).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_signatures_stale_datetimes_and_wrong_emails_are_refused() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let stale = (chrono::Utc::now() - chrono::Duration::seconds(400))
        .timestamp()
        .to_string();
    let refused = [
        Signer {
            private_key: "not-the-key",
            ..Signer::now()
        },
        Signer {
            datetime: stale,
            ..Signer::now()
        },
        Signer {
            email: "someone@example.org",
            ..Signer::now()
        },
        Signer {
            public_key: "0123456789abcdef0123456789abcdef",
            ..Signer::now()
        },
    ];
    for signer in &refused {
        let (status, body) = get_signed(&app, "/amienscope/get/updates/0/0,10", signer).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let unsigned = reqwest::Client::new()
        .get(format!(
            "{}/amienscope/get/updates/0/0,10",
            app.sandbox.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.sandbox.amienscope().refused_signatures(), 5);
    assert_eq!(app.sandbox.amienscope().update_calls(), 5);
}

#[tokio::test]
async fn a_signature_for_another_path_is_refused() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let signer = Signer::now();
    let response = reqwest::Client::new()
        .get(format!(
            "{}/amienscope/get/updates/0/0,50",
            app.sandbox.base_url()
        ))
        .header("X-Public-Key", PUBLIC_KEY)
        .header("X-Datetime", &signer.datetime)
        .header("X-Signature", signer.signature("/get/updates/0/0,50"))
        .header("email_addr", EMAIL)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_limit_above_fifty_is_silently_reduced() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let items = get(&app, "/amienscope/get/updates/0/100,500").await;
    let expected = app.sandbox.amienscope().listing(0, None);
    assert_eq!(ids(&items), event_ids(&expected[100..150]));
}

#[tokio::test]
async fn without_pagination_the_whole_list_comes_back() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let items = get(&app, "/amienscope/get/updates/0").await;
    assert!(items.len() >= 3_000);
    assert_eq!(items.len(), app.sandbox.amienscope().events().len());
    let dates: Vec<_> = items
        .iter()
        .map(|item| {
            let date = item["next_date"].as_str().unwrap();
            (
                chrono::DateTime::parse_from_rfc3339(date).unwrap(),
                item["id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        dates.windows(2).all(|pair| pair[0] <= pair[1]),
        "next date order"
    );
}

#[tokio::test]
async fn the_category_and_since_filters_apply_with_and_without_pagination() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let since = sandbox::amienscope::SEEDED_UPDATES_FROM + 15_000_000;
    let expected = app.sandbox.amienscope().listing(since, Some(4));
    assert!(!expected.is_empty());

    let all = get(&app, &format!("/amienscope/get/updates/{since}/4")).await;
    let first_page = get(&app, &format!("/amienscope/get/updates/{since}/4/0,20")).await;

    assert_eq!(ids(&all), event_ids(&expected));
    assert!(
        all.iter()
            .all(|item| item["category_id"] == 4 && item["updated_at"].as_i64().unwrap() >= since)
    );
    assert_eq!(ids(&first_page), event_ids(&expected[..20]));
}

#[tokio::test]
async fn a_walk_by_pages_of_fifty_returns_the_whole_list_once() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let mut served = Vec::new();
    loop {
        let page = get(
            &app,
            &format!("/amienscope/get/updates/0/{},50", served.len()),
        )
        .await;
        served.extend(ids(&page));
        if page.len() < 50 {
            break;
        }
    }
    assert_eq!(
        served,
        event_ids(&app.sandbox.amienscope().listing(0, None))
    );
    assert_eq!(served.iter().collect::<HashSet<_>>().len(), served.len());
}

#[tokio::test]
async fn malformed_segments_get_a_400_with_a_json_error() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    for path in [
        "/amienscope/get/updates/yesterday",
        "/amienscope/get/updates/0/x",
        "/amienscope/get/updates/0/1,x",
        "/amienscope/get/updates/0/4/0,10/2",
    ] {
        let (status, body) = get_signed(&app, path, &Signer::now()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(body["error"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn events_changed_through_the_handle_change_later_pages() {
    let app = spawn_sandbox(SandboxConfig::default()).await;
    let handle = app.sandbox.amienscope();
    let before = handle.listing(0, None);

    assert!(handle.delete_event(before[0].id));
    let shifted = get(&app, "/amienscope/get/updates/0/10,10").await;
    assert_eq!(ids(&shifted), event_ids(&before[11..21]));

    let early = Event {
        id: 1,
        title: "Avant-première".to_owned(),
        category_id: 5,
        status: EventStatus::Published,
        next_date: chrono::DateTime::parse_from_rfc3339("2025-01-01T20:00:00+01:00").unwrap(),
        updated_at: chrono::Utc::now().timestamp(),
        visit_count: 0,
    };
    assert!(handle.insert_event(early));
    let first = get(&app, "/amienscope/get/updates/0/0,1").await;
    assert_eq!(first[0]["id"], 1);
    assert_eq!(first[0]["next_date"], "2025-01-01T20:00:00+01:00");

    let target = before[5].id;
    let since = chrono::Utc::now().timestamp();
    assert!(handle.set_event_status(target, EventStatus::Cancelled));
    let recent = get(&app, &format!("/amienscope/get/updates/{since}")).await;
    let cancelled: Vec<_> = recent.iter().filter(|item| item["id"] == target).collect();
    assert_eq!(cancelled.len(), 1, "{recent:?}");
    assert_eq!(cancelled[0]["event_status_id"], 3);
    assert_eq!(cancelled[0]["event_status_label"], "Annulé");
}

#[tokio::test]
async fn scheduled_changes_apply_right_after_the_nth_listing() {
    let seeded = spawn_sandbox(SandboxConfig::default()).await;
    let before = seeded.sandbox.amienscope().listing(0, None);
    seeded.sandbox.shutdown().await;
    let config = SandboxConfig {
        amienscope: AmienscopeConfig {
            scheduled_changes: vec![
                ScheduledChange::new(1, AmienscopeChange::Delete { id: before[0].id }),
                ScheduledChange::new(
                    2,
                    AmienscopeChange::SetStatus {
                        id: before[40].id,
                        status: EventStatus::Deleted,
                    },
                ),
            ],
            ..AmienscopeConfig::default()
        },
        ..SandboxConfig::default()
    };
    let app = spawn_sandbox(config).await;

    let first = get(&app, "/amienscope/get/updates/0/0,10").await;
    let second = get(&app, "/amienscope/get/updates/0/10,10").await;
    let third = get(&app, "/amienscope/get/updates/0/20,30").await;

    assert_eq!(ids(&first), event_ids(&before[0..10]));
    assert_eq!(ids(&second), event_ids(&before[11..21]));
    let deleted = third
        .iter()
        .find(|item| item["id"] == before[40].id)
        .expect("the changed event is still listed");
    assert_eq!(deleted["event_status_id"], 5);
    assert!(deleted["updated_at"].as_i64().unwrap() >= chrono::Utc::now().timestamp() - 60);
}

#[tokio::test]
async fn the_clock_skew_window_is_configurable() {
    let config = SandboxConfig {
        amienscope: AmienscopeConfig {
            clock_skew: Duration::from_secs(3600),
            ..AmienscopeConfig::default()
        },
        ..SandboxConfig::default()
    };
    let app = spawn_sandbox(config).await;
    let signer = Signer {
        datetime: (chrono::Utc::now().timestamp() - 1800).to_string(),
        ..Signer::now()
    };
    let (status, _) = get_signed(&app, "/amienscope/get/updates/0/0,1", &signer).await;
    assert_eq!(status, StatusCode::OK);
}
