//! The credentials of the run, each a value nothing else could hold, and every form in
//! which one of them would show if it leaked.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// What every secret of the run starts with, so that a cut-off secret is found too.
const MARK: &str = "S3CRET";

/// The token of the `sandbox` connection, which DS accepts.
pub(crate) const DS_TOKEN: &str = "S3CRET-ds-token-7f3a9c1e5b";
/// The token of the `ds_refused` connection, which DS knows as expired (401).
pub(crate) const DS_EXPIRED_TOKEN: &str = "S3CRET-ds-expired-token-2b8d4e6f";
/// The password of `sandbox_divalto`.
pub(crate) const DIVALTO_PASSWORD: &str = "S3CRET-divalto-password-5e1c7a";
/// The password of `divalto_refused`: the right user, the wrong password.
pub(crate) const DIVALTO_WRONG_PASSWORD: &str = "S3CRET-divalto-wrong-password-9d3f";
/// The signing key of `sandbox_amienscope`.
pub(crate) const AMIENSCOPE_PRIVATE_KEY: &str = "S3CRET-amienscope-private-key-4c8e2a";
/// The signing key of `amienscope_refused`: the right public key, the wrong private one.
pub(crate) const AMIENSCOPE_WRONG_KEY: &str = "S3CRET-amienscope-wrong-key-6a0b";
/// The OAuth client secret of `sandbox_apidae`.
pub(crate) const APIDAE_CLIENT_SECRET: &str = "S3CRET-apidae-client-secret-1f7d3b";
/// The client secret of `apidae_refused`: the right client id, the wrong secret.
pub(crate) const APIDAE_WRONG_SECRET: &str = "S3CRET-apidae-wrong-secret-8e2c";

/// The Divalto user both Divalto connections sign in as (not a secret).
pub(crate) const DIVALTO_USER: &str = "secrets-test@sandbox.local";
/// The Amienscope public key, 32 characters (not a secret).
pub(crate) const AMIENSCOPE_PUBLIC_KEY: &str = "secretstestpublickey0123456789ab";
/// The address the Amienscope access was made for (not a secret).
pub(crate) const AMIENSCOPE_EMAIL: &str = "secrets-test@example.org";
/// The Apidae OAuth client id (not a secret).
pub(crate) const APIDAE_CLIENT_ID: &str = "secrets-test-apidae-client";

/// Every secret the settings hold, by name.
const SECRETS: [(&str, &str); 8] = [
    ("the DS token", DS_TOKEN),
    ("the expired DS token", DS_EXPIRED_TOKEN),
    ("the Divalto password", DIVALTO_PASSWORD),
    ("the wrong Divalto password", DIVALTO_WRONG_PASSWORD),
    ("the Amienscope private key", AMIENSCOPE_PRIVATE_KEY),
    ("the wrong Amienscope private key", AMIENSCOPE_WRONG_KEY),
    ("the Apidae client secret", APIDAE_CLIENT_SECRET),
    ("the wrong Apidae client secret", APIDAE_WRONG_SECRET),
];

/// A text that is looked for in every output, and what it is. Matching ignores case.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    what: String,
    lowercase: String,
}

impl Needle {
    pub(crate) fn new(what: impl Into<String>, text: &str) -> Needle {
        Needle {
            what: what.into(),
            lowercase: text.to_lowercase(),
        }
    }
}

/// Every form a leaked secret could take: each secret raw, in base64 (standard and
/// URL-safe), in hex and as a byte list; the HTTP Basic credentials of both Apidae
/// clients and of the Divalto user; the mark every secret starts with; and the user and
/// password of `urls` (the broker's and the job store's), when they carry one.
pub(crate) fn needles(urls: &[String]) -> Vec<Needle> {
    let mut needles = vec![Needle::new("the mark of every secret", MARK)];
    for (what, secret) in SECRETS {
        let bytes = secret.as_bytes();
        needles.extend([
            Needle::new(what, secret),
            Needle::new(format!("{what} in base64"), &STANDARD.encode(bytes)),
            Needle::new(
                format!("{what} in URL-safe base64"),
                &URL_SAFE_NO_PAD.encode(bytes),
            ),
            Needle::new(format!("{what} in hex"), &hex::encode(bytes)),
            Needle::new(format!("{what} as bytes"), &format!("{bytes:?}")),
        ]);
    }
    for (what, user, secret) in [
        ("Apidae", APIDAE_CLIENT_ID, APIDAE_CLIENT_SECRET),
        ("wrong Apidae", APIDAE_CLIENT_ID, APIDAE_WRONG_SECRET),
        ("Divalto", DIVALTO_USER, DIVALTO_PASSWORD),
        ("wrong Divalto", DIVALTO_USER, DIVALTO_WRONG_PASSWORD),
    ] {
        needles.push(Needle::new(
            format!("the {what} Basic credentials"),
            &STANDARD.encode(format!("{user}:{secret}")),
        ));
    }
    for url in urls {
        if let Some(user_info) = user_and_password(url) {
            needles.push(Needle::new(
                format!("the user and password of {}", scheme(url)),
                user_info,
            ));
        }
    }
    needles
}

/// `user:password` of `scheme://user:password@host…`, when the password is not empty.
fn user_and_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let (user_info, _) = rest.split_once('@')?;
    let (_, password) = user_info.split_once(':')?;
    (!password.is_empty()).then_some(user_info)
}

fn scheme(url: &str) -> &str {
    url.split_once("://").map_or("a url", |(scheme, _)| scheme)
}

/// One kind of output of the run, each item rendered as text.
#[derive(Debug)]
pub(crate) struct Output {
    /// What the items are: `log lines`, `events`, …
    pub(crate) name: &'static str,
    /// The items.
    pub(crate) items: Vec<String>,
}

/// A needle found in an output.
#[derive(Debug)]
pub(crate) struct Finding {
    /// Which output.
    output: &'static str,
    /// Which needle.
    what: String,
    /// The text around it, lowercased.
    excerpt: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in the {}: {}", self.what, self.output, self.excerpt)
    }
}

impl Output {
    /// Every place where one of `needles` occurs.
    pub(crate) fn find(&self, needles: &[Needle]) -> Vec<Finding> {
        let mut findings = Vec::new();
        for item in &self.items {
            let item = item.to_lowercase();
            for needle in needles {
                if let Some(at) = item.find(&needle.lowercase) {
                    findings.push(Finding {
                        output: self.name,
                        what: needle.what.clone(),
                        excerpt: excerpt(&item, at, needle.lowercase.len()),
                    });
                }
            }
        }
        findings
    }

    /// Whether `needle` occurs anywhere.
    pub(crate) fn holds(&self, needle: &Needle) -> bool {
        !self.find(std::slice::from_ref(needle)).is_empty()
    }
}

/// Up to 150 bytes either side of the `len` bytes at `at`.
fn excerpt(text: &str, at: usize, len: usize) -> String {
    const CONTEXT: usize = 150;
    let from = at.saturating_sub(CONTEXT);
    let to = at + len + CONTEXT;
    text.char_indices()
        .filter(|(index, _)| (from..to).contains(index))
        .map(|(_, character)| character)
        .collect()
}
