//! The `Authent/Auth` login: its body, and the token read out of its answer.

use crate::answer::Answer;
use crate::error::{DivaltoError, PermanentReason};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

/// The JSON body of `Authent/Auth`. Never logged: it holds the password.
#[derive(Serialize)]
pub(crate) struct AuthBody<'a> {
    pub(crate) domain: &'a str,
    pub(crate) user: &'a str,
    pub(crate) password: &'a str,
    pub(crate) env: &'a str,
    pub(crate) infos: &'a str,
}

/// The access token of a successful login: `error` 0 and a non-empty `access_token`.
pub(crate) fn decode_token(answer: Answer) -> Result<SecretString, DivaltoError> {
    match answer {
        Answer::Rejected { code, message } => Err(refused(
            Some(code),
            format!("the login was refused: {message}"),
        )),
        Answer::Accepted(mut object) => match object.remove("access_token") {
            Some(Value::String(token)) if !token.trim().is_empty() => Ok(SecretString::from(token)),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                Err(refused(Some(0), "the login answered no access token"))
            }
            Some(_) => Err(DivaltoError::permanent(
                PermanentReason::InvalidResponse,
                None,
                "the login answered an access token that is not text",
            )),
        },
    }
}

fn refused(code: Option<i64>, message: impl Into<String>) -> DivaltoError {
    DivaltoError::permanent(PermanentReason::AuthenticationRefused, code, message)
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
            DivaltoError::Permanent {
                reason: PermanentReason::AuthenticationRefused,
                code: Some(12),
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
                    DivaltoError::Permanent {
                        reason: PermanentReason::AuthenticationRefused,
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
            DivaltoError::Permanent {
                reason: PermanentReason::InvalidResponse,
                ..
            }
        ));
    }
}
