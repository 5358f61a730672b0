//! `estafette dead`: list, show, replay and purge the dead letters, so that a person
//! can see what the workers gave up on, fix the cause, and send it back.

use std::{
    process::ExitCode,
    time::{Duration, SystemTime},
};

use anyhow::Context;
use broker::{
    Broker,
    dead_letter_queue::{DeadLetter, Selector},
};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;
use settings::Settings;

#[derive(Subcommand)]
pub(crate) enum DeadCommand {
    /// List every dead letter: id, kind, reason, attempts, age and queue.
    List(ListArgs),
    /// Print the dead letters with this message id: headers and body.
    Show(ShowArgs),
    /// Send dead letters back to their worker, with a fresh attempt count.
    Replay(Which),
    /// Remove dead letters for good.
    Purge(Which),
}

#[derive(Args)]
pub(crate) struct ListArgs {
    /// Print one JSON object per dead letter.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct ShowArgs {
    /// The message id, as `list` prints it.
    id: String,
}

/// Which dead letters: exactly one of a message id, `--all` or `--reason`.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Which {
    /// The message id, as `list` prints it.
    id: Option<String>,
    /// Every dead letter.
    #[arg(long)]
    all: bool,
    /// Those dead-lettered for this reason (`upstream_unauthorized`, `delivery_limit`, …).
    #[arg(long)]
    reason: Option<String>,
}

impl Which {
    fn selector(self) -> Selector {
        match (self.id, self.reason) {
            (Some(id), _) => Selector::Id(id),
            (None, Some(reason)) => Selector::Reason(reason),
            (None, None) => Selector::All,
        }
    }
}

/// One line of `list --json`.
#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    kind: &'a str,
    reason: &'a str,
    detail: Option<&'a str>,
    attempts: u32,
    queue: Option<&'a str>,
    routing_key: &'a str,
    dead_lettered_at: Option<String>,
    age_seconds: Option<u64>,
}

pub(crate) async fn run(command: DeadCommand) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_process_env()?;
    let broker = crate::target::connect(&settings).await?;
    let outcome = act(&broker, command).await;
    broker.close(Duration::from_secs(1)).await;
    outcome
}

async fn act(broker: &Broker, command: DeadCommand) -> anyhow::Result<ExitCode> {
    broker.declare(&[]).await?;
    let now = SystemTime::now();
    match command {
        DeadCommand::List(args) => {
            let letters = broker.browse_dead_letters().await?;
            if args.json {
                for letter in &letters {
                    println!("{}", serde_json::to_string(&listed(letter, now))?);
                }
            } else {
                print!("{}", table(&letters, now));
            }
        }
        DeadCommand::Show(args) => {
            let letters = broker.browse_dead_letters().await?;
            let shown: Vec<String> = letters
                .iter()
                .filter(|letter| letter.id == args.id)
                .map(|letter| details(letter, now))
                .collect();
            if shown.is_empty() {
                eprintln!("no dead letter has the id {}", args.id);
                return Ok(ExitCode::FAILURE);
            }
            print!("{}", shown.join("\n"));
        }
        DeadCommand::Replay(which) => {
            let selector = which.selector();
            let replayed = broker
                .replay_dead_letters(&selector)
                .await
                .context("replaying the dead letters")?;
            println!("replayed {}", count(replayed.replayed));
            match replayed.not_commands {
                0 => {}
                1 => eprintln!(
                    "warning: 1 of them is not a valid command: its worker will dead-letter it again"
                ),
                n => eprintln!(
                    "warning: {n} of them are not valid commands: their workers will dead-letter \
                     them again"
                ),
            }
            if let (0, Selector::Id(id)) = (replayed.replayed, &selector) {
                eprintln!("no dead letter has the id {id}");
                return Ok(ExitCode::FAILURE);
            }
        }
        DeadCommand::Purge(which) => {
            let purged = broker.purge_dead_letters(&which.selector()).await?;
            println!("removed {}", count(purged));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn count(n: usize) -> String {
    match n {
        1 => "1 dead letter".to_owned(),
        n => format!("{n} dead letters"),
    }
}

fn listed(letter: &DeadLetter, now: SystemTime) -> Listed<'_> {
    Listed {
        id: &letter.id,
        kind: &letter.kind,
        reason: &letter.reason,
        detail: letter.detail.as_deref(),
        attempts: letter.attempts,
        queue: letter.queue.as_deref(),
        routing_key: &letter.routing_key,
        dead_lettered_at: letter.dead_lettered_at.map(timestamp),
        age_seconds: age(letter, now).map(|age| age.as_secs()),
    }
}

/// The `list` table, columns aligned, then the count.
fn table(letters: &[DeadLetter], now: SystemTime) -> String {
    if letters.is_empty() {
        return "no dead letters\n".to_owned();
    }
    let header = ["ID", "KIND", "REASON", "ATTEMPTS", "AGE", "QUEUE"].map(str::to_owned);
    let rows: Vec<[String; 6]> = letters
        .iter()
        .map(|letter| {
            [
                or_dash(&letter.id),
                letter.kind.clone(),
                letter.reason.clone(),
                letter.attempts.to_string(),
                age(letter, now).map_or_else(|| "-".to_owned(), format_age),
                letter.queue.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|title| title.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&count(letters.len()));
    out.push('\n');
    out
}

/// Everything `show` prints about one dead letter: its fields, headers and body.
fn details(letter: &DeadLetter, now: SystemTime) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: &str| out.push_str(&format!("{name:<15}{value}\n"));
    line("id:", &or_dash(&letter.id));
    line("kind:", &letter.kind);
    line("reason:", &letter.reason);
    if let Some(detail) = &letter.detail {
        line("detail:", detail);
    }
    line("attempts:", &letter.attempts.to_string());
    line("queue:", letter.queue.as_deref().unwrap_or("-"));
    line("routing key:", &letter.routing_key);
    if let (Some(at), Some(age)) = (letter.dead_lettered_at, age(letter, now)) {
        line(
            "dead-lettered:",
            &format!("{} ({} ago)", timestamp(at), format_age(age)),
        );
    }
    out.push_str("headers:\n");
    for (key, value) in &letter.headers {
        out.push_str(&format!("  {key}: {value}\n"));
    }
    for death in &letter.deaths {
        let when = death.time.map(timestamp).unwrap_or_default();
        out.push_str(&format!(
            "  x-death: {} from {}, {} time(s) {when}\n",
            death.reason, death.queue, death.count
        ));
    }
    out.push_str("body:\n");
    out.push_str(&pretty_body(&letter.body));
    out.push('\n');
    out
}

/// The body as indented JSON, or as it is when it is not JSON.
fn pretty_body(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

fn age(letter: &DeadLetter, now: SystemTime) -> Option<Duration> {
    let at = letter.dead_lettered_at?;
    Some(now.duration_since(at).unwrap_or_default())
}

/// An age in its two largest units: `45s`, `3m12s`, `2h05m`, `3d04h`.
fn format_age(age: Duration) -> String {
    let seconds = age.as_secs();
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    match (days, seconds / 3_600, seconds / 60) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m{:02}s", seconds % 60),
        (0, _, _) => format!("{hours}h{minutes:02}m"),
        _ => format!("{days}d{hours:02}h"),
    }
}

fn timestamp(at: SystemTime) -> String {
    DateTime::<Utc>::from(at).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(id: &str, kind: &str, reason: &str, age: Option<u64>, now: SystemTime) -> DeadLetter {
        DeadLetter {
            id: id.to_owned(),
            kind: kind.to_owned(),
            is_command: true,
            reason: reason.to_owned(),
            detail: None,
            attempts: 1,
            queue: Some("estafette.fetch-page".to_owned()),
            dead_lettered_at: age.map(|seconds| now - Duration::from_secs(seconds)),
            routing_key: "fetch-page".to_owned(),
            body: b"{\"kind\":\"ds.sync\"}".to_vec(),
            headers: vec![("traceparent".to_owned(), "00-1-2-01".to_owned())],
            deaths: Vec::new(),
        }
    }

    #[test]
    fn ages_show_their_two_largest_units() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (192, "3m12s"),
            (3_600, "1h00m"),
            (7_500, "2h05m"),
            (273_600, "3d04h"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(
                format_age(Duration::from_secs(seconds)),
                expected,
                "{seconds}s"
            );
        }
    }

    #[test]
    fn the_table_aligns_its_columns_and_ends_with_the_count() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let letters = [
            letter("a1", "ds.sync", "upstream_unauthorized", Some(192), now),
            letter("", "unreadable", "invalid_body", None, now),
        ];

        let printed = table(&letters, now);

        assert_eq!(
            printed,
            "ID  KIND        REASON                 ATTEMPTS  AGE    QUEUE\n\
             a1  ds.sync     upstream_unauthorized  1         3m12s  estafette.fetch-page\n\
             -   unreadable  invalid_body           1         -      estafette.fetch-page\n\
             2 dead letters\n"
        );
        assert_eq!(table(&[], now), "no dead letters\n");
    }

    #[test]
    fn a_json_line_carries_the_time_and_the_age() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);

        let line = serde_json::to_value(listed(&letter("a1", "ds.sync", "x", Some(60), now), now))
            .expect("json");

        assert_eq!(line["id"], "a1");
        assert_eq!(line["dead_lettered_at"], "2023-11-14T22:12:20Z");
        assert_eq!(line["age_seconds"], 60);
        assert_eq!(line["queue"], "estafette.fetch-page");
    }

    #[test]
    fn show_prints_the_headers_and_the_body_indented_or_as_it_is() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut unreadable = letter("a1", "unreadable", "invalid_body", Some(5), now);
        unreadable.body = b"\x00not json".to_vec();

        let readable = details(&letter("a1", "ds.sync", "x", Some(5), now), now);
        let raw = details(&unreadable, now);

        assert!(
            readable.contains("  traceparent: 00-1-2-01\n"),
            "{readable}"
        );
        assert!(readable.contains("(5s ago)"), "{readable}");
        assert!(
            readable.ends_with("body:\n{\n  \"kind\": \"ds.sync\"\n}\n"),
            "{readable}"
        );
        assert!(raw.ends_with("body:\n\u{0}not json\n"), "{raw}");
    }
}
