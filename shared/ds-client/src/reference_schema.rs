//! The real API schema, kept in the repository (`schema/ds.graphql`, whose README says
//! where it comes from), for tests.

use apollo_compiler::{Schema, validation::Valid};

/// Where the schema lives, inside this crate.
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/ds.graphql");

/// Parses and validates the reference schema. apollo-compiler accepts it as it is
/// (its `@oneOf` directive is declared in the file), so no error needs filtering.
pub(crate) fn load() -> Valid<Schema> {
    let sdl = std::fs::read_to_string(PATH).expect("the reference schema is readable");
    Schema::parse_and_validate(sdl, PATH)
        .unwrap_or_else(|invalid| panic!("the reference schema is invalid:\n{}", invalid.errors))
}
