//! Resolvers of the sandbox schema over the seeded [`Dataset`]: one small
//! type per GraphQL object type, answering by field name.

use chrono::{DateTime, Utc};

use super::connection::{
    Direction, EndOfList, Page, PageRequest, PaginationError, SortKey, encode_cursor, paginate,
};
use super::dataset::{
    Dataset, DeletedDossier, Demarche, Dossier, DossierState, GroupeInstructeur, Instructeur,
    Label, Message, decode_global_id, global_id,
};
use super::datetime::{format_iso8601, parse_iso8601};
use super::executor::{FieldCall, FieldError, Resolve, Resolved};
use crate::auth::DemarcheScope;

/// The `Query` root, seen through the caller's token.
pub(crate) struct QueryRoot<'a> {
    pub(crate) dataset: &'a Dataset,
    pub(crate) scope: &'a DemarcheScope,
    pub(crate) end_of_list: EndOfList,
}

impl Resolve for QueryRoot<'_> {
    fn type_name(&self) -> &'static str {
        "Query"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let number = call.int("number").unwrap_or_default();
        match call.name {
            "demarche" => {
                let demarche = self
                    .dataset
                    .demarche(number)
                    .ok_or_else(|| not_found("Demarche"))?;
                self.check_scope(demarche, "Demarche")?;
                Ok(Resolved::object(DemarcheObject {
                    demarche,
                    end_of_list: self.end_of_list,
                }))
            }
            "dossier" => {
                let (demarche, dossier) = self
                    .dataset
                    .dossier(number)
                    .ok_or_else(|| not_found("Dossier"))?;
                self.check_scope(demarche, "Dossier")?;
                Ok(Resolved::object(DossierObject { demarche, dossier }))
            }
            other => Err(unknown_field(other, self.type_name())),
        }
    }
}

impl QueryRoot<'_> {
    fn check_scope(&self, demarche: &Demarche, type_name: &str) -> Result<(), FieldError> {
        if self.scope.allows(demarche.number) {
            Ok(())
        } else {
            Err(FieldError::new(
                format!("An object of type {type_name} was hidden due to permissions"),
                "unauthorized",
            ))
        }
    }
}

struct DemarcheObject<'a> {
    demarche: &'a Demarche,
    end_of_list: EndOfList,
}

impl Resolve for DemarcheObject<'_> {
    fn type_name(&self) -> &'static str {
        "Demarche"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let demarche = self.demarche;
        Ok(match call.name {
            "id" => Resolved::leaf(global_id("Procedure", demarche.number)),
            "number" => Resolved::leaf(demarche.number),
            "title" => Resolved::leaf(demarche.title.as_str()),
            "description" => Resolved::leaf(demarche.description.as_str()),
            "state" => Resolved::leaf(demarche.state.graphql_name()),
            "dateCreation" => date(demarche.created_at),
            "labels" => Resolved::list(
                demarche
                    .labels
                    .iter()
                    .map(|label| Resolved::object(LabelObject(label))),
            ),
            "groupeInstructeurs" => {
                let closed = call.boolean("closed");
                Resolved::list(
                    demarche
                        .groupes_instructeurs
                        .iter()
                        .filter(|groupe| closed.is_none_or(|closed| groupe.closed == closed))
                        .map(|groupe| Resolved::object(GroupeObject { demarche, groupe })),
                )
            }
            "dossiers" => self.dossiers(call)?,
            "deletedDossiers" => self.deleted_dossiers(&self.demarche.deleted_dossiers, call)?,
            "pendingDeletedDossiers" => {
                self.deleted_dossiers(&self.demarche.pending_deleted_dossiers, call)?
            }
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

impl<'d> DemarcheObject<'d> {
    /// `dossiers`: filtered by state, archived flag and dates; sorted on
    /// `updated_at` when `updatedSince` is given, on `depose_at` otherwise.
    /// `revision`, `minRevision` and `maxRevision` are accepted and ignored:
    /// the seeded démarches have a single revision.
    fn dossiers(&self, call: &FieldCall<'_>) -> Result<Resolved<'d>, FieldError> {
        let state = call
            .string("state")
            .and_then(DossierState::from_graphql_name);
        let archived = call.boolean("archived");
        let updated_since = date_argument(call, "updatedSince")?;
        let created_since = date_argument(call, "createdSince")?;
        let mut rows: Vec<(SortKey, NodeRef<'d>)> = self
            .demarche
            .visible_dossiers()
            .filter(|dossier| state.is_none_or(|state| dossier.state == state))
            .filter(|dossier| archived.is_none_or(|archived| dossier.archived == archived))
            .filter_map(|dossier| {
                let depose_at = dossier.depose_at?;
                let at = match (updated_since, created_since) {
                    (Some(since), _) => {
                        (dossier.updated_at >= since).then_some(dossier.updated_at)?
                    }
                    (None, Some(since)) => (depose_at >= since).then_some(depose_at)?,
                    (None, None) => depose_at,
                };
                let node = NodeRef::Dossier(self.demarche, dossier);
                Some((
                    SortKey {
                        at,
                        id: dossier.number,
                    },
                    node,
                ))
            })
            .collect();
        rows.sort_unstable_by_key(|row| row.0);
        self.connection(ConnectionKind::Dossiers, &rows, call)
    }

    /// `deletedDossiers` and `pendingDeletedDossiers`: filtered on and sorted by
    /// the deletion date.
    fn deleted_dossiers(
        &self,
        listed: &'d [DeletedDossier],
        call: &FieldCall<'_>,
    ) -> Result<Resolved<'d>, FieldError> {
        let since = date_argument(call, "deletedSince")?;
        let mut rows: Vec<(SortKey, NodeRef<'d>)> = listed
            .iter()
            .filter(|deleted| since.is_none_or(|since| deleted.deleted_at >= since))
            .map(|deleted| {
                let key = SortKey {
                    at: deleted.deleted_at,
                    id: deleted.number,
                };
                (key, NodeRef::Deleted(deleted))
            })
            .collect();
        rows.sort_unstable_by_key(|row| row.0);
        self.connection(ConnectionKind::DeletedDossiers, &rows, call)
    }

    fn connection(
        &self,
        kind: ConnectionKind,
        rows: &[(SortKey, NodeRef<'d>)],
        call: &FieldCall<'_>,
    ) -> Result<Resolved<'d>, FieldError> {
        let request = PageRequest {
            first: call.int("first"),
            last: call.int("last"),
            after: call.string("after").map(str::to_owned),
            before: call.string("before").map(str::to_owned),
            direction: match call.string("order") {
                Some("DESC") => Direction::Descending,
                _ => Direction::Ascending,
            },
        };
        let page = paginate(rows, &request, self.end_of_list).map_err(bad_request)?;
        Ok(Resolved::object(ConnectionObject { kind, page }))
    }
}

fn bad_request(error: PaginationError) -> FieldError {
    FieldError::new(error.to_string(), "bad_request")
}

#[derive(Clone, Copy)]
enum ConnectionKind {
    Dossiers,
    DeletedDossiers,
}

impl ConnectionKind {
    fn connection_type(self) -> &'static str {
        match self {
            Self::Dossiers => "DossierConnection",
            Self::DeletedDossiers => "DeletedDossierConnection",
        }
    }

    fn edge_type(self) -> &'static str {
        match self {
            Self::Dossiers => "DossierEdge",
            Self::DeletedDossiers => "DeletedDossierEdge",
        }
    }
}

/// A node of one of the connections.
#[derive(Clone, Copy)]
enum NodeRef<'a> {
    Dossier(&'a Demarche, &'a Dossier),
    Deleted(&'a DeletedDossier),
}

impl<'a> NodeRef<'a> {
    fn resolved(self) -> Resolved<'a> {
        match self {
            Self::Dossier(demarche, dossier) => {
                Resolved::object(DossierObject { demarche, dossier })
            }
            Self::Deleted(deleted) => Resolved::object(DeletedDossierObject(deleted)),
        }
    }
}

struct ConnectionObject<'a> {
    kind: ConnectionKind,
    page: Page<NodeRef<'a>>,
}

impl<'d> Resolve for ConnectionObject<'d> {
    fn type_name(&self) -> &'static str {
        self.kind.connection_type()
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let rows = &self.page.rows;
        Ok(match call.name {
            "nodes" => Resolved::list(rows.iter().map(|(_, node)| node.resolved())),
            "edges" => Resolved::list(rows.iter().map(|&(key, node)| {
                Resolved::object(EdgeObject {
                    type_name: self.kind.edge_type(),
                    cursor: encode_cursor(key),
                    node,
                })
            })),
            "pageInfo" => Resolved::object(PageInfoObject {
                has_next_page: self.page.has_next_page,
                has_previous_page: self.page.has_previous_page,
                start_cursor: rows.first().map(|row| encode_cursor(row.0)),
                end_cursor: rows.last().map(|row| encode_cursor(row.0)),
            }),
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

struct EdgeObject<'d> {
    type_name: &'static str,
    cursor: String,
    node: NodeRef<'d>,
}

impl Resolve for EdgeObject<'_> {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        match call.name {
            "cursor" => Ok(Resolved::leaf(self.cursor.as_str())),
            "node" => Ok(self.node.resolved()),
            other => Err(unknown_field(other, self.type_name())),
        }
    }
}

struct PageInfoObject {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

impl Resolve for PageInfoObject {
    fn type_name(&self) -> &'static str {
        "PageInfo"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        Ok(match call.name {
            "hasNextPage" => Resolved::leaf(self.has_next_page),
            "hasPreviousPage" => Resolved::leaf(self.has_previous_page),
            "startCursor" => Resolved::leaf(self.start_cursor.clone()),
            "endCursor" => Resolved::leaf(self.end_cursor.clone()),
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

/// A dossier, answering with the help of its démarche.
pub(crate) struct DossierObject<'d> {
    demarche: &'d Demarche,
    dossier: &'d Dossier,
}

impl<'d> DossierObject<'d> {
    pub(crate) fn new(demarche: &'d Demarche, dossier: &'d Dossier) -> Self {
        Self { demarche, dossier }
    }
}

impl Resolve for DossierObject<'_> {
    fn type_name(&self) -> &'static str {
        "Dossier"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let dossier = self.dossier;
        Ok(match call.name {
            "id" => Resolved::leaf(global_id("Dossier", dossier.number)),
            "number" => Resolved::leaf(dossier.number),
            "state" => Resolved::leaf(dossier.state.graphql_name()),
            "archived" => Resolved::leaf(dossier.archived),
            "dateDepot" | "datePassageEnConstruction" => optional_date(dossier.depose_at),
            "dateDerniereModification" => date(dossier.updated_at),
            "datePassageEnInstruction" => optional_date(dossier.en_instruction_at),
            "dateTraitement" => optional_date(dossier.processed_at),
            "motivation" => Resolved::leaf(dossier.motivation.as_deref()),
            "groupeInstructeur" => {
                match self.demarche.groupe_instructeur(dossier.groupe_instructeur) {
                    Some(groupe) => Resolved::object(GroupeObject {
                        demarche: self.demarche,
                        groupe,
                    }),
                    None => Resolved::null(),
                }
            }
            "labels" => Resolved::list(
                dossier
                    .labels
                    .iter()
                    .filter_map(|&number| self.demarche.label(number))
                    .map(|label| Resolved::object(LabelObject(label))),
            ),
            "messages" => {
                let only = match call.string("id") {
                    Some(id) => Some(decode_global_id(id, MESSAGE_TYPE).ok_or_else(|| {
                        FieldError::new(format!("Message not found: {id}"), "not_found")
                    })?),
                    None => None,
                };
                Resolved::list(
                    dossier
                        .messages
                        .iter()
                        .filter(|message| only.is_none_or(|number| message.number == number))
                        .map(|message| Resolved::object(MessageObject(message))),
                )
            }
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

/// The server's model behind `Message`, which names its global ids.
const MESSAGE_TYPE: &str = "Commentaire";

/// A message sent on a dossier.
pub(crate) struct MessageObject<'d>(pub(crate) &'d Message);

impl Resolve for MessageObject<'_> {
    fn type_name(&self) -> &'static str {
        "Message"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let message = self.0;
        Ok(match call.name {
            "id" => Resolved::leaf(global_id(MESSAGE_TYPE, message.number)),
            "body" => Resolved::leaf(message.body.as_str()),
            "createdAt" => date(message.created_at),
            "email" => Resolved::leaf(message.email.as_str()),
            "discardedAt" => Resolved::null(),
            "correction" => match message.correction {
                Some(reason) => Resolved::object(CorrectionObject(reason.graphql_name())),
                None => Resolved::null(),
            },
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

/// The correction a message asked for; the sandbox's users never resolve one.
struct CorrectionObject(&'static str);

impl Resolve for CorrectionObject {
    fn type_name(&self) -> &'static str {
        "Correction"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        Ok(match call.name {
            "reason" => Resolved::leaf(self.0),
            "dateResolution" => Resolved::null(),
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

struct DeletedDossierObject<'d>(&'d DeletedDossier);

impl Resolve for DeletedDossierObject<'_> {
    fn type_name(&self) -> &'static str {
        "DeletedDossier"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let deleted = self.0;
        Ok(match call.name {
            "id" => Resolved::leaf(global_id("DeletedDossier", deleted.number)),
            "number" => Resolved::leaf(deleted.number),
            "state" => Resolved::leaf(deleted.state.graphql_name()),
            "reason" => Resolved::leaf(deleted.reason.graphql_name()),
            "dateSupression" => date(deleted.deleted_at),
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

/// An instructor group; every instructeur of the démarche belongs to each of its groups.
struct GroupeObject<'d> {
    demarche: &'d Demarche,
    groupe: &'d GroupeInstructeur,
}

impl Resolve for GroupeObject<'_> {
    fn type_name(&self) -> &'static str {
        "GroupeInstructeur"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let groupe = self.groupe;
        Ok(match call.name {
            "id" => Resolved::leaf(global_id("GroupeInstructeur", groupe.number)),
            "number" => Resolved::leaf(groupe.number),
            "label" => Resolved::leaf(groupe.label.as_str()),
            "closed" => Resolved::leaf(groupe.closed),
            "instructeurs" => Resolved::list(
                self.demarche
                    .instructeurs
                    .iter()
                    .map(|instructeur| Resolved::object(ProfileObject(instructeur))),
            ),
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

struct ProfileObject<'d>(&'d Instructeur);

impl Resolve for ProfileObject<'_> {
    fn type_name(&self) -> &'static str {
        "Profile"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        Ok(match call.name {
            "id" => Resolved::leaf(global_id("Instructeur", self.0.number)),
            "email" => Resolved::leaf(self.0.email.as_str()),
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

/// A label of a démarche.
pub(crate) struct LabelObject<'d>(pub(crate) &'d Label);

impl Resolve for LabelObject<'_> {
    fn type_name(&self) -> &'static str {
        "Label"
    }

    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError> {
        let label = self.0;
        Ok(match call.name {
            "id" => Resolved::leaf(global_id("Label", label.number)),
            "name" => Resolved::leaf(label.name.as_str()),
            "color" => Resolved::leaf(label.color),
            other => return Err(unknown_field(other, self.type_name())),
        })
    }
}

fn date<'a>(at: DateTime<Utc>) -> Resolved<'a> {
    Resolved::leaf(format_iso8601(at))
}

fn optional_date<'a>(at: Option<DateTime<Utc>>) -> Resolved<'a> {
    at.map_or_else(Resolved::null, date)
}

fn date_argument(call: &FieldCall<'_>, name: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    match call.argument(name) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(parse_iso8601)
            .map(Some)
            .ok_or_else(|| {
                FieldError::new(format!("invalid value for argument {name}"), "bad_request")
            }),
    }
}

/// Whether a JSON value is acceptable for one of the schema's custom scalars.
pub(crate) fn custom_scalar_is_valid(
    scalar: &str,
    value: &apollo_compiler::response::JsonValue,
) -> bool {
    match scalar {
        "ISO8601DateTime" => value.as_str().and_then(parse_iso8601).is_some(),
        _ => true,
    }
}

fn not_found(type_name: &str) -> FieldError {
    FieldError::new(format!("{type_name} not found"), "not_found")
}

pub(crate) fn unknown_field(field: &str, type_name: &str) -> FieldError {
    FieldError::new(
        format!("field {field} of {type_name} is not served by the sandbox"),
        "internal_server_error",
    )
}
