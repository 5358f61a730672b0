//! Validated values that go into a request.

use std::fmt;
use std::str::FromStr;

/// A value refused before any request is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidArgument {
    /// A démarche number must be a positive GraphQL `Int`.
    #[error("démarche number {0} is outside 1..={max}", max = i32::MAX)]
    DemarcheNumber(u32),
    /// The API serves at most 100 items per page and a page of 0 reads nothing.
    #[error("page size {0} is outside 1..={max}", max = PageSize::MAX.get())]
    PageSize(u32),
    /// The text is none of the API's dossier states.
    #[error("unknown dossier state {0:?}")]
    DossierState(String),
    /// A dossier number must be a positive GraphQL `Int`.
    #[error("dossier number {0} is outside 1..={max}", max = i32::MAX)]
    DossierNumber(u32),
}

/// The number of a démarche, as the API's `demarche(number: Int!)` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DemarcheNumber(u32);

impl DemarcheNumber {
    /// Accepts 1 up to the largest GraphQL `Int`.
    pub fn new(number: u32) -> Result<Self, InvalidArgument> {
        if number == 0 || i32::try_from(number).is_err() {
            return Err(InvalidArgument::DemarcheNumber(number));
        }
        Ok(Self(number))
    }

    /// The number itself.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for DemarcheNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How many items one page asks for: 1 to 100, the API's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageSize(u32);

impl PageSize {
    /// The largest page the API serves; it silently cuts larger requests to this.
    pub const MAX: PageSize = PageSize(100);

    /// Accepts 1 to 100.
    pub fn new(size: u32) -> Result<Self, InvalidArgument> {
        if size == 0 || size > Self::MAX.0 {
            return Err(InvalidArgument::PageSize(size));
        }
        Ok(Self(size))
    }

    /// The size itself.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// An opaque pagination cursor handed out by the API as `endCursor`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a cursor received earlier, for example one stored between polls.
    pub fn new(cursor: impl Into<String>) -> Self {
        Self(cursor.into())
    }

    /// The cursor as the API spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cursor as an owned string, to store or forward it.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A dossier state, named as the API's `DossierState` enum names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DossierState {
    /// `en_construction`: submitted, still editable by the user.
    EnConstruction,
    /// `en_instruction`: being examined.
    EnInstruction,
    /// `accepte`: accepted.
    Accepte,
    /// `refuse`: refused.
    Refuse,
    /// `sans_suite`: closed without a decision.
    SansSuite,
}

impl DossierState {
    /// Every state, in the order of the dossier lifecycle.
    pub const ALL: [DossierState; 5] = [
        DossierState::EnConstruction,
        DossierState::EnInstruction,
        DossierState::Accepte,
        DossierState::Refuse,
        DossierState::SansSuite,
    ];

    /// The API's spelling of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            DossierState::EnConstruction => "en_construction",
            DossierState::EnInstruction => "en_instruction",
            DossierState::Accepte => "accepte",
            DossierState::Refuse => "refuse",
            DossierState::SansSuite => "sans_suite",
        }
    }
}

impl FromStr for DossierState {
    type Err = InvalidArgument;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| InvalidArgument::DossierState(text.to_owned()))
    }
}

impl fmt::Display for DossierState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_size_is_accepted_from_1_to_100_only() {
        for (size, accepted) in [(0, false), (1, true), (50, true), (100, true), (101, false)] {
            assert_eq!(PageSize::new(size).is_ok(), accepted, "size {size}");
        }
        assert_eq!(PageSize::new(100), Ok(PageSize::MAX));
    }

    #[test]
    fn a_demarche_number_must_be_a_positive_graphql_int() {
        assert_eq!(DemarcheNumber::new(4242).map(DemarcheNumber::get), Ok(4242));
        assert!(DemarcheNumber::new(0).is_err());
        assert!(DemarcheNumber::new(i32::MAX as u32).is_ok());
        assert!(DemarcheNumber::new(i32::MAX as u32 + 1).is_err());
    }

    #[test]
    fn dossier_states_use_the_api_spelling_both_ways() {
        let expected = [
            (DossierState::EnConstruction, "en_construction"),
            (DossierState::EnInstruction, "en_instruction"),
            (DossierState::Accepte, "accepte"),
            (DossierState::Refuse, "refuse"),
            (DossierState::SansSuite, "sans_suite"),
        ];
        for (state, text) in expected {
            assert_eq!(state.as_str(), text);
            assert_eq!(text.parse::<DossierState>(), Ok(state));
        }
        assert_eq!(
            "ACCEPTE".parse::<DossierState>(),
            Err(InvalidArgument::DossierState("ACCEPTE".into()))
        );
    }

    #[test]
    fn dossier_states_match_the_schema_enum() {
        let schema = crate::reference_schema::load();
        let from_schema = schema
            .get_enum("DossierState")
            .expect("the schema defines DossierState");
        let mut values: Vec<&str> = from_schema
            .values
            .keys()
            .map(|name| name.as_str())
            .collect();
        values.sort_unstable();
        let mut ours: Vec<&str> = DossierState::ALL
            .iter()
            .map(|state| state.as_str())
            .collect();
        ours.sort_unstable();
        assert_eq!(values, ours);
    }
}
