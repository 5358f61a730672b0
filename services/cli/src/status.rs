//! `estafette status ds <verb>`: publish one decision about a demarches-simplifiees
//! dossier (a state change, a message, a label), follow it, and print its outcome.

use std::{num::NonZeroU32, process::ExitCode};

use clap::{Args, Subcommand, ValueEnum};
use contract::{
    Command, CommandBody, CorrectionReason, DossierRef, DsStatus, Event, JobId, StatusAction,
    StatusSent,
};
use ds_client::{InstructeurId, LabelId};
use serde::Serialize;
use settings::Api;

use crate::follow::{self, Step};

#[derive(Subcommand)]
pub(crate) enum StatusCommand {
    /// Apply a decision to a demarches-simplifiees dossier.
    #[command(subcommand)]
    Ds(DsVerb),
}

#[derive(Subcommand)]
pub(crate) enum DsVerb {
    /// en construction → en instruction.
    PassToInstruction(Notified),
    /// en instruction → accepté.
    Accept(AcceptArgs),
    /// en instruction → refusé.
    Refuse(MotivatedArgs),
    /// en instruction → classé sans suite.
    ClassifyWithoutFollowUp(MotivatedArgs),
    /// accepté, refusé or classé sans suite → en instruction.
    BackToInstruction(Notified),
    /// en instruction → en construction.
    BackToConstruction(Notified),
    /// Send a message to the dossier's user.
    SendMessage(MessageArgs),
    /// Put a label on the dossier.
    AddLabel(LabelArgs),
    /// Take a label off the dossier.
    RemoveLabel(LabelArgs),
}

/// What every verb names: the connection, the dossier, who acts, and the output form.
#[derive(Args)]
pub(crate) struct DossierTarget {
    /// Name of a configured demarches-simplifiees connection.
    #[arg(long)]
    connection: String,
    /// The dossier: its number, or its global id.
    #[arg(long, value_parser = parse_dossier)]
    dossier: DossierRef,
    /// The instructeur recorded as acting: the number the DS interface shows, or the
    /// global id.
    #[arg(long, value_parser = parse_instructeur)]
    instructeur: String,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    json: bool,
    /// Print the command as it would be published (exchange, routing key, properties,
    /// body) and publish nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
pub(crate) struct Notified {
    #[command(flatten)]
    target: DossierTarget,
    /// Do not e-mail the dossier's user.
    #[arg(long)]
    disable_notification: bool,
}

#[derive(Args)]
pub(crate) struct AcceptArgs {
    #[command(flatten)]
    notified: Notified,
    /// Why, shown to the user.
    #[arg(long)]
    motivation: Option<String>,
    /// A signed blob id from `createDirectUpload`, attached as the decision.
    #[arg(long)]
    justificatif: Option<String>,
}

#[derive(Args)]
pub(crate) struct MotivatedArgs {
    #[command(flatten)]
    notified: Notified,
    /// Why, shown to the user; required.
    #[arg(long)]
    motivation: String,
}

#[derive(Args)]
pub(crate) struct MessageArgs {
    #[command(flatten)]
    target: DossierTarget,
    /// The message text.
    #[arg(long)]
    body: String,
    /// A signed blob id from `createDirectUpload`, attached to the message.
    #[arg(long)]
    attachment: Option<String>,
    /// Ask the user to correct the dossier, which goes back to construction.
    #[arg(long, value_enum)]
    correction: Option<Correction>,
}

#[derive(Args)]
pub(crate) struct LabelArgs {
    #[command(flatten)]
    target: DossierTarget,
    /// The label: the number the DS interface shows, or the global id.
    #[arg(long, value_parser = parse_label)]
    label: String,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Correction {
    /// The dossier is incomplete.
    Incomplete,
    /// The dossier holds incorrect information.
    Incorrect,
    /// The dossier holds outdated information.
    Outdated,
}

/// What `--json` prints: the job, then the `status.sent` fields.
#[derive(Serialize)]
struct Outcome {
    job_id: JobId,
    #[serde(flatten)]
    sent: StatusSent,
}

pub(crate) async fn run(command: StatusCommand) -> anyhow::Result<ExitCode> {
    let StatusCommand::Ds(verb) = command;
    let (target, action) = action_of(verb);
    let body = CommandBody::DsStatus(DsStatus {
        dossier: target.dossier,
        instructeur: target.instructeur,
        action,
    });
    let command = crate::target::checked(Command::start_job(target.connection, body))?;
    if target.dry_run {
        return crate::target::print_dry_run(&command, Api::Ds);
    }
    let broker = crate::target::broker_for(&command, Api::Ds).await?;
    let job_id = command.meta.job_id;
    let sent = follow::publish_and_follow(&broker, &command, target.json, |event, _| match event {
        Event::StatusSent(sent) => Ok(Step::Finished(sent)),
        Event::CommandFailed(failed) => Err(follow::command_failed(job_id, &failed)),
        _ => Ok(Step::Wait),
    })
    .await?;
    print(job_id, sent, target.json)
}

/// Prints a decision's outcome.
pub(crate) fn print(job_id: JobId, sent: StatusSent, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(&Outcome { job_id, sent })?);
    } else {
        println!("{}", describe(&sent));
    }
    Ok(ExitCode::SUCCESS)
}

/// The command's target and the action the verb asks for.
fn action_of(verb: DsVerb) -> (DossierTarget, StatusAction) {
    match verb {
        DsVerb::PassToInstruction(args) => (
            args.target,
            StatusAction::PassToInstruction {
                disable_notification: args.disable_notification,
            },
        ),
        DsVerb::Accept(args) => (
            args.notified.target,
            StatusAction::Accept {
                motivation: args.motivation,
                justificatif: args.justificatif,
                disable_notification: args.notified.disable_notification,
            },
        ),
        DsVerb::Refuse(args) => (
            args.notified.target,
            StatusAction::Refuse {
                motivation: args.motivation,
                justificatif: None,
                disable_notification: args.notified.disable_notification,
            },
        ),
        DsVerb::ClassifyWithoutFollowUp(args) => (
            args.notified.target,
            StatusAction::ClassifyWithoutFollowUp {
                motivation: args.motivation,
                justificatif: None,
                disable_notification: args.notified.disable_notification,
            },
        ),
        DsVerb::BackToInstruction(args) => (
            args.target,
            StatusAction::BackToInstruction {
                disable_notification: args.disable_notification,
            },
        ),
        DsVerb::BackToConstruction(args) => (
            args.target,
            StatusAction::BackToConstruction {
                disable_notification: args.disable_notification,
            },
        ),
        DsVerb::SendMessage(args) => (
            args.target,
            StatusAction::SendMessage {
                body: args.body,
                attachment: args.attachment,
                correction: args.correction.map(|correction| match correction {
                    Correction::Incomplete => CorrectionReason::Incomplete,
                    Correction::Incorrect => CorrectionReason::Incorrect,
                    Correction::Outdated => CorrectionReason::Outdated,
                }),
            },
        ),
        DsVerb::AddLabel(args) => (args.target, StatusAction::AddLabel { label: args.label }),
        DsVerb::RemoveLabel(args) => (args.target, StatusAction::RemoveLabel { label: args.label }),
    }
}

/// A number names the dossier by number; anything else is taken as its global id.
fn parse_dossier(text: &str) -> Result<DossierRef, String> {
    if text.trim().is_empty() {
        return Err("the dossier is empty".into());
    }
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text
            .parse::<NonZeroU32>()
            .map(DossierRef::Number)
            .map_err(|_| format!("{text} is not a dossier number"));
    }
    Ok(DossierRef::Id(text.to_owned()))
}

/// A number names the instructeur by number; anything else is taken as its global id.
fn parse_instructeur(text: &str) -> Result<String, String> {
    parse_global_id(text, "instructeur", |number| {
        InstructeurId::of_number(number).into_string()
    })
}

/// A number names the label by number; anything else is taken as its global id.
fn parse_label(text: &str) -> Result<String, String> {
    parse_global_id(text, "label", |number| {
        LabelId::of_number(number).into_string()
    })
}

fn parse_global_id(
    text: &str,
    what: &str,
    of_number: impl FnOnce(u32) -> String,
) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text
            .parse::<NonZeroU32>()
            .map(|number| of_number(number.get()))
            .map_err(|_| format!("{text} is not an {what} number"));
    }
    Ok(text.to_owned())
}

fn describe(sent: &StatusSent) -> String {
    let dossier = match &sent.dossier {
        DossierRef::Number(number) => number.to_string(),
        DossierRef::Id(id) => id.clone(),
    };
    let what = if sent.already_applied {
        "already applied, nothing changed"
    } else {
        "applied"
    };
    let mut line = format!("{} on dossier {dossier}: {what}", sent.action);
    if let Some(state) = sent.state
        && let Ok(serde_json::Value::String(state)) = serde_json::to_value(state)
    {
        line.push_str(&format!("; the dossier is {state}"));
    }
    if let Some(message) = &sent.message {
        line.push_str(&format!("; message {message}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instructeur_or_a_label_is_a_number_or_a_global_id() {
        assert_eq!(
            parse_instructeur("4242").as_deref(),
            Ok("SW5zdHJ1Y3RldXItNDI0Mg==")
        );
        assert_eq!(
            parse_instructeur("SW5zdHJ1Y3RldXItNDI0Mg==").as_deref(),
            Ok("SW5zdHJ1Y3RldXItNDI0Mg==")
        );
        assert_eq!(parse_label("304340").as_deref(), Ok("TGFiZWwtMzA0MzQw"));
        assert!(parse_label("0").is_err());
        assert!(parse_instructeur(" ").is_err());
    }

    #[test]
    fn a_dossier_is_a_number_or_a_global_id() {
        assert_eq!(
            parse_dossier("120002"),
            Ok(DossierRef::Number(NonZeroU32::new(120_002).expect("n")))
        );
        assert_eq!(
            parse_dossier("RG9zc2llci0xMjAwMDI="),
            Ok(DossierRef::Id("RG9zc2llci0xMjAwMDI=".into()))
        );
        assert!(parse_dossier("0").is_err());
        assert!(parse_dossier(" ").is_err());
    }
}
