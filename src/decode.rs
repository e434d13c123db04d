//! Decoding of field values before rules match them.
//!
//! Attackers hide payloads behind URL encoding (often several layers), HTML
//! character references, JSON `\uXXXX` escapes and embedded base64 or hex
//! blobs. Every decoder here is a single linear pass, keeps anything
//! malformed verbatim, never panics, and returns `Borrowed` when it changed
//! nothing so the common clean case does not allocate.
//!
//! [`decode_variants`] combines them in layers: the value is normalised
//! in place (url/plus/html/json until stable), blobs found in it are decoded
//! into new texts, and those are decoded again, at most [`MAX_STAGES`]
//! stages deep and within a per-value byte budget.

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
    /// JSON string escapes: `\uXXXX` (with surrogate pairs), `\"`, `\\`, `\/`.
    pub json: bool,
    /// Embedded base64 blobs (standard or URL-safe, padded or not).
    pub base64: bool,
    /// Embedded hex blobs (even-length runs of 32+ hex digits).
    pub hex: bool,
}

impl DecodeOpts {
    /// True when at least one layer is enabled.
    pub fn any(self) -> bool {
        self.inline() || self.blobs()
    }

    /// True when a layer that rewrites the value in place is enabled.
    pub fn inline(self) -> bool {
        self.url || self.plus || self.html || self.json
    }

    /// True when embedded blobs (base64 or hex) are decoded into new texts.
    pub fn blobs(self) -> bool {
        self.base64 || self.hex
    }

    /// Every layer.
    pub fn all() -> DecodeOpts {
        DecodeOpts {
            url: true,
            plus: true,
            html: true,
            json: true,
            base64: true,
            hex: true,
        }
    }

    /// Layers named by one decoder name, case-insensitive: `url`/`urldecode`,
    /// `plus`, `form` (url + plus), `html`/`htmldecode`/`entities`,
    /// `json`/`unicode`, `base64`/`b64`, `hex`, `all`, `none`. `None` for an
    /// unknown name.
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
            "json" | "unicode" | "json_unescape" => DecodeOpts { json: true, ..none },
            "base64" | "b64" => DecodeOpts {
                base64: true,
                ..none
            },
            "hex" => DecodeOpts { hex: true, ..none },
            "all" => DecodeOpts::all(),
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
            json: self.json || other.json,
            base64: self.base64 || other.base64,
            hex: self.hex || other.hex,
        }
    }

    /// The same layers without `plus`.
    pub(crate) fn without_plus(self) -> DecodeOpts {
        DecodeOpts {
            plus: false,
            ..self
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
            if let Some((ch, used)) = percent_u(b, i) {
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                changed = true;
                i += used;
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

/// The character of an IIS-style `%uXXXX` escape at `b[i]` (a `%uD83D%uDE00`
/// surrogate pair as one), and the bytes it takes; `None` when there is
/// none or a surrogate is alone (it stays verbatim). IIS decodes these, so
/// attackers use them to hide `<script` from filters that do not.
pub(crate) fn percent_u(b: &[u8], i: usize) -> Option<(char, usize)> {
    if !matches!(b.get(i + 1), Some(b'u' | b'U')) {
        return None;
    }
    let (c, used) = utf16_escape(b, i, |l| matches!(l, [b'%', b'u' | b'U']))?;
    c.map(|c| (c, used))
}

/// The UTF-16 unit of a six-byte `\uXXXX`-style escape at `b[i]` (its two
/// lead bytes checked by the caller), a high surrogate joined with the low
/// one of a next escape whose lead bytes `lead` accepts: the character
/// (`None` for a lone surrogate) and the bytes taken; `None` without four
/// hex digits.
fn utf16_escape(b: &[u8], i: usize, lead: impl Fn(&[u8]) -> bool) -> Option<(Option<char>, usize)> {
    let hi = hex4(b, i + 2)?;
    if (0xD800..=0xDBFF).contains(&hi)
        && let Some(lo) = b
            .get(i + 6..i + 8)
            .filter(|l| lead(l))
            .and_then(|_| hex4(b, i + 8))
            .filter(|lo| (0xDC00..=0xDFFF).contains(lo))
    {
        let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
        return Some((c, 12));
    }
    Some((char::from_u32(hi), 6))
}

/// One pass of percent-decoding: `%XX` (either hex case) becomes the byte,
/// `%uXXXX` the character, invalid or truncated escapes stay verbatim, `+`
/// becomes a space when `plus_as_space`. Decoded bytes that are not UTF-8
/// become U+FFFD. `Borrowed` when nothing changed.
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
    mut step: impl FnMut(&str) -> Cow<'_, str>,
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

/// The named references [`html_unescape`] decodes to `c`, each with
/// whether it is also accepted without `;`.
pub fn references_to(c: char) -> impl Iterator<Item = (&'static str, bool)> {
    let mut buf = [0u8; 4];
    let value: &str = c.encode_utf8(&mut buf);
    let value = value.to_string();
    NAMED
        .iter()
        .filter(move |(_, v)| *v == value)
        .map(|(name, _)| (*name, LEGACY_NO_SEMI.contains(name)))
}

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
pub(crate) fn parse_reference(rest: &[u8]) -> Option<(Cow<'static, str>, usize)> {
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
    let (value, used) = numeric_ref(rest)?;
    let ch = match value {
        0 => '\u{fffd}',
        0x80..=0x9f => windows_1252(value),
        v => char::from_u32(v).unwrap_or('\u{fffd}'),
    };
    Some((Cow::Owned(ch.to_string()), used))
}

/// The number of the numeric character reference that `rest` starts with
/// (`&#` then decimal digits, or `x`/`X` and hex digits, then an optional
/// `;`), saturated, and the bytes it takes. The card masker reads escaped
/// digits with this too, so it masks what this layer decodes.
pub(crate) fn numeric_ref(rest: &[u8]) -> Option<(u32, usize)> {
    let body = rest.strip_prefix(b"&")?;
    numeric_body(body).map(|(v, n)| (v, n + 1))
}

/// [`numeric_ref`] of a reference whose `&` came before `rest` (which
/// starts at the `#`), as when an escape spells the `&`.
pub(crate) fn numeric_body(rest: &[u8]) -> Option<(u32, usize)> {
    if rest.first() != Some(&b'#') {
        return None;
    }
    let mut i = 1;
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
    Some((value, i))
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

/// Decodes JSON string escapes: `\uXXXX` (surrogate pairs joined; a lone
/// surrogate becomes U+FFFD), `\"`, `\\` and `\/`. Other escapes (`\n`,
/// `\t`, invalid ones) stay verbatim: they cannot hide a literal. One pass,
/// so `\\u003c` becomes `\u003c`, not `<`. `Borrowed` when nothing changed.
pub fn json_unescape(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let Some(first) = memchr::memchr(b'\\', b) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::new();
    let mut copied = 0; // bytes of `s` already represented in `out`
    let mut i = first;
    while i < b.len() {
        let Some(off) = b.get(i..).and_then(|t| memchr::memchr(b'\\', t)) else {
            break;
        };
        i += off;
        let (ch, used) = match b.get(i + 1) {
            Some(b'u') => match utf16_escape(b, i, |l| l == b"\\u") {
                Some((c, used)) => (c.unwrap_or('\u{fffd}'), used),
                None => {
                    i += 1;
                    continue;
                }
            },
            Some(&c @ (b'"' | b'\\' | b'/')) => (char::from(c), 2),
            _ => {
                i += 1;
                continue;
            }
        };
        if out.is_empty() {
            out.reserve(s.len());
        }
        // `i` and `copied` sit at ASCII bytes, hence char boundaries.
        out.push_str(s.get(copied..i).unwrap_or(""));
        out.push(ch);
        i += used;
        copied = i;
    }
    if copied == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(s.get(copied..).unwrap_or(""));
    Cow::Owned(out)
}

/// Four hex digits at `at`, as a number.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let d = b.get(at..at + 4)?;
    d.iter()
        .try_fold(0u32, |acc, &c| hex_val(c).map(|v| acc << 4 | u32::from(v)))
}

/// Rounds of the whole decoding stack in [`decode_value`].
const STACK_ROUNDS: usize = 3;
/// Rounds of percent-decoding inside one stack round.
const URL_ROUNDS: usize = 3;

/// One decoding step in the path that produced a [`Decoded`] text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Url,
    Plus,
    Html,
    Json,
    Base64,
    Hex,
}

impl Layer {
    /// The layer's name, as used in `skimhunt.decode` and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Url => "url",
            Layer::Plus => "plus",
            Layer::Html => "html",
            Layer::Json => "json",
            Layer::Base64 => "base64",
            Layer::Hex => "hex",
        }
    }
}

/// A decoded form of a value and the layers that produced it, outermost
/// first (`[Url, Base64, Json]`: percent-decoded, then a base64 blob in it
/// decoded, then JSON escapes in that resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub layers: Vec<Layer>,
}

/// True when `s` holds a valid `%XX` escape.
fn has_percent_escape(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'%', b).any(|i| {
        b.get(i + 1).copied().and_then(hex_val).is_some()
            && b.get(i + 2).copied().and_then(hex_val).is_some()
    })
}

fn add_layer(layers: &mut Vec<Layer>, l: Layer) {
    if !layers.contains(&l) {
        layers.push(l);
    }
}

/// The in-place layers (url/plus, json, html) repeated until stable, and
/// which of them changed something, in the order first applied.
fn inline_decode(s: &str, opts: DecodeOpts) -> (Cow<'_, str>, Vec<Layer>) {
    let mut layers = Vec::new();
    if !opts.inline() {
        return (Cow::Borrowed(s), layers);
    }
    let out = repeat_until_stable(s, STACK_ROUNDS, |v| {
        let mut cur: Cow<'_, str> = Cow::Borrowed(v);
        if opts.url || opts.plus {
            let pct = opts.url && has_percent_escape(v);
            let next = repeat_until_stable(v, URL_ROUNDS, |x| url_pass(x, opts.url, opts.plus));
            if let Cow::Owned(o) = next {
                let plus = opts.plus && v.contains('+');
                cur = Cow::Owned(o);
                // Record what the first pass shows; later passes only peel
                // further layers of the same kinds.
                if pct || !plus {
                    add_layer(&mut layers, Layer::Url);
                }
                if plus {
                    add_layer(&mut layers, Layer::Plus);
                }
            }
        }
        if opts.json
            && let Cow::Owned(o) = json_unescape(&cur)
        {
            cur = Cow::Owned(o);
            add_layer(&mut layers, Layer::Json);
        }
        if opts.html
            && let Cow::Owned(o) = html_unescape(&cur)
        {
            cur = Cow::Owned(o);
            add_layer(&mut layers, Layer::Html);
        }
        cur
    });
    (out, layers)
}

/// Applies the enabled in-place layers (percent-decoding until stable, with
/// `+` as space per `opts.plus`; JSON escapes; then HTML references) and
/// repeats the stack until stable, at most 3 rounds. `plus` without `url`
/// decodes only `+`. Blobs are not decoded here (see [`decode_variants`]).
/// Each pass is linear, and passes are bounded, so work is linear in the
/// input.
pub fn decode_value(s: &str, opts: DecodeOpts) -> Cow<'_, str> {
    inline_decode(s, opts).0
}

/// Maximum decoding stages behind one variant: each in-place normalisation
/// (to a fixed point) and each blob decode is one stage, so
/// url → base64 → json is the deepest path.
pub const MAX_STAGES: usize = 3;
/// Shortest base64 run decoded as a blob.
pub const MIN_BASE64_RUN: usize = 16;
/// Shortest hex run decoded as a blob.
pub const MIN_HEX_RUN: usize = 32;
/// Decoded bytes kept from one blob; the rest of a longer blob is dropped
/// (a payload's start is what identifies it).
pub const MAX_BLOB_DECODED: usize = 1 << 20;
/// Fixed part of the per-value budget of decoded bytes; the budget also
/// grows with twice the value's length, so work stays linear in the input.
pub const VALUE_BUDGET: usize = 4 << 20;
/// Most variants returned for one value.
pub const MAX_VARIANTS: usize = 64;
/// Share of printable characters a decoded blob needs to count as text.
/// Measured on the shared corpora (about 21,000 base64-alphabet runs of 16+
/// characters): runs that are not base64 decode to at most 80% printable
/// characters, real base64 text to 100%.
pub const MIN_PRINTABLE: f64 = 0.9;

/// Base64 digit values of both alphabets (`+`/`-` = 62, `/`/`_` = 63);
/// 0xff for other bytes.
static B64: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

/// True for a byte of either base64 alphabet (without `=`).
pub fn is_base64_byte(c: u8) -> bool {
    B64[usize::from(c)] != 0xff
}

/// The value of a byte of either base64 alphabet (without `=`).
pub(crate) fn base64_value(c: u8) -> Option<u8> {
    Some(B64[usize::from(c)]).filter(|&v| v != 0xff)
}

/// Decodes base64 of either alphabet, padding optional, until `max` output
/// bytes. A final lone character (truncated input) is ignored; `None` when
/// `run` holds a byte outside the alphabets.
pub(crate) fn base64_decode(run: &[u8], max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity((run.len() / 4 * 3 + 3).min(max));
    base64_feed(run, max, |b| {
        out.push(b);
        true
    })?;
    Some(out)
}

/// [`base64_decode`], each output byte handed to `take` as it is decoded:
/// `None` when `run` holds a byte outside the alphabets before `max` bytes,
/// else whether `take` accepted every byte (it stops at the first refusal).
fn base64_feed(run: &[u8], max: usize, mut take: impl FnMut(u8) -> bool) -> Option<bool> {
    let (mut acc, mut bits, mut n) = (0u32, 0, 0usize);
    for &c in run {
        if n >= max {
            break;
        }
        let v = B64[usize::from(c)];
        if v == 0xff {
            return None;
        }
        acc = (acc << 6 | u32::from(v)) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            n += 1;
            if !take((acc >> bits) as u8) {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// Decodes an even-length hex run until `max` output bytes.
pub(crate) fn hex_decode(run: &[u8], max: usize) -> Option<Vec<u8>> {
    if !run.len().is_multiple_of(2) {
        return None;
    }
    run.chunks_exact(2)
        .take(max)
        .map(|p| Some(hex_val(p[0])? << 4 | hex_val(p[1])?))
        .collect()
}

/// The decoded bytes as text when they are mostly printable (see
/// [`is_text`]).
fn as_text(bytes: Vec<u8>) -> Option<String> {
    if !is_text(&bytes) {
        return None;
    }
    Some(match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Whether bytes are mostly printable: at least [`MIN_PRINTABLE`] of the
/// characters of their lossy UTF-8 reading (one U+FFFD per invalid
/// sequence) are neither control characters (other than tab and line
/// ends) nor U+FFFD. No allocation.
fn is_text(bytes: &[u8]) -> bool {
    // Cheap bound first (most blobs in URLs are paths and ids that decode
    // to noise): every ASCII control byte other than tab and line ends is
    // one rejected character, and the rest can at best be one accepted
    // character per byte.
    let ctrl = bytes
        .iter()
        .filter(|&&b| b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r'))
        .count();
    if bytes.is_empty() || ((bytes.len() - ctrl) as f64) < MIN_PRINTABLE * bytes.len() as f64 {
        return false;
    }
    // There are at most `bytes.len()` characters: past that many rejected
    // ones the share cannot be reached (noise is given up on early; the +1
    // keeps float rounding from giving up on a borderline text).
    let most_bad = (1.0 - MIN_PRINTABLE) * bytes.len() as f64 + 1.0;
    let (mut n, mut ok) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            n += 1;
            if c != '\u{fffd}' && (!c.is_control() || matches!(c, '\t' | '\n' | '\r')) {
                ok += 1;
            }
        }
        n += usize::from(!chunk.invalid().is_empty());
        if (n - ok) as f64 > most_bad {
            return false;
        }
    }
    n > 0 && ok as f64 >= MIN_PRINTABLE * n as f64
}

/// Maximal runs of base64-alphabet bytes of [`MIN_BASE64_RUN`] or more
/// (without their `=` padding), as byte ranges. Hex runs are among them,
/// since hex digits are base64 digits.
fn blob_runs(b: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    class_runs(b, is_base64_byte, MIN_BASE64_RUN)
}

/// Maximal runs of bytes in a class, `min` long or longer, as byte ranges.
pub(crate) fn class_runs<'b>(
    b: &'b [u8],
    class: impl Fn(u8) -> bool + 'b,
    min: usize,
) -> impl Iterator<Item = (usize, usize)> + 'b {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            while i < b.len() && !class(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && class(b[i]) {
                i += 1;
            }
            if i - start >= min {
                return Some((start, i));
            }
        }
        None
    })
}

/// Decodes one run as a blob: hex when it is all hex digits of even length
/// ([`MIN_HEX_RUN`] or more) and hex is on, else base64; then, when that
/// does not give text and the run holds `/` (a path around a blob), each
/// `/`-separated segment long enough to be a blob.
fn decode_run(run: &[u8], opts: DecodeOpts, max: usize) -> Vec<(String, Layer)> {
    decode_run_by(run, opts, max, as_text)
}

/// [`decode_run`] with the text test and conversion `text` (the prefilter
/// only asks whether there would be any, without building the strings).
fn decode_run_by<T>(
    run: &[u8],
    opts: DecodeOpts,
    max: usize,
    text: impl Fn(Vec<u8>) -> Option<T>,
) -> Vec<(T, Layer)> {
    if let Some(whole) = decode_whole_by(run, opts, max, &text) {
        return vec![whole];
    }
    if !opts.base64 || !run.contains(&b'/') {
        return Vec::new();
    }
    run.split(|&c| c == b'/')
        .filter(|seg| seg.len() >= MIN_BASE64_RUN)
        .filter_map(|seg| base64_decode(seg, max).and_then(&text))
        .map(|t| (t, Layer::Base64))
        .collect()
}

/// The whole run as one blob: hex when it is all hex digits of even length
/// ([`MIN_HEX_RUN`] or more) and hex is on, else base64.
fn decode_whole_by<T>(
    run: &[u8],
    opts: DecodeOpts,
    max: usize,
    text: impl Fn(Vec<u8>) -> Option<T>,
) -> Option<(T, Layer)> {
    if opts.hex
        && run.len() >= MIN_HEX_RUN
        && run.len().is_multiple_of(2)
        && run.iter().all(u8::is_ascii_hexdigit)
        && let Some(t) = hex_decode(run, max).and_then(&text)
    {
        return Some((t, Layer::Hex));
    }
    if !opts.base64 {
        return None;
    }
    base64_decode(run, max)
        .and_then(text)
        .map(|t| (t, Layer::Base64))
}

/// Whether a value holding the raw-line run `run` (base64-alphabet bytes
/// only, at least [`MIN_BASE64_RUN`]) could give a blob variant: the
/// prefilter's exact test for formats whose field values are slices of
/// the raw line. Field values cut a run only where a URL's host ends and
/// its path begins (the first `/` after any leading ones), so the run is
/// tried whole and as the two sides of that cut, as `decode_run` would
/// try each. At most three decodes of the run, each given up at the first
/// bytes that rule out text (`TextBound`); only a run that passes is
/// decoded in full for the exact test.
pub fn run_may_decode(run: &[u8], opts: DecodeOpts) -> bool {
    // As `decode_run_by` tries them: the run whole, then its `/`-segments.
    if whole_may_decode(run, opts)
        || (opts.base64
            && run.contains(&b'/')
            && run
                .split(|&c| c == b'/')
                .any(|seg| seg.len() >= MIN_BASE64_RUN && base64_gives_text(seg)))
    {
        return true;
    }
    // The two sides of the cut: their `/`-segments are the run's, tried
    // above, so only each side whole is new.
    let whole = |r: &[u8]| r.len() >= MIN_BASE64_RUN && whole_may_decode(r, opts);
    let lead = run.iter().take_while(|&&c| c == b'/').count();
    match run[lead..].iter().position(|&c| c == b'/') {
        Some(k) => whole(&run[..lead + k]) || whole(&run[lead + k..]),
        None => false,
    }
}

/// Whether [`decode_whole_by`] finds text in `run`, without building it
/// unless the bytes pass [`TextBound`] all the way.
fn whole_may_decode(run: &[u8], opts: DecodeOpts) -> bool {
    if opts.hex
        && run.len() >= MIN_HEX_RUN
        && run.len().is_multiple_of(2)
        && run.iter().all(u8::is_ascii_hexdigit)
        && hex_gives_text(run)
    {
        return true;
    }
    opts.base64 && base64_gives_text(run)
}

/// `base64_decode(run, MAX_BLOB_DECODED)` is text. The bytes are decoded
/// once into the bound, which gives up on noise (paths and ids in URLs)
/// after a few dozen bytes; only runs it keeps are decoded for the exact
/// test.
fn base64_gives_text(run: &[u8]) -> bool {
    let max = MAX_BLOB_DECODED;
    let passes = if run.len() * 6 / 8 < max {
        base64_within_bound(run)
    } else {
        let mut bound = TextBound::new(max);
        base64_feed(run, max, |b| bound.take(b)) == Some(true) && bound.finish()
    };
    passes && base64_decode(run, max).is_some_and(|b| is_text(&b))
}

/// `base64_feed` of the whole `run` into a [`TextBound`] accepts every
/// byte. This runs on every new base64-looking run of a scan (paths, ids),
/// so it decodes many characters a step and tests the bound once a step:
/// the count only grows, so the answer is the byte-wise feed's.
fn base64_within_bound(run: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::matcher::wide_cpu() {
        // SAFETY: the CPU has AVX2 and POPCNT.
        return unsafe { base64_within_bound_avx2(run) };
    }
    base64_within_bound_groups(run)
}

/// [`base64_within_bound`] 32 characters (24 bytes) a step: the values
/// from range compares, packed as in a vector base64 decoder, the bytes'
/// [`TEXT_CLASS`] tests as bit masks (a short last step is padded with
/// `A`, value 0, and its extra bytes masked off).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn base64_within_bound_avx2(run: &[u8]) -> bool {
    use std::arch::x86_64::*;
    let most_bad = TextBound::new(run.len() * 6 / 8).most_bad;
    let splat = |b: u8| _mm256_set1_epi8(b as i8);
    let (mut bad, mut prev_ascii) = (0usize, 1u32);
    // The last three bytes' lead and continuation bits (bits 0-2): leads of
    // any length, of three or four bytes, of four, continuations.
    let mut prev = [0u32; 4];
    let mut i = 0;
    while i < run.len() {
        let n = (run.len() - i).min(32);
        let c = match run.get(i..i + 32) {
            // SAFETY: the unaligned load reads the 32 bytes of the slice.
            Some(step) => unsafe { _mm256_loadu_si256(step.as_ptr().cast()) },
            None => {
                let mut padded = [b'A'; 32];
                padded[..n].copy_from_slice(&run[i..]);
                // SAFETY: the unaligned load reads the 32-byte array.
                unsafe { _mm256_loadu_si256(padded.as_ptr().cast()) }
            }
        };
        // Signed compares: bytes from 0x80 up are negative, in no range.
        let within = |lo: u8, hi: u8| {
            _mm256_and_si256(
                _mm256_cmpgt_epi8(c, splat(lo - 1)),
                _mm256_cmpgt_epi8(splat(hi + 1), c),
            )
        };
        let is = |b: u8| _mm256_cmpeq_epi8(c, splat(b));
        let (upper, lower, digit) = (within(b'A', b'Z'), within(b'a', b'z'), within(b'0', b'9'));
        let (v62, v63) = (
            _mm256_or_si256(is(b'+'), is(b'-')),
            _mm256_or_si256(is(b'/'), is(b'_')),
        );
        let valid = _mm256_or_si256(
            _mm256_or_si256(upper, lower),
            _mm256_or_si256(digit, _mm256_or_si256(v62, v63)),
        );
        let need = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
        if (_mm256_movemask_epi8(valid) as u32) & need != need {
            return false;
        }
        let pick = |m: __m256i, v: __m256i| _mm256_and_si256(m, v);
        let values = _mm256_or_si256(
            _mm256_or_si256(
                pick(upper, _mm256_sub_epi8(c, splat(b'A'))),
                pick(lower, _mm256_sub_epi8(c, splat(b'a' - 26))),
            ),
            _mm256_or_si256(
                pick(digit, _mm256_add_epi8(c, splat(52 - b'0'))),
                _mm256_or_si256(pick(v62, splat(62)), pick(v63, splat(63))),
            ),
        );
        // Pairs to 12 bits, then quads to 24 bits per 32-bit lane, then
        // each lane's three bytes in order: 12 bytes in each 128-bit half.
        let pairs = _mm256_maddubs_epi16(values, _mm256_set1_epi32(0x0140_0140));
        let quads = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x0001_1000));
        let order = _mm256_setr_epi8(
            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, //
            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
        );
        let d = _mm256_shuffle_epi8(quads, order);
        let bits = |m: __m256i| {
            let m = _mm256_movemask_epi8(m) as u32;
            (m & 0xfff) | (m >> 4 & 0xff_f000)
        };
        let eq = |b: u8| _mm256_cmpeq_epi8(d, splat(b));
        let at_most = |b: u8| _mm256_cmpeq_epi8(_mm256_min_epu8(d, splat(b)), d);
        let masked = |m: u8, v: u8| _mm256_cmpeq_epi8(_mm256_and_si256(d, splat(m)), splat(v));
        let (c0_c1, f5_up) = (
            masked(0xfe, 0xc0),
            _mm256_cmpeq_epi8(_mm256_max_epu8(d, splat(0xf5)), d),
        );
        let line_ends = _mm256_or_si256(_mm256_or_si256(eq(b'\t'), eq(b'\n')), eq(b'\r'));
        let alone = _mm256_or_si256(
            _mm256_or_si256(_mm256_andnot_si256(line_ends, at_most(0x1f)), eq(0x7f)),
            _mm256_or_si256(c0_c1, f5_up),
        );
        let k = n * 6 / 8;
        let live = (1u32 << k) - 1;
        let ascii = !bits(d);
        let c = bits(masked(0xc0, 0x80)) & live;
        let rejected = bits(alone) | c & (ascii << 1 | prev_ascii);
        bad += (rejected & live).count_ones() as usize;
        // Sequences cut short: a byte other than a continuation where a
        // lead wants one, or the run's end. Bit j + 3 is byte j, the three
        // before it the previous step's last bytes.
        let l4 = bits(_mm256_andnot_si256(f5_up, masked(0xf8, 0xf0))) & live;
        let l34 = bits(masked(0xf0, 0xe0)) & live | l4;
        let l = bits(_mm256_andnot_si256(c0_c1, masked(0xe0, 0xc0))) & live | l34;
        let [pl, pl34, pl4, pc] = prev;
        let (l, l34, l4, c) = (l << 3 | pl, l34 << 3 | pl34, l4 << 3 | pl4, c << 3 | pc);
        let wants = l << 1 | (l34 << 2 & c << 1) | (l4 << 3 & c << 2 & c << 1);
        let last = i + 32 >= run.len();
        let upto = k + usize::from(last);
        bad += (wants & !c & ((1u32 << upto) - 1) << 3).count_ones() as usize;
        prev = [l, l34, l4, c].map(|m| m >> k & 7);
        if k > 0 {
            prev_ascii = ascii >> (k - 1) & 1;
        }
        if bad > most_bad {
            return false;
        }
        i += 32;
    }
    true
}

/// [`base64_within_bound`] four characters (three bytes) a step, the
/// bound tested once a step.
fn base64_within_bound_groups(run: &[u8]) -> bool {
    let mut bound = TextBound::new(run.len() * 6 / 8);
    let groups = run.chunks_exact(4);
    let rest = groups.remainder();
    for g in groups {
        let v = [0, 1, 2, 3].map(|i| u32::from(B64[usize::from(g[i])]));
        // Every value is below 64; 0xff marks a byte of neither alphabet.
        if (v[0] | v[1] | v[2] | v[3]) > 63 {
            return false;
        }
        let w = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
        bound.count((w >> 16) as u8);
        bound.count((w >> 8) as u8);
        bound.count(w as u8);
        if bound.bad > bound.most_bad {
            return false;
        }
    }
    let (mut acc, mut bits) = (0u32, 0);
    for &c in rest {
        let v = B64[usize::from(c)];
        if v == 0xff {
            return false;
        }
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bound.count((acc >> bits) as u8);
        }
    }
    bound.finish()
}

/// `hex_decode(run, MAX_BLOB_DECODED)` is text, for an even run of hex
/// digits; bounded like [`base64_gives_text`].
fn hex_gives_text(run: &[u8]) -> bool {
    let max = MAX_BLOB_DECODED;
    let mut bound = TextBound::new((run.len() / 2).min(max));
    for p in run.chunks_exact(2).take(max) {
        match (hex_val(p[0]), hex_val(p[1])) {
            (Some(h), Some(l)) if bound.take(h << 4 | l) => {}
            _ => return false,
        }
    }
    bound.finish() && hex_decode(run, max).is_some_and(|b| is_text(&b))
}

/// A running lower bound on the characters [`is_text`] rejects in `len`
/// bytes, fed one byte at a time. Each byte counted starts one rejected
/// character of its own in the lossy reading: an ASCII control (not tab or
/// a line end), a byte that never occurs in UTF-8 (C0, C1, F5-FF), a
/// continuation byte right after an ASCII byte (or first), which no lead
/// byte claims, and a byte other than a continuation where a lead byte's
/// sequence still wants one (the lead and what it has are one rejected
/// character; the byte is then read afresh), or the end there. Text has at
/// most a tenth of its at most `len` characters rejected, so past that many
/// the bytes cannot be text.
struct TextBound {
    bad: usize,
    most_bad: usize,
    prev_ascii: bool,
    /// Continuation bytes the last lead byte still wants (0 to 3).
    open: u8,
}

/// [`TextBound`]'s byte classes: bit 0 for a byte rejected on its own,
/// bit 1 for a continuation byte (rejected after an ASCII byte), bits 2-3
/// for a lead byte, the continuation bytes its sequence takes (C2-DF 1,
/// E0-EF 2, F0-F4 3). Leads the standard narrows further (E0, ED, F0, F4)
/// are taken at their widest: the bound counts fewer, never more.
static TEXT_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'\t' | b'\n' | b'\r' => 0,
            0..=0x1f | 0x7f | 0xc0 | 0xc1 | 0xf5..=0xff => 1,
            0x80..=0xbf => 2,
            0xc2..=0xdf => 1 << 2,
            0xe0..=0xef => 2 << 2,
            0xf0..=0xf4 => 3 << 2,
            _ => 0,
        };
        b += 1;
    }
    t
};

impl TextBound {
    fn new(len: usize) -> TextBound {
        TextBound {
            bad: 0,
            // The +1 keeps float rounding from rejecting borderline text,
            // as in `is_text` (whose test is `bad > most_bad` in floats).
            most_bad: ((1.0 - MIN_PRINTABLE) * len as f64 + 1.0) as usize,
            prev_ascii: true,
            open: 0,
        }
    }

    /// Counts `b`, with no branch.
    #[inline(always)]
    fn count(&mut self, b: u8) {
        let class = TEXT_CLASS[usize::from(b)];
        let cont = class >> 1 & 1;
        let cut = u8::from(self.open > 0) & !cont & 1;
        self.bad += usize::from(cut + (class & 1) + (cont & u8::from(self.prev_ascii)));
        self.open = if self.open > 0 && cont == 1 {
            self.open - 1
        } else {
            class >> 2
        };
        self.prev_ascii = b < 0x80;
    }

    /// Counts `b`; false once the bytes so far rule out text.
    #[inline]
    fn take(&mut self, b: u8) -> bool {
        self.count(b);
        self.bad <= self.most_bad
    }

    /// Whether the bytes fed may be text, now that they end (a sequence
    /// still open is cut by the end).
    fn finish(&self) -> bool {
        self.bad + usize::from(self.open > 0) <= self.most_bad
    }
}

/// Remaining work allowed for one value.
struct Budget {
    bytes: usize,
    variants: usize,
}

impl Budget {
    /// Takes `n` bytes and one variant; false when either is exhausted.
    fn take(&mut self, n: usize) -> bool {
        if self.variants == 0 || self.bytes == 0 || n > self.bytes {
            self.bytes = 0;
            return false;
        }
        self.variants -= 1;
        self.bytes -= n;
        true
    }
}

/// The decoded variants of a value under `opts`, each with the layers that
/// produced it: the value normalised in place (when that changes it), each
/// text-like base64/hex blob in it (decoded, then decoded again up to
/// [`MAX_STAGES`] stages), and so on. The value itself is not included.
/// Blobs are looked for in the value normalised without `plus`, since `+`
/// is a base64 digit. Work and memory are bounded: blobs are cut at
/// [`MAX_BLOB_DECODED`] bytes, at most [`MAX_VARIANTS`] variants are
/// returned, and their total size stays within [`VALUE_BUDGET`] plus twice
/// the value's length.
pub fn decode_variants(s: &str, opts: DecodeOpts) -> Vec<Decoded> {
    let mut out = Vec::new();
    if !opts.any() {
        return out;
    }
    let mut budget = Budget {
        bytes: VALUE_BUDGET.saturating_add(s.len().saturating_mul(2)),
        variants: MAX_VARIANTS,
    };
    expand(s, &[], 0, opts, &mut budget, &mut out);
    out
}

/// One level of [`decode_variants`]: `text` was reached through `path`
/// using `stages` stages.
fn expand(
    text: &str,
    path: &[Layer],
    stages: usize,
    opts: DecodeOpts,
    budget: &mut Budget,
    out: &mut Vec<Decoded>,
) {
    if stages >= MAX_STAGES {
        return;
    }
    let with_path = |layers: &[Layer], extra: &[Layer]| -> Vec<Layer> {
        let mut p = path.to_vec();
        p.extend_from_slice(layers);
        p.extend_from_slice(extra);
        p
    };
    let mut src: Cow<'_, str> = Cow::Borrowed(text);
    let mut src_layers: Vec<Layer> = Vec::new();
    let mut src_stages = stages;
    if opts.inline() {
        let (whole, layers) = inline_decode(text, opts);
        if let Cow::Owned(w) = whole {
            if !budget.take(w.len()) {
                return;
            }
            if opts.blobs() && !opts.plus {
                // Without `plus` the blob source is this same text.
                src = Cow::Owned(w.clone());
                src_layers = layers.clone();
                src_stages += 1;
            }
            out.push(Decoded {
                text: w,
                layers: with_path(&layers, &[]),
            });
        }
        if opts.blobs()
            && opts.plus
            && let (Cow::Owned(b), base_layers) = inline_decode(text, opts.without_plus())
        {
            src = Cow::Owned(b);
            src_layers = base_layers;
            src_stages += 1;
        }
    }
    if !opts.blobs() || src_stages >= MAX_STAGES {
        return;
    }
    let bytes = src.as_bytes();
    for (start, end) in blob_runs(bytes) {
        if budget.bytes == 0 || budget.variants == 0 {
            return;
        }
        let max = MAX_BLOB_DECODED.min(budget.bytes);
        for (t, layer) in decode_run(&bytes[start..end], opts, max) {
            if !budget.take(t.len()) {
                return;
            }
            let p = with_path(&src_layers, &[layer]);
            out.push(Decoded {
                text: t.clone(),
                layers: p.clone(),
            });
            expand(&t, &p, src_stages + 1, opts, budget, out);
        }
    }
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
    fn url_percent_u_escapes() {
        assert_eq!(url_decode("%u003Cscript%u003e", false), "<script>");
        assert_eq!(url_decode("%U00e9t%u00E9", false), "été");
        assert_eq!(url_decode("%uD83D%uDE00!", false), "\u{1F600}!");
        // A lone or reversed surrogate, a short or bad escape: verbatim.
        assert_eq!(url_decode("%uD83Dx", false), "%uD83Dx");
        assert_eq!(url_decode("%uDE00%uD83D", false), "%uDE00%uD83D");
        assert_eq!(url_decode("%u00", false), "%u00");
        assert_eq!(url_decode("%u00zz", false), "%u00zz");
        assert_eq!(url_decode_stable("%25u003C", false, 3), "<");
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
                ..DecodeOpts::default()
            })
        );
        assert_eq!(DecodeOpts::parse_name("html").map(|o| o.html), Some(true));
        assert_eq!(
            DecodeOpts::parse_name("base64").map(|o| o.base64),
            Some(true)
        );
        assert_eq!(DecodeOpts::parse_name("HEX").map(|o| o.hex), Some(true));
        assert_eq!(DecodeOpts::parse_name("json").map(|o| o.json), Some(true));
        assert_eq!(DecodeOpts::parse_name("all"), Some(DecodeOpts::all()));
        assert_eq!(DecodeOpts::parse_name("rot13"), None);
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
            ..DecodeOpts::default()
        };
        let out = decode_value(&big, all);
        assert!(out.starts_with("<script>&x <script>"));
        assert!(!out.contains('%'));
        let clean = "a".repeat(10 * 1024 * 1024);
        assert!(is_borrowed(decode_value(&clean, all)));
    }

    fn opts(names: &[&str]) -> DecodeOpts {
        names
            .iter()
            .filter_map(|n| DecodeOpts::parse_name(n))
            .fold(DecodeOpts::default(), DecodeOpts::union)
    }

    fn b64(s: &str) -> String {
        b64_bytes(s.as_bytes())
    }

    fn b64_bytes(b: &[u8]) -> String {
        crate::test_util::base64(b, false)
    }

    fn hex(s: &str) -> String {
        crate::pack::hex(s.as_bytes())
    }

    fn find<'a>(v: &'a [Decoded], layers: &[Layer]) -> Option<&'a str> {
        v.iter()
            .find(|d| d.layers == layers)
            .map(|d| d.text.as_str())
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_unescape(r"\u003cscript\u003E"), "<script>");
        assert_eq!(
            json_unescape(r"https:\/\/x.example\/a"),
            "https://x.example/a"
        );
        assert_eq!(json_unescape(r#"say \"hi\" \\ ok"#), r#"say "hi" \ ok"#);
        assert_eq!(json_unescape(r"\ud83d\ude00!"), "\u{1f600}!");
        // Lone or reversed surrogates become U+FFFD; the rest is kept.
        assert_eq!(json_unescape(r"\ud83dx"), "\u{fffd}x");
        assert_eq!(json_unescape(r"\ude00\ud83d"), "\u{fffd}\u{fffd}");
        assert_eq!(json_unescape(r"\\u003c"), r"\u003c");
        for keep in [r"\u12", r"\u", r"\", r"\n\t", r"\x3c", r"\uzzzz", "plain"] {
            let d = json_unescape(keep);
            assert_eq!(d, keep, "{keep}");
            assert!(is_borrowed(d), "{keep}");
        }
        assert_eq!(json_unescape("é\\u00e9é\\"), "ééé\\");
    }

    #[test]
    fn json_layer_in_decode_value() {
        let o = opts(&["url", "json"]);
        assert_eq!(decode_value("%5Cu003cscript", o), "<script");
        assert_eq!(
            decode_value(r"\u003cscript", opts(&["url"])),
            r"\u003cscript"
        );
    }

    #[test]
    fn base64_both_alphabets_padded_or_not() {
        let o = opts(&["base64"]);
        let text = "<script src=//evil.example/a.js?x=1></script>";
        let std = b64(text);
        assert!(std.contains('/') || std.contains('+'), "{std}");
        let url_safe = std.replace('+', "-").replace('/', "_");
        let padded = format!("{std}{}", "=".repeat((4 - std.len() % 4) % 4));
        for enc in [&std, &url_safe, &padded] {
            let v = decode_variants(&format!("d={enc}&x=1"), o);
            assert_eq!(find(&v, &[Layer::Base64]), Some(text), "{enc}");
        }
        assert!(decode_variants("d=short", o).is_empty());
    }

    #[test]
    fn base64_truncated_and_binary() {
        let o = opts(&["base64"]);
        let enc = b64(r#"{"card":"4111 1111 1111 1111","exp":"12/20"}"#);
        // Cut at every length: never panics, and a long enough prefix
        // still decodes to the start of the text.
        for cut in 0..enc.len() {
            let v = decode_variants(&enc[..cut], o);
            if cut >= 24 {
                let t = find(&v, &[Layer::Base64]).unwrap_or("");
                assert!(t.starts_with(r#"{"card":"#), "{cut}: {t}");
            }
        }
        // Random-looking identifiers decode to binary and are not text.
        for id in [
            "VtW4cHWqMhkNyWIj57HblA",
            "qXJZZEUSWE09xaHWTERagQ",
            "installGlobalHook1234",
        ] {
            assert!(decode_variants(id, o).is_empty(), "{id}");
        }
    }

    #[test]
    fn invalid_utf8_after_decoding_is_not_text() {
        let o = opts(&["base64", "hex"]);
        // 0xff 0xfe ... is never UTF-8.
        let bin = "//79/Pv6+fj39vX08/Lx8A";
        assert!(decode_variants(bin, o).is_empty());
        let hexbin = "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0";
        assert!(decode_variants(hexbin, o).is_empty());
        // Mostly text with a stray invalid byte still counts (lossily).
        let mut mostly = hex("card=4111111111111111&exp=12/20&cvv=123");
        mostly.push_str("ff");
        let v = decode_variants(&mostly, o);
        assert_eq!(
            find(&v, &[Layer::Hex]),
            Some("card=4111111111111111&exp=12/20&cvv=123\u{fffd}")
        );
    }

    #[test]
    fn hex_runs() {
        let o = opts(&["hex"]);
        let text = r#"{"n":"J Smith","e":"11/19"}"#;
        let h = hex(text);
        assert_eq!(find(&decode_variants(&h, o), &[Layer::Hex]), Some(text));
        assert_eq!(
            find(&decode_variants(&h.to_uppercase(), o), &[Layer::Hex]),
            Some(text)
        );
        // Odd length is not hex; too short is not a blob.
        assert!(decode_variants(&h[..h.len() - 1], o).is_empty());
        assert!(decode_variants(&hex("short text"), o).is_empty());
        // A SHA-256 digest decodes to binary: not text.
        let digest = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592";
        assert!(decode_variants(digest, opts(&["hex", "base64"])).is_empty());
    }

    #[test]
    fn nested_url_base64_json() {
        let inner = r#"{"c":"\u0034111111111111111","e":"11\/19"}"#;
        let value = format!("d%3D{}", b64(inner).replace('+', "%2B").replace('/', "%2F"));
        let v = decode_variants(&value, DecodeOpts::all());
        assert_eq!(find(&v, &[Layer::Url, Layer::Base64]), Some(inner));
        assert_eq!(
            find(&v, &[Layer::Url, Layer::Base64, Layer::Json]),
            Some(r#"{"c":"4111111111111111","e":"11/19"}"#)
        );
        // Three stages at most: a fourth (base64 inside) is not decoded.
        let deep = format!("%3D{}", b64(&b64(&b64("<script>alert(1)</script> deeply"))));
        let v = decode_variants(&deep, DecodeOpts::all());
        assert!(v.iter().all(|d| d.layers.len() <= MAX_STAGES), "{v:?}");
        assert!(v.iter().all(|d| !d.text.contains("<script>")), "{v:?}");
        let three = b64(&b64(&b64("<script>alert(1)</script> deeply")));
        let v = decode_variants(&three, DecodeOpts::all());
        assert!(
            find(&v, &[Layer::Base64, Layer::Base64, Layer::Base64])
                .is_some_and(|t| t.starts_with("<script>")),
            "{v:?}"
        );
    }

    #[test]
    fn plus_does_not_break_blobs() {
        // A base64 '+' in a query must not become a space before blob decoding.
        let text = "ab>>>>>>>>>>>>>>>>>>>>>cd"; // encodes with '+'
        let enc = b64(text);
        assert!(enc.contains('+'), "{enc}");
        let v = decode_variants(&format!("q=a+b&d={enc}"), opts(&["url", "plus", "base64"]));
        assert_eq!(find(&v, &[Layer::Base64]), Some(text), "{v:?}");
        assert!(
            v.iter()
                .any(|d| d.layers == [Layer::Plus] && d.text.starts_with("q=a b"))
        );
    }

    #[test]
    fn blob_in_path_segment() {
        let text = "<img src=x onerror=alert(1)>";
        let v = decode_variants(&format!("/static/assets/{}", b64(text)), opts(&["base64"]));
        assert_eq!(find(&v, &[Layer::Base64]), Some(text), "{v:?}");
    }

    #[test]
    fn jwt_segments_decode() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2aXNpdG9yLTQ0MTkiLCJpYXQiOjE1MDY0NzA0MDB9.4pcPyMD09olPSyXnrXCjTwXyr4BsezdI1AVTmud2fU4";
        let v = decode_variants(&format!("token={jwt}"), opts(&["base64"]));
        let texts: Vec<&str> = v.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                r#"{"alg":"HS256","typ":"JWT"}"#,
                r#"{"sub":"visitor-4419","iat":1506470400}"#
            ]
        );
    }

    #[test]
    fn ten_megabyte_blobs_are_bounded() {
        let o = DecodeOpts::all();
        let t0 = std::time::Instant::now();
        // One 10 MB base64 blob of text: decoded only up to the blob cap.
        let text = "{\"card\":\"x\"} ".repeat(10 * 1024 * 1024 / 14 * 3 / 4);
        let big = b64(&text);
        assert!(big.len() >= 9 * 1024 * 1024, "{}", big.len());
        let v = decode_variants(&big, o);
        assert!(!v.is_empty());
        assert!(
            v.iter().all(|d| d.text.len() <= MAX_BLOB_DECODED),
            "{}",
            v.len()
        );
        // 10 MB of short blobs: the variant count and byte budget stop it.
        let many = format!("{} ", b64("<script>x</script>")).repeat(10 * 1024 * 1024 / 26);
        let v = decode_variants(&many, o);
        assert!(v.len() <= MAX_VARIANTS);
        let total: usize = v.iter().map(|d| d.text.len()).sum();
        assert!(total <= VALUE_BUDGET + 2 * many.len());
        // 10 MB of hex and of base64 noise that is not text.
        let hexbig = "ff".repeat(5 * 1024 * 1024);
        assert!(decode_variants(&hexbig, o).is_empty());
        let noise = "VtW4cHWqMhkNyWIj57HblA".repeat(10 * 1024 * 1024 / 22);
        let _ = decode_variants(&noise, o);
        // Generous for a debug build on a shared 2-core machine.
        assert!(t0.elapsed().as_secs() < 20, "{:?}", t0.elapsed());
    }

    #[test]
    fn budget_exhaustion_stops_expansion() {
        let mut b = Budget {
            bytes: 10,
            variants: 2,
        };
        assert!(b.take(4));
        assert!(!b.take(7));
        assert_eq!(b.bytes, 0);
        assert!(!b.take(0));
        let mut b = Budget {
            bytes: 100,
            variants: 1,
        };
        assert!(b.take(1));
        assert!(!b.take(1));
        // Many distinct blobs: at most MAX_VARIANTS come back, in order.
        let line: String = (0..200)
            .map(|i| format!("{} ", b64(&format!("<script>n={i:04}</script>"))))
            .collect();
        let v = decode_variants(&line, opts(&["base64"]));
        assert_eq!(v.len(), MAX_VARIANTS);
        assert_eq!(v[0].text, "<script>n=0000</script>");
    }

    #[test]
    fn blob_run_scan() {
        let runs = |l: &[u8]| blob_runs(l).count();
        assert_eq!(runs(b"x=aGVsbG8gd29ybGQgaGk"), 1);
        assert_eq!(runs(b"0123456789abcdef"), 1);
        assert_eq!(runs(b"0123456789abcde"), 0);
        assert_eq!(runs(b"GET /a.b.c.d?x=1&y=22 HTTP/1.1"), 0);
        assert_eq!(runs(b""), 0);
        // Every line whose decoded variants include a blob has a run the
        // prefilter's test accepts.
        let o = opts(&["base64", "hex"]);
        for line in [
            "d=PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",
            "h=7b226e223a224a20536d697468227d7b22",
            "t=eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.sig",
        ] {
            let b = line.as_bytes();
            assert!(!decode_variants(line, o).is_empty(), "{line}");
            assert!(
                blob_runs(b).any(|(s, e)| run_may_decode(&b[s..e], o)),
                "{line}"
            );
        }
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let o = DecodeOpts::all();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..400 {
            let s: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    const ALPH: &[u8] = b"%25\\u00+/=-_Aa9&#;x.e{}\"";
                    char::from(ALPH[(seed % ALPH.len() as u64) as usize])
                })
                .collect();
            let v = decode_variants(&s, o);
            assert!(v.len() <= MAX_VARIANTS);
            assert!(
                v.iter()
                    .all(|d| !d.layers.is_empty() && d.layers.len() <= MAX_STAGES + 3)
            );
        }
    }

    /// `as_text`'s share, the plain way: lossy reading, then count.
    fn naive_is_text(b: &[u8]) -> bool {
        let t = String::from_utf8_lossy(b);
        let n = t.chars().count();
        let ok = t
            .chars()
            .filter(|&c| c != '\u{fffd}' && (!c.is_control() || matches!(c, '\t' | '\n' | '\r')))
            .count();
        n > 0 && ok as f64 >= MIN_PRINTABLE * n as f64
    }

    #[test]
    fn the_text_test_equals_the_plain_count() {
        // Borderline: one control byte in ten is still text, two are not.
        assert!(is_text(b"abcdefghi\x01"));
        assert!(!is_text(b"abcdefgh\x01\x02"));
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for round in 0..20_000 {
            crate::test_util::xorshift(&mut x);
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let r = x.rotate_left(i as u32 * 7) as u8;
                    // Mostly text, some controls, high bytes and UTF-8.
                    match r % 8 {
                        0 => r % 32,
                        1 => 0x80 | r,
                        2 => [0xc3, 0xa9][i % 2],
                        _ => b'a' + r % 26,
                    }
                })
                .collect();
            assert_eq!(
                is_text(&bytes),
                naive_is_text(&bytes),
                "round {round}: {bytes:?}"
            );
        }
    }

    #[test]
    fn the_text_bound_never_counts_more_than_is_text_rejects() {
        // Valid sequences of every length (and the leads the standard
        // narrows: E0, ED, F0, F4), sequences cut short by any byte or the
        // end, stray continuations, controls and never-valid bytes.
        let mut rand = crate::test_util::rng(0x7e47_b0d5);
        let pieces: [&[u8]; 12] = [
            b"a",
            b" ",
            b"\x01",
            b"\t",
            "\u{e9}".as_bytes(),
            "\u{20ac}".as_bytes(),
            "\u{1f600}".as_bytes(),
            b"\xe0\x80\x80",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\x80",
            b"\xc0",
        ];
        let counted = |bytes: &[u8]| {
            let mut bound = TextBound::new(usize::MAX / 2);
            bytes.iter().for_each(|&b| bound.count(b));
            bound.bad + usize::from(bound.open > 0)
        };
        // Each lead length, whole, cut by a byte and cut by the end.
        for (bytes, n) in [
            ("\u{e9}\u{20ac}\u{1f600}a".as_bytes(), 0),
            (b"\xc3a", 1),
            (b"\xe2\x82a", 1),
            (b"\xf0\x9f\x98a", 1),
            (b"\xf0\x9f\x98", 1),
            (b"\xf0\xc3\xa9", 1),
            (b"a\x80\x01", 2),
        ] {
            assert_eq!(counted(bytes), n, "{bytes:x?}");
        }
        let (mut cut_short, mut rejected) = (0, 0);
        for _ in 0..50_000 {
            let mut bytes = Vec::new();
            for _ in 0..rand(24) {
                let p = pieces[rand(12) as usize];
                // A piece, or its first bytes only.
                let keep = if rand(4) == 0 {
                    rand(p.len() as u64) as usize
                } else {
                    p.len()
                };
                bytes.extend_from_slice(&p[..keep]);
            }
            // Every byte counted, none given up on.
            let counted = counted(&bytes);
            let t = String::from_utf8_lossy(&bytes);
            let bad = t
                .chars()
                .filter(|&c| {
                    c == '\u{fffd}' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                })
                .count();
            assert!(counted <= bad, "{counted} > {bad}: {bytes:x?}");
            let cut = |w: &[u8]| (0xc2..=0xf4).contains(&w[0]) && w[1] & 0xc0 != 0x80;
            cut_short += usize::from(bytes.windows(2).any(cut));
            // The bound's answer: text is never refused.
            let mut bound = TextBound::new(bytes.len());
            let kept = bytes.iter().all(|&b| bound.take(b)) && bound.finish();
            if naive_is_text(&bytes) {
                assert!(kept, "{bytes:x?}");
            } else if !kept {
                rejected += 1;
            }
        }
        assert!(
            cut_short > 10_000 && rejected > 10_000,
            "{cut_short} {rejected}"
        );
    }

    /// `run_may_decode` as first written: every decode built in full.
    fn full_run_may_decode(run: &[u8], opts: DecodeOpts) -> bool {
        let text = |b: Vec<u8>| is_text(&b).then_some(());
        if !decode_run_by(run, opts, MAX_BLOB_DECODED, text).is_empty() {
            return true;
        }
        let whole = |r: &[u8]| {
            r.len() >= MIN_BASE64_RUN && decode_whole_by(r, opts, MAX_BLOB_DECODED, text).is_some()
        };
        let lead = run.iter().take_while(|&&c| c == b'/').count();
        match run[lead..].iter().position(|&c| c == b'/') {
            Some(k) => whole(&run[..lead + k]) || whole(&run[lead + k..]),
            None => false,
        }
    }

    #[test]
    fn the_grouped_bound_equals_the_bytewise_feed() {
        // Encodings of text with rising noise, every length mod 4, bytes of
        // neither alphabet, runs that pass and fail near the bound.
        let mut rand = crate::test_util::rng(0xb0_4d5);
        let (mut passed, mut failed) = (0, 0);
        for _ in 0..20_000 {
            // Up to five vector steps (136 characters).
            let len = rand(100) as usize;
            let noise = rand(40);
            let bytes: Vec<u8> = (0..len)
                .map(|i| match rand(100) {
                    r if r < noise / 2 => rand(32) as u8,
                    // Every byte value, and the edges of each class.
                    r if r < noise => {
                        [0x80 | rand(64) as u8, 0xc3, rand(256) as u8, 0xf5, 0xf4][i % 5]
                    }
                    _ => b' ' + rand(95) as u8,
                })
                .collect();
            let mut run: Vec<u8> = b64_bytes(&bytes).into_bytes();
            run.retain(|&c| c != b'=');
            run.truncate(run.len() - rand(4).min(run.len() as u64) as usize);
            if rand(10) == 0 && !run.is_empty() {
                let at = rand(run.len() as u64) as usize;
                run[at] = [b'.', b'=', b' ', 0xc3][rand(4) as usize];
            }
            let mut bound = TextBound::new(run.len() * 6 / 8);
            let want = base64_feed(&run, MAX_BLOB_DECODED, |b| bound.take(b)) == Some(true)
                && bound.finish();
            assert_eq!(base64_within_bound_groups(&run), want, "groups: {run:?}");
            #[cfg(target_arch = "x86_64")]
            if crate::matcher::wide_cpu() {
                // SAFETY: the CPU has AVX2 and POPCNT.
                let wide = unsafe { base64_within_bound_avx2(&run) };
                assert_eq!(wide, want, "avx2: {run:?}");
            }
            if want { passed += 1 } else { failed += 1 }
        }
        assert!(
            passed > 3000 && failed > 3000,
            "{passed} passed, {failed} failed"
        );
    }

    #[test]
    fn the_bounded_run_test_equals_full_decoding() {
        // Runs near the text threshold: encodings of mostly-text bytes with
        // controls, stray continuation and never-valid bytes, valid UTF-8,
        // cut into `/`-segments and spliced with paths and hex.
        let mut rand = crate::test_util::rng(0x7e57_b0b0);
        let mut texts = 0;
        for o in [opts(&["base64", "hex"]), opts(&["base64"]), opts(&["hex"])] {
            for _ in 0..6000 {
                let len = 1 + rand(90) as usize;
                let noise = rand(25);
                let bytes: Vec<u8> = (0..len)
                    .map(|i| match rand(100) {
                        r if r < noise / 3 => rand(32) as u8,
                        r if r < noise * 2 / 3 => 0x80 | rand(128) as u8,
                        r if r < noise => [0xc3, 0xa9, 0xe2, 0x82, 0xac][i % 5],
                        _ => b' ' + rand(95) as u8,
                    })
                    .collect();
                let mut run = match rand(3) {
                    0 => b64_bytes(&bytes),
                    1 => bytes.iter().map(|b| format!("{b:02x}")).collect(),
                    _ => format!("/media/{}/x", b64_bytes(&bytes)),
                };
                run.retain(|c| c != '=');
                let r = run.as_bytes();
                let want = full_run_may_decode(r, o);
                texts += usize::from(want);
                assert_eq!(run_may_decode(r, o), want, "{run}");
            }
        }
        // Both answers are common.
        assert!(
            texts > 3000 && texts < 15000,
            "{texts} of 18000 runs are text"
        );
    }

    #[test]
    fn run_gate_rejects_paths_and_finds_blobs_the_decoder_finds() {
        let o = opts(&["base64", "hex"]);
        for path in [
            "/static/version1490500000/frontend/Magento/luma/en_US/requirejs/require",
            "/media/catalog/product/cache/1/small_image/240x300/01721821cb4d2b5c1026b0efaadfc399/m/j/mj28-gray_main",
            "python-requests/2",
        ] {
            assert!(!run_may_decode(path.as_bytes(), o), "{path}");
        }
        let blob = b64("{\"cc\":\"4111111111111111\",\"cvv\":\"123\"}");
        assert!(run_may_decode(blob.as_bytes(), o));
        assert!(run_may_decode(format!("/x/{blob}").as_bytes(), o));
        // A host ending the run: `com` + a path whose standard base64
        // starts with `/` (a first byte 0xFF, one bad character among
        // many). Neither the whole run nor any `/`-segment decodes; the
        // path field on its own does, and so the gate must say yes.
        let mut bytes = vec![0xffu8];
        bytes.extend_from_slice(b"<script src=//skimdrop.example/x.js></script>");
        let path = b64_bytes(&bytes);
        assert!(path.starts_with('/'), "{path}");
        let run = format!("com{path}");
        assert!(decode_run(run.as_bytes(), o, MAX_BLOB_DECODED).is_empty());
        assert!(!decode_run(path.as_bytes(), o, MAX_BLOB_DECODED).is_empty());
        assert!(run_may_decode(run.as_bytes(), o));
    }
}
