//! What a measured process is given to do: a sync of 100-record pages, the largest
//! sync command a producer may send at the largest window, or the largest descriptor
//! write.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use contract::{
    ApidaePut, Command, CommandBody, Descriptor, DivaltoQuery, DivaltoSync, Event,
    MAX_COMMAND_BYTES, MAX_QUERY_BYTES, MAX_WINDOW, ObjectDescriptors,
};

use crate::fanout::{CONNECTION as DIVALTO, PAGE_SIZE, TABLE};
use crate::rig::Rig;

use super::child::{FETCH_PAGE, WRITE_DESCRIPTORS};

/// The Apidae connection of the default settings.
const APIDAE: &str = "sandbox_apidae";
/// Deliveries the worker may hold at once: the default of the settings.
pub(crate) const PREFETCH: u16 = 16;
/// Pages of the 100-record sync in flight at once.
pub(crate) const WINDOW: u32 = 8;

/// One kind of measured run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// A Divalto sync of the article table in pages of [`PAGE_SIZE`], [`WINDOW`] pages
    /// in flight.
    Pages,
    /// The largest `divalto.sync` a producer may send, its query at
    /// [`MAX_QUERY_BYTES`], at [`MAX_WINDOW`]: the start fans out a whole window of
    /// page commands that each carry the query.
    LargestSync,
    /// The largest `apidae.put` a producer may send, just under [`MAX_COMMAND_BYTES`].
    LargestWrite,
}

impl Load {
    /// Every load, in the order they are measured.
    pub(crate) const ALL: [Load; 3] = [Load::Pages, Load::LargestSync, Load::LargestWrite];

    /// What the load is, for the table.
    pub(crate) fn describe(self) -> String {
        match self {
            Load::Pages => {
                format!("fetch-page: divalto.sync, {PAGE_SIZE}-record pages, window {WINDOW}")
            }
            Load::LargestSync => format!(
                "fetch-page: divalto.sync with a {} KiB query (the largest), window {MAX_WINDOW}",
                MAX_QUERY_BYTES / 1024
            ),
            Load::LargestWrite => format!(
                "write-descriptors: apidae.put of {} MiB (the largest command)",
                MAX_COMMAND_BYTES / (1024 * 1024)
            ),
        }
    }

    /// The binary that runs it.
    pub(crate) fn binary(self) -> &'static str {
        match self {
            Load::Pages | Load::LargestSync => FETCH_PAGE,
            Load::LargestWrite => WRITE_DESCRIPTORS,
        }
    }

    /// The connection it uses, and that connection's keys aimed at the rig's sandbox.
    pub(crate) fn connection(self, rig: &Rig) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            Load::Pages | Load::LargestSync => {
                (DIVALTO, crate::fanout::connection_keys(rig).to_vec())
            }
            Load::LargestWrite => {
                let apidae = format!("{}/apidae", rig.sandbox().base_url());
                (
                    APIDAE,
                    vec![
                        ("BASE_URL", apidae.clone()),
                        ("TOKEN_URL", format!("{apidae}/oauth/token")),
                    ],
                )
            }
        }
    }

    /// The command of one run; `objects` are the Apidae objects the sandbox knows.
    pub(crate) fn command(self, objects: &[u64]) -> Command {
        match self {
            Load::Pages => divalto_sync(Vec::new(), WINDOW),
            Load::LargestSync => divalto_sync(largest_field_list(), MAX_WINDOW),
            Load::LargestWrite => largest_put(objects),
        }
    }

    /// Pages or chunks a completed run reports, from its last event; why not, when the
    /// run did not complete.
    pub(crate) fn completed(self, end: &Event) -> Result<u32, String> {
        match end {
            Event::SyncCompleted(completed) => Ok(completed.pages),
            Event::DescriptorsWritten(written) if written.failed_chunks == 0 => {
                Ok(u32::try_from(written.chunks.len()).unwrap_or(u32::MAX))
            }
            Event::DescriptorsWritten(written) => {
                Err(format!("{} chunks failed", written.failed_chunks))
            }
            Event::CommandFailed(failed) => Err(format!("command.failed: {:?}", failed.reason)),
            Event::JobFailed(failed) => Err(format!("job.failed: {:?}", failed.reason)),
            other => Err(format!("ended with {}", other.type_name())),
        }
    }
}

fn divalto_sync(fields: Vec<String>, window: u32) -> Command {
    Command::start_job(
        DIVALTO,
        CommandBody::DivaltoSync(DivaltoSync {
            query: DivaltoQuery {
                dhoq: TABLE.dhoq().into(),
                recordsql: TABLE.recordsql().into(),
                id_field: TABLE.id_field().into(),
                fields,
                orderby: None,
                where_clause: None,
            },
            window: NonZeroU32::new(window),
        }),
    )
}

/// The id field asked for again and again, up to the largest query a sync may carry
/// (one field more and the command is refused): what makes a query large in practice
/// (its field list, its WHERE parameters) costs a worker the same, and the sandbox
/// answers this one.
fn largest_field_list() -> Vec<String> {
    let accepted = |fields: &[String]| {
        let command = divalto_sync(fields.to_vec(), MAX_WINDOW);
        Command::from_json(&command.to_json()).is_ok()
    };
    let mut fields = vec![TABLE.id_field().to_owned()];
    while accepted(&fields) {
        fields.push(TABLE.id_field().to_owned());
    }
    fields.pop();
    fields
}

/// One descriptor on as many of `objects` as fit in the largest command, each with a
/// French and an English text of a few hundred characters.
fn largest_put(objects: &[u64]) -> Command {
    let put = |count: usize| {
        let objects = objects[..count]
            .iter()
            .map(|&id| ObjectDescriptors {
                id,
                descriptors: vec![Descriptor {
                    technical_name: "1_ChampMemoire".to_owned(),
                    texts: BTreeMap::from([
                        ("fr".to_owned(), format!("Texte {id} {}", "x".repeat(200))),
                        ("en".to_owned(), format!("Text {id} {}", "y".repeat(200))),
                    ]),
                }],
            })
            .collect();
        Command::start_job(APIDAE, CommandBody::ApidaePut(ApidaePut { objects }))
    };
    let (one, two) = (put(1).to_json().len(), put(2).to_json().len());
    let per_object = two - one;
    let envelope = one - per_object;
    let mut count = ((MAX_COMMAND_BYTES - envelope) / per_object).min(objects.len());
    while count > 1 && put(count).to_json().len() > MAX_COMMAND_BYTES {
        count -= count / 50 + 1;
    }
    put(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_commands_are_as_large_as_a_producer_may_send() {
        let sync = Load::LargestSync.command(&[]);
        assert!(
            Command::from_json(&sync.to_json()).is_ok(),
            "a valid command"
        );
        let mut larger = sync.clone();
        let CommandBody::DivaltoSync(body) = &mut larger.body else {
            panic!("a divalto.sync")
        };
        assert!(body.query.fields.len() * 9 > MAX_QUERY_BYTES * 9 / 10);
        body.query.fields.push(TABLE.id_field().to_owned());
        assert!(
            Command::from_json(&larger.to_json()).is_err(),
            "one field more is refused"
        );

        let objects: Vec<u64> = (100_000..120_000).collect();
        let write = Load::LargestWrite.command(&objects).to_json();
        assert!(write.len() <= MAX_COMMAND_BYTES, "{}", write.len());
        assert!(write.len() > MAX_COMMAND_BYTES * 9 / 10, "{}", write.len());
        assert!(Command::from_json(&write).is_ok(), "a valid command");
    }
}
