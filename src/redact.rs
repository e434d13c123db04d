//! Card data inside base64 and hex blobs, masked in everything skimhunt
//! prints.
//!
//! Skimmers encode what they steal before they send it, and the matcher
//! decodes blobs to find it. Printing such a blob as logged would hand the
//! card number to anyone who decodes it. So each blob is decoded at every
//! alignment (a blob glued to a path or other letters may start anywhere
//! in its run), masked like plain text (its own blobs too, a few layers
//! deep), and encoded again in place: only the characters that carry
//! masked bits change, so the evidence still decodes, to masked text.

use crate::decode;

/// Layers of blobs within blobs that are opened: one more than the
/// matcher decodes.
const MAX_DEPTH: usize = decode::MAX_STAGES + 1;

/// Shortest hex run decoded: the shortest card number, 13 digits.
const MIN_HEX: usize = 26;

/// `text` with the card data inside its blobs masked; `None` when no blob
/// holds any. The escapes URL and JSON encoding put inside a blob (`%2B`,
/// `%2F`, `%3D`, `\/`, `\u002B`, `\u002F`, `\u003D`) are read as the
/// character; a changed character is written in its escape's style.
pub(crate) fn mask_blobs(text: &[u8]) -> Option<Vec<u8>> {
    if !may_hide_text(text) {
        return None;
    }
    let view = View::new(text);
    let mut bytes = view.bytes.to_vec();
    if !mask_runs(&mut bytes, 0) {
        return None;
    }
    Some(view.write_back(text, &bytes))
}

/// Class bits of a byte for [`may_hide_text`]: what its base64 value
/// says about the decoded bytes it is part of, and whether it is a hex
/// digit (or a printable byte's first one).
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let v = match b {
            b'A'..=b'Z' => Some(b - b'A'),
            b'a'..=b'z' => Some(b - b'a' + 26),
            b'0'..=b'9' => Some(b - b'0' + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        };
        let mut bits = 0;
        if let Some(v) = v {
            // A group's bytes from its digits d0..d3: d0 holds the first
            // byte's top three bits, d1 (bits 3-1) the second's, d2 (bits
            // 1-0) and d3 (bit 5) the third's.
            if v >= 8 && v <= 31 {
                bits |= FIRST;
            }
            if v & 15 >= 2 && v & 15 <= 7 {
                bits |= SECOND;
            }
            if v & 3 == 1 {
                bits |= THIRD_ANY;
            }
            if v & 3 == 0 {
                bits |= THIRD_IF;
            }
            if v >= 32 {
                bits |= FOURTH;
            }
        }
        if b.is_ascii_hexdigit() {
            bits |= HEX;
        }
        if b >= b'2' && b <= b'7' {
            bits |= HEX_FIRST;
        }
        t[c] = bits;
        c += 1;
    }
    t
};
const FIRST: u8 = 1;
const SECOND: u8 = 2;
const THIRD_ANY: u8 = 4;
const THIRD_IF: u8 = 8;
const FOURTH: u8 = 16;
const HEX: u8 = 32;
const HEX_FIRST: u8 = 64;

/// Whether a blob of `b` may decode, at some offset, to 13 printable
/// ASCII bytes in a row (0x20-0x7f), as every card number does, whatever
/// its separators, escapes or further encoding. One pass, no decoding:
/// such a stretch holds three whole 3-byte groups, and a printable byte
/// (top three bits 001, 010 or 011) pins bits of the base64 digits it
/// comes from; in hex, each byte's first digit is 2-7. Most blobs in logs
/// (ids, hashes, paths) fail at once. A CVV alone is shorter, and is not
/// looked for.
fn may_hide_text(b: &[u8]) -> bool {
    // 13 bytes take 18 base64 digits: only runs of 17 or more are tested
    // (one block scan finds them); most of a log line is in none.
    // Escapes count as their bytes (a run with one is no shorter than its
    // reading) and are read only inside the runs that hold one.
    static RUNS: std::sync::LazyLock<crate::matcher::Runs> = std::sync::LazyLock::new(|| {
        crate::matcher::Runs::new(
            std::array::from_fn(|c| {
                let c = c as u8;
                decode::is_base64_byte(c) || c == b'%' || c == b'\\'
            }),
            17,
        )
    });
    RUNS.iter(b).any(|(s, e)| {
        let run = &b[s..e];
        if memchr::memchr2(b'%', b'\\', run).is_some() {
            run_may_hide(&View::new(run).bytes)
        } else {
            run_may_hide(run)
        }
    })
}

/// [`may_hide_text`] of one run of base64 digits.
fn run_may_hide(b: &[u8]) -> bool {
    // Windows overlap by more than the longest stretch tested (26 hex
    // digits), so every stretch lies whole in one.
    let mut start = 0;
    loop {
        let end = (start + WINDOW + OVERLAP).min(b.len());
        if window_may_hide(&b[start..end]) {
            return true;
        }
        if end == b.len() {
            return false;
        }
        start += WINDOW;
    }
}

const WINDOW: usize = 256;
const OVERLAP: usize = 32;
/// Window buffers, with room for reads past the window's end.
const BUF: usize = WINDOW + 2 * OVERLAP;

/// [`may_hide_text`] of one window, eight positions at a time, each byte
/// a lane: bit 0 of lane i says a 3-byte group may start at digit i, bit 1
/// that a printable byte's two hex digits may; then whole stretches:
/// groups at i, i+4 and i+8, pairs at i, i+2, ..., i+24.
#[inline]
fn window_may_hide(b: &[u8]) -> bool {
    let mut cls = [0u8; BUF];
    for (d, &c) in cls.iter_mut().zip(b) {
        *d = CLASS[usize::from(c)];
    }
    #[inline(always)]
    fn word(v: &[u8; BUF], i: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&v[i..i + 8]);
        u64::from_le_bytes(w)
    }
    const fn lanes(x: u8) -> u64 {
        u64::from_le_bytes([x; 8])
    }
    let mut starts = [0u8; BUF];
    for i in (0..b.len()).step_by(8) {
        let (w0, w1, w2, w3) = (
            word(&cls, i),
            word(&cls, i + 1),
            word(&cls, i + 2),
            word(&cls, i + 3),
        );
        // Each class bit moved to bit 0 (groups) or 1 (pairs) of its lane.
        let third =
            (w2 & lanes(THIRD_ANY)) >> 2 | (w2 & lanes(THIRD_IF)) >> 3 & (w3 & lanes(FOURTH)) >> 4;
        let group = w0 & lanes(FIRST) & (w1 & lanes(SECOND)) >> 1 & third;
        let pair = (w0 & lanes(HEX_FIRST)) >> 5 & (w1 & lanes(HEX)) >> 4;
        starts[i..i + 8].copy_from_slice(&(group | pair).to_le_bytes());
    }
    (0..b.len()).step_by(8).any(|i| {
        let s = |k: usize| word(&starts, i + k);
        let groups = s(0) & s(4) & s(8) & lanes(1);
        let quad = |k: usize| s(k) & s(k + 2) & s(k + 4) & s(k + 6);
        let pairs = quad(0) & quad(8) & quad(16) & s(24) & lanes(2);
        groups | pairs != 0
    })
}

/// A text with the escapes of blob characters read as the characters.
struct View<'t> {
    bytes: std::borrow::Cow<'t, [u8]>,
    /// Where each byte of `bytes` starts in the text, then the text's
    /// length; empty when the text holds no escape (each byte is itself).
    at: Vec<usize>,
}

impl<'t> View<'t> {
    fn new(text: &'t [u8]) -> View<'t> {
        if !memchr::memchr2_iter(b'%', b'\\', text).any(|i| escape_at(&text[i..]).is_some()) {
            return View {
                bytes: text.into(),
                at: Vec::new(),
            };
        }
        let mut bytes = Vec::with_capacity(text.len());
        let mut at = Vec::with_capacity(text.len() + 1);
        let mut i = 0;
        while i < text.len() {
            let (c, n) = escape_at(&text[i..]).unwrap_or((text[i], 1));
            bytes.push(c);
            at.push(i);
            i += n;
        }
        at.push(text.len());
        View {
            bytes: bytes.into(),
            at,
        }
    }

    /// The text with the view's changed bytes `new` written back.
    fn write_back(&self, text: &[u8], new: &[u8]) -> Vec<u8> {
        if self.at.is_empty() {
            return new.to_vec();
        }
        let mut out = Vec::with_capacity(text.len());
        for (k, (&old, &c)) in self.bytes.iter().zip(new).enumerate() {
            let span = &text[self.at[k]..self.at[k + 1]];
            if old == c {
                out.extend_from_slice(span);
            } else {
                spell(span, c, &mut out);
            }
        }
        out
    }
}

/// The blob character an escape at the start of `t` stands for, and the
/// escape's length: `%HH`, `%uHHHH` and `\uHHHH` of any character of a
/// blob alphabet (the `url` and `json` layers decode them, so the matcher
/// reads a blob through them), and `\/`.
fn escape_at(t: &[u8]) -> Option<(u8, usize)> {
    let hex = |from: usize, n: usize| {
        t.get(from..from + n)?
            .iter()
            .try_fold(0u32, |v, &c| Some(v * 16 + char::from(c).to_digit(16)?))
    };
    let (mut code, mut len) = match t {
        [b'\\', b'/', ..] => return Some((b'/', 2)),
        [b'%', b'u' | b'U', ..] | [b'\\', b'u', ..] => (hex(2, 4)?, 6),
        [b'%', ..] => (hex(1, 2)?, 3),
        _ => return None,
    };
    // An escaped `%` and two hex digits: the url layer decodes until
    // nothing changes (`%252B`).
    while code == u32::from(b'%') {
        let Some(next) = hex(len, 2) else {
            break;
        };
        (code, len) = (next, len + 2);
    }
    let c = u8::try_from(code).ok()?;
    (decode::is_base64_byte(c) || c == b'=').then_some((c, len))
}

/// Writes `c` where the text had `span`: in the span's escape style (its
/// code, the last two hex digits, replaced, in their case), or as itself
/// where the span is `\/`.
fn spell(span: &[u8], c: u8, out: &mut Vec<u8>) {
    match span {
        [b'%' | b'\\', ..] if span.len() >= 3 => {
            let (head, code) = span.split_at(span.len() - 2);
            out.extend_from_slice(head);
            let hex = if code.iter().any(u8::is_ascii_lowercase) {
                format!("{c:02x}")
            } else {
                format!("{c:02X}")
            };
            out.extend_from_slice(hex.as_bytes());
        }
        _ => out.push(c),
    }
}

/// Masks the card data inside the blobs of `b` in place (its length is
/// kept); true when anything changed. Base64 runs first, then the hex runs
/// (which lie inside base64 runs).
fn mask_runs(b: &mut [u8], depth: usize) -> bool {
    // Each set of runs is found before its runs are rewritten (a rewrite
    // keeps a run's length and class).
    let mut changed = false;
    let base64: Vec<_> =
        decode::class_runs(b, decode::is_base64_byte, decode::MIN_BASE64_RUN).collect();
    for (s, e) in base64 {
        changed |= mask_base64(&mut b[s..e], depth);
    }
    let hex: Vec<_> = decode::class_runs(b, |c| c.is_ascii_hexdigit(), MIN_HEX).collect();
    for (s, e) in hex {
        changed |= mask_hex(&mut b[s..e], depth);
    }
    changed
}

/// Masks decoded blob bytes in place: their own blobs first (a few layers
/// deep), then plain card data. True when anything changed.
fn open(d: &mut [u8], depth: usize) -> bool {
    let mut changed = false;
    if depth + 1 < MAX_DEPTH && may_hide_text(d) {
        changed |= mask_runs(d, depth + 1);
    }
    crate::card::mask_in_place(d) | changed
}

/// One base64 run, decoded from each of its first four bytes.
fn mask_base64(run: &mut [u8], depth: usize) -> bool {
    let url_safe = run.iter().any(|&c| matches!(c, b'-' | b'_'))
        && !run.iter().any(|&c| matches!(c, b'+' | b'/'));
    let mut changed = false;
    for a in 0..4 {
        let seg = &mut run[a..];
        let Some(mut d) = decode::base64_decode(seg, usize::MAX) else {
            continue;
        };
        if open(&mut d, depth) {
            put_base64(&d, seg, url_safe);
            changed = true;
        }
    }
    changed
}

/// Writes `d` over the base64 digits `seg` it was decoded from: each digit
/// takes six of its bits, and a digit whose value is unchanged keeps its
/// character (the other alphabet's, too).
fn put_base64(d: &[u8], seg: &mut [u8], url_safe: bool) {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bits = d.len() * 8;
    for (j, c) in seg.iter_mut().enumerate() {
        let Some(old) = decode::base64_value(*c) else {
            continue;
        };
        let mut v = old;
        for k in 0..6 {
            let pos = 6 * j + k;
            if pos >= bits {
                break;
            }
            let bit = (d[pos / 8] >> (7 - pos % 8)) & 1;
            v = (v & !(1 << (5 - k))) | (bit << (5 - k));
        }
        if v != old {
            *c = match (STD[usize::from(v)], url_safe) {
                (b'+', true) => b'-',
                (b'/', true) => b'_',
                (ch, _) => ch,
            };
        }
    }
}

/// One hex run, decoded from each of its first two bytes; digits are
/// written back in the run's case.
fn mask_hex(run: &mut [u8], depth: usize) -> bool {
    let upper = run.iter().any(u8::is_ascii_uppercase) && !run.iter().any(u8::is_ascii_lowercase);
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut changed = false;
    for a in 0..2 {
        let pairs = (run.len() - a) / 2;
        let seg = &mut run[a..a + 2 * pairs];
        let Some(mut d) = decode::hex_decode(seg, usize::MAX) else {
            continue;
        };
        let before = d.clone();
        if open(&mut d, depth) {
            for ((p, &byte), &was) in seg.chunks_exact_mut(2).zip(&d).zip(&before) {
                if byte != was {
                    p[0] = digits[usize::from(byte >> 4)];
                    p[1] = digits[usize::from(byte & 15)];
                }
            }
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{"a":"","c":"4111111111111111","x":"?>?>?>?"}` in base64: its tail
    /// holds `+` and `/`.
    const BLOB: &str = "eyJhIjoiIiwiYyI6IjQxMTExMTExMTExMTExMTEiLCJ4IjoiPz4/Pj8+PyJ9";

    fn masked(text: &str) -> String {
        String::from_utf8(mask_blobs(text.as_bytes()).expect("masked")).unwrap()
    }

    fn decoded(blob: &str) -> String {
        String::from_utf8(decode::base64_decode(blob.as_bytes(), usize::MAX).unwrap()).unwrap()
    }

    #[test]
    fn a_blob_still_decodes_to_the_masked_text() {
        let out = masked(&format!("d={BLOB}&k=1"));
        let blob = &out[2..out.len() - 4];
        assert_eq!(
            decoded(blob),
            r#"{"a":"","c":"411111******1111","x":"?>?>?>?"}"#
        );
        // Only the digits that carry masked bits change: six bytes, nine
        // digits at most.
        let changed: Vec<usize> = (0..BLOB.len())
            .filter(|&i| BLOB.as_bytes()[i] != blob.as_bytes()[i])
            .collect();
        assert!(changed.len() <= 9, "{changed:?}");
        assert!(
            changed.iter().all(|&i| (24..36).contains(&i)),
            "{changed:?}"
        );
    }

    #[test]
    fn escapes_inside_a_blob_are_read_and_kept() {
        for (from, to) in [("+", "%2B"), ("/", "%2f"), ("/", "\\/"), ("+", "\\u002B")] {
            let text = format!("\"d\":\"{}\"", BLOB.replace(from, to));
            let out = masked(&text);
            // The escapes outside the masked bytes are as they were.
            assert!(out.contains(to), "{to}: {out}");
            let plain = out[5..out.len() - 1].replace(to, from);
            assert!(decoded(&plain).contains("411111******1111"), "{to}: {out}");
        }
        // Any blob character may be escaped (the url and json layers read
        // them all): the masked ones keep the escape's style.
        for (from, to) in [
            ("MTEx", "%4DTEx"),
            ("MTEx", "M%54Ex"),
            ("MTEx", "\\u004dTEx"),
            ("MTEx", "%254DTEx"),
            ("MTEx", "M%252554Ex"),
        ] {
            let text = format!("\"d\":\"{}\"", BLOB.replace(from, to));
            let out = masked(&text);
            assert_ne!(out, text);
            let plain = View::new(&out.as_bytes()[5..out.len() - 1])
                .bytes
                .into_owned();
            let plain = String::from_utf8(plain).unwrap();
            assert!(decoded(&plain).contains("411111******1111"), "{to}: {out}");
        }
        let mut out = Vec::new();
        spell(b"%2B", b'/', &mut out);
        spell(b"\\u002B", b'=', &mut out);
        spell(b"\\/", b'+', &mut out);
        spell(b"%2F", b'Q', &mut out);
        spell(b"%2f", b'Q', &mut out);
        spell(b"%u0031", b'2', &mut out);
        spell(b"%252b", b'/', &mut out);
        assert_eq!(out, b"%2F\\u003D+%51%51%u0032%252f");
    }

    #[test]
    fn a_blob_glued_to_other_letters_is_opened_at_its_own_offset() {
        for glue in ["", "x", "xy", "xyz", "/img/a"] {
            let out = masked(&format!("p={glue}{BLOB}"));
            let blob = &out[2 + glue.len()..];
            assert!(
                decoded(blob).contains("411111******1111"),
                "{glue:?}: {out}"
            );
        }
    }

    #[test]
    fn hex_keeps_its_case_and_nested_blobs_are_opened() {
        // `c=4111111111111111` in hex, upper case, then in base64.
        let hex: String = b"c=4111111111111111"
            .iter()
            .map(|c| format!("{c:02X}"))
            .collect();
        let out = masked(&format!("h={hex}"));
        assert!(out.starts_with("h=633D"), "{out}");
        assert!(out.contains("2A2A2A"), "{out}");
        let b64 = "NjMzRDM0MzEzMTMxMzEzMTMxMzEzMTMxMzEzMTMxMzEzMTMx";
        assert!(
            decoded(b64).starts_with("633D34"),
            "the fixture is the hex above in base64"
        );
        let out = masked(&format!("b={b64}"));
        assert!(decoded(&out[2..]).contains("2A2A2A2A2A2A"), "{out}");
    }

    #[test]
    fn noise_and_clean_blobs_are_left_alone() {
        let mut rand = crate::test_util::rng(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_%\\";
        let noise: Vec<u8> = (0..20_000)
            .map(|_| alphabet[rand(alphabet.len() as u64) as usize])
            .collect();
        assert_eq!(mask_blobs(&noise), None);
        // `{"sku":"SKU-1234","qty":2}` and a path: nothing to mask.
        assert_eq!(
            mask_blobs(b"/static/version1490300000/frontend/Magento/luma/en_US/jquery.js?d=eyJza3UiOiJTS1UtMTIzNCIsInF0eSI6Mn0="),
            None
        );
        assert_eq!(mask_blobs(b"short 4111111111111111"), None);
    }
}
