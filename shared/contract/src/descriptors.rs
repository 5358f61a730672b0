//! Apidae private descriptors: the commands that write or remove them in chunks of at
//! most 50 objects, and the events that report what the API wrote.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::FailureReason;

/// The most objects an `apidae.chunk` command may carry: what one Apidae call may name
/// (`apidae_client::MAX_OBJECTS`; a test of the write-descriptors worker keeps the two
/// equal, since the wire format depends on no client).
pub const MAX_CHUNK_OBJECTS: usize = 50;

/// Body of `apidae.put`: add or replace descriptors on any number of objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApidaePut {
    /// The objects and their descriptors.
    pub objects: Vec<ObjectDescriptors>,
}

/// Body of `apidae.delete`: remove descriptors from any number of objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApidaeDelete {
    /// The objects and the descriptors to remove from each.
    pub objects: Vec<ObjectRemovals>,
}

/// One tourism object and the descriptors to write on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectDescriptors {
    /// The Apidae object id.
    pub id: u64,
    /// The descriptors to write.
    pub descriptors: Vec<Descriptor>,
}

/// One private descriptor: its technical name and its text per language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    /// The descriptor's technical name, chosen by the member's administrator.
    pub technical_name: String,
    /// Text by language code (`fr`, `en`, `de`, …).
    pub texts: BTreeMap<String, String>,
}

/// One tourism object and the technical names of the descriptors to remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectRemovals {
    /// The Apidae object id.
    pub id: u64,
    /// The technical names to remove.
    pub technical_names: Vec<String>,
}

/// What a chunk writes: the objects of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "operation", rename_all = "snake_case", deny_unknown_fields)]
pub enum DescriptorWrite {
    /// `PUT`: add or replace descriptors.
    Put {
        /// At most [`MAX_CHUNK_OBJECTS`] objects.
        objects: Vec<ObjectDescriptors>,
    },
    /// `DELETE`: remove descriptors.
    Delete {
        /// At most [`MAX_CHUNK_OBJECTS`] objects.
        objects: Vec<ObjectRemovals>,
    },
}

impl DescriptorWrite {
    /// Which operation the chunk carries.
    pub fn operation(&self) -> DescriptorOperation {
        match self {
            DescriptorWrite::Put { .. } => DescriptorOperation::Put,
            DescriptorWrite::Delete { .. } => DescriptorOperation::Delete,
        }
    }

    /// The object ids, in order.
    pub fn object_ids(&self) -> Vec<u64> {
        match self {
            DescriptorWrite::Put { objects } => objects.iter().map(|object| object.id).collect(),
            DescriptorWrite::Delete { objects } => objects.iter().map(|object| object.id).collect(),
        }
    }
}

/// Body of `apidae.chunk`: one call's worth of a write job, published by the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApidaeChunk {
    /// Index of the chunk within the job, from 0.
    pub chunk: u32,
    /// Number of chunks in the job.
    pub chunks: u32,
    /// Objects the whole job asked to write.
    pub job_objects: u32,
    /// When the job was opened in the job store. Every chunk checks the job's state
    /// against it, to tell a job whose state was lost from one still running.
    pub started_at: DateTime<Utc>,
    /// What this chunk writes.
    pub write: DescriptorWrite,
}

/// The two writes the API offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DescriptorOperation {
    /// `PUT`: add or replace.
    Put,
    /// `DELETE`: remove.
    Delete,
}

/// What one chunk did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkResult {
    /// Index of the chunk within the job.
    pub chunk: u32,
    /// Ids the API reported as updated.
    pub updated: Vec<u64>,
    /// Ids asked for that the API did not report: it ignores unknown objects silently.
    pub not_reported: Vec<u64>,
    /// Why the chunk failed for good; then nothing of it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ChunkFailure>,
}

/// A chunk that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkFailure {
    /// The failure class.
    pub reason: FailureReason,
    /// The API's `errorType` or status, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The API's message; never a credential.
    pub message: String,
}

/// Payload of `chunk.written`: one chunk of a descriptor job is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkWritten {
    /// The connection written through.
    pub connection: String,
    /// Put or delete.
    pub operation: DescriptorOperation,
    /// Number of chunks in the job.
    pub chunks: u32,
    /// What the chunk did.
    pub result: ChunkResult,
}

/// Payload of `descriptors.written`: a descriptor job is done, every chunk reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DescriptorsWritten {
    /// The connection written through.
    pub connection: String,
    /// Put or delete.
    pub operation: DescriptorOperation,
    /// Objects the command asked to write.
    pub objects: u32,
    /// Objects the API reported as updated, over every chunk.
    pub updated: u32,
    /// Objects the API did not report (unknown to it), over every chunk.
    pub not_reported: u32,
    /// Chunks that failed for good.
    pub failed_chunks: u32,
    /// Every chunk's result, in chunk order.
    pub chunks: Vec<ChunkResult>,
}

/// Why a descriptor command's objects cannot be written as given.
pub(crate) fn check_put(objects: &[ObjectDescriptors], limit: Option<usize>) -> Result<(), String> {
    check_objects(objects.iter().map(|object| object.id), limit)?;
    for object in objects {
        if object.descriptors.is_empty() {
            return Err(format!("object {} has no descriptors", object.id));
        }
        let mut names = HashSet::new();
        for descriptor in &object.descriptors {
            check_name(object.id, &descriptor.technical_name)?;
            if !names.insert(descriptor.technical_name.as_str()) {
                return Err(format!(
                    "object {}: descriptor `{}` is given twice",
                    object.id, descriptor.technical_name
                ));
            }
            if descriptor.texts.is_empty() {
                return Err(format!(
                    "object {}: descriptor `{}` has no text",
                    object.id, descriptor.technical_name
                ));
            }
            for (language, text) in &descriptor.texts {
                if language.is_empty() || !language.chars().all(|c| c.is_ascii_lowercase()) {
                    return Err(format!(
                        "object {}: descriptor `{}`: language `{language}` is not a lowercase code such as `fr`",
                        object.id, descriptor.technical_name
                    ));
                }
                if text.trim().is_empty() {
                    return Err(format!(
                        "object {}: descriptor `{}` has an empty `{language}` text",
                        object.id, descriptor.technical_name
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Why a removal command's objects cannot be written as given.
pub(crate) fn check_delete(objects: &[ObjectRemovals], limit: Option<usize>) -> Result<(), String> {
    check_objects(objects.iter().map(|object| object.id), limit)?;
    for object in objects {
        if object.technical_names.is_empty() {
            return Err(format!(
                "object {} names no descriptor to remove",
                object.id
            ));
        }
        let mut names = HashSet::new();
        for name in &object.technical_names {
            check_name(object.id, name)?;
            if !names.insert(name.as_str()) {
                return Err(format!("object {}: `{name}` is named twice", object.id));
            }
        }
    }
    Ok(())
}

fn check_objects(ids: impl Iterator<Item = u64>, limit: Option<usize>) -> Result<(), String> {
    let mut seen = HashSet::new();
    for id in ids {
        if id == 0 {
            return Err("object ids are positive integers; found 0".into());
        }
        if !seen.insert(id) {
            return Err(format!("object {id} appears twice"));
        }
    }
    if seen.is_empty() {
        return Err("the batch holds no object".into());
    }
    if let Some(limit) = limit
        && seen.len() > limit
    {
        return Err(format!(
            "a chunk holds at most {limit} objects; found {}",
            seen.len()
        ));
    }
    Ok(())
}

fn check_name(object: u64, name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        Err(format!("object {object}: a technical name is missing"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: u64, name: &str, text: &str) -> ObjectDescriptors {
        ObjectDescriptors {
            id,
            descriptors: vec![Descriptor {
                technical_name: name.into(),
                texts: BTreeMap::from([("fr".to_owned(), text.to_owned())]),
            }],
        }
    }

    #[test]
    fn a_valid_batch_passes() {
        assert_eq!(
            check_put(&[object(1, "a", "x"), object(2, "a", "y")], None),
            Ok(())
        );
    }

    #[test]
    fn each_problem_is_named() {
        let cases = [
            (vec![], "no object"),
            (vec![object(1, "", "x")], "technical name is missing"),
            (vec![object(1, "a", " ")], "empty `fr` text"),
            (
                vec![object(1, "a", "x"), object(1, "b", "y")],
                "object 1 appears twice",
            ),
            (vec![object(0, "a", "x")], "positive integers"),
        ];
        for (objects, expected) in cases {
            let problem = check_put(&objects, None).expect_err(expected);
            assert!(problem.contains(expected), "{problem}");
        }
    }

    #[test]
    fn chunks_are_bounded() {
        let objects: Vec<_> = (1..=51).map(|id| object(id, "a", "x")).collect();
        assert!(check_put(&objects[..50], Some(MAX_CHUNK_OBJECTS)).is_ok());
        let problem = check_put(&objects, Some(MAX_CHUNK_OBJECTS)).expect_err("51");
        assert!(problem.contains("at most 50"), "{problem}");
    }

    #[test]
    fn removals_need_names() {
        let removal = ObjectRemovals {
            id: 7,
            technical_names: vec![],
        };
        assert!(check_delete(&[removal], None).is_err());
    }
}
