//! The client-credentials token answer: `{"access_token", "token_type", "expires_in",
//! "scope"}` on success, an OAuth error body otherwise; and how long a token is used:
//! until 10% of its `expires_in`, at least a minute, is left.

use crate::answer::{json_object, text};
use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Map, Value};
use std::time::Duration;
use upstream_http::{
    Answer, Grant, PermanentReason, TransientReason, UpstreamError, excerpt, redact,
};

/// The least time left on a token for it to be reused.
const MIN_MARGIN: Duration = Duration::from_secs(60);

/// The token from a token-URL answer, or why there is none. The body of a 200 may hold
/// a token, so only its size goes into errors; `secrets` are masked in other texts.
pub(crate) fn decode_grant(answer: &Answer, secrets: &[&str]) -> Result<Grant, UpstreamError> {
    let (status, body) = (answer.status, answer.body.as_slice());
    let refused = |what: &str| {
        let detail = json_object(body)
            .map(|object| oauth_error(&object))
            .unwrap_or_else(|| excerpt(body, secrets));
        format!("{what} (http {status}): {}", redact(&detail, secrets))
    };
    match status.as_u16() {
        200 => {}
        429 => {
            return Err(UpstreamError::RateLimited {
                reset_at: answer.reset_at(Utc::now()),
            });
        }
        400 | 401 | 403 => {
            return Err(UpstreamError::permanent(
                PermanentReason::Unauthorized,
                refused("the token url refused the client credentials"),
            ));
        }
        408 => {
            return Err(UpstreamError::transient(
                TransientReason::Timeout,
                refused("the token url timed out"),
            ));
        }
        500..=599 => {
            return Err(UpstreamError::transient(
                TransientReason::ServerError,
                refused("the token url failed"),
            ));
        }
        300..=399 => return Err(answer.redirect()),
        _ => {
            return Err(UpstreamError::configuration(refused(
                "unexpected answer from the token url, check it",
            )));
        }
    }
    let unreadable = || {
        UpstreamError::invalid_response(format!(
            "the token answer holds no usable access token ({} bytes)",
            body.len()
        ))
    };
    let mut object = json_object(body).ok_or_else(unreadable)?;
    if let Some(token_type) = text(&object, "token_type")
        && !token_type.eq_ignore_ascii_case("bearer")
    {
        return Err(UpstreamError::invalid_response(format!(
            "the token answer is of type {token_type:?}, not bearer"
        )));
    }
    let use_for = use_for(expires_in(&object));
    match object.remove("access_token") {
        Some(Value::String(token)) if !token.trim().is_empty() => Ok(Grant {
            secret: SecretString::from(token),
            use_for,
        }),
        _ => Err(unreadable()),
    }
}

/// `expires_in` in seconds, as a number or a string of digits; anything else reads as
/// zero, so the token serves the current call only.
fn expires_in(object: &Map<String, Value>) -> Duration {
    let seconds = match object.get("expires_in") {
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(digits)) => digits.trim().parse().ok(),
        _ => None,
    };
    Duration::from_secs(seconds.unwrap_or(0))
}

/// How long a token that the server keeps valid for `expires_in` is handed to calls:
/// until only its [`margin`] is left; none of it when the margin is the whole life.
fn use_for(expires_in: Duration) -> Duration {
    expires_in.saturating_sub(margin(expires_in))
}

/// How much life must be left for a token to be reused: 10% of it, at least a minute.
fn margin(expires_in: Duration) -> Duration {
    (expires_in / 10).max(MIN_MARGIN)
}

fn oauth_error(object: &Map<String, Value>) -> String {
    match (text(object, "error"), text(object, "error_description")) {
        (Some(error), Some(description)) => format!("{error}: {description}"),
        (Some(error), None) => error.to_owned(),
        _ => "no oauth error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;
    use secrecy::ExposeSecret;

    const HOURS_12: Duration = Duration::from_secs(12 * 3600);

    fn decode(status: u16, body: &str) -> Result<Grant, UpstreamError> {
        let answer = Answer {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        };
        decode_grant(&answer, &["s3cr3t"])
    }

    fn reason(result: Result<Grant, UpstreamError>) -> &'static str {
        match result {
            Ok(_) => "granted",
            Err(UpstreamError::Transient { reason, .. }) => reason.as_str(),
            Err(UpstreamError::RateLimited { .. }) => "rate_limited",
            Err(UpstreamError::Permanent { reason, .. }) => reason.as_str(),
        }
    }

    #[test]
    fn the_margin_is_a_tenth_of_the_lifetime_or_a_minute() {
        assert_eq!(margin(HOURS_12), Duration::from_secs(4320));
        assert_eq!(margin(Duration::from_secs(300)), MIN_MARGIN);
        assert_eq!(margin(Duration::ZERO), MIN_MARGIN);
        assert_eq!(use_for(HOURS_12), Duration::from_secs(38880));
        assert_eq!(use_for(Duration::from_secs(300)), Duration::from_secs(240));
        assert_eq!(use_for(Duration::from_secs(45)), Duration::ZERO);
    }

    #[test]
    fn the_documented_answer_gives_a_token_used_until_its_margin() {
        let grant = decode(
            200,
            r#"{"access_token":"XXXX-XXXX-XXXX-XXXX-XXXX","token_type":"bearer","expires_in":40698,"scope":"api_ecriture"}"#,
        )
        .expect("a token");
        assert_eq!(grant.secret.expose_secret(), "XXXX-XXXX-XXXX-XXXX-XXXX");
        assert_eq!(grant.use_for, Duration::from_millis(36_628_200));
        let grant = decode(200, r#"{"access_token":"t","expires_in":"600"}"#).expect("a token");
        assert_eq!(grant.use_for, Duration::from_secs(540));
        let grant = decode(200, r#"{"access_token":"t"}"#).expect("a token");
        assert_eq!(grant.use_for, Duration::ZERO);
    }

    #[test]
    fn answers_without_a_token_are_classified() {
        let cases = [
            (
                401,
                r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#,
                "unauthorized",
            ),
            (400, r#"{"error":"unauthorized_client"}"#, "unauthorized"),
            (403, "<html>no</html>", "unauthorized"),
            (200, r#"{"access_token":""}"#, "invalid_response"),
            (200, r#"{"access_token":5}"#, "invalid_response"),
            (
                200,
                r#"{"access_token":"t","token_type":"mac"}"#,
                "invalid_response",
            ),
            (200, "<html>login</html>", "invalid_response"),
            (503, "Service Unavailable", "server_error"),
            (408, "", "timeout"),
            (429, "", "rate_limited"),
            (404, "Not Found", "configuration"),
            (302, "", "redirect"),
        ];
        for (status, body, expected) in cases {
            assert_eq!(reason(decode(status, body)), expected, "{status} {body}");
        }
    }

    #[test]
    fn errors_show_neither_a_token_nor_the_secret() {
        let Err(error) = decode(200, r#"{"access_token":5,"note":"tok-123"}"#) else {
            panic!("no usable token");
        };
        assert!(!error.to_string().contains("tok-123"), "{error}");
        let Err(error) = decode(
            401,
            r#"{"error":"invalid_client","error_description":"s3cr3t"}"#,
        ) else {
            panic!("refused");
        };
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
        assert!(error.to_string().contains("invalid_client"), "{error}");
    }
}
