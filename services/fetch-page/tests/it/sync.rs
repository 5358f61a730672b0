//! Happy paths: full and incremental syncs, and both kinds of deletion.

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use contract::{Listing, SyncEnd, SyncSubject};
use sandbox::SandboxConfig;

use crate::harness::{
    EVENT_GAP, SyncReport, seeded_deletions, seeded_dossiers, spawn_app, sync_command,
};

#[tokio::test]
async fn a_full_sync_delivers_every_dossier_exactly_once_and_one_completion() {
    let mut app = spawn_app(SandboxConfig::default()).await;
    let expected = seeded_dossiers(&app.sandbox, None);
    let expected_deleted = seeded_deletions(&app.sandbox, Listing::DeletedDossiers, None);
    let expected_pending = seeded_deletions(&app.sandbox, Listing::PendingDeletedDossiers, None);
    let before = Utc::now();

    app.publish(&sync_command(None)).await;
    let mut events = app.events.until_job_ends(EVENT_GAP).await;
    events.extend(
        app.events
            .try_next(std::time::Duration::from_millis(500))
            .await,
    );

    let report = SyncReport::from_events(&events);
    assert_eq!(expected.len(), 2_350);
    assert_eq!(
        report.dossiers.keys().copied().collect::<HashSet<_>>(),
        expected
    );
    assert!(
        report.duplicated_dossiers().is_empty(),
        "dossiers published twice"
    );
    assert_eq!(
        report.deleted.keys().copied().collect::<HashSet<_>>(),
        expected_deleted
    );
    assert_eq!(
        report
            .pending_deleted
            .keys()
            .copied()
            .collect::<HashSet<_>>(),
        expected_pending
    );
    assert_eq!(
        events.len(),
        report.page_events + 1,
        "no event repeated, nothing after completion"
    );
    let [completed] = report.completions.as_slice() else {
        panic!("one sync.completed expected")
    };
    assert_eq!(completed.records, 2_350);
    let SyncSubject::Ds {
        deleted_records,
        pending_deleted_records,
        ..
    } = completed.subject
    else {
        panic!("a démarche sync completes with démarche counts")
    };
    assert_eq!(deleted_records, expected_deleted.len() as u64);
    assert_eq!(pending_deleted_records, expected_pending.len() as u64);
    assert!(
        !expected_pending.is_empty(),
        "the seed has pending deletions"
    );
    assert_eq!(completed.pages as usize, report.page_events);
    assert_eq!(completed.end, SyncEnd::Exhausted);
    assert!(completed.resume_point >= before && completed.resume_point <= Utc::now());
    app.shutdown().await;
}

#[tokio::test]
async fn an_incremental_sync_returns_only_dossiers_updated_since_the_watermark() {
    let mut app = spawn_app(SandboxConfig::default()).await;
    let since = Utc
        .with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .expect("date");
    let expected = seeded_dossiers(&app.sandbox, Some(since));
    assert!(
        !expected.is_empty() && expected.len() < 2_350,
        "the watermark splits the data"
    );

    app.publish(&sync_command(Some(since))).await;
    let events = app.events.until_job_ends(EVENT_GAP).await;

    let report = SyncReport::from_events(&events);
    assert_eq!(
        report.dossiers.keys().copied().collect::<HashSet<_>>(),
        expected
    );
    assert!(report.duplicated_dossiers().is_empty());
    let expected_deleted = seeded_deletions(&app.sandbox, Listing::DeletedDossiers, Some(since));
    assert_eq!(
        report.deleted.keys().copied().collect::<HashSet<_>>(),
        expected_deleted
    );
    let expected_pending =
        seeded_deletions(&app.sandbox, Listing::PendingDeletedDossiers, Some(since));
    assert_eq!(
        report
            .pending_deleted
            .keys()
            .copied()
            .collect::<HashSet<_>>(),
        expected_pending
    );
    assert_eq!(report.completions[0].records, expected.len() as u64);
    app.shutdown().await;
}

/// Every record of a `page.fetched` is the upstream's node, byte for byte: the first
/// dossiers page the worker published, as its bytes went on the wire, is compared with
/// the same page read again straight from the sandbox through the client (whose own
/// tests show it keeps nodes as their bytes came).
#[tokio::test]
async fn every_record_is_the_node_the_upstream_served_byte_for_byte() {
    let app = spawn_app(SandboxConfig::default()).await;
    let mut pages = app
        .broker
        .subscribe_events("page.fetched")
        .await
        .expect("subscribe to pages");
    app.publish(&sync_command(None)).await;
    let (body, first) = loop {
        let message = tokio::time::timeout(EVENT_GAP, pages.next())
            .await
            .expect("pages keep coming")
            .expect("the subscription is open");
        let envelope: contract::EventEnvelope =
            serde_json::from_slice(&message.body).expect("an event");
        if let contract::Event::PageFetched(page) = envelope.event
            && page.page == 0
            && matches!(
                page.subject,
                contract::PageSubject::Ds {
                    listing: Listing::Dossiers,
                    ..
                }
            )
        {
            break (String::from_utf8(message.body).expect("utf-8"), page);
        }
    };

    let connection = app
        .settings
        .connections
        .get("sandbox")
        .expect("the connection");
    let settings::Credentials::Ds { token } = &connection.credentials else {
        panic!("a DS connection")
    };
    let client = ds_client::DsClient::new(
        ds_client::DsEndpoint {
            base_url: connection.base_url.clone(),
            token: token.clone(),
            timeout: std::time::Duration::from_secs(10),
        },
        rate_gate::RateGate::back_to_back(10, std::time::Duration::from_secs(1)),
    )
    .expect("a client");
    let request = ds_client::DossiersPageRequest {
        demarche: ds_client::DemarcheNumber::new(crate::harness::DEMARCHE).expect("a number"),
        first: ds_client::PageSize::new(connection.page_size.get()).expect("a page size"),
        after: None,
        updated_since: None,
        state: None,
    };
    let served = client
        .dossiers_page(&request)
        .await
        .expect("the sandbox answers");

    assert!(!served.nodes.is_empty());
    assert_eq!(first.records.len(), served.nodes.len());
    let nodes: Vec<&str> = served.nodes.iter().map(|node| node.record.get()).collect();
    assert!(
        body.contains(&format!("\"records\":[{}]", nodes.join(","))),
        "the event carries the nodes as served: {body}"
    );
    for (record, node) in first.records.iter().zip(&served.nodes) {
        assert_eq!(
            record.to_value(),
            serde_json::from_str::<serde_json::Value>(node.record.get()).expect("JSON")
        );
    }
    app.shutdown().await;
}
