//! The GraphQL documents this crate sends, kept as `.graphql` files beside this module.

/// One GraphQL operation we send: its source text and the operation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Document {
    /// Value of `operationName` in the request; names an operation of `source`.
    pub(crate) operation_name: &'static str,
    /// The document text sent as `query`.
    pub(crate) source: &'static str,
}

/// A page of `demarche.dossiers`.
pub(crate) const DOSSIERS_PAGE: Document = Document {
    operation_name: "DossiersPage",
    source: include_str!("documents/dossiers_page.graphql"),
};

/// A page of `demarche.deletedDossiers`.
pub(crate) const DELETED_DOSSIERS_PAGE: Document = Document {
    operation_name: "DeletedDossiersPage",
    source: include_str!("documents/deleted_dossiers_page.graphql"),
};

/// A page of `demarche.pendingDeletedDossiers`.
pub(crate) const PENDING_DELETED_DOSSIERS_PAGE: Document = Document {
    operation_name: "PendingDeletedDossiersPage",
    source: include_str!("documents/pending_deleted_dossiers_page.graphql"),
};

/// Every document the crate ships; the schema test walks this list.
#[cfg(test)]
pub(crate) const ALL: [Document; 3] = [
    DOSSIERS_PAGE,
    DELETED_DOSSIERS_PAGE,
    PENDING_DELETED_DOSSIERS_PAGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::ExecutableDocument;

    const DOCUMENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/documents");

    #[test]
    fn every_document_validates_against_the_real_schema() {
        let schema = crate::reference_schema::load();
        for document in ALL {
            let executable = ExecutableDocument::parse_and_validate(
                &schema,
                document.source,
                document.operation_name,
            )
            .unwrap_or_else(|invalid| {
                panic!(
                    "{} is invalid:\n{}",
                    document.operation_name, invalid.errors
                )
            });
            assert!(
                executable
                    .operations
                    .get(Some(document.operation_name))
                    .is_ok(),
                "{} has no operation of that name",
                document.operation_name
            );
        }
    }

    #[test]
    fn every_graphql_file_in_the_documents_folder_is_listed() {
        let listed: Vec<&str> = ALL.iter().map(|document| document.source).collect();
        for entry in std::fs::read_dir(DOCUMENTS_DIR).expect("the documents folder is readable") {
            let path = entry.expect("a readable folder entry").path();
            if path.extension().is_some_and(|ext| ext == "graphql") {
                let text = std::fs::read_to_string(&path).expect("a readable document");
                assert!(
                    listed.contains(&text.as_str()),
                    "{} is not in documents::ALL",
                    path.display()
                );
            }
        }
    }
}
