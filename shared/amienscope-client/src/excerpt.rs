//! A short, safe piece of an answer body for error messages.

/// How much of a body goes into an error.
const EXCERPT_CHARS: usize = 200;

/// The trimmed body cut to a few hundred characters, or `empty body`.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty body".to_owned();
    }
    let mut cut: String = text.chars().take(EXCERPT_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_body_is_cut_and_marked() {
        let cut = excerpt("é".repeat(1_000).as_bytes());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt(b"  \n"), "empty body");
        assert_eq!(excerpt(b" short "), "short");
    }
}
