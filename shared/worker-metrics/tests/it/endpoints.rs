use std::net::SocketAddr;
use std::time::Duration;

use worker_metrics::{
    Delivery, HISTOGRAM_NAMES, JobMark, KnownSeries, METRIC_NAMES, Readiness, Settled, StatusClass,
    broker_reconnected, install, page_fetched, rate_limit_paused, rate_limit_waited,
    register_known, serve, token_refreshed, upstream_request,
};

async fn get(addr: SocketAddr, path: &str) -> reqwest::Response {
    reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("the endpoint answers")
}

/// Every sample of the exposition: its series name, its labels and its value.
fn parse_samples(exposition: &str) -> Vec<(&str, &str, f64)> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            (
                name,
                labels,
                value.parse().expect("a sample value is a number"),
            )
        })
        .collect()
}

fn value_of(samples: &[(&str, &str, f64)], name: &str) -> f64 {
    samples
        .iter()
        .find(|(series, _, _)| *series == name)
        .map(|(_, _, value)| *value)
        .unwrap_or_else(|| panic!("no sample {name}"))
}

#[tokio::test]
async fn every_family_is_scraped_and_readiness_follows_the_flags() {
    install("fetch-page").expect("the first install succeeds");
    let readiness = Readiness::new();
    let server = serve("127.0.0.1:0".parse().unwrap(), readiness.clone())
        .await
        .expect("port 0 is always free");
    let addr = server.local_addr();

    assert_eq!(get(addr, "/livez").await.status(), 200);
    assert_eq!(get(addr, "/readyz").await.status(), 503);
    readiness.set_broker_connected(true);
    assert_eq!(get(addr, "/readyz").await.status(), 503, "not declared yet");
    readiness.set_topology_declared(true);
    assert_eq!(get(addr, "/readyz").await.status(), 200);

    Delivery::received().settle(Settled::Acked);
    Delivery::received().settle(Settled::Retried);
    Delivery::received().settle(Settled::DeadLettered {
        reason: "upstream_forbidden",
    });
    let held = Delivery::received();
    page_fetched("sandbox", 99);
    upstream_request("sandbox", StatusClass::Success, Duration::from_millis(30));
    rate_limit_waited("sandbox", Duration::from_millis(150));
    token_refreshed("sandbox_apidae", true);
    rate_limit_paused("sandbox");
    broker_reconnected();
    JobMark::Started {
        kind: "ds.sync",
        connection: "sandbox".to_owned(),
    }
    .record();
    JobMark::Completed {
        kind: "ds.sync",
        connection: "sandbox".to_owned(),
        end: "exhausted",
        consistency: "unchecked",
    }
    .record();
    JobMark::Failed {
        kind: "divalto.sync",
        connection: "sandbox".to_owned(),
        reason: "job_state_lost",
    }
    .record();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let response = get(addr, "/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let exposition = response.text().await.unwrap();
    assert!(exposition.ends_with("# EOF\n"), "{exposition}");
    let samples = parse_samples(&exposition);
    for name in METRIC_NAMES {
        let series: Vec<String> = if HISTOGRAM_NAMES.contains(name) {
            ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{name}{suffix}"))
                .collect()
        } else {
            vec![(*name).to_owned()]
        };
        for series in series {
            assert!(
                samples.iter().any(|(sample, _, _)| *sample == series),
                "{series} is missing from\n{exposition}"
            );
        }
    }
    assert!(
        samples
            .iter()
            .all(|(_, labels, _)| labels.contains("worker=\"fetch-page\"")),
        "every series carries the worker label:\n{exposition}"
    );
    assert_eq!(value_of(&samples, "estafette_messages_consumed_total"), 4.0);
    assert_eq!(value_of(&samples, "estafette_messages_in_flight"), 1.0);
    assert!(value_of(&samples, "estafette_oldest_unacked_delivery_age_seconds") >= 0.02);
    assert_eq!(value_of(&samples, "estafette_records_fetched_total"), 99.0);
    assert!(
        exposition.contains("outcome=\"dead_lettered\""),
        "{exposition}"
    );
    assert!(
        exposition.contains("reason=\"upstream_forbidden\""),
        "{exposition}"
    );
    assert!(exposition.contains("status_class=\"2xx\""), "{exposition}");
    assert_eq!(value_of(&samples, "estafette_ready"), 1.0);
    assert_eq!(value_of(&samples, "estafette_rate_limit_pauses_total"), 1.0);
    assert_eq!(value_of(&samples, "estafette_jobs_started_total"), 1.0);
    assert_eq!(value_of(&samples, "estafette_jobs_completed_total"), 1.0);
    assert_eq!(value_of(&samples, "estafette_jobs_failed_total"), 1.0);

    drop(held);
    let after = get(addr, "/metrics").await.text().await.unwrap();
    let after = parse_samples(&after);
    assert_eq!(value_of(&after, "estafette_messages_in_flight"), 0.0);
    assert_eq!(
        value_of(&after, "estafette_oldest_unacked_delivery_age_seconds"),
        0.0
    );
    readiness.set_topology_declared(false);
    assert_eq!(get(addr, "/readyz").await.status(), 503);
    let not_ready = get(addr, "/metrics").await.text().await.unwrap();
    assert_eq!(value_of(&parse_samples(&not_ready), "estafette_ready"), 0.0);

    register_known(&KnownSeries {
        connections: vec!["known".to_owned(), "sandbox".to_owned()],
        paged_connections: vec!["known".to_owned()],
        token_connections: vec!["known".to_owned(), "sandbox_apidae".to_owned()],
        dead_letter_reasons: vec!["retries_exhausted", "upstream_forbidden"],
        jobs: vec![JobMark::Failed {
            kind: "divalto.sync",
            connection: "sandbox".to_owned(),
            reason: "job_state_lost",
        }],
    });
    // Once the connections are known, a forged one adds no series.
    JobMark::Started {
        kind: "ds.sync",
        connection: "forged-1".to_owned(),
    }
    .record();
    let known = get(addr, "/metrics").await.text().await.unwrap();
    assert!(!known.contains("forged-1"), "{known}");
    for (line, value) in [
        (
            r#"estafette_pages_fetched_total{worker="fetch-page",connection="known"}"#,
            "0",
        ),
        (
            r#"estafette_records_fetched_total{worker="fetch-page",connection="known"}"#,
            "0",
        ),
        (
            r#"estafette_rate_limit_pauses_total{worker="fetch-page",connection="known"}"#,
            "0",
        ),
        (
            r#"estafette_rate_limit_wait_seconds_count{worker="fetch-page",connection="known"}"#,
            "0",
        ),
        (
            r#"estafette_upstream_request_duration_seconds_count{worker="fetch-page",connection="known",status_class="5xx"}"#,
            "0",
        ),
        (
            r#"estafette_upstream_request_duration_seconds_count{worker="fetch-page",connection="known",status_class="error"}"#,
            "0",
        ),
        (
            r#"estafette_token_refreshes_total{worker="fetch-page",connection="known",outcome="failed"}"#,
            "0",
        ),
        (
            r#"estafette_token_refreshes_total{worker="fetch-page",connection="sandbox_apidae",outcome="failed"}"#,
            "0",
        ),
        // Registering keeps what was counted.
        (
            r#"estafette_token_refreshes_total{worker="fetch-page",connection="sandbox_apidae",outcome="obtained"}"#,
            "1",
        ),
        (
            r#"estafette_dead_letters_total{worker="fetch-page",reason="retries_exhausted"}"#,
            "0",
        ),
        (
            r#"estafette_dead_letters_total{worker="fetch-page",reason="upstream_forbidden"}"#,
            "1",
        ),
        (
            r#"estafette_jobs_failed_total{worker="fetch-page",kind="divalto.sync",connection="sandbox",reason="job_state_lost"}"#,
            "1",
        ),
    ] {
        assert!(
            known
                .lines()
                .any(|sample| sample == format!("{line} {value}")),
            "{line} {value} is missing from\n{known}"
        );
    }
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error() {
    let first = serve("127.0.0.1:0".parse().unwrap(), Readiness::new())
        .await
        .unwrap();
    let error = serve(first.local_addr(), Readiness::new())
        .await
        .expect_err("the port is taken");
    assert!(error.to_string().starts_with("cannot listen on 127.0.0.1:"));
}
