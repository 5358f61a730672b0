//! The client-credentials token answer: `{"access_token", "token_type", "expires_in",
//! "scope"}` on success, an OAuth error body otherwise.

use crate::answer::{json_object, text};
use crate::error::{ApidaeError, PermanentReason, TransientReason};
use crate::redact::{excerpt, redact};
use crate::token::Grant;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Map, Value};
use std::time::Duration;

/// The token from a token-URL answer, or why there is none. The body of a 200 may hold
/// a token, so only its size goes into errors; `secrets` are masked in other texts.
pub(crate) fn decode_grant(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
    secrets: &[&str],
) -> Result<Grant, ApidaeError> {
    let refused = |what: &str| {
        let detail = json_object(body)
            .map(|object| oauth_error(&object))
            .unwrap_or_else(|| excerpt(body, secrets));
        format!("{what} (http {status}): {}", redact(&detail, secrets))
    };
    match status.as_u16() {
        200 => {}
        429 => return Err(ApidaeError::RateLimited { retry_after }),
        400 | 401 | 403 => {
            return Err(ApidaeError::permanent(
                PermanentReason::Unauthorized,
                refused("the token url refused the client credentials"),
            ));
        }
        408 => {
            return Err(ApidaeError::transient(
                TransientReason::Timeout,
                refused("the token url timed out"),
            ));
        }
        500..=599 => {
            return Err(ApidaeError::transient(
                TransientReason::ServerError,
                refused("the token url failed"),
            ));
        }
        _ => {
            return Err(ApidaeError::permanent(
                PermanentReason::Configuration,
                refused("unexpected answer from the token url, check it"),
            ));
        }
    }
    let unreadable = || {
        ApidaeError::permanent(
            PermanentReason::InvalidResponse,
            format!(
                "the token answer holds no usable access token ({} bytes)",
                body.len()
            ),
        )
    };
    let mut object = json_object(body).ok_or_else(unreadable)?;
    if let Some(token_type) = text(&object, "token_type")
        && !token_type.eq_ignore_ascii_case("bearer")
    {
        return Err(ApidaeError::permanent(
            PermanentReason::InvalidResponse,
            format!("the token answer is of type {token_type:?}, not bearer"),
        ));
    }
    let expires_in = expires_in(&object);
    match object.remove("access_token") {
        Some(Value::String(token)) if !token.trim().is_empty() => Ok(Grant {
            access_token: SecretString::from(token),
            expires_in,
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
    use secrecy::ExposeSecret;

    fn decode(status: u16, body: &str) -> Result<Grant, ApidaeError> {
        let status = StatusCode::from_u16(status).expect("a valid status");
        decode_grant(status, None, body.as_bytes(), &["s3cr3t"])
    }

    fn reason(result: Result<Grant, ApidaeError>) -> &'static str {
        match result {
            Ok(_) => "granted",
            Err(ApidaeError::Transient { reason, .. }) => reason.as_str(),
            Err(ApidaeError::RateLimited { .. }) => "rate_limited",
            Err(ApidaeError::Permanent { reason, .. }) => reason.as_str(),
        }
    }

    #[test]
    fn the_documented_answer_gives_a_token_and_its_lifetime() {
        let grant = decode(
            200,
            r#"{"access_token":"XXXX-XXXX-XXXX-XXXX-XXXX","token_type":"bearer","expires_in":40698,"scope":"api_ecriture"}"#,
        )
        .expect("a token");
        assert_eq!(
            grant.access_token.expose_secret(),
            "XXXX-XXXX-XXXX-XXXX-XXXX"
        );
        assert_eq!(grant.expires_in, Duration::from_secs(40698));
        let grant = decode(200, r#"{"access_token":"t","expires_in":"60"}"#).expect("a token");
        assert_eq!(grant.expires_in, Duration::from_secs(60));
        let grant = decode(200, r#"{"access_token":"t"}"#).expect("a token");
        assert_eq!(grant.expires_in, Duration::ZERO);
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
            (302, "", "configuration"),
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
