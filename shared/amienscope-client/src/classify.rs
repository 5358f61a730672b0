//! Turns an HTTP answer into a page of events or a classified [`UpstreamError`],
//! without I/O. No error format is documented, so failures quote the body in short.

use crate::envelope::decode_page;
use crate::event::EventRecord;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use upstream_http::{Answer, PermanentReason, TransientReason, UpstreamError, excerpt};

/// Classifies one answer of the updates listing; `now` anchors a reset given in
/// seconds from now.
pub(crate) fn classify(
    answer: &Answer,
    id_field: &str,
    now: DateTime<Utc>,
) -> Result<Vec<EventRecord>, UpstreamError> {
    let status = answer.status;
    if status == StatusCode::NO_CONTENT {
        return Ok(Vec::new());
    }
    if status.is_success() {
        return decode_page(status.as_u16(), &answer.body, id_field);
    }
    if status.is_redirection() {
        return Err(answer.redirect());
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(UpstreamError::RateLimited {
            reset_at: answer.reset_at(now),
        });
    }
    let described = format!("http {status}: {}", excerpt(&answer.body, &[]));
    if status.is_server_error() {
        return Err(UpstreamError::transient(
            TransientReason::ServerError,
            described,
        ));
    }
    let (reason, message) = match status {
        StatusCode::REQUEST_TIMEOUT => {
            return Err(UpstreamError::transient(
                TransientReason::Timeout,
                described,
            ));
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => (
            PermanentReason::Unauthorized,
            format!(
                "{described} (check the public key, the private key, the e-mail address and the signing recipe)"
            ),
        ),
        _ => (PermanentReason::UnexpectedStatus, described),
    };
    Err(UpstreamError::permanent_with_code(
        reason,
        status.as_u16(),
        message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventStatus;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    /// 2026-01-01T00:00:00Z, so relative headers give exact resets.
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).expect("a valid instant")
    }

    type Header = (&'static str, &'static str);

    fn run(status: u16, headers: &[Header], body: &str) -> Result<Vec<EventRecord>, UpstreamError> {
        let headers: HeaderMap = headers
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect();
        let answer = Answer {
            status: StatusCode::from_u16(status).expect("a valid status"),
            headers,
            body: body.as_bytes().to_vec(),
        };
        classify(&answer, "id", now())
    }

    #[derive(Debug, PartialEq)]
    enum Outcome {
        Events(usize),
        Transient(TransientReason),
        /// Seconds from now to the reset.
        RateLimited(Option<i64>),
        /// The reason and the HTTP status given as the code, 0 without one.
        Permanent(PermanentReason, u16),
    }

    fn outcome(result: &Result<Vec<EventRecord>, UpstreamError>) -> Outcome {
        match result {
            Ok(records) => Outcome::Events(records.len()),
            Err(UpstreamError::Transient { reason, .. }) => Outcome::Transient(*reason),
            Err(UpstreamError::RateLimited { reset_at }) => {
                Outcome::RateLimited(reset_at.map(|at| (at - now()).num_seconds()))
            }
            Err(UpstreamError::Permanent { reason, code, .. }) => Outcome::Permanent(
                *reason,
                code.as_deref()
                    .map(|code| code.parse().expect("the code is an http status"))
                    .unwrap_or_default(),
            ),
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
                Permanent(P::Unauthorized, 401),
            ),
            (
                "403",
                403,
                vec![],
                "forbidden",
                Permanent(P::Unauthorized, 403),
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
        let Err(UpstreamError::Permanent { message, .. }) =
            run(401, &[], r#"{"error": "Invalid signature"}"#)
        else {
            panic!("a 401 is permanent");
        };
        assert!(message.contains("Invalid signature"), "{message}");
        assert!(message.contains("signing recipe"), "{message}");
    }

    #[test]
    fn a_redirect_names_its_target() {
        let Err(UpstreamError::Permanent { message, .. }) =
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
