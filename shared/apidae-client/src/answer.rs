//! Turns the HTTP answer of a write call into a report, a refused token, or a
//! classified [`UpstreamError`], without I/O.
//!
//! In order: a 429 is [`UpstreamError::RateLimited`]; a 401, or a body `{"error":
//! "invalid_token"}`, is a refused token; a JSON body with an `errorType` is permanent
//! by type ([`error_type_reason`]), except an unknown type on a 5xx, which stays
//! transient; `status: NO_ACTION` is permanent [`PermanentReason::NoAction`]; any other
//! 5xx is transient; a 3xx is a redirect; a 200 whose `status` is the expected success
//! is the report; anything else is [`PermanentReason::InvalidResponse`].

use crate::report::{WriteReport, WriteStatus};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Map, Value};
use upstream_http::{Answer, PermanentReason, TransientReason, UpstreamError, excerpt, redact};

/// The `status` of a call that failed its checks.
const NO_ACTION: &str = "NO_ACTION";
/// The OAuth error of a token the server does not accept.
const INVALID_TOKEN: &str = "invalid_token";

/// What the API said about a write call that did not fail outright.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// HTTP 200 with the expected success `status`.
    Done(WriteReport),
    /// The access token was not accepted; the text says how, secrets masked.
    TokenRefused(String),
}

/// The shared reason an Apidae `errorType` stands for: `ECRITURE_FORBIDDEN` (the
/// project lacks the rights, or does not own the descriptor) is
/// [`PermanentReason::Forbidden`]; `ECRITURE_BAD_REQUEST` (the form field
/// `donneesPrivees` was missing) and `ECRITURE_INVALID_JSON_DATA` (the JSON was not in
/// the expected format) are [`PermanentReason::BadRequest`]; any other type is
/// [`PermanentReason::Refused`]. The type itself goes into the error's `code`.
pub fn error_type_reason(error_type: &str) -> PermanentReason {
    match error_type {
        "ECRITURE_FORBIDDEN" => PermanentReason::Forbidden,
        "ECRITURE_BAD_REQUEST" | "ECRITURE_INVALID_JSON_DATA" => PermanentReason::BadRequest,
        _ => PermanentReason::Refused,
    }
}

/// The verdict of one write answer. `secrets` are masked in every text taken from the
/// body.
pub(crate) fn classify(
    answer: &Answer,
    expected: WriteStatus,
    secrets: &[&str],
) -> Result<Verdict, UpstreamError> {
    let (status, body) = (answer.status, answer.body.as_slice());
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(UpstreamError::RateLimited {
            reset_at: answer.reset_at(Utc::now()),
        });
    }
    let object = json_object(body);
    let oauth_error = object.as_ref().and_then(|object| text(object, "error"));
    if status == StatusCode::UNAUTHORIZED || oauth_error == Some(INVALID_TOKEN) {
        let detail = match object.as_ref() {
            Some(object) => oauth_detail(object),
            None => excerpt(body, secrets),
        };
        return Ok(Verdict::TokenRefused(format!(
            "http {status}: {}",
            redact(&detail, secrets)
        )));
    }
    if let Some(error) = object
        .as_ref()
        .and_then(|object| refusal(status, object, secrets))
    {
        return Err(error);
    }
    let detail = || format!("http {status}: {}", excerpt(body, secrets));
    match status.as_u16() {
        500..=599 => {
            return Err(UpstreamError::transient(
                TransientReason::ServerError,
                detail(),
            ));
        }
        408 => return Err(UpstreamError::transient(TransientReason::Timeout, detail())),
        300..=399 => return Err(answer.redirect()),
        _ => {}
    }
    let Some(object) = object else {
        return Err(UpstreamError::invalid_response(format!(
            "the answer is not json: {}",
            detail()
        )));
    };
    let answered = text(&object, "status");
    if status != StatusCode::OK || answered != Some(expected.as_str()) {
        return Err(UpstreamError::invalid_response(format!(
            "expected http 200 with status {}, got http {status} with status {}",
            expected.as_str(),
            answered.map_or_else(|| "none".to_owned(), |s| redact(s, secrets)),
        )));
    }
    Ok(Verdict::Done(WriteReport {
        updated: updated_ids(&object)?,
        status: expected,
    }))
}

/// The error a JSON body states: an `errorType`, or `status: NO_ACTION`.
fn refusal(
    status: StatusCode,
    object: &Map<String, Value>,
    secrets: &[&str],
) -> Option<UpstreamError> {
    let message = text(object, "message").map(|message| redact(message, secrets));
    if let Some(error_type) = text(object, "errorType") {
        let reason = error_type_reason(error_type);
        let message = message.unwrap_or_else(|| "no message".to_owned());
        // A type we do not name, on a 5xx, is the server failing, not a refusal.
        if status.is_server_error() && reason == PermanentReason::Refused {
            return Some(UpstreamError::transient(
                TransientReason::ServerError,
                format!("http {status}: {error_type}: {message}"),
            ));
        }
        return Some(UpstreamError::permanent_with_code(
            reason, error_type, message,
        ));
    }
    (text(object, "status") == Some(NO_ACTION)).then(|| {
        UpstreamError::permanent(
            PermanentReason::NoAction,
            message.unwrap_or_else(|| "no action, no message".to_owned()),
        )
    })
}

/// The `id` array; absent or null reads as empty.
fn updated_ids(object: &Map<String, Value>) -> Result<Vec<u64>, UpstreamError> {
    match object.get("id") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| {
                id.as_u64().ok_or_else(|| {
                    UpstreamError::invalid_response(format!(
                        "the id array holds {id}, not an object id"
                    ))
                })
            })
            .collect(),
        Some(other) => Err(UpstreamError::invalid_response(format!(
            "the id field is {other}, not an array"
        ))),
    }
}

/// `error: error_description` of an OAuth error body.
fn oauth_detail(object: &Map<String, Value>) -> String {
    match (text(object, "error"), text(object, "error_description")) {
        (Some(error), Some(description)) => format!("{error}: {description}"),
        (Some(error), None) => error.to_owned(),
        (None, _) => "the access token was refused".to_owned(),
    }
}

pub(crate) fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

pub(crate) fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    object.get(name)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use reqwest::header::{HeaderMap, HeaderValue};

    const TOMCAT_503: &str = "<!doctype html><html lang=\"en\"><head><title>HTTP Status 503 – \
        Service Unavailable</title></head><body><h1>HTTP Status 503 – Service Unavailable</h1>\
        </body></html>";

    fn answer(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    fn run(status: u16, body: &str, expected: WriteStatus) -> Result<Verdict, UpstreamError> {
        classify(&answer(status, &[], body), expected, &["tok-secret"])
    }

    fn outcome(status: u16, body: &str) -> String {
        match run(status, body, WriteStatus::Modified) {
            Ok(Verdict::Done(_)) => "done".into(),
            Ok(Verdict::TokenRefused(_)) => "token_refused".into(),
            Err(UpstreamError::Transient { reason, .. }) => reason.as_str().into(),
            Err(UpstreamError::RateLimited { .. }) => "rate_limited".into(),
            Err(UpstreamError::Permanent { reason, .. }) => reason.as_str().into(),
        }
    }

    #[test]
    fn error_types_map_to_shared_reasons() {
        for (error_type, reason) in [
            ("ECRITURE_FORBIDDEN", PermanentReason::Forbidden),
            ("ECRITURE_BAD_REQUEST", PermanentReason::BadRequest),
            ("ECRITURE_INVALID_JSON_DATA", PermanentReason::BadRequest),
            ("OBJET_TOURISTIQUE_NOT_FOUND", PermanentReason::Refused),
            ("ecriture_forbidden", PermanentReason::Refused),
        ] {
            assert_eq!(error_type_reason(error_type), reason, "{error_type}");
        }
    }

    #[test]
    fn answers_are_classified() {
        let modified = r#"{"id":[111111,222222],"status":"MODIFICATION_DONNEES_PRIVEES"}"#;
        let cases = [
            ("put done", 200, modified, "done"),
            (
                "put done without id",
                200,
                r#"{"status":"MODIFICATION_DONNEES_PRIVEES"}"#,
                "done",
            ),
            (
                "delete status on a put",
                200,
                r#"{"id":[],"status":"SUPPRESSION_DONNEES_PRIVEES"}"#,
                "invalid_response",
            ),
            ("success status on a 201", 201, modified, "invalid_response"),
            ("success status on a 500", 500, modified, "server_error"),
            (
                "unknown status",
                200,
                r#"{"status":"PEUT_ETRE"}"#,
                "invalid_response",
            ),
            ("no status", 200, r#"{"id":[1]}"#, "invalid_response"),
            (
                "ids not integers",
                200,
                r#"{"id":["1"],"status":"MODIFICATION_DONNEES_PRIVEES"}"#,
                "invalid_response",
            ),
            (
                "no action",
                200,
                r#"{"status":"NO_ACTION","message":"trop"}"#,
                "no_action",
            ),
            (
                "no action on a 400",
                400,
                r#"{"status":"NO_ACTION"}"#,
                "no_action",
            ),
            (
                "forbidden",
                403,
                r#"{"errorType":"ECRITURE_FORBIDDEN","message":"non"}"#,
                "forbidden",
            ),
            (
                "forbidden on a 200",
                200,
                r#"{"errorType":"ECRITURE_FORBIDDEN","message":"non"}"#,
                "forbidden",
            ),
            (
                "bad request",
                400,
                r#"{"errorType":"ECRITURE_BAD_REQUEST","message":"m"}"#,
                "bad_request",
            ),
            (
                "invalid json",
                400,
                r#"{"errorType":"ECRITURE_INVALID_JSON_DATA","message":"m"}"#,
                "bad_request",
            ),
            (
                "known type on a 500",
                500,
                r#"{"errorType":"ECRITURE_INVALID_JSON_DATA"}"#,
                "bad_request",
            ),
            (
                "other type",
                400,
                r#"{"errorType":"OBJET_TOURISTIQUE_NOT_FOUND","message":"m"}"#,
                "refused",
            ),
            (
                "other type on a 500",
                500,
                r#"{"errorType":"ERREUR_TECHNIQUE"}"#,
                "server_error",
            ),
            (
                "error type wins over no action",
                400,
                r#"{"status":"NO_ACTION","errorType":"ECRITURE_FORBIDDEN"}"#,
                "forbidden",
            ),
            (
                "401 oauth",
                401,
                r#"{"error":"invalid_token","error_description":"expired"}"#,
                "token_refused",
            ),
            ("401 empty", 401, "", "token_refused"),
            (
                "invalid token on a 400",
                400,
                r#"{"error":"invalid_token"}"#,
                "token_refused",
            ),
            ("503 tomcat html", 503, TOMCAT_503, "server_error"),
            ("500 tomcat html", 500, TOMCAT_503, "server_error"),
            ("503 plain text", 503, "Service Unavailable", "server_error"),
            ("502 empty", 502, "", "server_error"),
            ("429", 429, "slow down", "rate_limited"),
            ("408", 408, "", "timeout"),
            ("302", 302, "", "redirect"),
            ("200 html", 200, "<html>ok</html>", "invalid_response"),
            ("200 empty", 200, "", "invalid_response"),
            ("200 json array", 200, "[1]", "invalid_response"),
            (
                "404 html",
                404,
                "<html>Not Found</html>",
                "invalid_response",
            ),
            (
                "400 json without type",
                400,
                r#"{"foo":1}"#,
                "invalid_response",
            ),
        ];
        for (name, status, body, expected) in cases {
            assert_eq!(outcome(status, body), expected, "{name}");
        }
    }

    #[test]
    fn a_success_reports_the_answered_ids() {
        let verdict = run(
            200,
            r#"{"id":[111111],"status":"SUPPRESSION_DONNEES_PRIVEES"}"#,
            WriteStatus::Deleted,
        );
        assert_eq!(
            verdict,
            Ok(Verdict::Done(WriteReport {
                updated: vec![111111],
                status: WriteStatus::Deleted
            }))
        );
    }

    #[test]
    fn refusals_keep_the_raw_message_and_error_type() {
        let message =
            "La liste des objets à modifier est trop importante. Max attendus : 50 - Reçus : 52";
        let body = serde_json::json!({"status": "NO_ACTION", "message": message}).to_string();
        assert_eq!(
            run(200, &body, WriteStatus::Modified),
            Err(UpstreamError::Permanent {
                reason: PermanentReason::NoAction,
                code: None,
                message: message.into()
            })
        );
        assert_eq!(
            run(
                400,
                r#"{"errorType":"CANCEL_FAILED","message":"échec"}"#,
                WriteStatus::Deleted
            ),
            Err(UpstreamError::Permanent {
                reason: PermanentReason::Refused,
                code: Some("CANCEL_FAILED".into()),
                message: "échec".into()
            })
        );
        assert_eq!(
            run(
                400,
                r#"{"errorType":"ECRITURE_INVALID_JSON_DATA","message":"m"}"#,
                WriteStatus::Modified
            ),
            Err(UpstreamError::Permanent {
                reason: PermanentReason::BadRequest,
                code: Some("ECRITURE_INVALID_JSON_DATA".into()),
                message: "m".into()
            })
        );
        let error = run(
            400,
            r#"{"errorType":"ECRITURE_BAD_REQUEST","message":"Paramètre 'donneesPrivees' manquant dans la requête"}"#,
            WriteStatus::Modified,
        )
        .expect_err("a bad request");
        assert_eq!(
            error.to_string(),
            "permanent upstream failure (bad_request, ECRITURE_BAD_REQUEST): \
             Paramètre 'donneesPrivees' manquant dans la requête"
        );
    }

    #[test]
    fn secrets_never_reach_the_error() {
        for (status, body) in [
            (200, "<html>tok-secret</html>"),
            (503, "down tok-secret"),
            (
                403,
                r#"{"errorType":"ECRITURE_FORBIDDEN","message":"tok-secret"}"#,
            ),
        ] {
            let error = run(status, body, WriteStatus::Modified).expect_err("a failure");
            assert!(!error.to_string().contains("tok-secret"), "{error}");
        }
        let Ok(Verdict::TokenRefused(detail)) = run(
            401,
            r#"{"error":"invalid_token","error_description":"Invalid access token: tok-secret"}"#,
            WriteStatus::Modified,
        ) else {
            panic!("a refused token");
        };
        assert_eq!(
            detail,
            "http 401 Unauthorized: invalid_token: Invalid access token: [redacted]"
        );
    }

    #[test]
    fn a_429_is_rate_limited_until_the_answered_reset() {
        let throttled = answer(
            429,
            &[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")],
            "slow down",
        );
        assert_eq!(
            classify(&throttled, WriteStatus::Modified, &[]),
            Err(UpstreamError::RateLimited {
                reset_at: DateTime::from_timestamp(784_111_777, 0)
            })
        );
        assert_eq!(
            classify(&answer(429, &[], ""), WriteStatus::Modified, &[]),
            Err(UpstreamError::RateLimited { reset_at: None })
        );
    }

    #[test]
    fn a_redirect_names_its_location() {
        let moved = answer(301, &[("location", "https://elsewhere.test/")], "");
        let Err(error) = classify(&moved, WriteStatus::Modified, &[]) else {
            panic!("a redirect");
        };
        assert_eq!(error, moved.redirect());
        assert!(error.to_string().contains("elsewhere.test"), "{error}");
    }
}
