//! Keeps secrets out of the text that goes into errors and logs, and long bodies out of
//! error messages.

/// What stands in for a secret found in a text.
const MASK: &str = "[redacted]";

/// How much of an unexpected body goes into an error.
const EXCERPT_CHARS: usize = 200;

/// `text` with every occurrence of each non-empty secret masked, both as written and as
/// it would appear escaped inside a JSON string.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut redacted = text.to_owned();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        redacted = redacted.replace(secret, MASK);
        let quoted = serde_json::to_string(secret).unwrap_or_default();
        let escaped = quoted.trim_matches('"');
        if !escaped.is_empty() && escaped != *secret {
            redacted = redacted.replace(escaped, MASK);
        }
    }
    redacted
}

/// The start of `body` as one line of text, secrets masked before it is cut, or
/// `empty body`.
pub fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let text = redact(&String::from_utf8_lossy(body), secrets);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return "empty body".to_owned();
    }
    let mut chars = text.chars();
    let mut cut: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_raw_and_json_escaped() {
        assert_eq!(
            redact("token abc-def then abc-def", &["abc-def", ""]),
            "token [redacted] then [redacted]"
        );
        assert_eq!(
            redact(r#"{"secret":"p\"w"}"#, &["p\"w"]),
            r#"{"secret":"[redacted]"}"#
        );
        assert_eq!(redact("nothing here", &[]), "nothing here");
    }

    #[test]
    fn an_excerpt_is_one_masked_line_cut_on_a_char_boundary() {
        let secret = "s".repeat(150);
        let body = format!("{}{secret}{}", "é".repeat(100), "x".repeat(500));
        let cut = excerpt(body.as_bytes(), &[&secret]);
        assert!(!cut.contains("sss"), "{cut}");
        assert!(cut.ends_with('…'), "{cut}");
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert_eq!(
            excerpt(b"<html>\n  <body>down</body>\n</html>", &[]),
            "<html> <body>down</body> </html>"
        );
        assert_eq!(excerpt(b"  \n", &[]), "empty body");
        assert_eq!(excerpt(b" short ", &[]), "short");
    }
}
