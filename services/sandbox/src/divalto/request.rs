//! Reading the JSON bodies of `Authent/Auth` and `RecordSql/Execute` the way
//! the REST module does: tag names must not hold spaces, values are trimmed,
//! and unknown tags are ignored.

use secrecy::SecretString;
use serde_json::{Map, Value};

/// Why a body cannot be read; the texts are the server's (French).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum MalformedRequest {
    /// The body is not JSON.
    #[error("le corps de la requête n'est pas du json valide")]
    NotJson,
    /// The body is JSON but not an object.
    #[error("le corps de la requête doit être un objet json")]
    NotAnObject,
    /// A tag name holds a space, e.g. `"dhoq "`.
    #[error("balise '{0}' invalide : les espaces sont interdits dans les noms de balises")]
    SpaceInTag(String),
    /// A tag holds a value of the wrong type.
    #[error("valeur invalide pour la balise '{0}'")]
    WrongType(&'static str),
}

/// The fields of an authentication request.
#[derive(Debug)]
pub(crate) struct AuthRequest {
    pub(crate) domain: String,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) env: String,
}

/// Which fields to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldSelection {
    /// `*` or empty: every field.
    All,
    /// These upper-case names, in the order given.
    Only(Vec<String>),
}

/// The fields of a RecordSql request the sandbox acts on.
#[derive(Debug)]
pub(crate) struct RecordSqlRequest {
    pub(crate) dhoq: String,
    pub(crate) recordsql: String,
    pub(crate) access_token: String,
    pub(crate) fields: FieldSelection,
    pub(crate) where_clause: String,
    pub(crate) orderby: String,
    pub(crate) having: String,
    pub(crate) offset: u64,
    pub(crate) count: u64,
    pub(crate) infos: String,
}

impl RecordSqlRequest {
    /// Whether `infos` asks for `<infostoken>1`.
    pub(crate) fn wants_token_infos(&self) -> bool {
        self.infos.split('<').skip(1).any(|flag| {
            flag.split_once('>').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("infostoken") && value.trim() == "1"
            })
        })
    }
}

/// Reads an authentication body.
pub(crate) fn parse_auth(body: &[u8]) -> Result<AuthRequest, MalformedRequest> {
    let tags = Tags::parse(body)?;
    Ok(AuthRequest {
        domain: tags.text("domain")?,
        user: tags.text("user")?,
        password: SecretString::from(tags.raw_text("password")?),
        env: tags.text("env")?,
    })
}

/// Reads a RecordSql body.
pub(crate) fn parse_record_sql(body: &[u8]) -> Result<RecordSqlRequest, MalformedRequest> {
    let tags = Tags::parse(body)?;
    Ok(RecordSqlRequest {
        dhoq: tags.text("dhoq")?,
        recordsql: tags.text("recordsql")?,
        access_token: tags.text("access_token")?,
        fields: field_selection(&tags.text("fields")?),
        where_clause: tags.text("where")?,
        orderby: tags.text("orderby")?,
        having: tags.text("having")?,
        offset: tags.number("offset")?,
        count: tags.number("count")?,
        infos: tags.text("infos")?,
    })
}

fn field_selection(fields: &str) -> FieldSelection {
    let names: Vec<String> = fields
        .split(';')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    if names.is_empty() || names.iter().any(|name| name == "*") {
        FieldSelection::All
    } else {
        FieldSelection::Only(names)
    }
}

/// The top-level tags of a body.
struct Tags(Map<String, Value>);

impl Tags {
    fn parse(body: &[u8]) -> Result<Self, MalformedRequest> {
        let value: Value = serde_json::from_slice(body).map_err(|_| MalformedRequest::NotJson)?;
        let Value::Object(tags) = value else {
            return Err(MalformedRequest::NotAnObject);
        };
        if let Some(name) = tags.keys().find(|name| name.contains(char::is_whitespace)) {
            return Err(MalformedRequest::SpaceInTag(name.clone()));
        }
        Ok(Self(tags))
    }

    /// A string tag exactly as sent; absent or null is empty.
    fn raw_text(&self, name: &'static str) -> Result<String, MalformedRequest> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(MalformedRequest::WrongType(name)),
        }
    }

    /// A string tag without surrounding spaces.
    fn text(&self, name: &'static str) -> Result<String, MalformedRequest> {
        self.raw_text(name).map(|text| text.trim().to_owned())
    }

    /// A non-negative integer, sent as a number or a string of digits;
    /// absent, null or blank is 0.
    fn number(&self, name: &'static str) -> Result<u64, MalformedRequest> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(number)) => number.as_u64().ok_or(MalformedRequest::WrongType(name)),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(0),
            Some(Value::String(text)) => text
                .trim()
                .parse()
                .map_err(|_| MalformedRequest::WrongType(name)),
            Some(_) => Err(MalformedRequest::WrongType(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn the_documented_request_is_read_with_its_blank_values() {
        let body = br#"{"dhoq":"gtrstab.dhoq","recordsql":"MODEREGLEMENT","access_token":"t",
            "parameters":" ","fields":"DOS;regl; LIB;","where":" ","where_parameters":" ",
            "offset":10,"count":"10","orderby":" ","havingc":" ","having_parameters":" ","infos":" "}"#;
        let request = parse_record_sql(body).unwrap();
        assert_eq!(request.dhoq, "gtrstab.dhoq");
        assert_eq!(
            request.fields,
            FieldSelection::Only(vec!["DOS".into(), "REGL".into(), "LIB".into()])
        );
        assert_eq!((request.offset, request.count), (10, 10));
        assert_eq!(request.where_clause, "");
        assert!(!request.wants_token_infos());
    }

    #[test]
    fn absent_paging_tags_are_zero_and_star_means_every_field() {
        let request =
            parse_record_sql(br#"{"fields":"*","infos":"<perf>1<InfosToken>1"}"#).unwrap();
        assert_eq!((request.offset, request.count), (0, 0));
        assert_eq!(request.fields, FieldSelection::All);
        assert!(request.wants_token_infos());
    }

    #[test]
    fn a_space_in_a_tag_name_is_refused() {
        assert_eq!(
            parse_record_sql(br#"{"dhoq ":"gtrsart.dhoq"}"#).unwrap_err(),
            MalformedRequest::SpaceInTag("dhoq ".into())
        );
    }

    #[test]
    fn bodies_that_are_not_objects_or_have_wrong_types_are_refused() {
        assert_eq!(
            parse_record_sql(b"dhoq=x").unwrap_err(),
            MalformedRequest::NotJson
        );
        assert_eq!(
            parse_record_sql(b"[1]").unwrap_err(),
            MalformedRequest::NotAnObject
        );
        assert_eq!(
            parse_record_sql(br#"{"count":-1}"#).unwrap_err(),
            MalformedRequest::WrongType("count")
        );
        assert_eq!(
            parse_record_sql(br#"{"dhoq":3}"#).unwrap_err(),
            MalformedRequest::WrongType("dhoq")
        );
    }

    #[test]
    fn the_password_is_kept_as_sent() {
        let auth = parse_auth(br#"{"user":" u@d ","password":" p ","env":"E"}"#).unwrap();
        assert_eq!(auth.user, "u@d");
        assert_eq!(auth.password.expose_secret(), " p ");
        assert_eq!(auth.domain, "");
    }
}
