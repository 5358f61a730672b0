//! The commands of the run, on any connection.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use base64::Engine as _;
use chrono::DateTime;
use contract::{
    AmienscopeSync, ApidaeDelete, ApidaePut, Command, CommandBody, Descriptor, DivaltoQuery,
    DivaltoSync, DossierRef, DsStatus, DsSync, ObjectDescriptors, ObjectRemovals, StatusAction,
};
use sandbox::ds::dataset::DossierState;
use sandbox::{DivaltoTable, Sandbox};
use serde_json::Value;

/// The small seeded démarche: 120 dossiers, three pages of 50, plus its deletions.
const DEMARCHE: u32 = 1717;
/// The large seeded démarche, whose instructeur 7001 may decide.
const STATUS_DEMARCHE: i64 = 4242;
/// Amienscope events changed since this instant: about a hundred, three pages.
const AMIENSCOPE_SINCE: i64 = 1_729_000_000;
/// The descriptor written, then removed.
const DESCRIPTOR: &str = "secrets_test";

/// Syncs the small démarche.
pub(crate) fn ds_sync(connection: &str) -> Command {
    Command::start_job(
        connection,
        CommandBody::DsSync(DsSync {
            demarche: NonZeroU32::new(DEMARCHE).expect("non-zero"),
            updated_since: None,
            state: None,
        }),
    )
}

/// Syncs the 29 rows of the payment-terms table.
pub(crate) fn divalto_sync(connection: &str) -> Command {
    let table = DivaltoTable::ModeReglement;
    Command::start_job(
        connection,
        CommandBody::DivaltoSync(DivaltoSync {
            query: DivaltoQuery {
                dhoq: table.dhoq().into(),
                recordsql: table.recordsql().into(),
                id_field: table.id_field().into(),
                fields: Vec::new(),
                orderby: None,
                where_clause: None,
            },
            window: None,
        }),
    )
}

/// Syncs the events changed since [`AMIENSCOPE_SINCE`].
pub(crate) fn amienscope_sync(connection: &str) -> Command {
    Command::start_job(
        connection,
        CommandBody::AmienscopeSync(AmienscopeSync {
            updated_since: DateTime::from_timestamp(AMIENSCOPE_SINCE, 0),
            category: None,
            window: None,
        }),
    )
}

/// Writes [`DESCRIPTOR`] on each of `objects`.
pub(crate) fn apidae_put(connection: &str, objects: &[u64]) -> Command {
    let objects = objects
        .iter()
        .map(|&id| ObjectDescriptors {
            id,
            descriptors: vec![Descriptor {
                technical_name: DESCRIPTOR.to_owned(),
                texts: BTreeMap::from([("fr".to_owned(), format!("Texte {id}"))]),
            }],
        })
        .collect();
    Command::start_job(connection, CommandBody::ApidaePut(ApidaePut { objects }))
}

/// Removes [`DESCRIPTOR`] from each of `objects`.
pub(crate) fn apidae_delete(connection: &str, objects: &[u64]) -> Command {
    let objects = objects
        .iter()
        .map(|&id| ObjectRemovals {
            id,
            technical_names: vec![DESCRIPTOR.to_owned()],
        })
        .collect();
    Command::start_job(
        connection,
        CommandBody::ApidaeDelete(ApidaeDelete { objects }),
    )
}

/// Accepts `dossier` as instructeur 7001.
pub(crate) fn accept(connection: &str, dossier: u32) -> Command {
    Command::start_job(
        connection,
        CommandBody::DsStatus(DsStatus {
            dossier: DossierRef::Number(NonZeroU32::new(dossier).expect("non-zero")),
            instructeur: base64::engine::general_purpose::STANDARD.encode("Instructeur-7001"),
            action: StatusAction::Accept {
                motivation: None,
                justificatif: None,
                disable_notification: true,
            },
        }),
    )
}

/// A dossier of [`STATUS_DEMARCHE`] that instructeur 7001 may accept.
pub(crate) fn dossier_en_instruction(sandbox: &Sandbox) -> u32 {
    let dataset = sandbox.dataset();
    let dossier = dataset
        .demarche(STATUS_DEMARCHE)
        .expect("seeded démarche")
        .visible_dossiers()
        .find(|dossier| {
            dossier.state == DossierState::EnInstruction && dossier.pending_correction.is_none()
        })
        .expect("a dossier en instruction");
    u32::try_from(dossier.number).expect("a small number")
}

/// `command`'s envelope as `change` leaves it.
pub(crate) fn altered(command: &Command, change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut envelope: Value = serde_json::from_slice(&command.to_json()).expect("json");
    change(&mut envelope);
    serde_json::to_vec(&envelope).expect("json")
}
