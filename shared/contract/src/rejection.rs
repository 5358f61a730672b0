//! Why a command could not be read.

use std::fmt;

use crate::{JobId, MessageId};

/// A command that failed validation, with whatever ids could still be read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What class of problem it is.
    pub kind: RejectionKind,
    /// A human-readable explanation.
    pub detail: String,
    /// The job id, when the envelope had a readable one.
    pub job_id: Option<JobId>,
    /// The message id, when the envelope had a readable one.
    pub message_id: Option<MessageId>,
    /// The `kind` string, when the envelope had one.
    pub command_kind: Option<String>,
}

/// The classes of invalid command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Not JSON, or not a JSON object.
    MalformedJson,
    /// Larger than [`crate::MAX_COMMAND_BYTES`].
    TooLarge,
    /// The envelope lacks a required field.
    MissingField,
    /// An envelope field has the wrong type or form.
    InvalidField,
    /// The envelope's version is not [`crate::SCHEMA_VERSION`].
    UnsupportedVersion,
    /// The `kind` names no known command.
    UnknownKind,
    /// The body does not match its kind's schema.
    InvalidBody,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, detail: impl Into<String>) -> Self {
        Rejection {
            kind,
            detail: detail.into(),
            job_id: None,
            message_id: None,
            command_kind: None,
        }
    }

    pub(crate) fn about(
        mut self,
        job_id: Option<JobId>,
        message_id: Option<MessageId>,
        command_kind: Option<String>,
    ) -> Self {
        self.job_id = job_id;
        self.message_id = message_id;
        self.command_kind = command_kind;
        self
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for Rejection {}
