//! The Grafana dashboard, the Prometheus configuration and the alert rules in
//! `deploy/`, checked against the metrics the workers expose: a panel or rule querying
//! a metric nobody exposes fails here, not on a blank graph. What each one shows is
//! checked against a real Prometheus in `tests/prometheus.rs`.

use std::collections::BTreeSet;

use contract::WorkerKind;
use serde_json::Value;
use worker_metrics::{HISTOGRAM_NAMES, METRIC_NAMES, SCHEDULER_METRIC_NAMES};

use crate::deploy::{alert_rules, dashboard, panels, read};

/// The RabbitMQ Prometheus plugin's metrics the dashboard may query.
const RABBITMQ_METRICS: &[&str] = &[
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_messages",
    "rabbitmq_queue_consumers",
];

/// What Prometheus itself records of each scrape.
const PROMETHEUS_METRICS: &[&str] = &["up"];

/// The series a histogram family exposes.
const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

/// PromQL keywords that read like metric names but are not.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
];

/// Clauses followed by a parenthesised list of label names.
const LABEL_LIST_CLAUSES: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Aggregation operators, which may be followed by `by (...)` before their `(`.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Whether a query may select `name`.
fn is_exposed(name: &str) -> bool {
    is_worker_series(name)
        || SCHEDULER_METRIC_NAMES.contains(&name)
        || RABBITMQ_METRICS.contains(&name)
        || PROMETHEUS_METRICS.contains(&name)
}

/// Every `expr` of every panel target, with its panel's title.
fn exprs(dashboard: &Value) -> Vec<(String, String)> {
    panels(dashboard)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or_default().to_owned();
            panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |target| {
                    Some((title.clone(), target["expr"].as_str()?.to_owned()))
                })
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum Token {
    Name(String),
    Open,
    Close,
}

/// The names and parentheses of a PromQL expression; strings, label matchers
/// (`{...}`), ranges (`[...]`), numbers and operators are dropped.
fn tokens(expr: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => skip_string(c, &mut chars),
            '{' => skip_until('}', &mut chars),
            '[' => skip_until(']', &mut chars),
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let mut name = c.to_string();
                while let Some(&next) = chars.peek() {
                    if !(next.is_ascii_alphanumeric() || next == '_' || next == ':') {
                        break;
                    }
                    name.push(next);
                    chars.next();
                }
                tokens.push(Token::Name(name));
            }
            c if c.is_ascii_digit() => {
                while chars
                    .peek()
                    .is_some_and(|next| next.is_ascii_alphanumeric() || *next == '.')
                {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    tokens
}

fn skip_string(quote: char, chars: &mut impl Iterator<Item = char>) {
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c == quote => return,
            _ => {}
        }
    }
}

/// Skips to `end`, stepping over quoted strings that may hold it.
fn skip_until(end: char, chars: &mut impl Iterator<Item = char>) {
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => skip_string(c, chars),
            c if c == end => return,
            _ => {}
        }
    }
}

/// The metric names a PromQL expression selects.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let tokens = tokens(expr);
    let mut names = BTreeSet::new();
    let mut index = 0;
    while index < tokens.len() {
        if let Token::Name(name) = &tokens[index] {
            let next = tokens.get(index + 1);
            if LABEL_LIST_CLAUSES.contains(&name.as_str()) && next == Some(&Token::Open) {
                // Skip the label list up to its closing parenthesis.
                index += 1;
                while index < tokens.len() && tokens[index] != Token::Close {
                    index += 1;
                }
            } else if next == Some(&Token::Open)
                || AGGREGATIONS.contains(&name.as_str())
                || KEYWORDS.contains(&name.as_str())
            {
                // A function call, an aggregation (`sum by (...) (...)`) or a keyword.
            } else {
                names.insert(name.clone());
            }
        }
        index += 1;
    }
    names
}

/// Whether `name` is a series of one of the workers' families.
fn is_worker_series(name: &str) -> bool {
    METRIC_NAMES.contains(&name)
        || HISTOGRAM_NAMES.iter().any(|family| {
            HISTOGRAM_SUFFIXES
                .iter()
                .any(|suffix| name.strip_prefix(family) == Some(suffix))
        })
}

#[test]
fn metric_names_are_read_out_of_promql() {
    let expr = r#"histogram_quantile(0.95, sum by (connection, le) (rate(estafette_upstream_request_duration_seconds_bucket{worker=~"$worker",x="a}b"}[$__rate_interval]))) / on (connection) group_left (le) max without (worker) (estafette_messages_in_flight offset 5m) + 1e3"#;

    let names: Vec<String> = metric_names(expr).into_iter().collect();

    assert_eq!(
        names,
        [
            "estafette_messages_in_flight",
            "estafette_upstream_request_duration_seconds_bucket",
        ]
    );
}

#[test]
fn every_metric_a_panel_queries_is_exposed_by_a_worker_or_rabbitmq() {
    let dashboard = dashboard();
    let exprs = exprs(&dashboard);
    assert!(exprs.len() >= 10, "the dashboard has its panels: {exprs:?}");

    for (title, expr) in &exprs {
        let names = metric_names(expr);
        assert!(
            !names.is_empty(),
            "panel {title:?} queries no metric: {expr}"
        );
        for name in names {
            assert!(
                is_exposed(&name),
                "panel {title:?} queries {name}, which neither a worker, the RabbitMQ plugin nor Prometheus exposes"
            );
        }
    }
}

#[test]
fn every_metric_an_alert_rule_queries_is_exposed() {
    let rules = alert_rules();
    assert!(rules.len() >= 5, "{rules:?}");
    for (alert, expr) in rules {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "{alert} queries no metric: {expr}");
        for name in names {
            assert!(
                is_exposed(&name),
                "{alert} queries {name}, which nothing exposes"
            );
        }
    }
}

#[test]
fn every_worker_family_is_on_the_dashboard() {
    let queried: BTreeSet<String> = exprs(&dashboard())
        .iter()
        .flat_map(|(_, expr)| metric_names(expr))
        .collect();

    for family in METRIC_NAMES {
        let shown = queried.iter().any(|name| {
            name == family
                || HISTOGRAM_SUFFIXES
                    .iter()
                    .any(|suffix| *name == format!("{family}{suffix}"))
        });
        assert!(shown, "no panel shows {family}");
    }
}

#[test]
fn template_variables_list_values_of_exposed_metrics() {
    let dashboard = dashboard();
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("the dashboard has template variables");

    for variable in variables
        .iter()
        .filter(|variable| variable["type"] == "query")
    {
        let query = variable["query"]["query"]
            .as_str()
            .expect("a query variable has a query");
        let arguments = query
            .strip_prefix("label_values(")
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("expected label_values(metric, label), found {query}"));
        let (metric, _label) = arguments.split_once(',').expect("a metric and a label");
        assert!(
            is_worker_series(metric.trim()),
            "{query} lists a metric no worker exposes"
        );
    }
}

#[test]
fn every_panel_uses_the_provisioned_datasource() {
    let provisioning: Value =
        serde_norway::from_str(&read("grafana/provisioning/datasources/prometheus.yml"))
            .expect("the datasource provisioning is valid YAML");
    let uid = provisioning["datasources"][0]["uid"]
        .as_str()
        .expect("the datasource has a uid");
    assert_eq!(provisioning["datasources"][0]["type"], "prometheus");

    for panel in panels(&dashboard()) {
        assert_eq!(panel["datasource"]["uid"], uid, "panel {}", panel["title"]);
        for target in panel["targets"].as_array().into_iter().flatten() {
            assert_eq!(target["datasource"]["uid"], uid, "panel {}", panel["title"]);
        }
    }
}

#[test]
fn prometheus_scrapes_every_replica_of_every_worker_and_the_rabbitmq_plugin() {
    let config: Value = serde_norway::from_str(&read("prometheus.yml"))
        .expect("the Prometheus configuration is valid YAML");
    let jobs = config["scrape_configs"]
        .as_array()
        .expect("scrape_configs is a list");
    let job = |name: &str| {
        jobs.iter()
            .find(|job| job["job_name"] == name)
            .unwrap_or_else(|| panic!("no scrape job {name}"))
    };

    // Every replica: a service name resolves to each of its containers.
    let workers = &job("estafette-workers")["dns_sd_configs"][0];
    assert_eq!(workers["type"], "A");
    assert_eq!(workers["port"], 9464);
    let names: BTreeSet<&str> = workers["names"]
        .as_array()
        .expect("service names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for worker in [
        WorkerKind::FetchPage,
        WorkerKind::WriteDescriptors,
        WorkerKind::SendStatus,
    ] {
        assert!(names.contains(worker.as_str()), "{worker:?} is not scraped");
    }
    let rabbitmq = &job("rabbitmq");
    assert_eq!(
        rabbitmq["static_configs"][0]["targets"][0],
        "rabbitmq:15692"
    );
    assert_eq!(rabbitmq["metrics_path"], "/metrics/per-object");
    assert_eq!(config["rule_files"][0], "alerts.yml");
}
