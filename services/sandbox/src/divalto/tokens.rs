//! Access tokens handed out by `Authent/Auth`: opaque strings, each valid for
//! a fixed lifetime from the instant it was issued.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::rng::SplitMix64;

const TOKEN_SEED: u64 = 0x70_4E11;
const TOKEN_BYTES: usize = 48;

/// Who a token was issued to, as `<infostoken>1` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) env: String,
    pub(crate) user: String,
    pub(crate) domain: String,
}

/// A token the server handed out.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub(crate) holder: Holder,
    pub(crate) expires_utc: DateTime<Utc>,
    pub(crate) lifetime: Duration,
    expires: Instant,
    revoked: bool,
}

/// Every token issued so far.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: HashMap<String, IssuedToken>,
    counter: u64,
}

impl Tokens {
    /// Hands out a new token valid for `lifetime` from now.
    pub(crate) fn issue(
        &mut self,
        holder: Holder,
        lifetime: Duration,
        now: Instant,
        now_utc: DateTime<Utc>,
    ) -> String {
        self.counter += 1;
        let mut rng = SplitMix64::for_stream(TOKEN_SEED, self.counter);
        let bytes: Vec<u8> = (0..TOKEN_BYTES / 8)
            .flat_map(|_| rng.next_u64().to_le_bytes())
            .collect();
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let expires_utc = chrono::Duration::from_std(lifetime)
            .ok()
            .and_then(|lifetime| now_utc.checked_add_signed(lifetime))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let issued = IssuedToken {
            holder,
            expires_utc,
            lifetime,
            expires: now.checked_add(lifetime).unwrap_or(now),
            revoked: false,
        };
        self.issued.insert(token.clone(), issued);
        token
    }

    /// The token if it is known, not revoked and not past its lifetime.
    pub(crate) fn valid(&self, token: &str, now: Instant) -> Option<&IssuedToken> {
        self.issued
            .get(token)
            .filter(|issued| !issued.revoked && now < issued.expires)
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

    fn holder() -> Holder {
        Holder {
            env: "SANDBOX".to_owned(),
            user: "sandbox@sandbox.local".to_owned(),
            domain: String::new(),
        }
    }

    #[test]
    fn tokens_are_distinct_and_valid_until_their_lifetime_ends() {
        let mut tokens = Tokens::default();
        let start = Instant::now();
        let lifetime = Duration::from_secs(60);
        let first = tokens.issue(holder(), lifetime, start, Utc::now());
        let second = tokens.issue(holder(), lifetime, start, Utc::now());
        assert_ne!(first, second);
        assert_eq!(first.len(), 64);
        assert!(
            tokens
                .valid(&first, start + Duration::from_secs(59))
                .is_some()
        );
        assert!(tokens.valid(&first, start + lifetime).is_none());
        assert!(tokens.valid("unknown", start).is_none());
    }

    #[test]
    fn expiring_all_tokens_spares_the_ones_issued_afterwards() {
        let mut tokens = Tokens::default();
        let now = Instant::now();
        let lifetime = Duration::from_secs(60);
        let old = tokens.issue(holder(), lifetime, now, Utc::now());
        tokens.expire_all();
        let new = tokens.issue(holder(), lifetime, now, Utc::now());
        assert!(tokens.valid(&old, now).is_none());
        assert!(tokens.valid(&new, now).is_some());
    }
}
