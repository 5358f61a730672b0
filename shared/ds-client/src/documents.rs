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

/// A dossier's global id, looked up by its number.
pub(crate) const DOSSIER_ID: Document = Document {
    operation_name: "DossierId",
    source: include_str!("documents/dossier_id.graphql"),
};

/// The messages of a dossier.
pub(crate) const DOSSIER_MESSAGES: Document = Document {
    operation_name: "DossierMessages",
    source: include_str!("documents/dossier_messages.graphql"),
};

/// `dossierPasserEnInstruction`.
pub(crate) const PASSER_EN_INSTRUCTION: Document = Document {
    operation_name: "PasserEnInstruction",
    source: include_str!("documents/passer_en_instruction.graphql"),
};

/// `dossierAccepter`.
pub(crate) const ACCEPTER: Document = Document {
    operation_name: "Accepter",
    source: include_str!("documents/accepter.graphql"),
};

/// `dossierRefuser`.
pub(crate) const REFUSER: Document = Document {
    operation_name: "Refuser",
    source: include_str!("documents/refuser.graphql"),
};

/// `dossierClasserSansSuite`.
pub(crate) const CLASSER_SANS_SUITE: Document = Document {
    operation_name: "ClasserSansSuite",
    source: include_str!("documents/classer_sans_suite.graphql"),
};

/// `dossierRepasserEnInstruction`.
pub(crate) const REPASSER_EN_INSTRUCTION: Document = Document {
    operation_name: "RepasserEnInstruction",
    source: include_str!("documents/repasser_en_instruction.graphql"),
};

/// `dossierRepasserEnConstruction`.
pub(crate) const REPASSER_EN_CONSTRUCTION: Document = Document {
    operation_name: "RepasserEnConstruction",
    source: include_str!("documents/repasser_en_construction.graphql"),
};

/// `dossierEnvoyerMessage`.
pub(crate) const ENVOYER_MESSAGE: Document = Document {
    operation_name: "EnvoyerMessage",
    source: include_str!("documents/envoyer_message.graphql"),
};

/// `dossierAjouterLabel`.
pub(crate) const AJOUTER_LABEL: Document = Document {
    operation_name: "AjouterLabel",
    source: include_str!("documents/ajouter_label.graphql"),
};

/// `dossierSupprimerLabel`.
pub(crate) const SUPPRIMER_LABEL: Document = Document {
    operation_name: "SupprimerLabel",
    source: include_str!("documents/supprimer_label.graphql"),
};

/// Every document the crate ships; the schema test walks this list.
#[cfg(test)]
pub(crate) const ALL: [Document; 14] = [
    DOSSIERS_PAGE,
    DELETED_DOSSIERS_PAGE,
    PENDING_DELETED_DOSSIERS_PAGE,
    DOSSIER_ID,
    DOSSIER_MESSAGES,
    PASSER_EN_INSTRUCTION,
    ACCEPTER,
    REFUSER,
    CLASSER_SANS_SUITE,
    REPASSER_EN_INSTRUCTION,
    REPASSER_EN_CONSTRUCTION,
    ENVOYER_MESSAGE,
    AJOUTER_LABEL,
    SUPPRIMER_LABEL,
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
