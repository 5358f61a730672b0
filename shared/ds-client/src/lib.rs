//! Client for the demarches-simplifiees GraphQL API v2: our documents, page reads and error classification.

mod documents;
