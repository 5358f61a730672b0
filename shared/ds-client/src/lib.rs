//! Client for the demarches-simplifiees GraphQL API v2: our documents, page reads and error classification.

mod classify;
mod client;
mod documents;
mod error;
#[cfg(test)]
mod reference_schema;
mod request;
mod response;
mod values;

pub use client::{DsClient, DsEndpoint};
pub use error::{DsError, PermanentReason, TransientReason};
pub use request::{DeletedDossiersPageRequest, Deletions, DossiersPageRequest};
pub use response::{DeletedDossier, Dossier, Page};
pub use values::{Cursor, DemarcheNumber, DossierState, InvalidArgument, PageSize};
