//! The `X-Signature` header: which string is signed, with which HMAC, in which encoding.
//!
//! **The recipe is an assumption.** The provider documents the signature as an HMAC of the
//! private key ("HMAC SHA1, similar to Amazon AWS", 64 characters), but the stored copy of
//! its documentation stops before saying which string is signed and how the result is
//! encoded. Every part of the recipe is therefore a setting; the default (HMAC-SHA256 in
//! lowercase hex over `{method}\n{path}\n{datetime}`, datetime in unix seconds) is only
//! our best guess, chosen because it is the one HMAC whose hex output is 64 characters.
//! Confirm it with the provider before relying on it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// How `X-Signature` and `X-Datetime` are made. An assumption until the provider
/// confirms it: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningRecipe {
    /// The string to sign. `{method}`, `{path}` and `{datetime}` are replaced by the
    /// HTTP method, the URL path exactly as sent (base path prefix included, no query)
    /// and the `X-Datetime` value; `{{` and `}}` stand for literal braces; every other
    /// character is taken as is. Any other placeholder is refused when the [`Signer`]
    /// is built.
    pub template: String,
    /// The HMAC hash function.
    pub hash: SignatureHash,
    /// How the HMAC bytes are written into the header.
    pub encoding: SignatureEncoding,
    /// How the request time is written into `X-Datetime` (and so into the signed string).
    pub datetime: DatetimeFormat,
}

impl SigningRecipe {
    /// The template of [`SigningRecipe::default`]: method, path and datetime, one per line.
    pub const DEFAULT_TEMPLATE: &'static str = "{method}\n{path}\n{datetime}";
}

impl Default for SigningRecipe {
    /// HMAC-SHA256, lowercase hex, unix seconds, over [`SigningRecipe::DEFAULT_TEMPLATE`].
    fn default() -> Self {
        Self {
            template: Self::DEFAULT_TEMPLATE.to_owned(),
            hash: SignatureHash::Sha256,
            encoding: SignatureEncoding::Hex,
            datetime: DatetimeFormat::UnixSeconds,
        }
    }
}

/// The hash function under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureHash {
    /// HMAC-SHA256: 32 bytes, 64 hex characters.
    Sha256,
    /// HMAC-SHA1, the name the provider's documentation gives: 20 bytes, 40 hex characters.
    Sha1,
}

/// How the HMAC bytes are written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureEncoding {
    /// Lowercase hexadecimal.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// How the request time is written in `X-Datetime`; the provider lets the client choose
/// and recommends one of these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatetimeFormat {
    /// Unix time in whole seconds, such as `1700000000`.
    UnixSeconds,
    /// RFC 3339 (ISO 8601) in UTC to the second, such as `2023-11-14T22:13:20Z`.
    Rfc3339,
}

impl DatetimeFormat {
    /// `at` written in this format.
    pub fn format(self, at: DateTime<Utc>) -> String {
        match self {
            DatetimeFormat::UnixSeconds => at.timestamp().to_string(),
            DatetimeFormat::Rfc3339 => at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// A signing setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSigning {
    /// The template names a placeholder other than `method`, `path` and `datetime`.
    #[error("unknown placeholder {{{0}}} in the signing template")]
    UnknownPlaceholder(String),
    /// A `{` is never closed; write `{{` for a literal brace.
    #[error("unclosed placeholder in the signing template")]
    UnclosedPlaceholder,
    /// A `}` closes nothing; write `}}` for a literal brace.
    #[error("unmatched closing brace in the signing template")]
    UnmatchedBrace,
    /// An empty private key signs nothing anyone can check.
    #[error("the private key is empty")]
    EmptyPrivateKey,
    /// The HMAC refused the key; HMAC takes keys of any length, so this is not expected.
    #[error("the private key cannot key the hmac")]
    UnusableKey,
    /// The text names no known hash; `sha256` and `sha1` are.
    #[error("unknown signature hash {0:?}, expected sha256 or sha1")]
    UnknownHash(String),
    /// The text names no known encoding; `hex` and `base64` are.
    #[error("unknown signature encoding {0:?}, expected hex or base64")]
    UnknownEncoding(String),
    /// The text names no known datetime format; `unix` and `rfc3339` are.
    #[error("unknown datetime format {0:?}, expected unix or rfc3339")]
    UnknownDatetimeFormat(String),
}

/// Signs requests with one recipe and one private key; the template is parsed once, here.
/// Holds only the keyed HMAC state, never the key text, and its `Debug` shows neither.
#[derive(Clone)]
pub struct Signer {
    pieces: Vec<Piece>,
    mac: KeyedMac,
    encoding: SignatureEncoding,
}

/// One part of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Method,
    Path,
    Datetime,
}

/// An HMAC already keyed with the private key, cloned for each signature.
#[derive(Clone)]
enum KeyedMac {
    Sha256(Hmac<Sha256>),
    Sha1(Hmac<Sha1>),
}

impl Signer {
    /// Parses `recipe`'s template and keys its HMAC with `private_key` (its UTF-8 bytes,
    /// as given: another assumption). Refuses an unknown placeholder or an empty key.
    pub fn new(recipe: &SigningRecipe, private_key: &SecretString) -> Result<Self, InvalidSigning> {
        let pieces = parse_template(&recipe.template)?;
        let key = private_key.expose_secret().as_bytes();
        if key.is_empty() {
            return Err(InvalidSigning::EmptyPrivateKey);
        }
        let mac = match recipe.hash {
            SignatureHash::Sha256 => Hmac::new_from_slice(key).map(KeyedMac::Sha256),
            SignatureHash::Sha1 => Hmac::new_from_slice(key).map(KeyedMac::Sha1),
        }
        .map_err(|_| InvalidSigning::UnusableKey)?;
        Ok(Self {
            pieces,
            mac,
            encoding: recipe.encoding,
        })
    }

    /// The signature of one request: the template filled with `method`, `path` and
    /// `datetime`, run through the keyed HMAC, then encoded.
    pub fn sign(&self, method: &str, path: &str, datetime: &str) -> String {
        let message = self.message(method, path, datetime);
        let digest = match &self.mac {
            KeyedMac::Sha256(mac) => finish(mac.clone(), &message),
            KeyedMac::Sha1(mac) => finish(mac.clone(), &message),
        };
        match self.encoding {
            SignatureEncoding::Hex => hex::encode(digest),
            SignatureEncoding::Base64 => BASE64.encode(digest),
        }
    }

    fn message(&self, method: &str, path: &str, datetime: &str) -> String {
        let mut message = String::new();
        for piece in &self.pieces {
            message.push_str(match piece {
                Piece::Text(text) => text,
                Piece::Method => method,
                Piece::Path => path,
                Piece::Datetime => datetime,
            });
        }
        message
    }
}

fn finish<M: Mac>(mut mac: M, message: &str) -> Vec<u8> {
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = match self.mac {
            KeyedMac::Sha256(_) => SignatureHash::Sha256,
            KeyedMac::Sha1(_) => SignatureHash::Sha1,
        };
        f.debug_struct("Signer")
            .field("pieces", &self.pieces)
            .field("hash", &hash)
            .field("encoding", &self.encoding)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// Splits a template into text and placeholders; see [`SigningRecipe::template`].
fn parse_template(template: &str) -> Result<Vec<Piece>, InvalidSigning> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.next_if_eq(&'{').is_some() => text.push('{'),
            '}' if chars.next_if_eq(&'}').is_some() => text.push('}'),
            '}' => return Err(InvalidSigning::UnmatchedBrace),
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(InvalidSigning::UnclosedPlaceholder),
                    }
                }
                let placeholder = match name.as_str() {
                    "method" => Piece::Method,
                    "path" => Piece::Path,
                    "datetime" => Piece::Datetime,
                    _ => return Err(InvalidSigning::UnknownPlaceholder(name)),
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(placeholder);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

impl SignatureHash {
    /// The setting's spelling: `sha256` or `sha1`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureHash::Sha256 => "sha256",
            SignatureHash::Sha1 => "sha1",
        }
    }
}

impl SignatureEncoding {
    /// The setting's spelling: `hex` or `base64`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureEncoding::Hex => "hex",
            SignatureEncoding::Base64 => "base64",
        }
    }
}

impl DatetimeFormat {
    /// The setting's spelling: `unix` or `rfc3339`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatetimeFormat::UnixSeconds => "unix",
            DatetimeFormat::Rfc3339 => "rfc3339",
        }
    }
}

impl FromStr for SignatureHash {
    type Err = InvalidSigning;

    /// `sha256` or `sha1`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [SignatureHash::Sha256, SignatureHash::Sha1]
            .into_iter()
            .find(|hash| hash.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| InvalidSigning::UnknownHash(text.to_owned()))
    }
}

impl FromStr for SignatureEncoding {
    type Err = InvalidSigning;

    /// `hex` or `base64`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [SignatureEncoding::Hex, SignatureEncoding::Base64]
            .into_iter()
            .find(|encoding| encoding.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| InvalidSigning::UnknownEncoding(text.to_owned()))
    }
}

impl FromStr for DatetimeFormat {
    type Err = InvalidSigning;

    /// `unix` or `rfc3339`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [DatetimeFormat::UnixSeconds, DatetimeFormat::Rfc3339]
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| InvalidSigning::UnknownDatetimeFormat(text.to_owned()))
    }
}

impl fmt::Display for SignatureHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for SignatureEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for DatetimeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-private-key";

    fn signer(recipe: &SigningRecipe, key: &str) -> Signer {
        Signer::new(recipe, &SecretString::from(key)).expect("a usable recipe")
    }

    fn recipe(template: &str, hash: SignatureHash, encoding: SignatureEncoding) -> SigningRecipe {
        SigningRecipe {
            template: template.to_owned(),
            hash,
            encoding,
            datetime: DatetimeFormat::UnixSeconds,
        }
    }

    /// Computed outside this code: HMAC-SHA256 with key `test-private-key` over
    /// `GET\n/get/updates/1444428000/0,50\n1700000000`, lowercase hex.
    #[test]
    fn the_default_recipe_matches_a_vector_computed_elsewhere() {
        let signature = signer(&SigningRecipe::default(), KEY).sign(
            "GET",
            "/get/updates/1444428000/0,50",
            "1700000000",
        );
        assert_eq!(
            signature,
            "493c593fde8b4dcd3c915d0de112244e49e53c73762255f84071dc42119eedf0"
        );
        assert_eq!(signature.len(), 64);
    }

    /// RFC 4231 test case 2 and RFC 2202 test case 2: key `Jefe`.
    #[test]
    fn both_hashes_and_both_encodings_match_the_rfc_vectors() {
        let data = "what do ya want for nothing?";
        let cases = [
            (
                SignatureHash::Sha256,
                SignatureEncoding::Hex,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                SignatureHash::Sha256,
                SignatureEncoding::Base64,
                "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=",
            ),
            (
                SignatureHash::Sha1,
                SignatureEncoding::Hex,
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                SignatureHash::Sha1,
                SignatureEncoding::Base64,
                "7/zfauXrL6LSdBbV8YTfnCWafHk=",
            ),
        ];
        for (hash, encoding, expected) in cases {
            let signer = signer(&recipe("{datetime}", hash, encoding), "Jefe");
            assert_eq!(signer.sign("GET", "/", data), expected, "{hash} {encoding}");
        }
    }

    /// Computed outside this code: HMAC-SHA1 with key `test-private-key` over
    /// `GET /get/updates/1444428000/4/20,10 2023-11-14T22:13:20Z`, base64.
    #[test]
    fn an_rfc3339_sha1_base64_recipe_signs_its_own_template() {
        let mut recipe = recipe(
            "{method} {path} {datetime}",
            SignatureHash::Sha1,
            SignatureEncoding::Base64,
        );
        recipe.datetime = DatetimeFormat::Rfc3339;
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("a valid instant");
        let datetime = recipe.datetime.format(at);
        assert_eq!(datetime, "2023-11-14T22:13:20Z");

        let signature =
            signer(&recipe, KEY).sign("GET", "/get/updates/1444428000/4/20,10", &datetime);

        assert_eq!(signature, "CwKlZ1RfNUJvlYfiLUv5VAFZau8=");
    }

    #[test]
    fn unix_datetimes_are_whole_seconds() {
        let at = DateTime::from_timestamp(1_700_000_000, 999_000_000).expect("a valid instant");
        assert_eq!(DatetimeFormat::UnixSeconds.format(at), "1700000000");
    }

    #[test]
    fn the_template_is_filled_literally_with_escaped_braces() {
        let signer = signer(
            &recipe(
                "{{{method}}}|{path}|{datetime}|{datetime}",
                SignatureHash::Sha256,
                SignatureEncoding::Hex,
            ),
            KEY,
        );
        assert_eq!(signer.message("GET", "/a", "1"), "{GET}|/a|1|1");
        assert_eq!(
            parse_template("plain"),
            Ok(vec![Piece::Text("plain".into())])
        );
    }

    #[test]
    fn a_bad_template_is_refused_when_the_signer_is_built() {
        let cases = [
            (
                "{method}\n{query}",
                InvalidSigning::UnknownPlaceholder("query".into()),
            ),
            (
                "{Method}",
                InvalidSigning::UnknownPlaceholder("Method".into()),
            ),
            ("{path", InvalidSigning::UnclosedPlaceholder),
            ("path}", InvalidSigning::UnmatchedBrace),
        ];
        for (template, expected) in cases {
            let result = Signer::new(
                &recipe(template, SignatureHash::Sha256, SignatureEncoding::Hex),
                &SecretString::from(KEY),
            );
            assert_eq!(result.err(), Some(expected), "{template:?}");
        }
    }

    #[test]
    fn an_empty_private_key_is_refused() {
        let result = Signer::new(&SigningRecipe::default(), &SecretString::from(""));
        assert_eq!(result.err(), Some(InvalidSigning::EmptyPrivateKey));
    }

    #[test]
    fn the_debug_output_never_shows_the_key() {
        let shown = format!("{:?}", signer(&SigningRecipe::default(), KEY));
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn recipe_settings_parse_from_their_names() {
        assert_eq!("sha256".parse(), Ok(SignatureHash::Sha256));
        assert_eq!("SHA1".parse(), Ok(SignatureHash::Sha1));
        assert_eq!("hex".parse(), Ok(SignatureEncoding::Hex));
        assert_eq!("base64".parse(), Ok(SignatureEncoding::Base64));
        assert_eq!("unix".parse(), Ok(DatetimeFormat::UnixSeconds));
        assert_eq!("rfc3339".parse(), Ok(DatetimeFormat::Rfc3339));
        assert_eq!(
            "md5".parse::<SignatureHash>(),
            Err(InvalidSigning::UnknownHash("md5".into()))
        );
        assert_eq!(
            "base32".parse::<SignatureEncoding>(),
            Err(InvalidSigning::UnknownEncoding("base32".into()))
        );
        assert_eq!(
            "iso".parse::<DatetimeFormat>(),
            Err(InvalidSigning::UnknownDatetimeFormat("iso".into()))
        );
        for format in [DatetimeFormat::UnixSeconds, DatetimeFormat::Rfc3339] {
            assert_eq!(format.to_string().parse(), Ok(format));
        }
    }
}
