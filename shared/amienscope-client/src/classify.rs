//! Turns an HTTP answer into a page of events or a classified [`AmienscopeError`],
//! without I/O. No error format is documented, so failures quote the body in short.

use crate::envelope::decode_page;
use crate::error::{AmienscopeError, PermanentReason, TransientReason};
use crate::event::EventRecord;
use crate::excerpt::excerpt;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use std::time::Duration;

/// Classifies one answer of the updates listing; `now` anchors an HTTP-date `Retry-After`.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    id_field: &str,
    now: DateTime<Utc>,
) -> Result<Vec<EventRecord>, AmienscopeError> {
    if status == StatusCode::NO_CONTENT {
        return Ok(Vec::new());
    }
    if status.is_success() {
        return decode_page(status.as_u16(), body, id_field);
    }
    if status.is_redirection() {
        return Err(redirect(status, headers));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(AmienscopeError::RateLimited {
            retry_after: retry_after(headers, now),
        });
    }
    let described = format!("http {status}: {}", excerpt(body));
    if status.is_server_error() {
        return Err(AmienscopeError::transient(
            TransientReason::ServerError,
            described,
        ));
    }
    let (reason, message) = match status {
        StatusCode::REQUEST_TIMEOUT => {
            return Err(AmienscopeError::transient(
                TransientReason::Timeout,
                described,
            ));
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => (
            PermanentReason::AuthenticationRefused,
            format!(
                "{described} (check the public key, the private key, the e-mail address and the signing recipe)"
            ),
        ),
        _ => (PermanentReason::UnexpectedStatus, described),
    };
    Err(AmienscopeError::permanent(
        reason,
        Some(status.as_u16()),
        message,
    ))
}

fn redirect(status: StatusCode, headers: &HeaderMap) -> AmienscopeError {
    let target = match headers.get(LOCATION).map(|value| value.to_str()) {
        Some(Ok(location)) => format!("to {location}"),
        Some(Err(_)) => "to an unreadable location".to_owned(),
        None => "without a location".to_owned(),
    };
    AmienscopeError::permanent(
        PermanentReason::Redirect,
        Some(status.as_u16()),
        format!(
            "http {status} redirects {target}; a signed request is not followed, fix the base url"
        ),
    )
}

/// `Retry-After` as seconds or as an HTTP date; a date already past means no wait.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        at.with_timezone(&Utc)
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventStatus;
    use reqwest::header::{HeaderName, HeaderValue};

    /// 2026-01-01T00:00:00Z, so relative headers give exact waits.
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).expect("a valid instant")
    }

    type Header = (&'static str, &'static str);

    fn run(
        status: u16,
        headers: &[Header],
        body: &str,
    ) -> Result<Vec<EventRecord>, AmienscopeError> {
        let headers: HeaderMap = headers
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect();
        let status = StatusCode::from_u16(status).expect("a valid status");
        classify(status, &headers, body.as_bytes(), "id", now())
    }

    #[derive(Debug, PartialEq)]
    enum Outcome {
        Events(usize),
        Transient(TransientReason),
        RateLimited(Option<u64>),
        Permanent(PermanentReason, u16),
    }

    fn outcome(result: &Result<Vec<EventRecord>, AmienscopeError>) -> Outcome {
        match result {
            Ok(records) => Outcome::Events(records.len()),
            Err(AmienscopeError::Transient { reason, .. }) => Outcome::Transient(*reason),
            Err(AmienscopeError::RateLimited { retry_after }) => {
                Outcome::RateLimited(retry_after.map(|wait| wait.as_secs()))
            }
            Err(AmienscopeError::Permanent { reason, status, .. }) => {
                Outcome::Permanent(*reason, status.unwrap_or_default())
            }
        }
    }

    #[test]
    fn every_answer_is_classified_for_the_callers_decision() {
        use Outcome::*;
        use PermanentReason as P;
        use TransientReason as T;
        let page = r#"[{"id": 1, "event_status_id": 2}, {"id": 2, "event_status_id": 5}]"#;
        let cases: Vec<(&str, u16, Vec<Header>, &str, Outcome)> = vec![
            ("200 with a page", 200, vec![], page, Events(2)),
            ("200 with null", 200, vec![], "null", Events(0)),
            ("204 without a body", 204, vec![], "", Events(0)),
            (
                "200 with html",
                200,
                vec![],
                "<html>",
                Permanent(P::InvalidResponse, 200),
            ),
            (
                "400",
                400,
                vec![],
                "bad request",
                Permanent(P::UnexpectedStatus, 400),
            ),
            (
                "401",
                401,
                vec![],
                r#"{"error": "bad signature"}"#,
                Permanent(P::AuthenticationRefused, 401),
            ),
            (
                "403",
                403,
                vec![],
                "forbidden",
                Permanent(P::AuthenticationRefused, 403),
            ),
            (
                "404 from a wrong base url",
                404,
                vec![],
                "Not Found",
                Permanent(P::UnexpectedStatus, 404),
            ),
            ("408", 408, vec![], "", Transient(T::Timeout)),
            (
                "429 without retry-after",
                429,
                vec![],
                "slow down",
                RateLimited(None),
            ),
            (
                "429 with seconds",
                429,
                vec![("retry-after", "120")],
                "",
                RateLimited(Some(120)),
            ),
            (
                "429 with an http date",
                429,
                vec![("retry-after", "Thu, 01 Jan 2026 00:02:00 GMT")],
                "",
                RateLimited(Some(120)),
            ),
            (
                "429 with a past http date",
                429,
                vec![("retry-after", "Wed, 31 Dec 2025 23:00:00 GMT")],
                "",
                RateLimited(Some(0)),
            ),
            (
                "429 with an unreadable retry-after",
                429,
                vec![("retry-after", "soon")],
                "",
                RateLimited(None),
            ),
            ("500", 500, vec![], "oops", Transient(T::ServerError)),
            (
                "502 with html",
                502,
                vec![],
                "<html>Bad Gateway</html>",
                Transient(T::ServerError),
            ),
            (
                "503 with an empty body",
                503,
                vec![],
                "",
                Transient(T::ServerError),
            ),
            (
                "301",
                301,
                vec![("location", "https://elsewhere.example/")],
                "",
                Permanent(P::Redirect, 301),
            ),
            (
                "418",
                418,
                vec![],
                "teapot",
                Permanent(P::UnexpectedStatus, 418),
            ),
        ];
        for (name, status, headers, body, expected) in cases {
            let result = run(status, &headers, body);
            assert_eq!(outcome(&result), expected, "{name}: {result:?}");
        }
    }

    #[test]
    fn a_success_hands_back_the_decoded_events() {
        let records = run(
            200,
            &[],
            r#"{"events": [{"id": "7", "event_status_id": 6}]}"#,
        )
        .expect("a page");
        assert_eq!(records[0].id, "7");
        assert_eq!(records[0].status, EventStatus::Archived);
    }

    #[test]
    fn a_refused_signature_quotes_the_server_and_says_what_to_check() {
        let Err(AmienscopeError::Permanent { message, .. }) =
            run(401, &[], r#"{"error": "Invalid signature"}"#)
        else {
            panic!("a 401 is permanent");
        };
        assert!(message.contains("Invalid signature"), "{message}");
        assert!(message.contains("signing recipe"), "{message}");
    }

    #[test]
    fn a_redirect_names_its_target() {
        let Err(AmienscopeError::Permanent { message, .. }) =
            run(302, &[("location", "https://elsewhere.example/get")], "")
        else {
            panic!("a redirect is permanent");
        };
        assert!(
            message.contains("https://elsewhere.example/get"),
            "{message}"
        );
    }
}
