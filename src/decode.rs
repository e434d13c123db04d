//! Decoding of field values before rules match them.
//!
//! Attackers hide payloads behind URL encoding (often several layers) and
//! HTML character references. Every decoder here is a single linear pass,
//! keeps anything malformed verbatim, never panics, and returns `Borrowed`
//! when it changed nothing so the common clean case does not allocate.

use std::borrow::Cow;

/// Which decoding layers to apply to a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DecodeOpts {
    /// Percent-decoding (`%XX`), repeated until stable.
    pub url: bool,
    /// `+` means space (form encoding).
    pub plus: bool,
    /// HTML character references (`&lt;`, `&#60;`, `&#x3c;`).
    pub html: bool,
}

impl DecodeOpts {
    /// True when at least one layer is enabled.
    pub fn any(self) -> bool {
        self.url || self.plus || self.html
    }

    /// Layers named by one decoder name, case-insensitive: `url`/`urldecode`,
    /// `plus`, `form` (url + plus), `html`/`htmldecode`/`entities`, `all`,
    /// `none`. `None` for an unknown name.
    pub fn parse_name(name: &str) -> Option<DecodeOpts> {
        let none = DecodeOpts::default();
        let opts = match name.trim().to_ascii_lowercase().as_str() {
            "url" | "urldecode" | "url_decode" | "percent" => DecodeOpts { url: true, ..none },
            "plus" => DecodeOpts { plus: true, ..none },
            "form" | "urlplus" | "url+plus" => DecodeOpts {
                url: true,
                plus: true,
                ..none
            },
            "html" | "htmldecode" | "html_decode" | "entities" | "htmlentities" => {
                DecodeOpts { html: true, ..none }
            }
            "all" => DecodeOpts {
                url: true,
                plus: true,
                html: true,
            },
            "none" => none,
            _ => return None,
        };
        Some(opts)
    }

    /// Union of two sets of layers.
    pub fn union(self, other: DecodeOpts) -> DecodeOpts {
        DecodeOpts {
            url: self.url || other.url,
            plus: self.plus || other.plus,
            html: self.html || other.html,
        }
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// One pass of percent and/or plus decoding; `Borrowed` when unchanged.
fn url_pass(s: &str, percent: bool, plus: bool) -> Cow<'_, str> {
    let b = s.as_bytes();
    let needs = b
        .iter()
        .any(|&c| (percent && c == b'%') || (plus && c == b'+'));
    if !needs {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if percent && c == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex_val);
            let lo = b.get(i + 2).copied().and_then(hex_val);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi << 4 | lo);
                changed = true;
                i += 3;
                continue;
            }
        } else if plus && c == b'+' {
            out.push(b' ');
            changed = true;
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    if !changed {
        return Cow::Borrowed(s);
    }
    Cow::Owned(match String::from_utf8(out) {
        Ok(v) => v,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// One pass of percent-decoding: `%XX` (either hex case) becomes the byte,
/// invalid or truncated escapes stay verbatim, `+` becomes a space when
/// `plus_as_space`. Decoded bytes that are not UTF-8 become U+FFFD.
/// `Borrowed` when nothing changed.
pub fn url_decode(s: &str, plus_as_space: bool) -> Cow<'_, str> {
    url_pass(s, true, plus_as_space)
}

/// Repeats [`url_decode`] until the value stops changing, at most
/// `max_rounds` passes, so `%253Cscript` becomes `<script`. `+` is decoded in
/// every pass when `plus_as_space`, since each form-encoding layer may have
/// turned spaces into `+`.
pub fn url_decode_stable(s: &str, plus_as_space: bool, max_rounds: usize) -> Cow<'_, str> {
    repeat_until_stable(s, max_rounds, |v| url_decode(v, plus_as_space))
}

/// Applies `step` until it returns `Borrowed` (no change) or `rounds` passes
/// have run.
fn repeat_until_stable<'a>(
    s: &'a str,
    rounds: usize,
    step: impl Fn(&str) -> Cow<'_, str>,
) -> Cow<'a, str> {
    let mut cur: Cow<'a, str> = Cow::Borrowed(s);
    for _ in 0..rounds {
        let next = match step(&cur) {
            Cow::Borrowed(_) => None,
            Cow::Owned(v) => Some(v),
        };
        match next {
            Some(v) => cur = Cow::Owned(v),
            None => break,
        }
    }
    cur
}

/// Named character references understood by [`html_unescape`], matched
/// case-insensitively (lenient on purpose: a browser may not accept `&LT;`
/// everywhere, but a detector should see what was meant).
static NAMED: &[(&str, &str)] = &[
    ("amp", "&"),
    ("apos", "'"),
    ("ast", "*"),
    ("bsol", "\\"),
    ("bull", "\u{2022}"),
    ("cent", "\u{a2}"),
    ("colon", ":"),
    ("comma", ","),
    ("commat", "@"),
    ("copy", "\u{a9}"),
    ("deg", "\u{b0}"),
    ("divide", "\u{f7}"),
    ("dollar", "$"),
    ("emsp", "\u{2003}"),
    ("ensp", "\u{2002}"),
    ("equals", "="),
    ("euro", "\u{20ac}"),
    ("excl", "!"),
    ("grave", "`"),
    ("gt", ">"),
    ("hat", "^"),
    ("hellip", "\u{2026}"),
    ("hyphen", "\u{2010}"),
    ("laquo", "\u{ab}"),
    ("lbrace", "{"),
    ("lbrack", "["),
    ("lcub", "{"),
    ("ldquo", "\u{201c}"),
    ("lowbar", "_"),
    ("lpar", "("),
    ("lsqb", "["),
    ("lsquo", "\u{2018}"),
    ("lt", "<"),
    ("mdash", "\u{2014}"),
    ("midast", "*"),
    ("middot", "\u{b7}"),
    ("nbsp", "\u{a0}"),
    ("ndash", "\u{2013}"),
    ("newline", "\n"),
    ("num", "#"),
    ("para", "\u{b6}"),
    ("percnt", "%"),
    ("period", "."),
    ("plus", "+"),
    ("pound", "\u{a3}"),
    ("quest", "?"),
    ("quot", "\""),
    ("raquo", "\u{bb}"),
    ("rbrace", "}"),
    ("rbrack", "]"),
    ("rcub", "}"),
    ("rdquo", "\u{201d}"),
    ("reg", "\u{ae}"),
    ("rpar", ")"),
    ("rsqb", "]"),
    ("rsquo", "\u{2019}"),
    ("sect", "\u{a7}"),
    ("semi", ";"),
    ("shy", "\u{ad}"),
    ("sol", "/"),
    ("tab", "\t"),
    ("thinsp", "\u{2009}"),
    ("times", "\u{d7}"),
    ("trade", "\u{2122}"),
    ("verbar", "|"),
    ("vert", "|"),
    ("yen", "\u{a5}"),
    ("zwj", "\u{200d}"),
    ("zwnj", "\u{200c}"),
];

/// Legacy names browsers also accept without the trailing `;`.
static LEGACY_NO_SEMI: &[&str] = &["amp", "gt", "lt", "nbsp", "quot"];

/// Longest entity name considered; longer alphanumeric runs are not entities.
const MAX_NAME: usize = 32;

fn lookup_named(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    NAMED
        .binary_search_by(|(k, _)| k.cmp(&lower.as_str()))
        .ok()
        .and_then(|i| NAMED.get(i))
        .map(|(_, v)| *v)
}

/// Parses a character reference at the start of `rest` (which begins with
/// `&`). Returns the decoded char(s) and the number of bytes consumed.
fn parse_reference(rest: &[u8]) -> Option<(Cow<'static, str>, usize)> {
    if rest.get(1) == Some(&b'#') {
        return parse_numeric(rest);
    }
    let name_len = rest
        .get(1..)?
        .iter()
        .take(MAX_NAME + 1)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if name_len == 0 || name_len > MAX_NAME {
        return None;
    }
    let name = std::str::from_utf8(rest.get(1..1 + name_len)?).ok()?;
    let value = lookup_named(name)?;
    if rest.get(1 + name_len) == Some(&b';') {
        return Some((Cow::Borrowed(value), name_len + 2));
    }
    let lower = name.to_ascii_lowercase();
    if LEGACY_NO_SEMI.contains(&lower.as_str()) {
        return Some((Cow::Borrowed(value), name_len + 1));
    }
    None
}

/// C1 code points in numeric references mean windows-1252 characters, as
/// browsers decode them (`&#128;` is `€`); unmapped ones stay as they are.
fn windows_1252(v: u32) -> char {
    let mapped = match v {
        0x80 => 0x20ac,
        0x82 => 0x201a,
        0x83 => 0x0192,
        0x84 => 0x201e,
        0x85 => 0x2026,
        0x86 => 0x2020,
        0x87 => 0x2021,
        0x88 => 0x02c6,
        0x89 => 0x2030,
        0x8a => 0x0160,
        0x8b => 0x2039,
        0x8c => 0x0152,
        0x8e => 0x017d,
        0x91 => 0x2018,
        0x92 => 0x2019,
        0x93 => 0x201c,
        0x94 => 0x201d,
        0x95 => 0x2022,
        0x96 => 0x2013,
        0x97 => 0x2014,
        0x98 => 0x02dc,
        0x99 => 0x2122,
        0x9a => 0x0161,
        0x9b => 0x203a,
        0x9c => 0x0153,
        0x9e => 0x017e,
        0x9f => 0x0178,
        other => other,
    };
    char::from_u32(mapped).unwrap_or('\u{fffd}')
}

/// `&#60;`, `&#x3c;`, `&#X3C;`, with or without `;`. Overlong numbers
/// saturate (then become U+FFFD) instead of overflowing.
fn parse_numeric(rest: &[u8]) -> Option<(Cow<'static, str>, usize)> {
    let mut i = 2;
    let hex = matches!(rest.get(i), Some(b'x' | b'X'));
    if hex {
        i += 1;
    }
    let radix: u32 = if hex { 16 } else { 10 };
    let digits_start = i;
    let mut value: u32 = 0;
    while let Some(d) = rest.get(i).and_then(|&c| char::from(c).to_digit(radix)) {
        value = value.saturating_mul(radix).saturating_add(d);
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    if rest.get(i) == Some(&b';') {
        i += 1;
    }
    let ch = match value {
        0 => '\u{fffd}',
        0x80..=0x9f => windows_1252(value),
        v => char::from_u32(v).unwrap_or('\u{fffd}'),
    };
    Some((Cow::Owned(ch.to_string()), i))
}

/// Decodes HTML character references: a common set of named ones
/// (case-insensitive; `lt gt amp quot nbsp` also without `;`) and numeric
/// decimal/hex ones with or without `;`. Invalid code points (0, surrogates,
/// above U+10FFFF, overlong) become U+FFFD. Unknown references stay
/// verbatim. `Borrowed` when nothing changed.
pub fn html_unescape(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let Some(first) = memchr::memchr(b'&', b) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::new();
    let mut copied = 0; // bytes of `s` already represented in `out`
    let mut i = first;
    while i < b.len() {
        let Some(off) = b.get(i..).and_then(|t| memchr::memchr(b'&', t)) else {
            break;
        };
        i += off;
        match b.get(i..).and_then(parse_reference) {
            Some((value, used)) => {
                if out.is_empty() {
                    out.reserve(s.len());
                }
                // `i` and `copied` are at ASCII bytes, hence char boundaries.
                out.push_str(s.get(copied..i).unwrap_or(""));
                out.push_str(&value);
                i += used;
                copied = i;
            }
            None => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(s.get(copied..).unwrap_or(""));
    Cow::Owned(out)
}

/// Rounds of the whole decoding stack in [`decode_value`].
const STACK_ROUNDS: usize = 3;
/// Rounds of percent-decoding inside one stack round.
const URL_ROUNDS: usize = 3;

/// Applies the enabled layers (percent-decoding until stable, with `+` as
/// space per `opts.plus`; then HTML references) and repeats the stack until
/// stable, at most 3 rounds. `plus` without `url` decodes only `+`. Each
/// pass is linear, and passes are bounded, so work is linear in the input.
pub fn decode_value(s: &str, opts: DecodeOpts) -> Cow<'_, str> {
    if !opts.any() {
        return Cow::Borrowed(s);
    }
    repeat_until_stable(s, STACK_ROUNDS, |v| {
        let mut cur: Cow<'_, str> = Cow::Borrowed(v);
        if opts.url || opts.plus {
            let next = repeat_until_stable(v, URL_ROUNDS, |x| url_pass(x, opts.url, opts.plus));
            if let Cow::Owned(o) = next {
                cur = Cow::Owned(o);
            }
        }
        if opts.html
            && let Cow::Owned(o) = html_unescape(&cur)
        {
            cur = Cow::Owned(o);
        }
        cur
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_borrowed(c: Cow<'_, str>) -> bool {
        matches!(c, Cow::Borrowed(_))
    }

    #[test]
    fn url_single_pass() {
        assert_eq!(url_decode("%3Cscript%3e", false), "<script>");
        assert_eq!(url_decode("a%2fb%2Fc", false), "a/b/c");
        assert_eq!(url_decode("%253C", false), "%3C");
        assert_eq!(url_decode("a+b", false), "a+b");
        assert_eq!(url_decode("a+b%2B", true), "a b+");
    }

    #[test]
    fn url_invalid_escapes_kept() {
        for s in ["%4", "%", "%zz", "100%", "%g1", "a%2"] {
            let d = url_decode(s, true);
            assert_eq!(d, s);
            assert!(is_borrowed(d), "{s}");
        }
        assert_eq!(url_decode("%zz%41%4", false), "%zzA%4");
    }

    #[test]
    fn url_invalid_utf8_is_lossy() {
        assert_eq!(url_decode("a%FFb", false), "a\u{fffd}b");
        assert_eq!(url_decode("%C3%A9", false), "é");
        assert_eq!(url_decode("%C3", false), "\u{fffd}");
    }

    #[test]
    fn url_stable_layers() {
        assert_eq!(url_decode_stable("%3Cscript", false, 3), "<script");
        assert_eq!(url_decode_stable("%253Cscript", false, 3), "<script");
        assert_eq!(url_decode_stable("%25253Cscript", false, 3), "<script");
        // A fourth layer is beyond the bound and stays partly encoded.
        assert_eq!(url_decode_stable("%2525253C", false, 3), "%3C");
        assert_eq!(url_decode_stable("a%2Bb", true, 3), "a b");
        assert!(is_borrowed(url_decode_stable("plain", true, 3)));
        assert_eq!(url_decode_stable("%41", false, 0), "%41");
    }

    #[test]
    fn html_named_and_numeric() {
        assert_eq!(html_unescape("&lt;script&gt;"), "<script>");
        assert_eq!(html_unescape("&LT;&Amp;&quot;&apos;"), "<&\"'");
        assert_eq!(
            html_unescape("javascript&colon;alert&lpar;1&rpar;"),
            "javascript:alert(1)"
        );
        assert_eq!(html_unescape("&#60;&#x3c;&#X3C;&#x3C;"), "<<<<");
        assert_eq!(html_unescape("&#60&#x3cscript"), "<<script");
        assert_eq!(html_unescape("&lt&gt x"), "<> x");
        assert_eq!(html_unescape("&Tab;&NewLine;&nbsp;"), "\t\n\u{a0}");
        assert_eq!(html_unescape("&#0000060;"), "<");
        assert_eq!(
            html_unescape("&#128;&#x8B;&#x81;"),
            "\u{20ac}\u{2039}\u{81}"
        );
    }

    #[test]
    fn html_invalid_and_unknown() {
        assert_eq!(html_unescape("&#99999999999999;"), "\u{fffd}");
        assert_eq!(html_unescape("&#xFFFFFFFFFFFFFFFFFFFF;"), "\u{fffd}");
        assert_eq!(html_unescape("&#xD800;"), "\u{fffd}");
        assert_eq!(html_unescape("&#0;"), "\u{fffd}");
        assert_eq!(html_unescape("&#x110000;"), "\u{fffd}");
        for keep in [
            "&", "&;", "&#;", "&#x;", "&bogus;", "a & b", "&colon", "&ltx", "x&",
        ] {
            // `&ltx`: legacy names without ';' need a non-alphanumeric follower.
            let d = html_unescape(keep);
            assert_eq!(d, keep, "{keep}");
            assert!(is_borrowed(d), "{keep}");
        }
        assert_eq!(html_unescape("é&amp;é"), "é&é");
    }

    #[test]
    fn decode_value_layers() {
        let url = DecodeOpts {
            url: true,
            ..DecodeOpts::default()
        };
        let form = DecodeOpts { plus: true, ..url };
        let all = DecodeOpts { html: true, ..form };
        let html = DecodeOpts {
            html: true,
            ..DecodeOpts::default()
        };
        assert_eq!(decode_value("%26lt%3Bscript%26gt%3B", all), "<script>");
        assert_eq!(decode_value("%26lt%3Bscript", url), "&lt;script");
        assert_eq!(decode_value("a+b", url), "a+b");
        assert_eq!(decode_value("a+b", form), "a b");
        let plus_only = DecodeOpts {
            plus: true,
            ..DecodeOpts::default()
        };
        assert_eq!(decode_value("a+b%20", plus_only), "a b%20");
        assert_eq!(decode_value("%3C", html), "%3C");
        // html producing a new percent escape is decoded in the next round.
        assert_eq!(decode_value("&#37;3Cscript", all), "<script");
        assert!(is_borrowed(decode_value("%3C", DecodeOpts::default())));
        assert!(is_borrowed(decode_value("nothing to do here", all)));
        assert!(!DecodeOpts::default().any());
        assert!(all.any());
    }

    #[test]
    fn parse_names() {
        assert_eq!(
            DecodeOpts::parse_name("Form"),
            Some(DecodeOpts {
                url: true,
                plus: true,
                html: false
            })
        );
        assert_eq!(DecodeOpts::parse_name("html").map(|o| o.html), Some(true));
        assert_eq!(DecodeOpts::parse_name("base64"), None);
        let u = DecodeOpts::parse_name("url")
            .zip(DecodeOpts::parse_name("html"))
            .map(|(a, b)| a.union(b));
        assert_eq!(
            u.map(|o| (o.url, o.plus, o.html)),
            Some((true, false, true))
        );
    }

    #[test]
    fn ten_megabyte_value() {
        let big = "%253Cscript%253E&amp;x+".repeat(10 * 1024 * 1024 / 24);
        let all = DecodeOpts {
            url: true,
            plus: true,
            html: true,
        };
        let out = decode_value(&big, all);
        assert!(out.starts_with("<script>&x <script>"));
        assert!(!out.contains('%'));
        let clean = "a".repeat(10 * 1024 * 1024);
        assert!(is_borrowed(decode_value(&clean, all)));
    }
}
