//! Checking the four signature headers of a request. The signature is the
//! lowercase hex HMAC-SHA256, keyed with the account's private key, of
//! `<METHOD>\n<path as received>\n<X-Datetime as sent>`.

use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use secrecy::ExposeSecret as _;
use sha2::Sha256;

use super::AmienscopeAccount;

/// The header carrying the account's public key.
pub const PUBLIC_KEY_HEADER: &str = "X-Public-Key";
/// The header carrying the request time: UNIX seconds or RFC 3339.
pub const DATETIME_HEADER: &str = "X-Datetime";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Signature";
/// The header carrying the account's e-mail address.
pub const EMAIL_HEADER: &str = "email_addr";

/// Why a request's signature headers were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SignatureRefusal {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("unknown public key")]
    UnknownKey,
    #[error("invalid signature")]
    BadSignature,
    #[error("email_addr does not match the public key")]
    WrongEmail,
    #[error("unreadable X-Datetime")]
    UnreadableDatetime,
    #[error("X-Datetime is outside the accepted window")]
    StaleDatetime,
}

/// What a request claims, read from its headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) headers: &'a HeaderMap,
}

impl SignedRequest<'_> {
    fn header(&self, name: &'static str) -> Result<&str, SignatureRefusal> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .ok_or(SignatureRefusal::MissingHeader(name))
    }

    /// Accepts the request if its key is known, its signature matches, its
    /// e-mail is the key's and its time is within `skew` of `now`.
    pub(crate) fn verify(
        &self,
        accounts: &[AmienscopeAccount],
        now: DateTime<Utc>,
        skew: Duration,
    ) -> Result<(), SignatureRefusal> {
        let public_key = self.header(PUBLIC_KEY_HEADER)?;
        let datetime = self.header(DATETIME_HEADER)?;
        let signature = self.header(SIGNATURE_HEADER)?;
        let email = self.header(EMAIL_HEADER)?;
        let account = accounts
            .iter()
            .find(|account| account.public_key == public_key)
            .ok_or(SignatureRefusal::UnknownKey)?;
        let presented = hex::decode(signature).map_err(|_| SignatureRefusal::BadSignature)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(account.private_key.expose_secret().as_bytes())
                .map_err(|_| SignatureRefusal::BadSignature)?;
        mac.update(format!("{}\n{}\n{datetime}", self.method, self.path).as_bytes());
        mac.verify_slice(&presented)
            .map_err(|_| SignatureRefusal::BadSignature)?;
        if !account.email.eq_ignore_ascii_case(email) {
            return Err(SignatureRefusal::WrongEmail);
        }
        let sent_at = parse_datetime(datetime).ok_or(SignatureRefusal::UnreadableDatetime)?;
        let drift = (now - sent_at).abs().to_std().unwrap_or(Duration::MAX);
        if drift > skew {
            return Err(SignatureRefusal::StaleDatetime);
        }
        Ok(())
    }
}

/// UNIX seconds or an RFC 3339 date-time.
fn parse_datetime(value: &str) -> Option<DateTime<Utc>> {
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        return DateTime::from_timestamp(value.parse().ok()?, 0);
    }
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|instant| instant.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    const PATH: &str = "/amienscope/get/updates/0/0,50";

    fn sign(key: &str, datetime: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("GET\n{PATH}\n{datetime}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn headers(datetime: &str, signature: &str, email: &str) -> HeaderMap {
        let account = AmienscopeAccount::sandbox();
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (PUBLIC_KEY_HEADER, account.public_key.as_str()),
            (DATETIME_HEADER, datetime),
            (SIGNATURE_HEADER, signature),
            (EMAIL_HEADER, email),
        ] {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn verify(headers: &HeaderMap, now: DateTime<Utc>) -> Result<(), SignatureRefusal> {
        SignedRequest {
            method: "GET",
            path: PATH,
            headers,
        }
        .verify(
            &[AmienscopeAccount::sandbox()],
            now,
            Duration::from_secs(300),
        )
    }

    #[test]
    fn a_signed_request_is_accepted_with_either_datetime_form() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let key = "sandbox-private-key";
        for datetime in ["1700000100", "2023-11-14T23:13:20+01:00"] {
            let headers = headers(datetime, &sign(key, datetime), "Sandbox@Example.org");
            assert_eq!(verify(&headers, now), Ok(()), "{datetime}");
        }
    }

    #[test]
    fn each_kind_of_refusal_is_told_apart() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let key = "sandbox-private-key";
        let good = sign(key, "1700000000");
        let cases = [
            (
                headers(
                    "1700000000",
                    &sign("other", "1700000000"),
                    "sandbox@example.org",
                ),
                SignatureRefusal::BadSignature,
            ),
            (
                headers("1700000000", "not hex", "sandbox@example.org"),
                SignatureRefusal::BadSignature,
            ),
            (
                headers("1700000000", &good, "someone@example.org"),
                SignatureRefusal::WrongEmail,
            ),
            (
                headers(
                    "1699999000",
                    &sign(key, "1699999000"),
                    "sandbox@example.org",
                ),
                SignatureRefusal::StaleDatetime,
            ),
            (
                headers("yesterday", &sign(key, "yesterday"), "sandbox@example.org"),
                SignatureRefusal::UnreadableDatetime,
            ),
        ];
        for (headers, refusal) in cases {
            assert_eq!(verify(&headers, now), Err(refusal));
        }
        let mut unknown = headers("1700000000", &good, "sandbox@example.org");
        unknown.insert(
            HeaderName::from_static("x-public-key"),
            HeaderValue::from_static("nope"),
        );
        assert_eq!(verify(&unknown, now), Err(SignatureRefusal::UnknownKey));
        let mut missing = headers("1700000000", &good, "sandbox@example.org");
        missing.remove(EMAIL_HEADER);
        assert_eq!(
            verify(&missing, now),
            Err(SignatureRefusal::MissingHeader(EMAIL_HEADER))
        );
    }
}
