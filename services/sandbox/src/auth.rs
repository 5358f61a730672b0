//! API tokens: reading them from the `Authorization` header the way Rails'
//! `authenticate_with_http_token` does, and deciding what a request may see.

use std::collections::BTreeSet;

/// One API token the sandbox knows about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// The token value, exactly as clients send it after `Bearer `.
    pub token: String,
    /// Whether the token still works or has passed its expiry date.
    pub status: TokenStatus,
    /// Which démarches the token may read.
    pub demarches: DemarcheScope,
    /// Whether the token may run mutations (`write_access` on the server); a
    /// read-only token gets the payload error
    /// `Le jeton utilisé est configuré seulement en lecture`.
    pub write_access: bool,
}

impl TokenConfig {
    /// A working token that sees every démarche.
    pub fn valid(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            status: TokenStatus::Valid,
            demarches: DemarcheScope::All,
            write_access: true,
        }
    }

    /// A working token that sees every démarche but may not run mutations.
    pub fn read_only(token: impl Into<String>) -> Self {
        Self {
            write_access: false,
            ..Self::valid(token)
        }
    }

    /// A token past its expiry date.
    pub fn expired(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            status: TokenStatus::Expired,
            demarches: DemarcheScope::All,
            write_access: true,
        }
    }

    /// A working token limited to the given démarche numbers.
    pub fn limited_to(token: impl Into<String>, demarches: impl IntoIterator<Item = i64>) -> Self {
        Self {
            token: token.into(),
            status: TokenStatus::Valid,
            demarches: DemarcheScope::Only(demarches.into_iter().collect()),
            write_access: true,
        }
    }
}

/// Whether a token is still accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Accepted.
    Valid,
    /// Refused with HTTP 401 "Token expired".
    Expired,
}

/// The démarches a token may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemarcheScope {
    /// Every démarche of the dataset.
    All,
    /// Only these démarche numbers.
    Only(BTreeSet<i64>),
}

impl DemarcheScope {
    /// Whether the démarche with this number is visible.
    pub fn allows(&self, demarche_number: i64) -> bool {
        match self {
            Self::All => true,
            Self::Only(numbers) => numbers.contains(&demarche_number),
        }
    }
}

/// What the server decided about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A valid token with its scope and whether it may write.
    Authenticated {
        /// The démarches it may see.
        scope: DemarcheScope,
        /// Whether it may run mutations.
        write_access: bool,
    },
    /// A known token past its expiry date.
    Expired,
    /// No token, or one the server does not know.
    Anonymous,
}

/// Identifies the caller from the raw `Authorization` header value.
pub(crate) fn identify(tokens: &[TokenConfig], authorization: Option<&str>) -> Caller {
    let Some(presented) = authorization.and_then(token_from_header) else {
        return Caller::Anonymous;
    };
    match tokens.iter().find(|known| known.token == presented) {
        Some(known) if known.status == TokenStatus::Expired => Caller::Expired,
        Some(known) => Caller::Authenticated {
            scope: known.demarches.clone(),
            write_access: known.write_access,
        },
        None => Caller::Anonymous,
    }
}

/// Extracts the token from `Bearer <t>`, `Bearer token=<t>`, `Token <t>` or
/// `Token token="<t>", other=...`: the scheme is followed by whitespace, the
/// parameters are split on `,`, `;` or tab, and the first one is the token.
pub(crate) fn token_from_header(header: &str) -> Option<String> {
    let rest = ["Bearer", "Token"].iter().find_map(|scheme| {
        let after = header.strip_prefix(scheme)?;
        after
            .starts_with(char::is_whitespace)
            .then(|| after.trim_start())
    })?;
    let first = rest
        .split([',', ';', '\t'])
        .map(str::trim)
        .find(|param| !param.is_empty())?;
    let value = first.strip_prefix("token=").unwrap_or(first);
    let value = value.strip_prefix('"').unwrap_or(value);
    let value = value.strip_suffix('"').unwrap_or(value);
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_every_accepted_header_form() {
        let cases = [
            ("Bearer abc==", Some("abc==")),
            ("Bearer token=abc==", Some("abc==")),
            ("Token abc", Some("abc")),
            ("Token token=\"abc\", nonce=1", Some("abc")),
            ("Bearer   abc ; other=1", Some("abc")),
            ("Bearer\tabc", Some("abc")),
            ("Basic abc", None),
            ("bearer abc", None),
            ("Bearerabc", None),
            ("Bearer ", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(
                token_from_header(header).as_deref(),
                expected,
                "header {header:?}"
            );
        }
    }

    #[test]
    fn callers_are_told_apart_by_their_token() {
        let tokens = [
            TokenConfig::valid("good"),
            TokenConfig::expired("old"),
            TokenConfig::limited_to("narrow", [1717]),
            TokenConfig::read_only("reader"),
        ];
        assert_eq!(
            identify(&tokens, Some("Bearer good")),
            Caller::Authenticated {
                scope: DemarcheScope::All,
                write_access: true
            }
        );
        assert_eq!(
            identify(&tokens, Some("Bearer reader")),
            Caller::Authenticated {
                scope: DemarcheScope::All,
                write_access: false
            }
        );
        assert_eq!(identify(&tokens, Some("Bearer old")), Caller::Expired);
        assert_eq!(identify(&tokens, Some("Bearer other")), Caller::Anonymous);
        assert_eq!(identify(&tokens, None), Caller::Anonymous);
        let Caller::Authenticated { scope, .. } = identify(&tokens, Some("Token token=narrow"))
        else {
            panic!("the narrow token is valid");
        };
        assert!(scope.allows(1717));
        assert!(!scope.allows(4242));
    }
}
