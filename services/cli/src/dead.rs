//! `estafette dead`: list, show, replay and purge the dead letters, so that a person
//! can see what the workers gave up on, fix the cause, and send it back.

use std::{
    process::ExitCode,
    time::{Duration, SystemTime},
};

use anyhow::Context;
use broker::{
    Broker,
    dead_letter_queue::{DeadLetter, DeadLetterWalk, Selector},
};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;
use settings::Settings;

#[derive(Subcommand)]
pub(crate) enum DeadCommand {
    /// List every dead letter: id, kind, reason, attempts, age, body size and queue,
    /// one line as each is read (never holding them all).
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
    /// Print one JSON array, an object per dead letter.
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

/// One element of `list --json`.
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
    body_bytes: usize,
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
            let mut walk = broker.walk_dead_letters().await?;
            let listed = list(&mut walk, args.json, now).await;
            walk.finish().await;
            listed?;
        }
        DeadCommand::Show(args) => {
            let mut walk = broker.walk_dead_letters().await?;
            let mut shown = 0;
            let mut walked = Ok(());
            loop {
                match walk.next().await {
                    Ok(Some(letter)) if letter.id == args.id => {
                        if shown > 0 {
                            println!();
                        }
                        print!("{}", details(&letter, now));
                        shown += 1;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => {
                        walked = Err(error);
                        break;
                    }
                }
            }
            walk.finish().await;
            walked?;
            if shown == 0 {
                eprintln!("no dead letter has the id {}", args.id);
                return Ok(ExitCode::FAILURE);
            }
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

/// Prints every dead letter as the walk reads it: a table with fixed columns, or one
/// JSON array; then, for the table, the count.
async fn list(walk: &mut DeadLetterWalk<'_>, json: bool, now: SystemTime) -> anyhow::Result<()> {
    let mut count_listed = 0;
    while let Some(letter) = walk.next().await? {
        if json {
            let separator = if count_listed == 0 { "[" } else { "," };
            println!(
                "{separator}{}",
                serde_json::to_string(&listed(&letter, now))?
            );
        } else {
            if count_listed == 0 {
                println!("{}", row(&HEADER.map(str::to_owned)));
            }
            println!("{}", row(&cells(&letter, now)));
        }
        count_listed += 1;
    }
    match (json, count_listed) {
        (true, 0) => println!("[]"),
        (true, _) => println!("]"),
        (false, 0) => println!("no dead letters"),
        (false, n) => println!("{}", count(n)),
    }
    Ok(())
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
        body_bytes: letter.body.len(),
    }
}

/// The `list` table's titles.
const HEADER: [&str; 7] = ["ID", "KIND", "REASON", "ATTEMPTS", "AGE", "BYTES", "QUEUE"];

/// The widths of every column but the last: a message id (a UUID), the longest command
/// kind, the longest failure reason, then room for the numbers. Fixed, so that each line
/// is printed as soon as its dead letter is read.
const WIDTHS: [usize; 6] = [36, 15, 29, 8, 6, 8];

/// One line of the `list` table.
fn row(cells: &[String; 7]) -> String {
    crate::table::row(cells, &WIDTHS)
}

/// The `list` cells of one dead letter.
fn cells(letter: &DeadLetter, now: SystemTime) -> [String; 7] {
    [
        or_dash(&letter.id),
        letter.kind.clone(),
        letter.reason.clone(),
        letter.attempts.to_string(),
        age(letter, now).map_or_else(|| "-".to_owned(), format_age),
        letter.body.len().to_string(),
        letter.queue.clone().unwrap_or_else(|| "-".to_owned()),
    ]
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
    fn table_lines_keep_fixed_columns_wide_enough_for_every_kind_and_reason() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let id = "0d1f2e3c-4b5a-5968-8776-a5b4c3d2e1f0";
        let lines = [
            row(&HEADER.map(str::to_owned)),
            row(&cells(
                &letter(
                    id,
                    "amienscope.sync",
                    "internal_command_from_outside",
                    Some(192),
                    now,
                ),
                now,
            )),
            row(&cells(
                &letter("", "unreadable", "invalid_body", None, now),
                now,
            )),
        ];

        let queue_column = |line: &str| line.find("estafette.fetch-page");
        assert_eq!(queue_column(&lines[1]), queue_column(&lines[2]));
        assert_eq!(lines[0].find("QUEUE"), queue_column(&lines[1]));
        assert!(lines[1].contains("  18  "), "the body's size: {}", lines[1]);
        assert!(lines[2].starts_with("-   "), "{}", lines[2]);
    }

    #[test]
    fn a_json_element_carries_the_time_the_age_and_the_body_size() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);

        let line = serde_json::to_value(listed(&letter("a1", "ds.sync", "x", Some(60), now), now))
            .expect("json");

        assert_eq!(line["id"], "a1");
        assert_eq!(line["dead_lettered_at"], "2023-11-14T22:12:20Z");
        assert_eq!(line["age_seconds"], 60);
        assert_eq!(line["queue"], "estafette.fetch-page");
        assert_eq!(line["body_bytes"], 18);
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
