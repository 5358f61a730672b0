//! The wire contract: every command and event Estafette sends or receives, and nothing else.
//!
//! Commands arrive as JSON envelopes (see [`Command`]); events leave as JSON envelopes
//! (see [`EventEnvelope`]). Both carry [`SCHEMA_VERSION`]. No other crate defines a type
//! that is serialised onto the broker.

mod command;
mod descriptors;
mod event;
mod ids;
mod offset;
mod record;
mod rejection;
pub mod schema;
mod status;

pub use command::{
    Command, CommandBody, CommandMeta, DsDossierState, DsPage, DsSync, JOB_STEP_KINDS, Listing,
    SyncProgress,
};
pub use descriptors::{
    ApidaeChunk, ApidaeDelete, ApidaePut, ChunkFailure, ChunkResult, ChunkWritten, Descriptor,
    DescriptorOperation, DescriptorWrite, DescriptorsWritten, MAX_CHUNK_OBJECTS, ObjectDescriptors,
    ObjectRemovals,
};
pub use event::{
    CommandFailed, Event, EventEnvelope, FailureReason, JOB_DONE, JOB_UNCHECKED, JobEnd, JobFailed,
    PageFetched, PageSubject, SyncCompleted, SyncEnd, SyncSubject,
};
pub use ids::{JobId, MessageId};
pub use offset::{
    AmienscopeListing, AmienscopeSync, Consistency, DivaltoQuery, DivaltoSync, DivaltoWhere,
    DriftCounts, MAX_QUERY_BYTES, MAX_WINDOW, OffsetPage, OffsetRange, OffsetSource,
};
pub use record::Record;
pub use rejection::{Rejection, RejectionKind};
pub use status::{CorrectionReason, DossierRef, DsStatus, StatusAction, StatusSent};

/// Version of the envelope format this build writes and accepts.
pub const SCHEMA_VERSION: u16 = 1;

/// Largest command body accepted, in bytes. Anything bigger is rejected unread.
pub const MAX_COMMAND_BYTES: usize = 4 * 1024 * 1024;

/// The AMQP header that carries the W3C `traceparent` of the producer.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// The AMQP header that carries the W3C `tracestate` of the producer.
pub const TRACESTATE_HEADER: &str = "tracestate";

/// Header a worker sets on a message it dead-letters: the closed-set reason code.
pub const DEAD_LETTER_REASON_HEADER: &str = "x-estafette-reason";
/// Header a worker sets on a message it dead-letters: the reason in words.
pub const DEAD_LETTER_DETAIL_HEADER: &str = "x-estafette-detail";
/// Header counting the attempts at a command: absent on the first, `2` on the first
/// retry, and so on. A worker sets it when it sends a command to wait in a delay
/// queue and on what it dead-letters; a replay from the dead letters removes it.
pub const ATTEMPT_HEADER: &str = "x-estafette-attempt";
/// Header a worker sets on a message it dead-letters: the queue it was taken from,
/// so that a replay can send it back there.
pub const DEAD_LETTER_QUEUE_HEADER: &str = "x-estafette-queue";

/// The kind of worker a command is routed to; also the name of its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum WorkerKind {
    /// Reads one page of an upstream listing per command.
    FetchPage,
    /// Writes one chunk of Apidae private descriptors per command.
    WriteDescriptors,
    /// Applies one demarches-simplifiees dossier decision per command.
    SendStatus,
}

impl WorkerKind {
    /// The routing key and queue suffix of this worker kind.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The kinds of the jobs this worker kind starts, as [`CommandBody::kind`] names
    /// their start commands.
    pub fn job_kinds(self) -> &'static [&'static str] {
        match self {
            WorkerKind::FetchPage => &["ds.sync", "divalto.sync", "amienscope.sync"],
            WorkerKind::WriteDescriptors => &["apidae.put", "apidae.delete"],
            WorkerKind::SendStatus => &["ds.status"],
        }
    }
}
