//! The `Authent/Auth` login: its body, the token read out of its answer, and how long
//! the token is used.

use crate::answer::Answer;
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use upstream_http::{PermanentReason, UpstreamError};

/// A token is renewed once this share of its lifetime (in tenths) has passed.
const USE_FOR_TENTHS: u32 = 9;

/// The JSON body of `Authent/Auth`. Never logged: it holds the password.
#[derive(Serialize)]
pub(crate) struct AuthBody<'a> {
    pub(crate) domain: &'a str,
    pub(crate) user: &'a str,
    pub(crate) password: &'a str,
    pub(crate) env: &'a str,
    pub(crate) infos: &'a str,
}

/// How long a token that the server keeps valid for `lifetime` is handed to calls:
/// 90% of it, so that no call carries a token about to expire.
pub(crate) fn use_for(lifetime: Duration) -> Duration {
    lifetime.saturating_mul(USE_FOR_TENTHS) / 10
}

/// The access token of a successful login: `error` 0 and a non-empty `access_token`.
pub(crate) fn decode_token(answer: Answer) -> Result<SecretString, UpstreamError> {
    match answer {
        Answer::Rejected { code, message } => {
            Err(refused(code, format!("the login was refused: {message}")))
        }
        Answer::Accepted(mut object) => match object.remove("access_token") {
            Some(Value::String(token)) if !token.trim().is_empty() => Ok(SecretString::from(token)),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                Err(refused(0, "the login answered no access token"))
            }
            Some(_) => Err(UpstreamError::invalid_response(
                "the login answered an access token that is not text",
            )),
        },
    }
}

/// A refused login, named by the answer's `error` code.
fn refused(code: i64, message: impl Into<String>) -> UpstreamError {
    UpstreamError::permanent_with_code(PermanentReason::Unauthorized, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn accepted(value: Value) -> Answer {
        match value {
            Value::Object(object) => Answer::Accepted(object),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn a_token_is_used_for_nine_tenths_of_its_lifetime() {
        assert_eq!(
            use_for(Duration::from_secs(45 * 60)),
            Duration::from_secs(40 * 60 + 30)
        );
        assert_eq!(
            use_for(Duration::from_millis(200)),
            Duration::from_millis(180)
        );
        assert_eq!(use_for(Duration::from_nanos(5)), Duration::from_nanos(4));
        assert_eq!(use_for(Duration::MAX), Duration::MAX / 10);
    }

    #[test]
    fn the_body_has_the_documented_tags() {
        let body = AuthBody {
            domain: "C123456.divalto.com",
            user: "apiuser",
            password: "pw",
            env: "ERP213",
            infos: "",
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serialises"),
            json!({"domain": "C123456.divalto.com", "user": "apiuser", "password": "pw", "env": "ERP213", "infos": ""})
        );
    }

    #[test]
    fn a_token_is_read_from_a_successful_login() {
        let token = decode_token(accepted(
            json!({"error": 0, "access_token": "eyJhbGciOi.x.y", "txterr": "", "infos": ""}),
        ))
        .expect("a token");
        assert_eq!(token.expose_secret(), "eyJhbGciOi.x.y");
    }

    #[test]
    fn a_refusal_keeps_the_server_text_and_code() {
        let error = decode_token(Answer::Rejected {
            code: 12,
            message: "utilisateur inconnu".into(),
        })
        .expect_err("a refusal");
        assert_eq!(
            error,
            UpstreamError::Permanent {
                reason: PermanentReason::Unauthorized,
                code: Some("12".into()),
                message: "the login was refused: utilisateur inconnu".into(),
            }
        );
    }

    #[test]
    fn success_without_a_token_is_a_refusal() {
        for body in [
            json!({"error": 0, "access_token": ""}),
            json!({"error": 0, "access_token": null}),
            json!({"error": 0}),
        ] {
            let error = decode_token(accepted(body.clone())).expect_err("no token");
            assert!(
                matches!(
                    error,
                    UpstreamError::Permanent {
                        reason: PermanentReason::Unauthorized,
                        ..
                    }
                ),
                "{body}: {error:?}"
            );
        }
        let error = decode_token(accepted(json!({"error": 0, "access_token": 5})))
            .expect_err("a number is no token");
        assert!(matches!(
            error,
            UpstreamError::Permanent {
                reason: PermanentReason::InvalidResponse,
                ..
            }
        ));
    }
}
