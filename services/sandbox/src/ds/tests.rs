//! Tests of the schema and of the executor over the seeded data.

use std::path::Path;

use apollo_compiler::Schema;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::schema::ExtendedType;

use super::dataset::{Dataset, LARGE_DEMARCHE, SMALL_DEMARCHE, global_id};
use super::executor::{self, GraphqlOutcome, GraphqlRequest};
use super::resolvers::{QueryRoot, custom_scalar_is_valid};
use super::{EndOfList, SCHEMA};
use crate::auth::DemarcheScope;

/// The real schema, kept in this checkout with the DS client (see its
/// `schema/README.md`): `shared/ds-client/schema/ds.graphql` from the checkout's root.
fn real_schema() -> Schema {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the sandbox sits two folders below the checkout's root")
        .join("shared/ds-client/schema/ds.graphql");
    let text = std::fs::read_to_string(&path).expect("the reference schema is readable");
    Schema::parse(text, &path).unwrap_or_else(|with_errors| with_errors.partial)
}

#[test]
fn sandbox_schema_agrees_with_the_real_schema() {
    let real = real_schema();
    let mut problems = Vec::new();
    for (name, sandbox_type) in SCHEMA.types.iter().filter(|(_, ty)| !ty.is_built_in()) {
        let Some(real_type) = real.types.get(name) else {
            problems.push(format!("type {name} is not in the real schema"));
            continue;
        };
        match (sandbox_type, real_type) {
            (ExtendedType::Scalar(_), ExtendedType::Scalar(_)) => {}
            (ExtendedType::Enum(sandbox_enum), ExtendedType::Enum(real_enum)) => {
                let ours: Vec<_> = sandbox_enum.values.keys().collect();
                let theirs: Vec<_> = real_enum.values.keys().collect();
                if ours != theirs {
                    problems.push(format!("enum {name} has {ours:?}, the real one {theirs:?}"));
                }
            }
            (ExtendedType::Object(sandbox_object), ExtendedType::Object(real_object)) => {
                for (field_name, field) in &sandbox_object.fields {
                    let Some(real_field) = real_object.fields.get(field_name) else {
                        problems.push(format!(
                            "field {name}.{field_name} is not in the real schema"
                        ));
                        continue;
                    };
                    if field.ty != real_field.ty {
                        problems.push(format!(
                            "{name}.{field_name} is {} here and {} there",
                            field.ty, real_field.ty
                        ));
                    }
                    for argument in &field.arguments {
                        match real_field.argument_by_name(&argument.name) {
                            None => problems.push(format!(
                                "argument {name}.{field_name}({}) is not in the real schema",
                                argument.name
                            )),
                            Some(real_argument)
                                if real_argument.ty != argument.ty
                                    || real_argument.default_value != argument.default_value =>
                            {
                                problems.push(format!(
                                    "argument {name}.{field_name}({}) differs from the real one",
                                    argument.name
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                    for real_argument in &real_field.arguments {
                        let required =
                            real_argument.ty.is_non_null() && real_argument.default_value.is_none();
                        if required && field.argument_by_name(&real_argument.name).is_none() {
                            problems.push(format!(
                                "required argument {name}.{field_name}({}) is missing",
                                real_argument.name
                            ));
                        }
                    }
                }
            }
            (ExtendedType::InputObject(sandbox_input), ExtendedType::InputObject(real_input)) => {
                let ours: Vec<_> = sandbox_input.fields.keys().collect();
                let theirs: Vec<_> = real_input.fields.keys().collect();
                if ours != theirs {
                    problems.push(format!(
                        "input {name} has {ours:?}, the real one {theirs:?}"
                    ));
                }
                for (field_name, field) in &sandbox_input.fields {
                    let same = real_input.fields.get(field_name).is_some_and(|real_field| {
                        real_field.ty == field.ty && real_field.default_value == field.default_value
                    });
                    if !same {
                        problems.push(format!("input field {name}.{field_name} differs"));
                    }
                }
            }
            _ => problems.push(format!(
                "type {name} is not of the same kind as the real one"
            )),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn run_with(
    query: &str,
    variables: JsonValue,
    scope: DemarcheScope,
    end_of_list: EndOfList,
) -> GraphqlOutcome {
    let dataset = Dataset::seeded();
    let root = QueryRoot {
        dataset: &dataset,
        scope: &scope,
        end_of_list,
    };
    let variables: JsonMap = variables.as_object().cloned().unwrap_or_default();
    let request = GraphqlRequest {
        query,
        operation_name: None,
        variables: &variables,
    };
    executor::run(&SCHEMA, &request, &root, custom_scalar_is_valid)
}

fn run(query: &str, variables: JsonValue) -> JsonValue {
    run_with(query, variables, DemarcheScope::All, EndOfList::EmptyPage).to_json()
}

fn json(text: &str) -> JsonValue {
    serde_json::from_str::<serde_json::Value>(text)
        .expect("test json is valid")
        .into()
}

#[test]
fn aliases_fragments_and_typename_shape_the_answer_in_selection_order() {
    let query = r#"
        query {
          big: demarche(number: 4242) { ...Head number }
          small: demarche(number: 1717) { ... on Demarche { kind: __typename title } }
        }
        fragment Head on Demarche { title id }
    "#;
    let expected = json(&format!(
        r#"{{"data":{{"big":{{"title":"Subventions associations 2026","id":"{}","number":4242}},
            "small":{{"kind":"Demarche","title":"Déclaration de manifestation sportive"}}}}}}"#,
        global_id("Procedure", LARGE_DEMARCHE)
    ));
    let answer = run(query, JsonValue::Null);
    assert_eq!(answer, expected);
    let keys: Vec<String> = answer["data"]["big"]
        .as_object()
        .unwrap()
        .keys()
        .map(|key| key.as_str().to_owned())
        .collect();
    assert_eq!(keys, ["title", "id", "number"]);
}

#[test]
fn skip_and_include_follow_their_variables() {
    let query = r#"
        query($with: Boolean!, $without: Boolean = true) {
          demarche(number: 1717) {
            number @skip(if: $without)
            title @include(if: $with)
            state @include(if: false)
          }
        }
    "#;
    assert_eq!(
        run(query, json(r#"{"with": true}"#)),
        json(r#"{"data":{"demarche":{"title":"Déclaration de manifestation sportive"}}}"#)
    );
    assert_eq!(
        run(query, json(r#"{"with": false, "without": false}"#)),
        json(r#"{"data":{"demarche":{"number":1717}}}"#)
    );
}

#[test]
fn a_field_error_on_a_non_null_field_nulls_the_data() {
    let answer = run("{ demarche(number: 1) { id } }", JsonValue::Null);
    assert_eq!(
        answer,
        json(
            r#"{"errors":[{"message":"Demarche not found","locations":[{"line":1,"column":3}],
                "path":["demarche"],"extensions":{"code":"not_found"}}],"data":null}"#
        )
    );
}

#[test]
fn a_hidden_demarche_is_reported_as_unauthorized() {
    let scope = DemarcheScope::Only([SMALL_DEMARCHE].into());
    let outcome = run_with(
        "{ demarche(number: 4242) { id } }",
        JsonValue::Null,
        scope,
        EndOfList::EmptyPage,
    );
    let GraphqlOutcome::Executed { data: None, errors } = outcome else {
        panic!("expected a null data");
    };
    assert_eq!(
        errors[0].message,
        "An object of type Demarche was hidden due to permissions"
    );
    assert_eq!(errors[0].extensions["code"], "unauthorized");
}

#[test]
fn unknown_fields_are_refused_before_execution() {
    let outcome = run_with(
        "{ demarche(number: 4242) { nope } }",
        JsonValue::Null,
        DemarcheScope::All,
        EndOfList::EmptyPage,
    );
    let GraphqlOutcome::Refused(errors) = outcome else {
        panic!("expected a validation error");
    };
    let messages: Vec<&str> = errors.iter().map(|error| error.message.as_str()).collect();
    assert_eq!(messages, ["type `Demarche` does not have a field `nope`"]);
    assert!(errors.iter().all(|error| !error.locations.is_empty()));
}

#[test]
fn a_field_written_without_a_selection_set_is_still_reported() {
    let outcome = run_with(
        "{ demarche(number: 4242) }",
        JsonValue::Null,
        DemarcheScope::All,
        EndOfList::EmptyPage,
    );
    let GraphqlOutcome::Refused(errors) = outcome else {
        panic!("expected a validation error");
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn syntax_errors_are_refused_without_a_code() {
    let GraphqlOutcome::Refused(errors) = run_with(
        "{ demarche(number: ",
        JsonValue::Null,
        DemarcheScope::All,
        EndOfList::EmptyPage,
    ) else {
        panic!("expected a parse error");
    };
    assert!(errors.iter().all(|error| error.extensions.is_empty()));
}

#[test]
fn missing_and_mistyped_variables_are_refused() {
    let query = "query($n: Int!) { demarche(number: $n) { id } }";
    for variables in [json("{}"), json(r#"{"n": "4242"}"#)] {
        let outcome = run_with(query, variables, DemarcheScope::All, EndOfList::EmptyPage);
        assert!(matches!(outcome, GraphqlOutcome::Refused(_)), "{outcome:?}");
    }
}

#[test]
fn dates_that_are_not_iso8601_are_refused_in_variables_and_literals() {
    let with_variable = "query($d: ISO8601DateTime) { demarche(number: 4242) { dossiers(updatedSince: $d) { nodes { id } } } }";
    let outcome = run_with(
        with_variable,
        json(r#"{"d": "yesterday"}"#),
        DemarcheScope::All,
        EndOfList::EmptyPage,
    );
    assert!(matches!(outcome, GraphqlOutcome::Refused(_)), "{outcome:?}");
    let with_literal =
        r#"{ demarche(number: 4242) { dossiers(createdSince: "soon") { nodes { id } } } }"#;
    let outcome = run_with(
        with_literal,
        JsonValue::Null,
        DemarcheScope::All,
        EndOfList::EmptyPage,
    );
    assert!(matches!(outcome, GraphqlOutcome::Refused(_)), "{outcome:?}");
}

#[test]
fn dossiers_filter_by_state_and_archived_flag() {
    let dataset = Dataset::seeded();
    let demarche = dataset.demarche(LARGE_DEMARCHE).unwrap();
    let expected = demarche
        .visible_dossiers()
        .filter(|d| d.archived && d.state == super::dataset::DossierState::Accepte)
        .count();
    let answer = run(
        "{ demarche(number: 4242) { dossiers(state: accepte, archived: true, first: 100) { nodes { state archived } } } }",
        JsonValue::Null,
    );
    let nodes = answer["data"]["demarche"]["dossiers"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), expected.min(100));
    assert!(
        nodes
            .iter()
            .all(|node| node["state"] == "accepte" && node["archived"] == true)
    );
}

#[test]
fn connection_argument_conflicts_are_field_errors_with_bad_request() {
    let answer = run(
        "{ demarche(number: 4242) { dossiers(first: 1, last: 1) { nodes { id } } } }",
        JsonValue::Null,
    );
    assert_eq!(answer["data"], JsonValue::Null);
    assert_eq!(
        answer["errors"][0]["message"],
        r#"Arguments "first" and "last" are exclusive"#
    );
    assert_eq!(answer["errors"][0]["extensions"]["code"], "bad_request");
    assert_eq!(
        answer["errors"][0]["path"],
        json(r#"["demarche","dossiers"]"#)
    );
}

#[test]
fn dossier_fields_are_served_with_dates_in_paris_time() {
    let answer = run(
        r#"{ dossier(number: 300002) { number state dateDepot groupeInstructeur { number label } labels { name color } } }"#,
        JsonValue::Null,
    );
    let dossier = &answer["data"]["dossier"];
    assert_eq!(dossier["number"], 300_002);
    let date = dossier["dateDepot"].as_str().unwrap();
    assert!(
        date.ends_with("+01:00") || date.ends_with("+02:00"),
        "{date}"
    );
    assert_eq!(dossier["groupeInstructeur"]["number"], 9201);
}
