//! The `apidae.put` commands of one run: every object once, in the fewest jobs whose
//! commands the workers accept.

use std::collections::BTreeMap;

use contract::{ApidaePut, Command, CommandBody, Descriptor, MAX_COMMAND_BYTES, ObjectDescriptors};

use super::plan::{CHUNK_SIZE, CONNECTION};

/// The descriptor every run writes.
const TECHNICAL_NAME: &str = "1_ChampBench";

/// New jobs writing one descriptor on each of `ids`: the fewest whose commands each fit
/// in [`MAX_COMMAND_BYTES`], every job but the last a whole number of chunks, so the
/// run makes as many calls as a single job would.
pub(crate) fn put_jobs(ids: &[u64]) -> Vec<Command> {
    let chunks = ids.len().div_ceil(CHUNK_SIZE);
    for jobs in 1..chunks {
        let per_job = chunks.div_ceil(jobs) * CHUNK_SIZE;
        let commands: Vec<Command> = ids.chunks(per_job).map(put).collect();
        if commands
            .iter()
            .all(|command| command.to_json().len() <= MAX_COMMAND_BYTES)
        {
            return commands;
        }
    }
    ids.chunks(CHUNK_SIZE).map(put).collect()
}

/// Objects a job of [`put_jobs`] writes.
pub(crate) fn objects_in(job: &Command) -> usize {
    match &job.body {
        CommandBody::ApidaePut(put) => put.objects.len(),
        _ => 0,
    }
}

/// One job writing [`TECHNICAL_NAME`] on every object of `ids`, with a French and an
/// English text naming the object.
fn put(ids: &[u64]) -> Command {
    let objects = ids
        .iter()
        .map(|&id| ObjectDescriptors {
            id,
            descriptors: vec![Descriptor {
                technical_name: TECHNICAL_NAME.to_owned(),
                texts: BTreeMap::from([
                    ("fr".to_owned(), format!("Texte {id}")),
                    ("en".to_owned(), format!("Text {id}")),
                ]),
            }],
        })
        .collect();
    Command::start_job(CONNECTION, CommandBody::ApidaePut(ApidaePut { objects }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(command: &Command) -> Vec<u64> {
        match &command.body {
            CommandBody::ApidaePut(put) => put.objects.iter().map(|object| object.id).collect(),
            other => panic!("an apidae.put expected, got {other:?}"),
        }
    }

    #[test]
    fn a_job_counts_the_objects_it_writes() {
        let ids: Vec<u64> = (100_000..100_007).collect();
        assert_eq!(objects_in(&put_jobs(&ids)[0]), 7);
    }

    #[test]
    fn a_small_batch_is_one_job() {
        let ids: Vec<u64> = (100_000..100_120).collect();
        let jobs = put_jobs(&ids);
        assert_eq!(jobs.len(), 1);
        assert_eq!(objects(&jobs[0]), ids);
    }

    #[test]
    fn a_batch_over_the_command_limit_is_split_in_whole_chunks() {
        // About 100 bytes an object: 60,000 objects are well over the 4 MiB limit.
        let ids: Vec<u64> = (100_000..160_000).collect();
        let jobs = put_jobs(&ids);
        assert!(jobs.len() > 1, "60,000 objects do not fit in one command");
        assert!(
            jobs.iter()
                .all(|job| job.to_json().len() <= MAX_COMMAND_BYTES)
        );
        let sizes: Vec<usize> = jobs.iter().map(objects_in).collect();
        assert!(
            sizes[..sizes.len() - 1]
                .iter()
                .all(|size| size % CHUNK_SIZE == 0),
            "{sizes:?}"
        );
        let written: Vec<u64> = jobs.iter().flat_map(objects).collect();
        assert_eq!(written, ids);
    }

    #[test]
    fn every_run_gets_new_jobs() {
        let ids: Vec<u64> = (100_000..100_010).collect();
        assert_ne!(put_jobs(&ids)[0].meta.job_id, put_jobs(&ids)[0].meta.job_id);
    }
}
