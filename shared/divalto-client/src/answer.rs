//! Turns an HTTP answer into the service's verdict or a classified [`UpstreamError`],
//! without I/O.
//!
//! The body's `error` decides whenever the body is the documented JSON, whatever the
//! status; the status decides otherwise. A non-2xx answer whose body claims success is
//! not trusted: its status decides.

use chrono::Utc;
use serde_json::{Map, Value};
use upstream_http::{Answer as HttpAnswer, PermanentReason, TransientReason, UpstreamError};
use upstream_http::{excerpt, redact};

/// What the service said, once the answer is known to be the documented JSON.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer {
    /// `error` is 0: the whole body, for the caller to decode.
    Accepted(Map<String, Value>),
    /// `error` is not 0.
    Rejected {
        /// The `error` code.
        code: i64,
        /// The error text (`txterr`, else `txterror`), secrets masked.
        message: String,
    },
}

/// How much of an unexpected body may go into an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyShown {
    /// Its start, with the known secrets masked.
    Excerpt,
    /// Only its size: the body may hold a secret not known yet, such as a new token.
    SizeOnly,
}

impl BodyShown {
    fn describe(self, body: &[u8], secrets: &[&str]) -> String {
        match self {
            BodyShown::Excerpt => excerpt(body, secrets),
            BodyShown::SizeOnly => format!("{} bytes", body.len()),
        }
    }
}

/// The verdict of one answer: the service's own, or an error for what is not the
/// documented JSON. `secrets` are masked in every text taken from the body.
pub(crate) fn classify(
    answer: &HttpAnswer,
    secrets: &[&str],
    shown: BodyShown,
) -> Result<Answer, UpstreamError> {
    let (status, body) = (answer.status, answer.body.as_slice());
    if let Some((code, object)) = documented(body) {
        if code != 0 {
            let message = redact(&error_text(&object), secrets);
            return Ok(Answer::Rejected { code, message });
        }
        if status.is_success() {
            return Ok(Answer::Accepted(object));
        }
    }
    let detail = format!("http {status}: {}", shown.describe(body, secrets));
    Err(match status.as_u16() {
        200..=299 => UpstreamError::invalid_response(format!(
            "the answer is not the documented json: {detail}"
        )),
        300..=399 => answer.redirect(),
        500..=599 => UpstreamError::transient(TransientReason::ServerError, detail),
        408 => UpstreamError::transient(TransientReason::Timeout, detail),
        429 => UpstreamError::RateLimited {
            reset_at: answer.reset_at(Utc::now()),
        },
        401 | 403 | 404 | 405 => UpstreamError::permanent_with_code(
            PermanentReason::Configuration,
            status.as_u16(),
            format!("{detail} (check the base url and the account)"),
        ),
        _ => UpstreamError::permanent_with_code(
            PermanentReason::InvalidResponse,
            status.as_u16(),
            detail,
        ),
    })
}

/// The `error` code and the whole object, when `body` is a JSON object with an integer
/// `error` (a string of digits is accepted too).
fn documented(body: &[u8]) -> Option<(i64, Map<String, Value>)> {
    let Value::Object(object) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let code = match object.get("error")? {
        Value::Number(number) => number.as_i64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    Some((code, object))
}

/// `txterr`, else `txterror` (the cloud page's spelling), else a placeholder.
fn error_text(object: &Map<String, Value>) -> String {
    ["txterr", "txterror"]
        .iter()
        .filter_map(|name| object.get(*name)?.as_str())
        .map(str::trim)
        .find(|text| !text.is_empty())
        .unwrap_or("no error text")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};

    fn answer(status: u16, body: &[u8]) -> HttpAnswer {
        HttpAnswer {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers: HeaderMap::new(),
            body: body.to_vec(),
        }
    }

    fn run(status: u16, body: &str) -> Result<Answer, UpstreamError> {
        classify(
            &answer(status, body.as_bytes()),
            &["tok-secret"],
            BodyShown::Excerpt,
        )
    }

    fn reason(result: &Result<Answer, UpstreamError>) -> &'static str {
        match result {
            Ok(Answer::Accepted(_)) => "accepted",
            Ok(Answer::Rejected { .. }) => "rejected",
            Err(UpstreamError::Transient { reason, .. }) => reason.as_str(),
            Err(UpstreamError::RateLimited { .. }) => "rate_limited",
            Err(UpstreamError::Permanent { reason, .. }) => reason.as_str(),
        }
    }

    #[test]
    fn statuses_and_bodies_are_classified() {
        let ok = r#"{"error":0,"txterr":"","records":null}"#;
        let refused = r#"{"error":54,"txterr":"erreur : dhoq '' non autorisé","records":null}"#;
        let cases = [
            ("200 documented success", 200, ok, "accepted"),
            ("200 with an error code", 200, refused, "rejected"),
            ("500 with an error code", 500, refused, "rejected"),
            ("400 with an error code", 400, refused, "rejected"),
            (
                "error as a string of digits",
                200,
                r#"{"error":"7"}"#,
                "rejected",
            ),
            ("200 html", 200, "<html>ok</html>", "invalid_response"),
            ("200 empty", 200, "", "invalid_response"),
            (
                "200 without error",
                200,
                r#"{"records":[]}"#,
                "invalid_response",
            ),
            ("200 json array", 200, "[]", "invalid_response"),
            (
                "200 fractional error",
                200,
                r#"{"error":1.5}"#,
                "invalid_response",
            ),
            ("503 empty", 503, "", "server_error"),
            ("502 html", 502, "<html>Bad Gateway</html>", "server_error"),
            ("500 claiming success", 500, ok, "server_error"),
            ("408", 408, "", "timeout"),
            ("429", 429, "slow down", "rate_limited"),
            ("404 wrong base url", 404, "Not Found", "configuration"),
            (
                "401 from a proxy",
                401,
                "<html>login</html>",
                "configuration",
            ),
            ("403 claiming success", 403, ok, "configuration"),
            ("302", 302, "", "redirect"),
            (
                "400 html",
                400,
                "<html>Bad Request</html>",
                "invalid_response",
            ),
        ];
        for (name, status, body, expected) in cases {
            let result = run(status, body);
            assert_eq!(reason(&result), expected, "{name}: {result:?}");
        }
    }

    #[test]
    fn a_429_carries_its_reset_and_a_redirect_its_location() {
        let mut throttled = answer(429, b"slow down");
        throttled
            .headers
            .insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let before = Utc::now();
        let result = classify(&throttled, &[], BodyShown::Excerpt);
        let Err(UpstreamError::RateLimited {
            reset_at: Some(reset_at),
        }) = result
        else {
            panic!("a 429 with a retry-after: {result:?}");
        };
        let wait = (reset_at - before).num_seconds();
        assert!((6..=8).contains(&wait), "{reset_at} is {wait} s away");

        let mut moved = answer(302, b"");
        moved.headers.insert(
            LOCATION,
            HeaderValue::from_static("https://example.test/login"),
        );
        let Err(error) = classify(&moved, &[], BodyShown::Excerpt) else {
            panic!("a redirect is an error");
        };
        assert_eq!(error, moved.redirect());
        assert!(
            error.to_string().contains("https://example.test/login"),
            "{error}"
        );
    }

    #[test]
    fn a_status_decided_failure_carries_the_status() {
        let result = run(404, "Not Found");
        assert_eq!(
            result,
            Err(UpstreamError::Permanent {
                reason: PermanentReason::Configuration,
                code: Some("404".into()),
                message: "http 404 Not Found: Not Found (check the base url and the account)"
                    .into(),
            })
        );
    }

    #[test]
    fn the_error_text_is_read_from_txterr_or_txterror() {
        assert_eq!(
            run(
                200,
                r#"{"error":54,"txterr":"erreur : dhoq '' non autorisé"}"#
            ),
            Ok(Answer::Rejected {
                code: 54,
                message: "erreur : dhoq '' non autorisé".into()
            })
        );
        assert_eq!(
            run(200, r#"{"error":3,"txterror":"mot de passe invalide"}"#),
            Ok(Answer::Rejected {
                code: 3,
                message: "mot de passe invalide".into()
            })
        );
        assert_eq!(
            run(
                200,
                r#"{"error":3,"txterr":"","txterror":"second spelling"}"#
            ),
            Ok(Answer::Rejected {
                code: 3,
                message: "second spelling".into()
            })
        );
        assert_eq!(
            run(200, r#"{"error":9}"#),
            Ok(Answer::Rejected {
                code: 9,
                message: "no error text".into()
            })
        );
    }

    #[test]
    fn secrets_never_reach_the_error() {
        let result = run(200, r#"{"error":1,"txterr":"bad token tok-secret"}"#);
        assert_eq!(
            result,
            Ok(Answer::Rejected {
                code: 1,
                message: "bad token [redacted]".into()
            })
        );
        let Err(error) = run(200, "<html>tok-secret</html>") else {
            panic!("html is not the documented json");
        };
        assert!(!error.to_string().contains("tok-secret"), "{error}");
        assert!(error.to_string().contains("<html>"), "{error}");
    }

    #[test]
    fn a_body_shown_by_size_only_gives_no_text() {
        let body = br#"{"access_token":"eyJ.partial"#;
        let Err(error) = classify(&answer(200, body), &[], BodyShown::SizeOnly) else {
            panic!("a cut body is not the documented json");
        };
        assert!(!error.to_string().contains("eyJ"), "{error}");
        assert!(error.to_string().contains("28 bytes"), "{error}");
    }
}
