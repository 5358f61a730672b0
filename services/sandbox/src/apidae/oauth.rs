//! OAuth client credentials: reading HTTP Basic and Bearer headers, and the access
//! tokens handed out, each valid for a fixed lifetime from the instant it was issued.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use secrecy::SecretString;

use crate::rng::SplitMix64;

const TOKEN_SEED: u64 = 0xA9_1DAE_70CE;

/// `client_id:secret` from an `Authorization: Basic …` value.
pub(crate) fn basic_credentials(authorization: &str) -> Option<(String, SecretString)> {
    let (scheme, encoded) = authorization.trim().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (client_id, secret) = decoded.split_once(':')?;
    Some((client_id.to_owned(), SecretString::from(secret.to_owned())))
}

/// The token of an `Authorization: Bearer <token>` value; the scheme and the token must
/// be separated by white space, so `Bearer<token>` carries no token.
pub(crate) fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What a presented token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    /// Issued to this client and still valid.
    Valid(String),
    /// Issued, but past its lifetime or revoked.
    Expired,
    /// Never issued.
    Unknown,
}

#[derive(Debug)]
struct Issued {
    client_id: String,
    expires: Instant,
    revoked: bool,
}

/// Every token issued so far.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: HashMap<String, Issued>,
    counter: u64,
}

impl Tokens {
    /// A new token for `client_id`, valid for `lifetime` from `now`, shaped like the
    /// upstream's (a UUID).
    pub(crate) fn issue(&mut self, client_id: &str, lifetime: Duration, now: Instant) -> String {
        self.counter += 1;
        let mut rng = SplitMix64::for_stream(TOKEN_SEED, self.counter);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        let token = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string();
        self.issued.insert(
            token.clone(),
            Issued {
                client_id: client_id.to_owned(),
                expires: now.checked_add(lifetime).unwrap_or(now),
                revoked: false,
            },
        );
        token
    }

    pub(crate) fn check(&self, token: &str, now: Instant) -> TokenCheck {
        match self.issued.get(token) {
            None => TokenCheck::Unknown,
            Some(issued) if issued.revoked || now >= issued.expires => TokenCheck::Expired,
            Some(issued) => TokenCheck::Valid(issued.client_id.clone()),
        }
    }

    /// Makes every token issued so far invalid.
    pub(crate) fn expire_all(&mut self) {
        for issued in self.issued.values_mut() {
            issued.revoked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn basic_credentials_are_decoded() {
        let (id, secret) = basic_credentials("Basic dGVzdC1jbGllbnQ6czNjcjN0").unwrap();
        assert_eq!(id, "test-client");
        assert_eq!(secret.expose_secret(), "s3cr3t");
        let (id, secret) = basic_credentials("basic YTpiOmM=").unwrap();
        assert_eq!((id.as_str(), secret.expose_secret()), ("a", "b:c"));
        assert!(basic_credentials("Bearer dGVzdA==").is_none());
        assert!(basic_credentials("Basic !!!").is_none());
        assert!(basic_credentials("Basic bm9jb2xvbg==").is_none());
    }

    #[test]
    fn bearer_tokens_need_the_space() {
        assert_eq!(bearer_token("Bearer abc-1"), Some("abc-1"));
        assert_eq!(bearer_token("bearer   abc-1 "), Some("abc-1"));
        assert_eq!(bearer_token("Bearerabc-1"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
    }

    #[test]
    fn tokens_are_valid_until_their_lifetime_ends_or_they_are_expired() {
        let mut tokens = Tokens::default();
        let now = Instant::now();
        let lifetime = Duration::from_secs(60);
        let first = tokens.issue("c", lifetime, now);
        let second = tokens.issue("c", lifetime, now);
        assert_ne!(first, second);
        assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
        assert_eq!(tokens.check(&first, now), TokenCheck::Valid("c".into()));
        assert_eq!(tokens.check(&first, now + lifetime), TokenCheck::Expired);
        assert_eq!(tokens.check("other", now), TokenCheck::Unknown);
        tokens.expire_all();
        assert_eq!(tokens.check(&second, now), TokenCheck::Expired);
        let third = tokens.issue("c", lifetime, now);
        assert_eq!(tokens.check(&third, now), TokenCheck::Valid("c".into()));
    }
}
