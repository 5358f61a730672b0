//! Client for the demarches-simplifiees GraphQL API v2: our documents, page reads, the
//! mutations of the send-status worker, and the classification of the API's answers
//! into [`upstream_http::UpstreamError`].

mod classify;
mod client;
mod documents;
mod ids;
mod mutation;
mod outcome;
mod payload_errors;
#[cfg(test)]
mod reference_schema;
mod request;
mod response;
mod values;
mod writes;

pub use client::{DsClient, DsEndpoint, MAX_ANSWER_BYTES};
pub use ids::{DossierGlobalId, DossierNumber, InstructeurId, LabelId, MessageId};
pub use mutation::{CorrectionReason, MessageRequest, StateChange, Transition};
pub use outcome::{DossierMessage, MutationOutcome, SentMessage};
pub use request::{DeletedDossiersPageRequest, Deletions, DossiersPageRequest};
pub use response::{DeletedDossier, Dossier, Page};
pub use values::{Cursor, DemarcheNumber, DossierState, InvalidArgument, PageSize};
