//! A GraphQL executor over documents that apollo-compiler parsed and
//! validated against the sandbox schema. Resolvers are plain Rust objects
//! answering one field at a time; the executor handles selection, aliases,
//! fragments, `@skip`/`@include`, `__typename`, lists and null propagation,
//! and returns only the selected fields in selection order.
//!
//! Why not `apollo_compiler::resolvers`, which does the same walk: its `FieldError`
//! carries a message and nothing else (apollo-compiler 1.33), so a resolver cannot
//! give an error its `extensions.code`. The DS API answers `not_found`,
//! `unauthorized`, `forbidden`, `timeout` and `internal_server_error` there, and the
//! clients decide on that code (retry, refuse, report), so the sandbox must send it.
//! Recovering the code from the message after execution would make every message a
//! protocol; should the library give field errors extensions, this module goes.

use std::collections::HashSet;

use apollo_compiler::executable::{Field, Operation, OperationType, Selection, SelectionSet};
use apollo_compiler::parser::{LineColumn, Parser};
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment};
use apollo_compiler::schema::{ExtendedType, Type};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Node, Schema, ast};

/// An object value whose fields can be resolved.
pub(crate) trait Resolve {
    /// The name of its object type in the schema.
    fn type_name(&self) -> &'static str;

    /// Resolves one field; the value must match the field's schema type.
    fn resolve_field<'a>(&'a self, call: &FieldCall<'_>) -> Result<Resolved<'a>, FieldError>;
}

/// A field to resolve, with its coerced arguments.
pub(crate) struct FieldCall<'a> {
    pub(crate) name: &'a str,
    arguments: &'a JsonMap,
}

/// What a resolver returns for a field.
pub(crate) enum Resolved<'a> {
    /// A scalar, an enum value (as a string) or null.
    Leaf(JsonValue),
    Object(Box<dyn Resolve + 'a>),
    List(Vec<Resolved<'a>>),
}

/// A failed field, reported with its path and location; `code` becomes `extensions.code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) message: String,
    pub(crate) code: Option<&'static str>,
}

/// The result of a request that reached the GraphQL layer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GraphqlOutcome {
    /// Refused before execution (parse, validation, operation or variable
    /// errors): the response has `errors` and no `data`.
    Refused(Vec<GraphQLError>),
    /// Executed, possibly with field errors and a null `data`.
    Executed {
        data: Option<JsonMap>,
        errors: Vec<GraphQLError>,
    },
}

/// The parts of a GraphQL request the executor needs.
pub(crate) struct GraphqlRequest<'a> {
    pub(crate) query: &'a str,
    pub(crate) operation_name: Option<&'a str>,
    pub(crate) variables: &'a JsonMap,
}

/// Checks the values of custom scalars (such as dates) in variables and literals.
pub(crate) type ScalarCheck = fn(scalar: &str, value: &JsonValue) -> bool;

impl<'a> Resolved<'a> {
    pub(crate) fn null() -> Self {
        Self::Leaf(JsonValue::Null)
    }

    pub(crate) fn leaf(value: impl Into<JsonValue>) -> Self {
        Self::Leaf(value.into())
    }

    pub(crate) fn object(object: impl Resolve + 'a) -> Self {
        Self::Object(Box::new(object))
    }

    pub(crate) fn list<I: IntoIterator<Item = Self>>(items: I) -> Self {
        Self::List(items.into_iter().collect())
    }
}

impl FieldCall<'_> {
    /// The argument's value, `None` when absent or null.
    pub(crate) fn argument(&self, name: &str) -> Option<&JsonValue> {
        self.arguments.get(name).filter(|value| !value.is_null())
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.argument(name).and_then(JsonValue::as_i64)
    }

    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        self.argument(name).and_then(JsonValue::as_str)
    }

    pub(crate) fn boolean(&self, name: &str) -> Option<bool> {
        self.argument(name).and_then(JsonValue::as_bool)
    }
}

impl FieldError {
    pub(crate) fn new(message: impl Into<String>, code: &'static str) -> Self {
        Self {
            message: message.into(),
            code: Some(code),
        }
    }
}

/// A request that parsed, validated and had its variables coerced: what is
/// left is to pick a root for its operation type and execute it.
pub(crate) struct Prepared<'s> {
    schema: &'s Valid<Schema>,
    document: Valid<ExecutableDocument>,
    operation: Node<Operation>,
    variables: Valid<JsonMap>,
}

/// Parses, validates and executes one request against `root`.
#[cfg(test)]
pub(crate) fn run(
    schema: &Valid<Schema>,
    request: &GraphqlRequest<'_>,
    root: &dyn Resolve,
    scalar_check: ScalarCheck,
) -> GraphqlOutcome {
    match prepare(schema, request, scalar_check) {
        Ok(prepared) => prepared.execute(root),
        Err(refused) => refused,
    }
}

/// Parses and validates the document, picks the operation and coerces the
/// variables; a request refused at any step comes back as its outcome.
pub(crate) fn prepare<'s>(
    schema: &'s Valid<Schema>,
    request: &GraphqlRequest<'_>,
    scalar_check: ScalarCheck,
) -> Result<Prepared<'s>, GraphqlOutcome> {
    let document = parse_and_validate(schema, request.query).map_err(GraphqlOutcome::Refused)?;
    let operation = match document.operations.get(request.operation_name) {
        Ok(operation) => operation.clone(),
        Err(error) => {
            let error = error.to_graphql_error(&document.sources);
            return Err(GraphqlOutcome::Refused(vec![error]));
        }
    };
    let variables = match apollo_compiler::request::coerce_variable_values(
        schema,
        &operation,
        request.variables,
    ) {
        Ok(variables) => variables,
        Err(error) => {
            let error = error.to_graphql_error(&document.sources);
            return Err(GraphqlOutcome::Refused(vec![error]));
        }
    };
    let prepared = Prepared {
        schema,
        document,
        operation,
        variables,
    };
    let scalar_errors = prepared
        .execution()
        .check_custom_scalars(&prepared.operation, scalar_check);
    if scalar_errors.is_empty() {
        Ok(prepared)
    } else {
        Err(GraphqlOutcome::Refused(scalar_errors))
    }
}

impl Prepared<'_> {
    /// Whether the operation is a query or a mutation.
    pub(crate) fn operation_type(&self) -> OperationType {
        self.operation.operation_type
    }

    /// Executes the operation against `root`, which must answer for the root
    /// type of [`Self::operation_type`]. Mutation fields run one after the
    /// other, in document order.
    pub(crate) fn execute(&self, root: &dyn Resolve) -> GraphqlOutcome {
        let mut execution = self.execution();
        let mut path = Vec::new();
        let data = execution
            .selection_set(
                &mut path,
                root,
                self.operation.object_type(),
                &[&self.operation.selection_set],
            )
            .ok();
        GraphqlOutcome::Executed {
            data,
            errors: execution.errors,
        }
    }

    fn execution(&self) -> Execution<'_> {
        Execution {
            schema: self.schema,
            document: &self.document,
            variables: &self.variables,
            errors: Vec::new(),
        }
    }
}

fn parse_and_validate(
    schema: &Valid<Schema>,
    query: &str,
) -> Result<Valid<ExecutableDocument>, Vec<GraphQLError>> {
    let ast = Parser::new()
        .parse_ast(query, "query.graphql")
        .map_err(|with_errors| {
            with_errors
                .errors
                .iter()
                .map(|diagnostic| diagnostic.to_json())
                .collect::<Vec<_>>()
        })?;
    ast.to_executable_validate(schema).map_err(|with_errors| {
        let written = fields_written_with_selections(&ast);
        with_errors
            .errors
            .iter()
            .filter(|diagnostic| !is_follow_on_error(diagnostic, &written))
            .map(|diagnostic| diagnostic.to_json())
            .collect()
    })
}

/// When every subfield of a field is unknown, apollo-compiler drops them
/// and then also reports the field as missing its selection set; the
/// document did have one, so only the unknown fields are worth reporting.
fn is_follow_on_error(
    diagnostic: &apollo_compiler::diagnostic::Diagnostic<
        '_,
        apollo_compiler::validation::DiagnosticData,
    >,
    written: &HashSet<LineColumn>,
) -> bool {
    diagnostic.error.unstable_error_name() == Some("MissingSubselection")
        && diagnostic
            .line_column_range()
            .is_some_and(|range| written.contains(&range.start))
}

/// Where the fields that have a selection set in the source text start.
fn fields_written_with_selections(document: &ast::Document) -> HashSet<LineColumn> {
    fn walk(
        selections: &[ast::Selection],
        sources: &apollo_compiler::parser::SourceMap,
        found: &mut HashSet<LineColumn>,
    ) {
        for selection in selections {
            let nested = match selection {
                ast::Selection::Field(field) => {
                    if !field.selection_set.is_empty() {
                        found.extend(field.location().and_then(|at| at.line_column(sources)));
                    }
                    &field.selection_set
                }
                ast::Selection::InlineFragment(inline) => &inline.selection_set,
                ast::Selection::FragmentSpread(_) => continue,
            };
            walk(nested, sources, found);
        }
    }
    let mut found = HashSet::new();
    for definition in &document.definitions {
        match definition {
            ast::Definition::OperationDefinition(operation) => {
                walk(&operation.selection_set, &document.sources, &mut found);
            }
            ast::Definition::FragmentDefinition(fragment) => {
                walk(&fragment.selection_set, &document.sources, &mut found);
            }
            _ => {}
        }
    }
    found
}

/// A non-null field failed: its parent must become null in turn.
struct PropagateNull;

struct Execution<'d> {
    schema: &'d Valid<Schema>,
    document: &'d Valid<ExecutableDocument>,
    variables: &'d JsonMap,
    errors: Vec<GraphQLError>,
}

impl<'d> Execution<'d> {
    fn selection_set(
        &mut self,
        path: &mut Vec<ResponseDataPathSegment>,
        object: &dyn Resolve,
        type_name: &str,
        selection_sets: &[&'d SelectionSet],
    ) -> Result<JsonMap, PropagateNull> {
        let mut grouped: Vec<(&'d apollo_compiler::Name, Vec<&'d Node<Field>>)> = Vec::new();
        for selection_set in selection_sets {
            self.collect_fields(type_name, selection_set, &mut grouped);
        }
        let mut result = JsonMap::new();
        for (response_key, fields) in grouped {
            path.push(ResponseDataPathSegment::Field(response_key.clone()));
            let value = self.field(path, object, &fields);
            path.pop();
            result.insert(response_key.as_str(), value?);
        }
        Ok(result)
    }

    /// CollectFields from the specification: fields grouped by response key
    /// in first-seen order, through fragments whose type condition applies.
    fn collect_fields(
        &self,
        type_name: &str,
        selection_set: &'d SelectionSet,
        grouped: &mut Vec<(&'d apollo_compiler::Name, Vec<&'d Node<Field>>)>,
    ) {
        for selection in &selection_set.selections {
            if !self.is_included(selection.directives()) {
                continue;
            }
            match selection {
                Selection::Field(field) => {
                    let key = field.response_key();
                    match grouped.iter_mut().find(|(existing, _)| *existing == key) {
                        Some((_, fields)) => fields.push(field),
                        None => grouped.push((key, vec![field])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name)
                        && self.applies(fragment.type_condition(), type_name)
                    {
                        self.collect_fields(type_name, &fragment.selection_set, grouped);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let applies = inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|condition| self.applies(condition, type_name));
                    if applies {
                        self.collect_fields(type_name, &inline.selection_set, grouped);
                    }
                }
            }
        }
    }

    fn applies(&self, condition: &str, type_name: &str) -> bool {
        condition == type_name || self.schema.is_subtype(condition, type_name)
    }

    fn is_included(&self, directives: &ast::DirectiveList) -> bool {
        let condition = |name: &str| {
            directives
                .get(name)
                .and_then(|directive| directive.specified_argument_by_name("if"))
                .map(|value| self.literal(value).as_bool().unwrap_or(false))
        };
        condition("skip") != Some(true) && condition("include") != Some(false)
    }

    fn field(
        &mut self,
        path: &mut Vec<ResponseDataPathSegment>,
        object: &dyn Resolve,
        fields: &[&'d Node<Field>],
    ) -> Result<JsonValue, PropagateNull> {
        let field = fields[0];
        if field.name == "__typename" {
            return Ok(object.type_name().into());
        }
        let arguments = self.arguments(field);
        let call = FieldCall {
            name: field.name.as_str(),
            arguments: &arguments,
        };
        match object.resolve_field(&call) {
            Ok(resolved) => self.complete(path, &field.definition.ty, fields, resolved, object),
            Err(error) => {
                self.report(error, field, path);
                null_unless_required(&field.definition.ty)
            }
        }
    }

    fn complete(
        &mut self,
        path: &mut Vec<ResponseDataPathSegment>,
        ty: &Type,
        fields: &[&'d Node<Field>],
        resolved: Resolved<'_>,
        parent: &dyn Resolve,
    ) -> Result<JsonValue, PropagateNull> {
        match resolved {
            Resolved::Leaf(JsonValue::Null) => {
                if ty.is_non_null() {
                    let message = format!(
                        "Cannot return null for non-nullable field {}.{}",
                        parent.type_name(),
                        fields[0].name
                    );
                    self.report(FieldError::new(message, "invalid_null"), fields[0], path);
                }
                null_unless_required(ty)
            }
            Resolved::Leaf(value) => Ok(value),
            Resolved::List(items) => {
                let item_type = ty.item_type();
                let mut values = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    path.push(ResponseDataPathSegment::ListIndex(index));
                    let value = self.complete(path, item_type, fields, item, parent);
                    path.pop();
                    match value {
                        Ok(value) => values.push(value),
                        Err(PropagateNull) => return null_unless_required(ty),
                    }
                }
                Ok(JsonValue::Array(values))
            }
            Resolved::Object(object) => {
                let selection_sets: Vec<&'d SelectionSet> =
                    fields.iter().map(|field| &field.selection_set).collect();
                match self.selection_set(path, object.as_ref(), object.type_name(), &selection_sets)
                {
                    Ok(map) => Ok(JsonValue::Object(map)),
                    Err(PropagateNull) => null_unless_required(ty),
                }
            }
        }
    }

    fn report(&mut self, error: FieldError, field: &Node<Field>, path: &[ResponseDataPathSegment]) {
        let mut graphql_error =
            GraphQLError::new(error.message, field.location(), &self.document.sources);
        graphql_error.path = path.to_vec();
        if let Some(code) = error.code {
            graphql_error.extensions.insert("code", code.into());
        }
        self.errors.push(graphql_error);
    }

    /// CoerceArgumentValues: given values, variables, then defaults.
    fn arguments(&self, field: &Field) -> JsonMap {
        let mut coerced = JsonMap::new();
        for definition in &field.definition.arguments {
            let given = field
                .arguments
                .iter()
                .find(|argument| argument.name == definition.name)
                .map(|argument| &argument.value);
            let value = match given.map(|value| value.as_ref()) {
                Some(ast::Value::Variable(name)) => self.variables.get(name.as_str()).cloned(),
                Some(literal) => Some(self.literal(literal)),
                None => None,
            }
            .or_else(|| {
                definition
                    .default_value
                    .as_ref()
                    .map(|value| self.literal(value))
            });
            if let Some(value) = value {
                coerced.insert(definition.name.as_str(), value);
            }
        }
        coerced
    }

    /// A value from the document as JSON, with variables replaced by their values.
    fn literal(&self, value: &ast::Value) -> JsonValue {
        match value {
            ast::Value::Null => JsonValue::Null,
            ast::Value::Enum(name) => name.as_str().into(),
            ast::Value::Variable(name) => self
                .variables
                .get(name.as_str())
                .cloned()
                .unwrap_or_default(),
            ast::Value::String(text) => text.as_str().into(),
            ast::Value::Float(float) => float.try_to_f64().map(JsonValue::from).unwrap_or_default(),
            ast::Value::Int(int) => int
                .try_to_i32()
                .map(JsonValue::from)
                .or_else(|_| int.try_to_f64().map(JsonValue::from))
                .unwrap_or_default(),
            ast::Value::Boolean(flag) => (*flag).into(),
            ast::Value::List(items) => {
                JsonValue::Array(items.iter().map(|item| self.literal(item)).collect())
            }
            ast::Value::Object(entries) => JsonValue::Object(
                entries
                    .iter()
                    .map(|(name, item)| (name.as_str().into(), self.literal(item)))
                    .collect(),
            ),
        }
    }

    /// Custom scalars accept any JSON during validation and variable
    /// coercion; check their values here, before execution, as the server
    /// does during its own validation.
    fn check_custom_scalars(
        &self,
        operation: &'d Operation,
        check: ScalarCheck,
    ) -> Vec<GraphQLError> {
        let mut errors = Vec::new();
        for definition in &operation.variables {
            let scalar = definition.ty.inner_named_type();
            if !self.is_custom_scalar(scalar) {
                continue;
            }
            let value = self.variables.get(definition.name.as_str());
            if value.is_some_and(|value| !scalar_values_pass(value, scalar, check)) {
                let message = format!(
                    "Variable ${} of type {} was provided invalid value",
                    definition.name, definition.ty
                );
                errors.push(GraphQLError::new(
                    message,
                    definition.location(),
                    &self.document.sources,
                ));
            }
        }
        let mut selection_sets = vec![&operation.selection_set];
        selection_sets.extend(
            self.document
                .fragments
                .values()
                .map(|fragment| &fragment.selection_set),
        );
        for selection_set in selection_sets {
            self.check_literal_scalars(selection_set, check, &mut errors);
        }
        errors
    }

    fn check_literal_scalars(
        &self,
        selection_set: &SelectionSet,
        check: ScalarCheck,
        errors: &mut Vec<GraphQLError>,
    ) {
        for selection in &selection_set.selections {
            match selection {
                Selection::Field(field) => {
                    for argument in &field.arguments {
                        let Some(definition) = field.definition.argument_by_name(&argument.name)
                        else {
                            continue;
                        };
                        let scalar = definition.ty.inner_named_type();
                        if !self.is_custom_scalar(scalar) || argument.value.as_variable().is_some()
                        {
                            continue;
                        }
                        if !scalar_values_pass(&self.literal(&argument.value), scalar, check) {
                            let message = format!(
                                "Argument '{}' on Field '{}' has an invalid value ({}). Expected type '{}'.",
                                argument.name, field.name, argument.value, definition.ty
                            );
                            errors.push(GraphQLError::new(
                                message,
                                argument.location(),
                                &self.document.sources,
                            ));
                        }
                    }
                    self.check_literal_scalars(&field.selection_set, check, errors);
                }
                Selection::InlineFragment(inline) => {
                    self.check_literal_scalars(&inline.selection_set, check, errors);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    fn is_custom_scalar(&self, name: &str) -> bool {
        matches!(self.schema.types.get(name), Some(ty @ ExtendedType::Scalar(_)) if !ty.is_built_in())
    }
}

fn scalar_values_pass(value: &JsonValue, scalar: &str, check: ScalarCheck) -> bool {
    match value {
        JsonValue::Null => true,
        JsonValue::Array(items) => items
            .iter()
            .all(|item| scalar_values_pass(item, scalar, check)),
        other => check(scalar, other),
    }
}

fn null_unless_required(ty: &Type) -> Result<JsonValue, PropagateNull> {
    if ty.is_non_null() {
        Err(PropagateNull)
    } else {
        Ok(JsonValue::Null)
    }
}

impl GraphqlOutcome {
    /// The response body: `errors` first when there are any, then `data`
    /// unless the request was refused before execution.
    pub(crate) fn to_json(&self) -> JsonValue {
        let mut body = JsonMap::new();
        let (errors, data) = match self {
            Self::Refused(errors) => (errors, None),
            Self::Executed { data, errors } => (
                errors,
                Some(data.clone().map(JsonValue::Object).unwrap_or_default()),
            ),
        };
        if !errors.is_empty() {
            let errors = errors.iter().map(serde_json_bytes_value).collect();
            body.insert("errors", JsonValue::Array(errors));
        }
        if let Some(data) = data {
            body.insert("data", data);
        }
        JsonValue::Object(body)
    }
}

fn serde_json_bytes_value(error: &GraphQLError) -> JsonValue {
    apollo_compiler::response::serde_json_bytes::to_value(error)
        .expect("a graphql error is plain json")
}
