//! The seeded demarches-simplifiees data: démarches, their dossiers, deleted
//! dossiers, instructor groups, instructeurs and labels. Generated from a fixed
//! seed, so the same data comes back on every run and tests can compute
//! expected answers. Mutations change dossiers afterwards: their state, their
//! labels and their messages.

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};

use crate::rng::SplitMix64;

/// Number of the large seeded démarche.
pub const LARGE_DEMARCHE: i64 = 4242;
/// Number of the small seeded démarche.
pub const SMALL_DEMARCHE: i64 = 1717;

const DATASET_SEED: u64 = 0x00D5_5EED;

/// Database id of the first message sent through the sandbox.
const FIRST_MESSAGE_NUMBER: i64 = 800_001;

/// Every démarche the sandbox serves.
#[derive(Debug, Clone)]
pub struct Dataset {
    demarches: Vec<Demarche>,
    next_message_number: i64,
}

/// A démarche (a `Procedure` on the server side).
#[derive(Debug, Clone)]
pub struct Demarche {
    /// The démarche number, as used in `demarche(number:)`.
    pub number: i64,
    /// Title shown to users.
    pub title: String,
    /// Description shown to users.
    pub description: String,
    /// Publication state.
    pub state: DemarcheState,
    /// When the démarche was created.
    pub created_at: DateTime<Utc>,
    /// Instructor groups, the first one being the default group.
    pub groupes_instructeurs: Vec<GroupeInstructeur>,
    /// Labels instructors can put on dossiers.
    pub labels: Vec<Label>,
    /// Instructeurs of the démarche; each one can act on all its dossiers.
    pub instructeurs: Vec<Instructeur>,
    /// Every dossier, brouillons included (they are never served).
    pub dossiers: Vec<Dossier>,
    /// Dossiers deleted from the démarche.
    pub deleted_dossiers: Vec<DeletedDossier>,
    /// Dossiers their user deleted while `en_construction`, listed by
    /// `pendingDeletedDossiers` and hidden from `dossiers`.
    pub pending_deleted_dossiers: Vec<DeletedDossier>,
}

/// Publication state of a démarche.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemarcheState {
    /// Being written, not yet published.
    Brouillon,
    /// Closed to new dossiers.
    Close,
    /// Unpublished.
    Depubliee,
    /// Open.
    Publiee,
}

/// One dossier of a démarche.
#[derive(Debug, Clone)]
pub struct Dossier {
    /// The dossier number, also its database id.
    pub number: i64,
    /// Lifecycle state.
    pub state: DossierState,
    /// Whether an instructor archived it.
    pub archived: bool,
    /// When the user submitted it (`dateDepot`); `None` for a brouillon.
    pub depose_at: Option<DateTime<Utc>>,
    /// Last modification (`dateDerniereModification`).
    pub updated_at: DateTime<Utc>,
    /// When it went to instruction, if it did.
    pub en_instruction_at: Option<DateTime<Utc>>,
    /// When it was accepted, refused or closed without follow-up.
    pub processed_at: Option<DateTime<Utc>>,
    /// The decision's motivation, if one was given.
    pub motivation: Option<String>,
    /// Number of its instructor group.
    pub groupe_instructeur: i64,
    /// Numbers of its labels.
    pub labels: Vec<i64>,
    /// Messages sent to its user, oldest first.
    pub messages: Vec<Message>,
    /// The reason of a correction asked by message and not yet resolved.
    pub pending_correction: Option<CorrectionReason>,
}

/// A message sent to the user of a dossier (a `Commentaire` on the server side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message's database id.
    pub number: i64,
    /// Its text.
    pub body: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// Email of its author.
    pub email: String,
    /// The signed blob id of its attachment, if one was given.
    pub attachment: Option<String>,
    /// Set when the message asked the user for a correction.
    pub correction: Option<CorrectionReason>,
}

/// Why a message asks the user to correct the dossier (`CorrectionReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrectionReason {
    /// The dossier is incomplete.
    Incomplete,
    /// The dossier is not valid.
    Incorrect,
    /// The dossier must be updated.
    Outdated,
}

/// An instructeur who can act on the dossiers of a démarche.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instructeur {
    /// The instructeur's database id; the global id is `Instructeur-<number>`.
    pub number: i64,
    /// Their email address, the author of the messages they send.
    pub email: String,
}

/// Lifecycle state of a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DossierState {
    /// Not yet submitted; invisible to the administration.
    Brouillon,
    /// Submitted, still editable by the user.
    EnConstruction,
    /// Being examined.
    EnInstruction,
    /// Accepted.
    Accepte,
    /// Refused.
    Refuse,
    /// Closed without follow-up.
    SansSuite,
}

/// A dossier that was deleted, as `deletedDossiers` lists it.
#[derive(Debug, Clone)]
pub struct DeletedDossier {
    /// Number of the deleted dossier.
    pub number: i64,
    /// Its state when it was deleted.
    pub state: DossierState,
    /// Why it was deleted.
    pub reason: DeletionReason,
    /// When it was deleted (`dateSupression`).
    pub deleted_at: DateTime<Utc>,
}

/// Why a dossier was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// Its retention period ended.
    Expired,
    /// An instructor asked.
    InstructeurRequest,
    /// An administrator asked.
    ManagerRequest,
    /// The démarche was removed.
    ProcedureRemoved,
    /// The user's account expired.
    UserExpired,
    /// The user's account was removed.
    UserRemoved,
    /// The user asked.
    UserRequest,
}

/// An instructor group.
#[derive(Debug, Clone)]
pub struct GroupeInstructeur {
    /// The group number.
    pub number: i64,
    /// Its name.
    pub label: String,
    /// Whether it accepts no new dossiers.
    pub closed: bool,
}

/// A label instructors can put on dossiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The label's database id.
    pub number: i64,
    /// Its name.
    pub name: String,
    /// Its colour, one of the `LabelColorEnum` values.
    pub color: &'static str,
}

impl Dataset {
    /// The fixed dataset: démarche 4242 with 2,350 visible dossiers and 40
    /// deleted ones (plus 12 deleted by their user while en construction),
    /// labels 501 to 503 (and 506, on no dossier) and instructeurs 7001 to
    /// 7003; démarche 1717 with 120 visible dossiers, label 504 (and 505, on
    /// no dossier) and instructeur 7101. Both hold dossiers in every state.
    pub fn seeded() -> Self {
        let mut rng = SplitMix64::new(DATASET_SEED);
        let large = DemarcheSpec {
            number: LARGE_DEMARCHE,
            title: "Subventions associations 2026",
            visible: 2350,
            brouillons: 30,
            deleted: 40,
            pending_deleted: 12,
            first_dossier_number: 120_001,
            first_deleted_number: 110_001,
            first_pending_deleted_number: 115_001,
            groupes: &[
                (9101, "défaut", false),
                (9102, "Associations sportives", false),
                (9103, "Associations culturelles", false),
                (9104, "Ancien découpage", true),
            ],
            labels: &[
                (501, "Urgent", "pink_macaron"),
                (502, "Pièces manquantes", "yellow_tournesol"),
                (503, "Éligible", "green_menthe"),
            ],
            spare_labels: &[(506, "Dossier prioritaire", "green_emeraude")],
            instructeurs: &[
                (7001, "instruction.associations@example.org"),
                (7002, "instruction.sport@example.org"),
                (7003, "instruction.culture@example.org"),
            ],
            state: DemarcheState::Publiee,
        };
        let small = DemarcheSpec {
            number: SMALL_DEMARCHE,
            title: "Déclaration de manifestation sportive",
            visible: 120,
            brouillons: 5,
            deleted: 6,
            pending_deleted: 2,
            first_dossier_number: 300_001,
            first_deleted_number: 290_001,
            first_pending_deleted_number: 295_001,
            groupes: &[(9201, "défaut", false)],
            labels: &[(504, "À relancer", "blue_ecume")],
            spare_labels: &[(505, "Manifestation à risque", "purple_glycine")],
            instructeurs: &[(7101, "manifestations@example.org")],
            state: DemarcheState::Close,
        };
        Self {
            demarches: vec![large.generate(&mut rng), small.generate(&mut rng)],
            next_message_number: FIRST_MESSAGE_NUMBER,
        }
    }

    /// Every démarche.
    pub fn demarches(&self) -> &[Demarche] {
        &self.demarches
    }

    /// The démarche with this number.
    pub fn demarche(&self, number: i64) -> Option<&Demarche> {
        self.demarches
            .iter()
            .find(|demarche| demarche.number == number)
    }

    /// The visible dossier with this number, with its démarche.
    pub fn dossier(&self, number: i64) -> Option<(&Demarche, &Dossier)> {
        self.demarches.iter().find_map(|demarche| {
            demarche
                .visible_dossiers()
                .find(|dossier| dossier.number == number)
                .map(|dossier| (demarche, dossier))
        })
    }

    /// Deletes the visible dossier with this number, as an instructeur would at `at`:
    /// it leaves `dossiers` and joins its démarche's `deletedDossiers` in the state it
    /// had. False when no visible dossier has that number.
    pub fn delete_dossier(&mut self, number: i64, at: DateTime<Utc>) -> bool {
        for demarche in &mut self.demarches {
            let Some(index) = demarche
                .dossiers
                .iter()
                .position(|dossier| dossier.number == number && dossier.is_visible())
            else {
                continue;
            };
            let dossier = demarche.dossiers.remove(index);
            demarche.deleted_dossiers.push(DeletedDossier {
                number,
                state: dossier.state,
                reason: DeletionReason::InstructeurRequest,
                deleted_at: at,
            });
            return true;
        }
        false
    }

    /// The user of the visible dossier with this number edits it at `at`: its
    /// `dateDerniereModification` moves there. False when no visible dossier has it.
    pub fn touch_dossier(&mut self, number: i64, at: DateTime<Utc>) -> bool {
        let dossier = self
            .demarches
            .iter_mut()
            .flat_map(|demarche| demarche.dossiers.iter_mut())
            .find(|dossier| dossier.number == number && dossier.is_visible());
        match dossier {
            Some(dossier) => {
                dossier.updated_at = at;
                true
            }
            None => false,
        }
    }

    /// The state of the visible dossier with this number.
    pub fn dossier_state(&self, number: i64) -> Option<DossierState> {
        self.dossier(number).map(|(_, dossier)| dossier.state)
    }

    /// The messages of the visible dossier with this number, oldest first.
    pub fn dossier_messages(&self, number: i64) -> Option<&[Message]> {
        self.dossier(number)
            .map(|(_, dossier)| dossier.messages.as_slice())
    }

    /// The labels on the visible dossier with this number.
    pub fn dossier_labels(&self, number: i64) -> Option<Vec<&Label>> {
        let (demarche, dossier) = self.dossier(number)?;
        Some(
            dossier
                .labels
                .iter()
                .filter_map(|&label| demarche.label(label))
                .collect(),
        )
    }

    /// The label with this number, whichever démarche it belongs to.
    pub fn label(&self, number: i64) -> Option<(&Demarche, &Label)> {
        self.demarches
            .iter()
            .find_map(|demarche| demarche.label(number).map(|label| (demarche, label)))
    }

    /// The visible dossier with this number, to change it.
    pub(crate) fn dossier_mut(&mut self, number: i64) -> Option<&mut Dossier> {
        self.demarches
            .iter_mut()
            .flat_map(|demarche| demarche.dossiers.iter_mut())
            .find(|dossier| dossier.number == number && dossier.is_visible())
    }

    /// A fresh database id for a message.
    pub(crate) fn allocate_message_number(&mut self) -> i64 {
        let number = self.next_message_number;
        self.next_message_number += 1;
        number
    }
}

impl Demarche {
    /// Dossiers the administration can see: every one but the brouillons.
    pub fn visible_dossiers(&self) -> impl Iterator<Item = &Dossier> {
        self.dossiers.iter().filter(|dossier| dossier.is_visible())
    }

    /// The instructor group with this number.
    pub fn groupe_instructeur(&self, number: i64) -> Option<&GroupeInstructeur> {
        self.groupes_instructeurs
            .iter()
            .find(|groupe| groupe.number == number)
    }

    /// The label with this number.
    pub fn label(&self, number: i64) -> Option<&Label> {
        self.labels.iter().find(|label| label.number == number)
    }

    /// The instructeur with this number, if they instruct this démarche.
    pub fn instructeur(&self, number: i64) -> Option<&Instructeur> {
        self.instructeurs
            .iter()
            .find(|instructeur| instructeur.number == number)
    }

    /// The first visible dossier in this state, in number order.
    pub fn first_dossier_in(&self, state: DossierState) -> Option<&Dossier> {
        self.visible_dossiers()
            .find(|dossier| dossier.state == state)
    }

    /// The démarche without its dossiers: what a dossier needs to answer
    /// for its groupe, labels and instructeurs once detached from the dataset.
    pub(crate) fn detached(&self) -> Demarche {
        Demarche {
            number: self.number,
            title: self.title.clone(),
            description: self.description.clone(),
            state: self.state,
            created_at: self.created_at,
            groupes_instructeurs: self.groupes_instructeurs.clone(),
            labels: self.labels.clone(),
            instructeurs: self.instructeurs.clone(),
            dossiers: Vec::new(),
            deleted_dossiers: Vec::new(),
            pending_deleted_dossiers: Vec::new(),
        }
    }
}

impl Dossier {
    /// Whether the administration can see it (it is not a brouillon).
    pub fn is_visible(&self) -> bool {
        self.state != DossierState::Brouillon && self.depose_at.is_some()
    }
}

impl DossierState {
    /// The `DossierState` enum value; `None` for a brouillon, which the API never shows.
    pub fn graphql_name(self) -> Option<&'static str> {
        match self {
            Self::Brouillon => None,
            Self::EnConstruction => Some("en_construction"),
            Self::EnInstruction => Some("en_instruction"),
            Self::Accepte => Some("accepte"),
            Self::Refuse => Some("refuse"),
            Self::SansSuite => Some("sans_suite"),
        }
    }

    /// The state named by a `DossierState` enum value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        [
            Self::EnConstruction,
            Self::EnInstruction,
            Self::Accepte,
            Self::Refuse,
            Self::SansSuite,
        ]
        .into_iter()
        .find(|state| state.graphql_name() == Some(name))
    }

    /// Whether a decision was taken (accepte, refuse or sans_suite).
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Accepte | Self::Refuse | Self::SansSuite)
    }

    /// The server's French name of the state, lower case, as its messages
    /// use it: "Le dossier est déjà <name>".
    pub fn french_name(self) -> &'static str {
        match self {
            Self::Brouillon => "en brouillon",
            Self::EnConstruction => "en construction",
            Self::EnInstruction => "en instruction",
            Self::Accepte => "accepté",
            Self::Refuse => "refusé",
            Self::SansSuite => "classé sans suite",
        }
    }
}

impl CorrectionReason {
    /// The `CorrectionReason` enum value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::Incorrect => "incorrect",
            Self::Outdated => "outdated",
        }
    }

    /// The reason named by a `CorrectionReason` enum value.
    pub fn from_graphql_name(name: &str) -> Option<Self> {
        [Self::Incomplete, Self::Incorrect, Self::Outdated]
            .into_iter()
            .find(|reason| reason.graphql_name() == name)
    }
}

impl DemarcheState {
    /// The `DemarcheState` enum value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon",
            Self::Close => "close",
            Self::Depubliee => "depubliee",
            Self::Publiee => "publiee",
        }
    }
}

impl DeletionReason {
    /// The `DeletedDossierReason` enum value.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::InstructeurRequest => "instructeur_request",
            Self::ManagerRequest => "manager_request",
            Self::ProcedureRemoved => "procedure_removed",
            Self::UserExpired => "user_expired",
            Self::UserRemoved => "user_removed",
            Self::UserRequest => "user_request",
        }
    }
}

/// A GraphQL global id: base64 of `"<Type>-<database id>"`, standard alphabet, padded.
pub fn global_id(type_name: &str, database_id: i64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{type_name}-{database_id}"))
}

/// The database id in a global id of `type_name`, read from the standard or
/// the URL-safe alphabet, padded or not, as the server reads them; `None`
/// when the id is not of that type.
pub fn decode_global_id(id: &str, type_name: &str) -> Option<i64> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let trimmed = id.trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(id))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (prefix, number) = text.split_once('-')?;
    if prefix != type_name || number.starts_with('+') {
        return None;
    }
    number.parse().ok()
}

/// Seconds since the epoch of 2025-01-01T00:00:00Z, the start of the seeded period.
const PERIOD_START: i64 = 1_735_689_600;
/// Seconds since the epoch of 2026-06-30T23:59:59Z, the end of the seeded period.
const PERIOD_END: i64 = 1_782_863_999;

struct DemarcheSpec {
    number: i64,
    title: &'static str,
    visible: usize,
    brouillons: usize,
    deleted: usize,
    pending_deleted: usize,
    first_dossier_number: i64,
    first_deleted_number: i64,
    first_pending_deleted_number: i64,
    groupes: &'static [(i64, &'static str, bool)],
    labels: &'static [(i64, &'static str, &'static str)],
    /// Labels of the démarche that no seeded dossier carries.
    spare_labels: &'static [(i64, &'static str, &'static str)],
    instructeurs: &'static [(i64, &'static str)],
    state: DemarcheState,
}

impl DemarcheSpec {
    fn generate(&self, rng: &mut SplitMix64) -> Demarche {
        Demarche {
            number: self.number,
            title: self.title.to_owned(),
            description: format!("Démarche de démonstration « {} ».", self.title),
            state: self.state,
            created_at: instant(PERIOD_START - 45 * 86_400, 0),
            groupes_instructeurs: self
                .groupes
                .iter()
                .map(|&(number, label, closed)| GroupeInstructeur {
                    number,
                    label: label.to_owned(),
                    closed,
                })
                .collect(),
            labels: self
                .labels
                .iter()
                .chain(self.spare_labels)
                .map(|&(number, name, color)| Label {
                    number,
                    name: name.to_owned(),
                    color,
                })
                .collect(),
            instructeurs: self
                .instructeurs
                .iter()
                .map(|&(number, email)| Instructeur {
                    number,
                    email: email.to_owned(),
                })
                .collect(),
            dossiers: self.dossiers(rng),
            deleted_dossiers: self.deleted_dossiers(rng),
            pending_deleted_dossiers: self.pending_deleted_dossiers(rng),
        }
    }

    /// Dossiers in creation order (numbers grow with time), brouillons spread
    /// among them; a few share their deposit instant or their last update
    /// with a neighbour so that sort-key ties exist.
    fn dossiers(&self, rng: &mut SplitMix64) -> Vec<Dossier> {
        let total = self.visible + self.brouillons;
        let mut created: Vec<i64> = (0..total)
            .map(|_| {
                PERIOD_START + rng.below((PERIOD_END - PERIOD_START - 3 * 86_400) as u64) as i64
            })
            .collect();
        created.sort_unstable();
        let brouillon_every = total / self.brouillons.max(1);
        let mut dossiers: Vec<Dossier> = Vec::with_capacity(total);
        let mut brouillons_made = 0;
        for (index, created_at) in created.into_iter().enumerate() {
            let number = self.first_dossier_number + index as i64;
            let is_brouillon =
                index % brouillon_every == brouillon_every / 2 && brouillons_made < self.brouillons;
            let dossier = if is_brouillon {
                brouillons_made += 1;
                self.brouillon(number, created_at, rng)
            } else {
                let previous = dossiers.iter().rev().find(|d| d.is_visible());
                self.submitted(number, created_at, previous, rng)
            };
            dossiers.push(dossier);
        }
        dossiers
    }

    fn brouillon(&self, number: i64, created_at: i64, rng: &mut SplitMix64) -> Dossier {
        Dossier {
            number,
            state: DossierState::Brouillon,
            archived: false,
            depose_at: None,
            updated_at: instant(created_at, rng.below(1_000_000)),
            en_instruction_at: None,
            processed_at: None,
            motivation: None,
            groupe_instructeur: self.groupes[0].0,
            labels: Vec::new(),
            messages: Vec::new(),
            pending_correction: None,
        }
    }

    fn submitted(
        &self,
        number: i64,
        created_at: i64,
        previous: Option<&Dossier>,
        rng: &mut SplitMix64,
    ) -> Dossier {
        let mut depose_at = instant(
            created_at + rng.below(3 * 86_400) as i64,
            rng.below(1_000_000),
        );
        if let Some(previous_depose) = previous.and_then(|d| d.depose_at)
            && rng.below(50) == 0
        {
            depose_at = previous_depose;
        }
        let state = match rng.below(100) {
            0..20 => DossierState::EnConstruction,
            20..45 => DossierState::EnInstruction,
            45..80 => DossierState::Accepte,
            80..92 => DossierState::Refuse,
            _ => DossierState::SansSuite,
        };
        let depose_seconds = depose_at.timestamp();
        let room = (PERIOD_END - depose_seconds).max(1);
        let mut updated_at = if rng.below(10) == 0 {
            depose_at
        } else {
            let later = rng.below(room.min(150 * 86_400) as u64) as i64;
            instant(depose_seconds + later, rng.below(1_000_000)).max(depose_at)
        };
        if let Some(previous) = previous
            && rng.below(40) == 0
            && previous.updated_at >= depose_at
        {
            updated_at = previous.updated_at;
        }
        let span = (updated_at - depose_at).num_seconds().max(0);
        let step = |rng: &mut SplitMix64, from: DateTime<Utc>| {
            let until = (updated_at - from).num_seconds().max(0);
            (from + chrono::Duration::seconds(rng.below(until as u64 + 1) as i64)).min(updated_at)
        };
        let en_instruction_at = (state != DossierState::EnConstruction)
            .then(|| depose_at + chrono::Duration::seconds(rng.below(span as u64 / 2 + 1) as i64));
        let processed_at = match (state.is_closed(), en_instruction_at) {
            (true, Some(from)) => Some(step(rng, from)),
            _ => None,
        };
        let motivation = match state {
            DossierState::Refuse => Some("Le projet ne relève pas du champ de l’appel.".to_owned()),
            DossierState::SansSuite => Some("Pièces demandées jamais reçues.".to_owned()),
            DossierState::Accepte if rng.below(2) == 0 => {
                Some("Dossier complet et conforme.".to_owned())
            }
            _ => None,
        };
        let groupe_instructeur = self.groupes[rng.below(self.groupes.len() as u64) as usize].0;
        let labels = self
            .labels
            .iter()
            .filter(|_| rng.below(5) == 0)
            .map(|&(label, _, _)| label)
            .collect();
        Dossier {
            number,
            state,
            archived: state.is_closed() && rng.below(10) < 3,
            depose_at: Some(depose_at),
            updated_at,
            en_instruction_at,
            processed_at,
            motivation,
            groupe_instructeur,
            labels,
            messages: Vec::new(),
            pending_correction: None,
        }
    }

    fn deleted_dossiers(&self, rng: &mut SplitMix64) -> Vec<DeletedDossier> {
        let step = (PERIOD_END - PERIOD_START) / self.deleted.max(1) as i64;
        (0..self.deleted)
            .map(|index| {
                let (state, reason) = match rng.below(4) {
                    0 => (DossierState::EnConstruction, DeletionReason::UserRequest),
                    1 => (DossierState::Accepte, DeletionReason::Expired),
                    2 => (DossierState::Refuse, DeletionReason::InstructeurRequest),
                    _ => (DossierState::SansSuite, DeletionReason::ManagerRequest),
                };
                let seconds = PERIOD_START + index as i64 * step + rng.below(step as u64) as i64;
                DeletedDossier {
                    number: self.first_deleted_number + index as i64,
                    state,
                    reason,
                    deleted_at: instant(seconds, rng.below(1_000_000)),
                }
            })
            .collect()
    }

    /// Dossiers their user deleted while still `en_construction`.
    fn pending_deleted_dossiers(&self, rng: &mut SplitMix64) -> Vec<DeletedDossier> {
        let step = (PERIOD_END - PERIOD_START) / self.pending_deleted.max(1) as i64;
        (0..self.pending_deleted)
            .map(|index| {
                let seconds = PERIOD_START + index as i64 * step + rng.below(step as u64) as i64;
                DeletedDossier {
                    number: self.first_pending_deleted_number + index as i64,
                    state: DossierState::EnConstruction,
                    reason: DeletionReason::UserRequest,
                    deleted_at: instant(seconds, rng.below(1_000_000)),
                }
            })
            .collect()
    }
}

fn instant(seconds: i64, micros: u64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, (micros % 1_000_000) as u32 * 1_000)
        .single()
        .expect("seeded instants are in range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_deleted_dossier_leaves_the_visible_ones_for_the_deletion_listing() {
        let mut dataset = Dataset::seeded();
        let dossier = dataset
            .demarche(4242)
            .and_then(|demarche| demarche.visible_dossiers().next())
            .expect("a seeded visible dossier");
        let (number, state) = (dossier.number, dossier.state);
        let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("an instant")
            .with_timezone(&Utc);

        assert!(dataset.delete_dossier(number, at));

        assert!(dataset.dossier(number).is_none());
        let demarche = dataset.demarche(4242).expect("the seeded démarche");
        assert_eq!(demarche.visible_dossiers().count(), 2_349);
        let deleted = demarche.deleted_dossiers.last().expect("a deletion");
        assert_eq!(
            (deleted.number, deleted.state, deleted.deleted_at),
            (number, state, at)
        );
        assert!(!dataset.delete_dossier(number, at), "deleted once");
    }

    #[test]
    fn the_large_demarche_has_2350_visible_dossiers_in_every_state() {
        let dataset = Dataset::seeded();
        let demarche = dataset.demarche(LARGE_DEMARCHE).expect("seeded");
        let visible: Vec<&Dossier> = demarche.visible_dossiers().collect();
        assert_eq!(visible.len(), 2350);
        assert_eq!(demarche.dossiers.len(), 2380);
        let states: HashSet<DossierState> = visible.iter().map(|d| d.state).collect();
        assert_eq!(states.len(), 5);
        assert!(visible.iter().any(|d| d.archived));
        assert_eq!(demarche.deleted_dossiers.len(), 40);
        assert_eq!(demarche.pending_deleted_dossiers.len(), 12);
        let numbers: HashSet<i64> = demarche.dossiers.iter().map(|d| d.number).collect();
        assert_eq!(numbers.len(), demarche.dossiers.len());
    }

    #[test]
    fn dates_stay_in_the_period_and_updates_follow_deposits() {
        let dataset = Dataset::seeded();
        let start = instant(PERIOD_START, 0);
        let end = instant(PERIOD_END + 1, 0);
        for demarche in dataset.demarches() {
            for dossier in demarche.visible_dossiers() {
                let depose = dossier.depose_at.expect("visible dossiers are submitted");
                assert!(
                    start <= depose && dossier.updated_at < end,
                    "{}",
                    dossier.number
                );
                assert!(dossier.updated_at >= depose, "{}", dossier.number);
                assert_eq!(dossier.processed_at.is_some(), dossier.state.is_closed());
                if dossier.archived {
                    assert!(dossier.state.is_closed());
                }
            }
            for deleted in &demarche.deleted_dossiers {
                assert!(start <= deleted.deleted_at && deleted.deleted_at < end);
            }
        }
    }

    #[test]
    fn some_sort_keys_are_shared_so_ties_are_exercised() {
        let dataset = Dataset::seeded();
        let demarche = dataset.demarche(LARGE_DEMARCHE).expect("seeded");
        let deposits: HashSet<_> = demarche.visible_dossiers().map(|d| d.depose_at).collect();
        let updates: HashSet<_> = demarche.visible_dossiers().map(|d| d.updated_at).collect();
        assert!(deposits.len() < 2350);
        assert!(updates.len() < 2350);
    }

    #[test]
    fn the_seeded_data_is_the_same_every_time() {
        let first = Dataset::seeded();
        let second = Dataset::seeded();
        let summary = |dataset: &Dataset| -> Vec<(i64, Option<DateTime<Utc>>, DateTime<Utc>)> {
            dataset
                .demarches()
                .iter()
                .flat_map(|d| d.dossiers.iter())
                .map(|d| (d.number, d.depose_at, d.updated_at))
                .collect()
        };
        assert_eq!(summary(&first), summary(&second));
    }

    #[test]
    fn the_small_demarche_has_120_visible_dossiers() {
        let dataset = Dataset::seeded();
        let demarche = dataset.demarche(SMALL_DEMARCHE).expect("seeded");
        assert_eq!(demarche.visible_dossiers().count(), 120);
    }

    #[test]
    fn global_ids_encode_type_and_database_id() {
        assert_eq!(global_id("Dossier", 9_399_190), "RG9zc2llci05Mzk5MTkw");
        assert_eq!(global_id("Label", 304_340), "TGFiZWwtMzA0MzQw");
    }

    #[test]
    fn global_ids_decode_from_either_alphabet_and_only_for_their_type() {
        assert_eq!(
            decode_global_id("RG9zc2llci05Mzk5MTkw", "Dossier"),
            Some(9_399_190)
        );
        assert_eq!(decode_global_id("TGFiZWwtMzA0MzQw", "Label"), Some(304_340));
        let unpadded = global_id("Instructeur", 7001).replace('=', "");
        assert_eq!(decode_global_id(&unpadded, "Instructeur"), Some(7001));
        let url_safe = global_id("Label", 1_000_062)
            .replace('+', "-")
            .replace('/', "_");
        assert_eq!(decode_global_id(&url_safe, "Label"), Some(1_000_062));
        assert_eq!(decode_global_id("TGFiZWwtMzA0MzQw", "Dossier"), None);
        assert_eq!(decode_global_id("not base64!", "Dossier"), None);
        assert_eq!(
            decode_global_id(&global_id("Dossier", -1), "Dossier"),
            Some(-1)
        );
    }

    #[test]
    fn every_seeded_demarche_holds_dossiers_in_every_state() {
        let dataset = Dataset::seeded();
        for demarche in dataset.demarches() {
            for state in [
                DossierState::EnConstruction,
                DossierState::EnInstruction,
                DossierState::Accepte,
                DossierState::Refuse,
                DossierState::SansSuite,
            ] {
                assert!(
                    demarche.first_dossier_in(state).is_some(),
                    "démarche {} has no dossier {state:?}",
                    demarche.number
                );
            }
            assert!(!demarche.instructeurs.is_empty());
            assert!(!demarche.labels.is_empty());
        }
    }
}
