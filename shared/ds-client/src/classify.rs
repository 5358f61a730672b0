//! Turns an HTTP answer into the GraphQL `data` or a classified [`UpstreamError`],
//! without I/O.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use upstream_http::{Answer, PermanentReason, TransientReason, UpstreamError, excerpt};

/// GraphQL error codes that a later retry may clear; any other code is final.
const TRANSIENT_CODES: [(&str, TransientReason); 2] = [
    ("timeout", TransientReason::GraphqlTimeout),
    (
        "internal_server_error",
        TransientReason::GraphqlInternalError,
    ),
];

/// The GraphQL response envelope, success or failure. `data` is kept as the text it
/// came as: callers read only what they need from it.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    #[serde(default)]
    code: Option<Value>,
}

impl GraphqlError {
    fn code(&self) -> Option<&str> {
        self.extensions.as_ref()?.code.as_ref()?.as_str()
    }

    fn transient_reason(&self) -> Option<TransientReason> {
        let code = self.code()?;
        TRANSIENT_CODES
            .iter()
            .find(|(transient, _)| *transient == code)
            .map(|(_, reason)| *reason)
    }
}

/// Classifies one answer of the GraphQL endpoint. On success, returns the `data` member
/// as its JSON text (never `null`);
/// `now` anchors a relative `Retry-After`, and `secrets` are masked in any excerpt of
/// the body.
pub(crate) fn classify(
    answer: &Answer,
    now: DateTime<Utc>,
    secrets: &[&str],
) -> Result<Box<RawValue>, UpstreamError> {
    let status = answer.status;
    if status.is_success() {
        return graphql_data(&answer.body, secrets);
    }
    if status.is_redirection() {
        return Err(answer.redirect());
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(UpstreamError::RateLimited {
            reset_at: answer.reset_at(now),
        });
    }
    let (code, message) = describe_failure(status, &answer.body, secrets);
    if status.is_server_error() {
        return Err(UpstreamError::transient(
            TransientReason::ServerError,
            with_code(message, code.as_deref()),
        ));
    }
    let reason = match status {
        StatusCode::REQUEST_TIMEOUT => {
            return Err(UpstreamError::transient(TransientReason::Timeout, message));
        }
        StatusCode::BAD_REQUEST => PermanentReason::BadRequest,
        StatusCode::UNAUTHORIZED => PermanentReason::Unauthorized,
        StatusCode::FORBIDDEN => PermanentReason::Forbidden,
        _ => {
            return Err(UpstreamError::permanent_with_code(
                PermanentReason::UnexpectedStatus,
                status.as_u16(),
                with_code(message, code.as_deref()),
            ));
        }
    };
    Err(UpstreamError::Permanent {
        reason,
        code,
        message,
    })
}

/// A 2xx answer: the envelope must parse, carry no top-level error and carry `data`.
fn graphql_data(body: &[u8], secrets: &[&str]) -> Result<Box<RawValue>, UpstreamError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|error| {
        UpstreamError::invalid_response(format!(
            "response body is not graphql json ({error}): {}",
            excerpt(body, secrets)
        ))
    })?;
    if let Some(failure) = graphql_errors(&envelope.errors) {
        return Err(failure);
    }
    envelope
        .data
        .ok_or_else(|| UpstreamError::invalid_response("response carries neither data nor errors"))
}

/// Any top-level error fails the call, even beside partial data. It is transient only
/// when every error has a transient code; otherwise the first final error decides.
fn graphql_errors(errors: &[GraphqlError]) -> Option<UpstreamError> {
    let first = errors.first()?;
    let others = match errors.len() - 1 {
        0 => String::new(),
        count => format!(" (and {count} more errors)"),
    };
    match errors
        .iter()
        .find(|error| error.transient_reason().is_none())
    {
        Some(fatal) => Some(UpstreamError::Permanent {
            reason: refusal_reason(fatal.code()),
            code: fatal.code().map(str::to_owned),
            message: format!("{}{others}", fatal.message),
        }),
        None => Some(UpstreamError::transient(
            first.transient_reason()?,
            with_code(format!("{}{others}", first.message), first.code()),
        )),
    }
}

/// What a GraphQL error in a 2xx answer says: `unauthorized` and `forbidden` are
/// permission refusals (an object hidden from the token, such as "An object of type
/// Demarche was hidden due to permissions"), like a 403; any other code is the API
/// refusing the query.
fn refusal_reason(code: Option<&str>) -> PermanentReason {
    match code {
        Some("unauthorized" | "forbidden") => PermanentReason::Forbidden,
        _ => PermanentReason::Refused,
    }
}

/// The code and message of an error answer: from the API's JSON error body when it has
/// one, else the status and an excerpt of whatever came back, `secrets` masked.
fn describe_failure(status: StatusCode, body: &[u8], secrets: &[&str]) -> (Option<String>, String) {
    let first_error = serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|envelope| envelope.errors.into_iter().next());
    match first_error {
        Some(error) => (
            error.code().map(str::to_owned),
            format!("http {status}: {}", error.message),
        ),
        None => (None, format!("http {status}: {}", excerpt(body, secrets))),
    }
}

fn with_code(message: String, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{message} [{code}]"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    use serde_json::json;

    /// A fixed "now" so relative headers give exact instants.
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).expect("a valid instant")
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("a valid instant")
    }

    fn headers(pairs: &[Header]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    fn run(status: u16, pairs: &[Header], body: &str) -> Result<Box<RawValue>, UpstreamError> {
        let answer = Answer {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers: headers(pairs),
            body: body.as_bytes().to_vec(),
        };
        classify(&answer, now(), &[TOKEN])
    }

    /// What a case must come out as, without pinning the wording of messages.
    #[derive(Debug, PartialEq)]
    enum Outcome<'a> {
        Data,
        Transient(TransientReason),
        RateLimited(Option<DateTime<Utc>>),
        Permanent(PermanentReason, Option<&'a str>),
    }

    fn outcome(result: &Result<Box<RawValue>, UpstreamError>) -> Outcome<'_> {
        match result {
            Ok(_) => Outcome::Data,
            Err(UpstreamError::Transient { reason, .. }) => Outcome::Transient(*reason),
            Err(UpstreamError::RateLimited { reset_at }) => Outcome::RateLimited(*reset_at),
            Err(UpstreamError::Permanent { reason, code, .. }) => {
                Outcome::Permanent(*reason, code.as_deref())
            }
        }
    }

    /// name, status, headers, body, expected outcome
    type Case = (&'static str, u16, Vec<Header>, String, Outcome<'static>);
    type Header = (&'static str, &'static str);

    const COWBOY: &str =
        "Calme toi, cowboy ! / Calm down, cowboy! You're making too many requests.";
    const DATA: &str = r#"{"data":{"demarche":{"number":1}}}"#;
    /// The token of [`run`]'s calls, masked wherever a body echoes it.
    const TOKEN: &str = "dG9rZW4tc2VjcmV0";

    #[test]
    fn every_documented_answer_shape_gets_its_decision() {
        use Outcome::*;
        use PermanentReason as P;
        use TransientReason as T;
        let cases: Vec<Case> = vec![
            ("plain success", 200, vec![], DATA.into(), Data),
            (
                "success with an empty errors list",
                200,
                vec![],
                r#"{"data":{"a":1},"errors":[]}"#.into(),
                Data,
            ),
            (
                "not found error",
                200,
                vec![],
                json!({"data": null, "errors": [{"message": "Demarche not found", "extensions": {"code": "not_found"}}]}).to_string(),
                Permanent(P::Refused, Some("not_found")),
            ),
            (
                "hidden by permissions, with partial data",
                200,
                vec![],
                json!({"data": {"demarche": null}, "errors": [{"message": "An object of type Demarche was hidden due to permissions", "extensions": {"code": "unauthorized"}}]}).to_string(),
                Permanent(P::Forbidden, Some("unauthorized")),
            ),
            (
                "parse error without a code",
                200,
                vec![],
                json!({"errors": [{"message": "Parse error on \"}\"", "locations": [{"line": 1, "column": 2}]}]}).to_string(),
                Permanent(P::Refused, None),
            ),
            (
                "timeout with partial data",
                200,
                vec![],
                json!({"data": {"demarche": {"connection": null}}, "errors": [{"message": "Timeout on Demarche.dossiers", "extensions": {"code": "timeout"}}]}).to_string(),
                Transient(T::GraphqlTimeout),
            ),
            (
                "internal error inside a 200",
                200,
                vec![],
                json!({"data": null, "errors": [{"message": "Internal Server Error", "extensions": {"code": "internal_server_error"}}]}).to_string(),
                Transient(T::GraphqlInternalError),
            ),
            (
                "timeout beside invalid_null: the final one wins",
                200,
                vec![],
                json!({"data": null, "errors": [
                    {"message": "Timeout", "extensions": {"code": "timeout"}},
                    {"message": "Cannot return null", "extensions": {"code": "invalid_null"}}
                ]}).to_string(),
                Permanent(P::Refused, Some("invalid_null")),
            ),
            ("200 with a body that is not json", 200, vec![], "<html>ok</html>".into(), Permanent(P::InvalidResponse, None)),
            ("200 without data nor errors", 200, vec![], "{}".into(), Permanent(P::InvalidResponse, None)),
            ("200 with null data and no errors", 200, vec![], r#"{"data":null}"#.into(), Permanent(P::InvalidResponse, None)),
            ("200 with an empty body", 200, vec![], String::new(), Permanent(P::InvalidResponse, None)),
            (
                "400 graphql_parse_failed",
                400,
                vec![],
                json!({"errors": [{"message": "unexpected token", "extensions": {"code": "graphql_parse_failed"}}], "data": null}).to_string(),
                Permanent(P::BadRequest, Some("graphql_parse_failed")),
            ),
            (
                "400 bad_request",
                400,
                vec![],
                json!({"errors": [{"message": "bad request", "extensions": {"code": "bad_request"}}], "data": null}).to_string(),
                Permanent(P::BadRequest, Some("bad_request")),
            ),
            (
                "401 expired token",
                401,
                vec![],
                json!({"errors": [{"message": "Token expired", "extensions": {"code": "unauthorized"}}], "data": null}).to_string(),
                Permanent(P::Unauthorized, Some("unauthorized")),
            ),
            (
                "403 without a valid token",
                403,
                vec![],
                json!({"errors": [{"message": "Without a token, only persisted queries are allowed", "extensions": {"code": "forbidden"}}], "data": null}).to_string(),
                Permanent(P::Forbidden, Some("forbidden")),
            ),
            ("403 with a plain body", 403, vec![], "Forbidden".into(), Permanent(P::Forbidden, None)),
            ("404 from a wrong base url", 404, vec![], "Not Found".into(), Permanent(P::UnexpectedStatus, Some("404"))),
            ("408 request timeout", 408, vec![], String::new(), Transient(T::Timeout)),
            (
                "429 with its reset header",
                429,
                vec![("ratelimit-remaining", "0"), ("ratelimit-reset", "1767225660")],
                COWBOY.into(),
                RateLimited(Some(at(1_767_225_660))),
            ),
            ("429 without headers", 429, vec![], COWBOY.into(), RateLimited(None)),
            (
                "500 with the api's json body",
                500,
                vec![],
                json!({"errors": [{"message": "Internal Server Error", "extensions": {"code": "internal_server_error", "exception_id": "d2c5"}}], "data": null}).to_string(),
                Transient(T::ServerError),
            ),
            ("502 with an html body", 502, vec![], "<html>Bad Gateway</html>".into(), Transient(T::ServerError)),
            ("503 with an empty body", 503, vec![], String::new(), Transient(T::ServerError)),
            ("504 gateway timeout", 504, vec![], "upstream timed out".into(), Transient(T::ServerError)),
            (
                "301 towards another host",
                301,
                vec![("location", "https://demarche.numerique.gouv.fr/api/v2/graphql")],
                String::new(),
                Permanent(P::Redirect, Some("301")),
            ),
            ("307 without a location", 307, vec![], String::new(), Permanent(P::Redirect, Some("307"))),
        ];
        for (name, status, pairs, body, expected) in cases {
            let result = run(status, &pairs, &body);
            assert_eq!(outcome(&result), expected, "{name}: {result:?}");
        }
    }

    #[test]
    fn success_hands_back_the_data_member_untouched() {
        let data = run(200, &[], DATA).expect("data");
        assert_eq!(data.get(), r#"{"demarche":{"number":1}}"#);
    }

    #[test]
    fn a_graphql_error_keeps_its_code_and_message() {
        let body = json!({"errors": [
            {"message": "Demarche not found", "extensions": {"code": "not_found"}},
            {"message": "second", "extensions": {"code": "not_found"}}
        ]});
        assert_eq!(
            run(200, &[], &body.to_string()).map(|data| data.get().to_owned()),
            Err(UpstreamError::Permanent {
                reason: PermanentReason::Refused,
                code: Some("not_found".into()),
                message: "Demarche not found (and 1 more errors)".into(),
            })
        );
    }

    #[test]
    fn a_redirect_names_its_target() {
        let result = run(
            302,
            &[("location", "https://elsewhere.example/api/v2/graphql")],
            "",
        );
        let Err(UpstreamError::Permanent { message, .. }) = result else {
            panic!("a redirect is permanent: {result:?}");
        };
        assert!(
            message.contains("https://elsewhere.example/api/v2/graphql"),
            "{message}"
        );
    }

    #[test]
    fn a_long_non_json_body_is_cut_in_the_error() {
        let body = "x".repeat(10_000);
        let Err(UpstreamError::Transient { detail, .. }) = run(502, &[], &body) else {
            panic!("a 502 is transient");
        };
        assert!(detail.len() < 300, "{detail}");
        assert!(detail.starts_with("http 502 Bad Gateway: xxx"), "{detail}");
    }

    #[test]
    fn a_body_that_echoes_the_token_is_quoted_masked() {
        let body = format!("<html>Authorization: Bearer {TOKEN}</html>");
        for status in [200, 403, 404, 502] {
            let error = run(status, &[], &body).expect_err("not graphql data");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains(TOKEN), "{status}: {shown}");
            assert!(shown.contains("Bearer [redacted]"), "{status}: {shown}");
        }
    }
}
