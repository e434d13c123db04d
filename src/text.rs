//! Making log-derived text safe for a terminal.

use std::borrow::Cow;

/// Bytes as text, invalid UTF-8 replaced by U+FFFD. Every finding's
/// evidence, every evaluated line and every field of a parsed line go
/// through here, so the cheap tests come first: ASCII (on the short values
/// of a parsed line the ASCII test costs less than `from_utf8`: 2 % of a
/// default scan), then `from_utf8`, and the lossy decoder (which has no
/// fast path) last.
pub fn lossy(b: &[u8]) -> Cow<'_, str> {
    if b.is_ascii() {
        // SAFETY: ASCII bytes are UTF-8.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(b) });
    }
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// A path as report text. A name that is not UTF-8 (a Latin-1 name from an
/// old system) keeps every byte: invalid ones as `\xHH`, and its
/// backslashes doubled so the spelling stays unambiguous, instead of the
/// lossy U+FFFD, which can make two files one name and locates neither.
pub fn path_text(p: &std::path::Path) -> String {
    os_text(p.as_os_str())
}

/// [`path_text`] of one name or path.
pub fn os_text(s: &std::ffi::OsStr) -> String {
    if let Some(t) = s.to_str() {
        return t.to_string();
    }
    #[cfg(unix)]
    {
        use std::fmt::Write;
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in s.as_bytes().utf8_chunks() {
            out.push_str(&chunk.valid().replace('\\', "\\\\"));
            for b in chunk.invalid() {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned()
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

    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_keep_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let p = std::path::Path::new(std::ffi::OsStr::from_bytes(b"ev/caf\xe9\\x.log"));
        assert_eq!(path_text(p), "ev/caf\\xE9\\\\x.log");
        assert_eq!(
            path_text(std::path::Path::new("ev/caf\u{e9}\\x.log")),
            "ev/caf\u{e9}\\x.log"
        );
    }

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
    fn lossy_reads_any_bytes_as_the_lossy_decoder_does() {
        let mut rng = crate::test_util::rng(7);
        for len in 0..200 {
            for high in [0, 1, 8, 256] {
                // Mostly ASCII with some bytes from the upper half, or any bytes.
                let b: Vec<u8> = (0..len)
                    .map(|_| match high {
                        256 => rng(256) as u8,
                        h if h > 0 && rng(h) == 0 => 0x80 | rng(128) as u8,
                        _ => rng(128) as u8,
                    })
                    .collect();
                assert_eq!(lossy(&b), String::from_utf8_lossy(&b), "{b:?}");
            }
        }
    }

    #[test]
    fn escapes_terminal_sequences() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(sanitize("x\ry\u{7}"), "x\\ry\\u{7}");
    }
}
