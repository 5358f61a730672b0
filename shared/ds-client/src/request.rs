//! The page requests callers build, and the GraphQL variables they become.

use crate::documents::{self, Document};
use crate::response::{DeletedDossier, Dossier, Node};
use crate::values::{Cursor, DemarcheNumber, DossierState, PageSize};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// One page of a démarche's dossiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossiersPageRequest {
    /// The démarche to read.
    pub demarche: DemarcheNumber,
    /// How many dossiers to ask for.
    pub first: PageSize,
    /// Read after this cursor; none for the first page.
    pub after: Option<Cursor>,
    /// Only dossiers modified at or after this instant. Setting it also makes the
    /// server sort and key cursors on the modification date instead of the deposit date,
    /// so keep it fixed across the pages of one listing.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only dossiers in this state.
    pub state: Option<DossierState>,
}

/// One page of a démarche's deleted dossiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedDossiersPageRequest {
    /// Which deletions to list.
    pub deletions: Deletions,
    /// The démarche to read.
    pub demarche: DemarcheNumber,
    /// How many deleted dossiers to ask for.
    pub first: PageSize,
    /// Read after this cursor; none for the first page.
    pub after: Option<Cursor>,
    /// Only dossiers deleted at or after this instant.
    pub deleted_since: Option<DateTime<Utc>>,
}

/// The two listings of deleted dossiers; a sync reads both to see every deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletions {
    /// `deletedDossiers`: dossiers deleted for good.
    Deleted,
    /// `pendingDeletedDossiers`: dossiers their user deleted while `en_construction`,
    /// hidden from `dossiers` but still restorable.
    PendingDeleted,
}

/// A request for one page of a connection: which document it runs, with which variables,
/// and what its nodes become.
pub(crate) trait PageQuery {
    /// What each node of the page is decoded into.
    type Node: Node;
    /// The document sent for this request.
    fn document(&self) -> Document;
    /// The variables of [`Self::document`] for this request.
    fn variables(&self) -> impl Serialize;
}

/// Unset optional arguments are left out rather than sent as null: an absent variable
/// leaves the argument unset, which is how the API's own examples start a listing.
/// `first` is always sent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DossiersPageVariables<'a> {
    demarche: u32,
    first: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
}

/// Same convention as [`DossiersPageVariables`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedDossiersPageVariables<'a> {
    demarche: u32,
    first: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_since: Option<String>,
}

impl PageQuery for DossiersPageRequest {
    type Node = Dossier;
    fn document(&self) -> Document {
        documents::DOSSIERS_PAGE
    }

    fn variables(&self) -> impl Serialize {
        DossiersPageVariables {
            demarche: self.demarche.get(),
            first: self.first.get(),
            after: self.after.as_ref().map(Cursor::as_str),
            updated_since: self.updated_since.map(iso8601),
            state: self.state.map(DossierState::as_str),
        }
    }
}

impl PageQuery for DeletedDossiersPageRequest {
    type Node = DeletedDossier;
    fn document(&self) -> Document {
        match self.deletions {
            Deletions::Deleted => documents::DELETED_DOSSIERS_PAGE,
            Deletions::PendingDeleted => documents::PENDING_DELETED_DOSSIERS_PAGE,
        }
    }

    fn variables(&self) -> impl Serialize {
        DeletedDossiersPageVariables {
            demarche: self.demarche.get(),
            first: self.first.get(),
            after: self.after.as_ref().map(Cursor::as_str),
            deleted_since: self.deleted_since.map(iso8601),
        }
    }
}

/// The API's `ISO8601DateTime` input: RFC 3339 in UTC, with a fraction only when the
/// instant has one, so no precision is lost on a `>=` filter.
fn iso8601(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn demarche() -> DemarcheNumber {
        DemarcheNumber::new(4242).expect("a valid démarche number")
    }

    fn variables_of(request: &impl PageQuery) -> serde_json::Value {
        serde_json::to_value(request.variables()).expect("variables serialise")
    }

    #[test]
    fn a_first_dossiers_page_sends_only_the_demarche_and_first() {
        let request = DossiersPageRequest {
            demarche: demarche(),
            first: PageSize::MAX,
            after: None,
            updated_since: None,
            state: None,
        };
        assert_eq!(
            variables_of(&request),
            json!({"demarche": 4242, "first": 100})
        );
    }

    #[test]
    fn every_set_dossiers_filter_is_sent_under_its_variable_name() {
        let request = DossiersPageRequest {
            demarche: demarche(),
            first: PageSize::new(20).expect("a valid page size"),
            after: Some(Cursor::new("MjAyNC0wMS0wMTsxMjM=")),
            updated_since: Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()),
            state: Some(DossierState::EnInstruction),
        };
        assert_eq!(
            variables_of(&request),
            json!({
                "demarche": 4242,
                "first": 20,
                "after": "MjAyNC0wMS0wMTsxMjM=",
                "updatedSince": "2024-01-02T03:04:05Z",
                "state": "en_instruction",
            })
        );
    }

    #[test]
    fn a_deleted_dossiers_page_sends_deleted_since_only_when_set() {
        let mut request = DeletedDossiersPageRequest {
            deletions: Deletions::Deleted,
            demarche: demarche(),
            first: PageSize::MAX,
            after: None,
            deleted_since: None,
        };
        assert_eq!(
            variables_of(&request),
            json!({"demarche": 4242, "first": 100})
        );

        request.after = Some(Cursor::new("abc"));
        request.deleted_since = Some(Utc.timestamp_millis_opt(1_700_000_000_250).unwrap());
        assert_eq!(
            variables_of(&request),
            json!({
                "demarche": 4242,
                "first": 100,
                "after": "abc",
                "deletedSince": "2023-11-14T22:13:20.250Z",
            })
        );
    }

    #[test]
    fn the_variables_sent_are_exactly_those_the_document_declares() {
        let request = DossiersPageRequest {
            demarche: demarche(),
            first: PageSize::MAX,
            after: Some(Cursor::new("c")),
            updated_since: Some(Utc.timestamp_opt(0, 0).unwrap()),
            state: Some(DossierState::Accepte),
        };
        assert_declared(&request);
        for deletions in [Deletions::Deleted, Deletions::PendingDeleted] {
            let deleted = DeletedDossiersPageRequest {
                deletions,
                demarche: demarche(),
                first: PageSize::MAX,
                after: Some(Cursor::new("c")),
                deleted_since: Some(Utc.timestamp_opt(0, 0).unwrap()),
            };
            assert_declared(&deleted);
        }
    }

    fn assert_declared<R: PageQuery>(request: &R) {
        let schema = crate::reference_schema::load();
        let document = apollo_compiler::ExecutableDocument::parse_and_validate(
            &schema,
            request.document().source,
            request.document().operation_name,
        )
        .expect("the document is valid");
        let operation = document
            .operations
            .get(Some(request.document().operation_name))
            .expect("the named operation exists");
        let mut declared: Vec<&str> = operation
            .variables
            .iter()
            .map(|variable| variable.name.as_str())
            .collect();
        declared.sort_unstable();
        let variables = variables_of(request);
        let mut sent: Vec<&str> = variables
            .as_object()
            .expect("variables are an object")
            .keys()
            .map(String::as_str)
            .collect();
        sent.sort_unstable();
        assert_eq!(sent, declared, "{}", request.document().operation_name);
    }
}
