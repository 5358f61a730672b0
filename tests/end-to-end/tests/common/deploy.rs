//! The files of `deploy/` as the tests read them: the dashboard's panels and the alert
//! rules. Shared by the static checks (`tests/it/dashboard.rs`) and the
//! real-Prometheus test (`tests/prometheus.rs`), which include this file.

use std::path::PathBuf;

use serde_json::Value;

/// `relative`, a path inside `deploy/`.
pub(crate) fn path(relative: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy")).join(relative)
}

/// The text of `relative`, a file inside `deploy/`.
pub(crate) fn read(relative: &str) -> String {
    let path = path(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// The Grafana dashboard.
pub(crate) fn dashboard() -> Value {
    serde_json::from_str(&read("grafana/dashboards/estafette.json"))
        .expect("the dashboard is valid JSON")
}

/// Every panel, rows' nested panels included, except the rows themselves.
pub(crate) fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, found: &mut Vec<&'a Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            if panel["type"] != "row" {
                found.push(panel);
            }
            walk(&panel["panels"], found);
        }
    }
    let mut found = Vec::new();
    walk(&dashboard["panels"], &mut found);
    found
}

/// Every alert rule's name and expression.
pub(crate) fn alert_rules() -> Vec<(String, String)> {
    let rules: Value = serde_norway::from_str(&read("prometheus-alerts.yml"))
        .expect("the alert rules are valid YAML");
    rules["groups"]
        .as_array()
        .expect("rule groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().into_iter().flatten())
        .map(|rule| {
            (
                rule["alert"].as_str().expect("an alert name").to_owned(),
                rule["expr"].as_str().expect("an expression").to_owned(),
            )
        })
        .collect()
}
