//! A descriptor job: the command split into chunks of at most `chunk_size` objects,
//! each a command of its own; each chunk's result is kept in the job store, and the
//! chunk that finishes last publishes `descriptors.written` with every result.

use apidae_client::{
    DeleteBatch, Descriptor, ObjectDescriptors, ObjectRemovals, PutBatch, WriteReport,
};
use broker::{Outcome, Outgoing, Publisher};
use chrono::Utc;
use contract::{
    ApidaeChunk, ChunkFailure, ChunkResult, ChunkWritten, Command, CommandBody, CommandMeta,
    DescriptorOperation, DescriptorWrite, DescriptorsWritten, Event, EventEnvelope, FailureReason,
    MessageId,
};
use job_state::{JobStore, StepStatus};
use settle::{CommandError, Failure};

use crate::connections::ApidaeConnection;

/// Opens the job with its chunk count, then publishes one command per chunk, a batch
/// at a time.
pub(crate) async fn start(
    meta: &CommandMeta,
    write: DescriptorWrite,
    connection: &ApidaeConnection,
    store: &JobStore,
    publisher: &Publisher,
) -> Result<Outcome, CommandError> {
    let parts = split(write, connection.chunk_size);
    let chunks = u32::try_from(parts.len()).unwrap_or(u32::MAX);
    let job_objects: usize = parts.iter().map(|part| part.object_ids().len()).sum();
    let started_at = store.open_chunks(meta.job_id, Utc::now(), chunks).await?;
    tracing::info!(chunks, objects = job_objects, "descriptor job started");
    let headers = telemetry::propagation::inject_current();
    let commands = parts.into_iter().zip(0..).map(|(write, chunk)| {
        let body = ApidaeChunk {
            chunk,
            chunks,
            started_at,
            job_objects: u32::try_from(job_objects).unwrap_or(u32::MAX),
            write,
        };
        Outgoing::command(&chunk_command(meta, body), headers.clone())
    });
    publisher.publish_batched(commands).await?;
    Ok(Outcome::ack(Vec::new()))
}

/// Splits the objects of `write` into writes of at most `size` objects, in order.
fn split(write: DescriptorWrite, size: usize) -> Vec<DescriptorWrite> {
    let size = size.clamp(1, contract::MAX_CHUNK_OBJECTS);
    match write {
        DescriptorWrite::Put { objects } => objects
            .chunks(size)
            .map(|part| DescriptorWrite::Put {
                objects: part.to_vec(),
            })
            .collect(),
        DescriptorWrite::Delete { objects } => objects
            .chunks(size)
            .map(|part| DescriptorWrite::Delete {
                objects: part.to_vec(),
            })
            .collect(),
    }
}

fn chunk_command(meta: &CommandMeta, chunk: ApidaeChunk) -> Command {
    Command {
        meta: CommandMeta {
            job_id: meta.job_id,
            message_id: MessageId::for_job(meta.job_id, &format!("chunk/{}", chunk.chunk)),
            connection: meta.connection.clone(),
        },
        body: CommandBody::ApidaeChunk(chunk),
    }
}

/// Writes one chunk unless it was written before, publishes its `chunk.written`,
/// records its result, and publishes `descriptors.written` when it was the last.
/// A chunk the API refuses for good is reported in both events and dead-lettered.
pub(crate) async fn write(
    meta: &CommandMeta,
    chunk: &ApidaeChunk,
    connection: &ApidaeConnection,
    store: &JobStore,
    publisher: &Publisher,
) -> Result<Outcome, CommandError> {
    let operation = chunk.write.operation();
    let (job, started_at) = (meta.job_id, chunk.started_at);
    let (result, completed, mut publish) =
        match store.chunk_status(job, started_at, chunk.chunk).await? {
            StepStatus::JobFailed => {
                tracing::info!(chunk = chunk.chunk, "the job failed; chunk not written");
                return Ok(Outcome::ack(Vec::new()));
            }
            StepStatus::Done { completed_job } => {
                // Written and recorded before: repeat its report, never the call.
                let result = decode(store.chunk_result(meta.job_id, chunk.chunk).await?)?;
                let event = chunk_event(meta, chunk, operation, &result);
                let publish = vec![Outgoing::event(
                    &event,
                    telemetry::propagation::inject_current(),
                )];
                (result, completed_job, publish)
            }
            StepStatus::Due => {
                let result = match call(&chunk.write, connection).await {
                    Ok(report) => written(chunk, &report),
                    Err(CommandError::Permanent {
                        reason,
                        code,
                        message,
                    }) => ChunkResult {
                        chunk: chunk.chunk,
                        updated: Vec::new(),
                        not_reported: Vec::new(),
                        failure: Some(ChunkFailure {
                            reason,
                            code,
                            message,
                        }),
                    },
                    Err(retry) => return Err(retry),
                };
                let event = chunk_event(meta, chunk, operation, &result);
                publisher
                    .publish_all(&[Outgoing::event(
                        &event,
                        telemetry::propagation::inject_current(),
                    )])
                    .await?;
                let encoded = serde_json::to_string(&result).map_err(|error| {
                    CommandError::permanent(FailureReason::InvalidBody, error.to_string())
                })?;
                let completed = store
                    .finish_chunk(job, started_at, chunk.chunk, &encoded)
                    .await?;
                (result, completed, Vec::new())
            }
        };
    tracing::info!(
        chunk = chunk.chunk,
        updated = result.updated.len(),
        not_reported = result.not_reported.len(),
        failed = result.failure.is_some(),
        "chunk written"
    );
    if completed {
        publish.push(Outgoing::event(
            &completion(meta, chunk, operation, store).await?,
            telemetry::propagation::inject_current(),
        ));
    }
    let Some(failure) = &result.failure else {
        return Ok(Outcome::ack(publish));
    };
    let command = Command {
        meta: meta.clone(),
        body: CommandBody::ApidaeChunk(chunk.clone()),
    };
    let mut outcome = settle::dead_letter(Failure::of_command(
        &command,
        failure.reason,
        failure.code.clone(),
        failure.message.clone(),
    ));
    outcome.publish.extend(publish);
    Ok(outcome)
}

async fn call(
    write: &DescriptorWrite,
    connection: &ApidaeConnection,
) -> Result<WriteReport, CommandError> {
    let refused = |error: apidae_client::BatchError| {
        CommandError::permanent(FailureReason::InvalidBody, error.to_string())
    };
    let report = match write {
        DescriptorWrite::Put { objects } => {
            let batch = PutBatch::new(objects.iter().map(put_object).collect()).map_err(refused)?;
            connection.client.put_descriptors(&batch).await?
        }
        DescriptorWrite::Delete { objects } => {
            let batch = DeleteBatch::new(objects.iter().map(removal).collect()).map_err(refused)?;
            connection.client.delete_descriptors(&batch).await?
        }
    };
    Ok(report)
}

fn put_object(object: &contract::ObjectDescriptors) -> ObjectDescriptors {
    ObjectDescriptors {
        id: object.id,
        descriptors: object
            .descriptors
            .iter()
            .map(|descriptor| Descriptor {
                technical_name: descriptor.technical_name.clone(),
                texts: descriptor.texts.clone(),
            })
            .collect(),
    }
}

fn removal(object: &contract::ObjectRemovals) -> ObjectRemovals {
    ObjectRemovals {
        id: object.id,
        technical_names: object.technical_names.clone(),
    }
}

/// What the API reported, against what the chunk asked for.
fn written(chunk: &ApidaeChunk, report: &WriteReport) -> ChunkResult {
    let not_reported = chunk
        .write
        .object_ids()
        .into_iter()
        .filter(|id| !report.updated.contains(id))
        .collect();
    ChunkResult {
        chunk: chunk.chunk,
        updated: report.updated.clone(),
        not_reported,
        failure: None,
    }
}

fn decode(recorded: Option<String>) -> Result<ChunkResult, CommandError> {
    let recorded = recorded.ok_or_else(|| CommandError::Transient {
        reason: "job_state_store",
        detail: "a chunk marked done has no result".into(),
    })?;
    serde_json::from_str(&recorded).map_err(|error| CommandError::Transient {
        reason: "job_state_store",
        detail: format!("a recorded chunk result does not read back: {error}"),
    })
}

fn chunk_event(
    meta: &CommandMeta,
    chunk: &ApidaeChunk,
    operation: DescriptorOperation,
    result: &ChunkResult,
) -> EventEnvelope {
    let event = Event::ChunkWritten(ChunkWritten {
        connection: meta.connection.clone(),
        operation,
        chunks: chunk.chunks,
        result: result.clone(),
    });
    let id = MessageId::for_job(meta.job_id, &format!("chunk.written/{}", chunk.chunk));
    EventEnvelope::new(Some(meta.job_id), id, event)
}

async fn completion(
    meta: &CommandMeta,
    chunk: &ApidaeChunk,
    operation: DescriptorOperation,
    store: &JobStore,
) -> Result<EventEnvelope, CommandError> {
    let chunks = store
        .chunk_results(meta.job_id, chunk.started_at)
        .await?
        .into_iter()
        .map(|(_, recorded)| decode(Some(recorded)))
        .collect::<Result<Vec<_>, _>>()?;
    let count = |f: fn(&ChunkResult) -> usize| {
        u32::try_from(chunks.iter().map(f).sum::<usize>()).unwrap_or(u32::MAX)
    };
    let event = Event::DescriptorsWritten(DescriptorsWritten {
        connection: meta.connection.clone(),
        operation,
        objects: chunk.job_objects,
        updated: count(|result| result.updated.len()),
        not_reported: count(|result| result.not_reported.len()),
        failed_chunks: count(|result| usize::from(result.failure.is_some())),
        chunks,
    });
    tracing::info!(chunks = chunk.chunks, "descriptor job completed");
    Ok(EventEnvelope::new(
        Some(meta.job_id),
        MessageId::for_job(meta.job_id, "descriptors.written"),
        event,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn objects(count: u64) -> Vec<contract::ObjectDescriptors> {
        (1..=count)
            .map(|id| contract::ObjectDescriptors {
                id,
                descriptors: vec![contract::Descriptor {
                    technical_name: "a".into(),
                    texts: BTreeMap::from([("fr".into(), "x".into())]),
                }],
            })
            .collect()
    }

    fn sizes(count: u64, size: usize) -> Vec<usize> {
        split(
            DescriptorWrite::Put {
                objects: objects(count),
            },
            size,
        )
        .iter()
        .map(|write| write.object_ids().len())
        .collect()
    }

    #[test]
    fn objects_are_split_in_order_into_chunks_of_at_most_the_size() {
        let mut expected = vec![50; 14];
        expected.push(30);
        assert_eq!(sizes(730, 50), expected);
        assert_eq!(sizes(50, 50), vec![50]);
        assert_eq!(sizes(51, 50), vec![50, 1]);
        assert_eq!(sizes(7, 3), vec![3, 3, 1]);
    }

    #[test]
    fn a_chunk_command_may_carry_exactly_what_one_api_call_may_name() {
        assert_eq!(contract::MAX_CHUNK_OBJECTS, apidae_client::MAX_OBJECTS);
    }

    #[test]
    fn a_chunk_size_above_the_api_limit_is_held_at_fifty() {
        assert_eq!(sizes(120, 500), vec![50, 50, 20]);
    }
}
