//! The JSON bodies the REST module answers with, always under HTTP 200: the
//! outcome is in `error` (0 for success) and `txterr`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::request::MalformedRequest;
use super::tables::DivaltoRecord;
use super::tokens::IssuedToken;
use crate::paris_time;

/// `error` of an authentication refused for its user, password, domain or environment.
pub const ERROR_AUTHENTICATION: i64 = 1;
/// `error` of a body that cannot be read (not JSON, a space in a tag name, a wrong type).
pub const ERROR_MALFORMED_REQUEST: i64 = 2;
/// `error` of an unknown field, WHERE, ORDER BY or HAVING name.
pub const ERROR_UNKNOWN_NAME: i64 = 3;
/// `error` of an unknown, expired or revoked access token (undocumented upstream).
pub const ERROR_INVALID_TOKEN: i64 = 5;
/// `error` of a (dhoq, recordsql) pair missing from the authorised list.
pub const ERROR_NOT_AUTHORISED: i64 = 54;

/// Why a call was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("erreur d'authentification : utilisateur ou mot de passe incorrect")]
    BadCredentials,
    #[error("erreur d'authentification : environnement '{0}' inconnu")]
    UnknownEnvironment(String),
    #[error("erreur : requête invalide : {0}")]
    Malformed(#[from] MalformedRequest),
    #[error("erreur : jeton invalide ou expiré")]
    InvalidToken,
    /// The text quotes the `recordsql` value, as in the documented example
    /// where an empty `recordsql` gives `dhoq ''`.
    #[error("erreur : dhoq '{0}' non autorisé")]
    NotAuthorised(String),
    #[error("erreur : champ '{0}' inconnu")]
    UnknownField(String),
    #[error("erreur : {kind} '{name}' inconnu dans le recordsql")]
    UnknownClause { kind: &'static str, name: String },
}

impl Refusal {
    fn code(&self) -> i64 {
        match self {
            Self::BadCredentials | Self::UnknownEnvironment(_) => ERROR_AUTHENTICATION,
            Self::Malformed(_) => ERROR_MALFORMED_REQUEST,
            Self::InvalidToken => ERROR_INVALID_TOKEN,
            Self::NotAuthorised(_) => ERROR_NOT_AUTHORISED,
            Self::UnknownField(_) | Self::UnknownClause { .. } => ERROR_UNKNOWN_NAME,
        }
    }
}

/// `{"error":0,"access_token":…,"txterr":"","infos":""}`.
pub(crate) fn authenticated(token: &str) -> Value {
    json!({ "error": 0, "access_token": token, "txterr": "", "infos": "" })
}

/// A refused authentication: an empty token and the reason.
pub(crate) fn authentication_refused(refusal: &Refusal) -> Value {
    json!({
        "error": refusal.code(),
        "access_token": "",
        "txterr": refusal.to_string(),
        "infos": "",
    })
}

/// A successful RecordSql answer.
pub(crate) fn records(tablename: &str, records: Vec<DivaltoRecord>, infos: String) -> Value {
    let wrapped: Vec<Value> = records
        .into_iter()
        .map(|record| json!({ "record": record }))
        .collect();
    json!({
        "error": 0,
        "txterr": "",
        "tablename": tablename,
        "nbrecord": wrapped.len(),
        "records": wrapped,
        "infos": infos,
    })
}

/// A refused RecordSql call: `records` is null.
pub(crate) fn record_sql_refused(refusal: &Refusal) -> Value {
    json!({
        "error": refusal.code(),
        "txterr": refusal.to_string(),
        "tablename": "",
        "nbrecord": 0,
        "records": null,
        "infos": "",
    })
}

/// The `<infostoken>1` report, JSON encoded inside a string.
pub(crate) fn token_infos(token: &IssuedToken) -> String {
    let stamp = |instant: DateTime<Utc>| instant.format("%Y%m%d%H%M%S").to_string();
    json!({
        "InfosToken": {
            "ExpireLocalTime": paris_time::at(token.expires_utc).format("%Y%m%d%H%M%S").to_string(),
            "ExpireUtcTime": stamp(token.expires_utc),
            "ExpireMinutes": (token.lifetime.as_secs() / 60).to_string(),
            "ExpireLocalTimeName": "Romance Standard Time",
            "Env": token.holder.env,
            "User": token.holder.user,
            "Domain": token.holder.domain,
        }
    })
    .to_string()
}
