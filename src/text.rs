//! Making log-derived text safe for a terminal.

use std::borrow::Cow;

/// Bytes as text, invalid UTF-8 replaced by U+FFFD: `from_utf8` first,
/// for its ASCII fast path (the lossy decoder has none, and every finding's
/// evidence and every evaluated line go through here).
pub fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Escapes control characters (ESC, CR, BEL, …) so that nothing read from a
/// log can move the cursor, recolour or retitle an analyst's terminal.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_borrows_valid_text_and_replaces_invalid_bytes() {
        assert!(matches!(lossy(b"GET /a?b=1"), Cow::Borrowed("GET /a?b=1")));
        assert!(matches!(
            lossy("caf\u{e9}".as_bytes()),
            Cow::Borrowed("caf\u{e9}")
        ));
        assert_eq!(lossy(b"a\xffb\xc3"), "a\u{fffd}b\u{fffd}");
    }

    #[test]
    fn escapes_terminal_sequences() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(sanitize("x\ry\u{7}"), "x\\ry\\u{7}");
    }
}
