//! How the API names dossiers, instructeurs, labels and messages: queries take
//! a dossier's number, mutations take GraphQL global ids.

use crate::values::InvalidArgument;
use std::fmt;

use base64::Engine as _;

/// The number of a dossier, as `dossier(number: Int!)` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DossierNumber(u32);

impl DossierNumber {
    /// Accepts 1 up to the largest GraphQL `Int`.
    pub fn new(number: u32) -> Result<Self, InvalidArgument> {
        if number == 0 || i32::try_from(number).is_err() {
            return Err(InvalidArgument::DossierNumber(number));
        }
        Ok(Self(number))
    }

    /// The number itself.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for DossierNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Declares an opaque global id: the API hands it out and takes it back as is.
macro_rules! global_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from the API or from settings.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as the API spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string, to store or forward it.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

global_id!(
    /// A dossier's global id (`Dossier.id`, base64 of `Dossier-<number>`), which
    /// mutations take as `dossierId`; look it up with `DsClient::dossier_id`.
    DossierGlobalId
);

global_id!(
    /// An instructeur's global id (`Profile.id`), the author recorded for a
    /// state change or a message.
    InstructeurId
);

global_id!(
    /// A label's global id (`Label.id`), as `demarche { labels { id } }` lists it.
    LabelId
);

impl InstructeurId {
    /// The global id of the instructeur with this number, the one the DS interface
    /// shows: `Instructeur-<number>` in base64.
    pub fn of_number(number: u32) -> Self {
        Self(typed_id("Instructeur", number))
    }
}

impl LabelId {
    /// The global id of the label with this number, the one the DS interface shows:
    /// `Label-<number>` in base64.
    pub fn of_number(number: u32) -> Self {
        Self(typed_id("Label", number))
    }
}

/// A record's global id as the API builds it: `<Type>-<database id>` in strict base64
/// (DS `ApplicationRecord#to_typed_id`).
fn typed_id(type_name: &str, number: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{type_name}-{number}"))
}

global_id!(
    /// A message's global id (`Message.id`).
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dossier_number_must_be_a_positive_graphql_int() {
        assert_eq!(
            DossierNumber::new(120_001).map(DossierNumber::get),
            Ok(120_001)
        );
        assert_eq!(
            DossierNumber::new(0),
            Err(InvalidArgument::DossierNumber(0))
        );
        assert!(DossierNumber::new(i32::MAX as u32).is_ok());
        assert!(DossierNumber::new(i32::MAX as u32 + 1).is_err());
    }

    #[test]
    fn numbers_become_the_global_ids_the_api_hands_out() {
        // Examples from the API's own answers.
        assert_eq!(LabelId::of_number(304_340).as_str(), "TGFiZWwtMzA0MzQw");
        assert_eq!(
            InstructeurId::of_number(4_242).as_str(),
            "SW5zdHJ1Y3RldXItNDI0Mg=="
        );
    }

    #[test]
    fn global_ids_are_kept_exactly_as_given() {
        let id = DossierGlobalId::new("RG9zc2llci05Mzk5MTkw");
        assert_eq!(id.as_str(), "RG9zc2llci05Mzk5MTkw");
        assert_eq!(id.to_string(), "RG9zc2llci05Mzk5MTkw");
        assert_eq!(id.into_string(), "RG9zc2llci05Mzk5MTkw");
    }
}
