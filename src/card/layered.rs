//! Card numbers spelled through stacked escapes, where an escape's own
//! syntax is escaped: `%25%33%34` (`%34` once decoded), the
//! `encodeURIComponent` of `&#52;` (`%26%2352%3B`), `&percnt;34`,
//! `\\u0034`. The single-escape masker reads an escape, or a chain whose
//! introducers are escaped (`%2534`); these need the text decoded a layer
//! at a time. Every decoded byte keeps the source bytes it came from, card
//! numbers are found in each decoded reading (after every pass, and for
//! every set of layers a reader may decode: an escape left as written
//! shows its own digits), and the source bytes of their middle digits are
//! masked.

use super::{Ranges, ascii_digits, escape_after, pan_ranges_by};

/// A byte of a decoded reading and the source bytes `from..to` it stands
/// for.
#[derive(Clone, Copy)]
struct Item {
    byte: u8,
    from: u32,
    to: u32,
}

/// Most decoding passes: more than the matcher applies (three rounds of
/// three URL passes, JSON and HTML); each pass that changes something
/// shortens the reading, so the cap only bounds the work.
const MAX_PASSES: usize = 12;

/// Stands for a decoded character outside ASCII: no digit, separator or
/// escape syntax.
const OTHER: u8 = 0x80;

/// Whether [`spans`] may find something in `b` or in any piece of it.
/// It can only when `b` holds 13 ASCII digits (every spelling of a digit
/// holds one: `%34`, `&#52;`, `\u0034`) and an escape that decodes to a
/// byte that may join an escape or a card number: an alphanumeric, a
/// separator, or escape syntax (`%`, `\`, `&`, `#`, `;`). Otherwise one
/// pass leaves no escape to decode and joins no digit groups. `&#` and
/// the legacy `&amp` (which a cut may shorten a longer name to) count
/// whatever follows.
pub(super) fn may_mask(b: &[u8]) -> bool {
    ascii_digits(b) >= super::MIN_LEN && super::escape_starts(b).any(|i| starts_layer(b, i))
}

/// Whether the escape at `b[i]` (an escape start) makes [`may_mask`] hold.
pub(super) fn starts_layer(b: &[u8], i: usize) -> bool {
    let t = &b[i..];
    if t.starts_with(b"&#") || t.get(1..4).is_some_and(|n| n.eq_ignore_ascii_case(b"amp")) {
        return true;
    }
    escape(t, 0, URL | JSON | HTML | JS).is_some_and(|(v, _)| u8::try_from(v).is_ok_and(joins))
}

/// Bytes that may take part in another escape or in a card number.
fn joins(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'%' | b'\\' | b'&' | b'#' | b';' | b' ' | b'-' | b'+')
}

/// Decoding layers, as bits: a reader may apply any of them.
const URL: u8 = 1;
const JSON: u8 = 2;
const HTML: u8 = 4;
const JS: u8 = 8;

/// The escape one of `layers` reads at `t[i]`: its value and length.
/// URL `%HH`/`%uHHHH`; JSON (and JavaScript) `\uHHHH` and one-character
/// escapes; JavaScript `\xHH`; HTML numeric and named references.
fn escape(t: &[u8], i: usize, layers: u8) -> Option<(u32, usize)> {
    let rest = t.get(i..)?;
    let on = |l: u8| layers & l != 0;
    match rest {
        [b'%', ..] if on(URL) => {}
        [b'\\', b'x' | b'X', ..] if on(JS) => {}
        [b'\\', b'u' | b'U', ..] if on(JSON | JS) => {}
        [
            b'\\',
            c @ (b'\\' | b'/' | b'"' | b'b' | b'f' | b'n' | b'r' | b't'),
            ..,
        ] if on(JSON | JS) => {
            let v = match c {
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                c => *c,
            };
            return Some((u32::from(v), 2));
        }
        [b'&', c, ..] if on(HTML) && c.is_ascii_alphabetic() => {
            let (v, n) = crate::decode::parse_reference(rest)?;
            let mut chars = v.chars();
            let c = chars.next()?;
            // A name for two characters decodes to neither alone.
            let v = if chars.next().is_none() {
                u32::from(c)
            } else {
                u32::from(OTHER)
            };
            return Some((v, n));
        }
        [b'&', ..] if on(HTML) => {}
        _ => return None,
    }
    let e = escape_after(rest[0], rest, 1)?;
    Some((e.value, e.end))
}

/// Source byte ranges (sorted, disjoint) that spell a middle digit of a
/// card number in some reading of `b` decoded one or more layers deep:
/// each range is one decoded byte's source, which a masker replaces whole.
/// Empty unless [`may_mask`] holds.
pub(super) fn spans(b: &[u8]) -> Ranges {
    if !may_mask(b) {
        return Vec::new();
    }
    // A byte outside escape syntax, digits and separators is itself in
    // every reading, where it ends digit groups, and no escape takes it:
    // the pieces between such bytes are read on their own, and only those
    // that may hold something (in logs, a query value or a JSON string's
    // stretch; in decoded noise, a few bytes).
    let mut out = Vec::new();
    let mut start = 0;
    for end in b
        .iter()
        .enumerate()
        .filter(|(_, c)| !syntax(**c))
        .map(|(k, _)| k)
        .chain([b.len()])
    {
        let piece = &b[start..end];
        if may_mask(piece) {
            out.extend(
                piece_spans(piece)
                    .into_iter()
                    .map(|(f, t)| (start + f, start + t)),
            );
        }
        start = end + 1;
    }
    out
}

/// Bytes that may take part in an escape, a card number or its
/// separators (`/` and `"` follow `\` in JSON escapes).
fn syntax(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'%' | b'\\' | b'&' | b'#' | b';' | b' ' | b'-' | b'+' | b'/' | b'"'
        )
}

/// [`spans`] of one piece.
fn piece_spans(b: &[u8]) -> Ranges {
    if u32::try_from(b.len()).is_err() {
        return Vec::new();
    }
    let source: Vec<Item> = (0..b.len() as u32)
        .map(|k| Item {
            byte: b[k as usize],
            from: k,
            to: k + 1,
        })
        .collect();
    let mut out: Ranges = Vec::new();
    let mut reading = Vec::with_capacity(b.len());
    // A reader may decode some layers and not others (the matcher reads no
    // `\x`): an escape left as written shows its digits next to decoded
    // ones. Every set of layers is one chain of readings.
    for layers in 1..=(URL | JSON | HTML | JS) {
        let mut items = source.clone();
        for _ in 0..MAX_PASSES {
            let Some(next) = pass(&items, &mut reading, layers) else {
                break;
            };
            items = next;
            reading.clear();
            reading.extend(items.iter().map(|it| it.byte));
            for (from, to) in pan_ranges_by(&reading, false) {
                out.extend(
                    items[from..to]
                        .iter()
                        .filter(|it| it.byte.is_ascii_digit())
                        .map(|it| (it.from as usize, it.to as usize)),
                );
            }
        }
    }
    merge(out)
}

/// One pass of `layers` over a reading: every escape becomes one item
/// covering its source. `None` when nothing decoded. `bytes` is scratch.
fn pass(items: &[Item], bytes: &mut Vec<u8>, layers: u8) -> Option<Vec<Item>> {
    bytes.clear();
    bytes.extend(items.iter().map(|it| it.byte));
    let mut out = Vec::with_capacity(items.len());
    let mut changed = false;
    let mut i = 0;
    while i < items.len() {
        let decoded = matches!(bytes[i], b'%' | b'\\' | b'&')
            .then(|| escape(bytes, i, layers))
            .flatten();
        match decoded {
            Some((v, n)) if n > 0 => {
                out.push(Item {
                    byte: u8::try_from(v).ok().filter(u8::is_ascii).unwrap_or(OTHER),
                    from: items[i].from,
                    to: items[i + n - 1].to,
                });
                changed = true;
                i += n;
            }
            _ => {
                out.push(items[i]);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// Sorts and merges ranges; a later reading's range holds an earlier
/// one's.
fn merge(mut r: Ranges) -> Ranges {
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (f, t) in r {
        match out.last_mut() {
            Some(last) if f < last.1 => last.1 = last.1.max(t),
            _ => out.push((f, t)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes each character of `s` by `f`.
    fn each(s: &str, f: impl Fn(char) -> String) -> String {
        s.chars().map(f).collect()
    }

    fn masked(text: &str) -> String {
        let b = text.as_bytes();
        let mut out = String::new();
        let mut last = 0;
        for (f, t) in spans(b) {
            out.push_str(&text[last..f]);
            out.push('*');
            last = t;
        }
        out.push_str(&text[last..]);
        out
    }

    const PAN: &str = "4111111111111111";

    #[test]
    fn stacked_escapes_are_read_to_the_digit() {
        let forms = [
            // `%34` with its digits escaped.
            each(PAN, |c| format!("%25%33%{:02X}", c as u32)),
            // encodeURIComponent of `&#52;`.
            each(PAN, |c| format!("%26%23{}%3B", c as u32)),
            // A named reference spells the `%`, `\` or `&`.
            each(PAN, |c| format!("&percnt;{:02X}", c as u32)),
            each(PAN, |c| format!("&bsol;u{:04X}", c as u32)),
            each(PAN, |c| format!("&amp;#{};", c as u32)),
            each(PAN, |c| format!("&%23{};", c as u32)),
            // A JSON-escaped backslash, and a plain `%` before escaped hex.
            each(PAN, |c| format!("\\\\u{:04x}", c as u32)),
            each(PAN, |c| format!("%%33%{:02X}", c as u32)),
            // A `+` separator that is itself escaped.
            "4111%2B1111%2B1111%2B1111".to_string(),
        ];
        for f in &forms {
            let m = masked(&format!("cc={f}&x=1"));
            // The first six and last four stay; eight middle tokens go.
            assert_eq!(m.matches('*').count(), 6, "{f} -> {m}");
        }
    }

    /// A card-number window in any digit run of `t`.
    fn holds_pan(t: &str) -> bool {
        t.split(|c: char| !c.is_ascii_digit()).any(|run| {
            let b = run.as_bytes();
            (13..=19.min(b.len())).any(|n| {
                b.windows(n)
                    .any(|w| super::super::luhn_valid(w) && super::super::brand_of(w).is_some())
            })
        })
    }

    /// Found by the `card` fuzz target: a reader that decodes URL escapes
    /// but not JavaScript's `\x34` sees that escape's written `34` joined
    /// to the decoded digits (`344333` `4` `333333333`, an Amex number).
    #[test]
    fn readings_that_decode_some_layers_only_are_masked() {
        use crate::decode::{DecodeOpts, decode_value};
        let one = |url, json, html| DecodeOpts {
            url,
            json,
            html,
            ..DecodeOpts::default()
        };
        let readers = [
            one(true, false, false),
            one(false, true, false),
            one(false, false, true),
            DecodeOpts::all(),
        ];
        let readings = |t: &str| -> Vec<String> {
            let mut r = vec![t.to_string()];
            r.extend(readers.iter().map(|&o| decode_value(t, o).into_owned()));
            r
        };
        for t in [
            "n=\\x344333%u0034333333333&x=1",
            "n=%344333\\u0034333333333&x=1",
            "n=%344333&#52;333333333&x=1",
            "n=&#x344333%u0034333333333&x=1",
        ] {
            assert!(
                readings(t).iter().any(|r| holds_pan(r)),
                "{t}: the test needs a number"
            );
            let m = super::super::mask_text(t);
            for r in readings(&m) {
                assert!(!holds_pan(&r), "{t} -> {m} reads as {r}");
            }
        }
    }

    #[test]
    fn spans_follow_the_source() {
        let text = each("4111111111111111", |c| format!("%25{:02X}", c as u32));
        // Already a chain the single-escape masker reads; the layered one
        // agrees: the 7th to 12th tokens, five bytes each.
        assert_eq!(
            spans(text.as_bytes()),
            vec![(30, 35), (35, 40), (40, 45), (45, 50), (50, 55), (55, 60)]
        );
    }

    #[test]
    fn nothing_without_a_card_number_or_a_joining_escape() {
        for t in [
            "GET /a?x=%2F%3D%3F&id=1234567890123",
            "%25%33%34%25%33%31 short",
            "&lt;script&gt; 4111111111111112",
            "4111111111111111",
        ] {
            assert!(spans(t.as_bytes()).is_empty(), "{t}");
        }
        assert!(!may_mask(b"GET /a?x=%2F%3D%3F&id=1234567890123"));
        assert!(may_mask(b"q=%2520&id=1234567890123"));
    }

    #[test]
    fn hostile_input_stays_linear_and_in_bounds() {
        let deep = "%25".repeat(5000) + &"4".repeat(20);
        let _ = spans(deep.as_bytes());
        let odd: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let _ = spans(&odd);
        let _ = spans(b"&#");
        let _ = spans(b"\\");
    }
}
