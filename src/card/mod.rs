//! Payment card numbers: detection, masking and keyed fingerprints.
//!
//! Two detectors with different goals live here:
//! - [`find_pans`] is precise: it reports card numbers that look like a card
//!   number was deliberately written (contiguous or in the usual groupings,
//!   not glued to other letters or digits), with brand, length and Luhn checks.
//! - [`mask_text`] is deliberately over-eager: it is the last line of defence
//!   before anything is printed, so it masks every Luhn-valid, brand-prefixed
//!   13–19 digit window it can find, whatever surrounds it.

use std::borrow::Cow;
use std::sync::LazyLock;

use hmac::{Hmac, KeyInit, Mac};
use regex::bytes::Regex;
use sha2::Sha256;

mod layered;

/// Card brand (issuer network), derived from the number's prefix and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Brand {
    /// Visa: prefix 4, lengths 13, 16, 19.
    Visa,
    /// Mastercard: 51–55 and 2221–2720, length 16.
    Mastercard,
    /// American Express: 34, 37, length 15.
    Amex,
    /// Discover: 6011, 644–649, 65, lengths 16–19.
    Discover,
    /// JCB: 3528–3589, lengths 16–19.
    Jcb,
    /// Diners Club: 300–305, 36, 38, 39, lengths 14–19.
    Diners,
    /// UnionPay: 62, lengths 16–19.
    Unionpay,
}

impl Brand {
    /// Lowercase name, identical to the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Jcb => "jcb",
            Brand::Diners => "diners",
            Brand::Unionpay => "unionpay",
        }
    }

    /// Whether `len` digits is a valid card length for this brand.
    pub fn valid_len(self, len: usize) -> bool {
        match self {
            Brand::Visa => matches!(len, 13 | 16 | 19),
            Brand::Mastercard => len == 16,
            Brand::Amex => len == 15,
            Brand::Discover | Brand::Jcb | Brand::Unionpay => (16..=19).contains(&len),
            Brand::Diners => (14..=19).contains(&len),
        }
    }

    /// Bit `len` set for every valid length (used by the masking scan).
    fn len_mask(self) -> u32 {
        (MIN_LEN..=MAX_LEN)
            .filter(|&l| self.valid_len(l))
            .fold(0, |m, l| m | 1 << l)
    }
}

/// One card number found by [`find_pans`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanHit {
    /// Byte offset of the first digit in the input.
    pub start: usize,
    /// Byte offset one past the last digit (separators inside are included).
    pub end: usize,
    /// The digits only, without separators.
    pub digits: String,
    /// Brand from the issuer table.
    pub brand: Brand,
    /// True for a well-known public test number from payment-provider docs.
    pub test_card: bool,
}

/// Shortest and longest card number lengths considered anywhere.
const MIN_LEN: usize = 13;
const MAX_LEN: usize = 19;

/// Well-known public test card numbers published in payment-provider
/// documentation (Stripe, Braintree, Adyen, PayPal, Worldpay, Checkout.com…).
/// Sorted so lookup can binary-search.
static TEST_CARDS: &[&str] = &[
    "2221000000000009",
    "2222400010000008",
    "2223000048410010",
    "2223003122003222",
    "2223520043560014",
    "30000000000004",
    "3056930009020004",
    "30569309025904",
    "340000000000009",
    "341111111111111",
    "343434343434343",
    "3528000700000000",
    "3530111333300000",
    "3566002020360505",
    "3566111111111113",
    "3569990010095841",
    "36006666333344",
    "36148900647913",
    "36227206271667",
    "36259600000004",
    "370000000000002",
    "371449635398431",
    "374245455400126",
    "374251018720018",
    "374251021090003",
    "378282246310005",
    "378734493671000",
    "38520000023237",
    "4000000000000002",
    "4000000000000010",
    "4000000000000028",
    "4000000000000036",
    "4000000000000069",
    "4000000000000077",
    "4000000000000093",
    "4000000000000101",
    "4000000000000119",
    "4000000000000127",
    "4000000000000341",
    "4000000000003220",
    "4000000000009995",
    "4000002500003155",
    "4000002760003184",
    "4000056655665556",
    "4005519200000004",
    "4007000000027",
    "4009348888881881",
    "4012000033330026",
    "4012000077777777",
    "4012888818888",
    "4012888888881881",
    "4111111111111111",
    "4217651111111119",
    "4222222222222",
    "4242424242424242",
    "4444333322221111",
    "4500600000000061",
    "4988438843884305",
    "5100000010001004",
    "5105105105105100",
    "5200828282828210",
    "5425233430109903",
    "5431111111111111",
    "5454545454545454",
    "5500000000000004",
    "5555341244441115",
    "5555444433331111",
    "5555555555554444",
    "5577000055770004",
    "6011000400000000",
    "6011000990139424",
    "6011111111111117",
    "6011601160116611",
    "6011981111111113",
    "6200000000000005",
    "6205500000000000004",
    "6243030000000001",
    "6250941006528599",
    "6445644564456445",
];

/// True when `digits` is a well-known public test card number.
pub fn is_test_card(digits: &str) -> bool {
    TEST_CARDS.binary_search(&digits).is_ok()
}

/// Luhn (mod 10) check. False for an empty input or any non-digit byte.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum: u32 = 0;
    for (k, &c) in digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return false;
        }
        let d = u32::from(c - b'0');
        sum += if k % 2 == 1 { luhn_double(d) } else { d };
    }
    sum.is_multiple_of(10)
}

/// Doubled Luhn digit value (digit sum of 2·d).
fn luhn_double(d: u32) -> u32 {
    let x = d * 2;
    if x > 9 { x - 9 } else { x }
}

/// Brand of a card number from the issuer table (prefix and length), without
/// a Luhn check. `None` for non-digits or lengths outside 13–19.
pub fn brand_of(digits: &[u8]) -> Option<Brand> {
    if !(MIN_LEN..=MAX_LEN).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut lead = [0u8; 4];
    for (slot, &c) in lead.iter_mut().zip(digits) {
        *slot = c - b'0';
    }
    brand_for(lead, digits.len())
}

/// Issuer table on the first four digit values and the total length.
fn brand_for(lead: [u8; 4], len: usize) -> Option<Brand> {
    brand_prefix(lead).filter(|b| b.valid_len(len))
}

/// Brand from the issuer-prefix table alone (first four digit values).
fn brand_prefix(lead: [u8; 4]) -> Option<Brand> {
    let p1 = u32::from(lead[0]);
    let p2 = p1 * 10 + u32::from(lead[1]);
    let p3 = p2 * 10 + u32::from(lead[2]);
    let p4 = p3 * 10 + u32::from(lead[3]);
    let brand = if p1 == 4 {
        Brand::Visa
    } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        Brand::Mastercard
    } else if p2 == 34 || p2 == 37 {
        Brand::Amex
    } else if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 {
        Brand::Discover
    } else if (3528..=3589).contains(&p4) {
        Brand::Jcb
    } else if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) {
        Brand::Diners
    } else if p2 == 62 {
        Brand::Unionpay
    } else {
        return None;
    };
    Some(brand)
}

/// Whether `digits` pass [`find_pans`]'s checks on a candidate's digits
/// (issuer table, Luhn, not one repeated digit).
pub fn is_valid_pan(digits: &[u8]) -> bool {
    valid_pan(digits).is_some()
}

/// Full validity used by [`find_pans`]: brand, Luhn, not one repeated digit.
fn valid_pan(digits: &[u8]) -> Option<Brand> {
    let brand = brand_of(digits)?;
    let first = digits.first()?;
    if digits.iter().all(|c| c == first) || !luhn_valid(digits) {
        return None;
    }
    Some(brand)
}

/// Masks a card number for display: first 6, one `*` per hidden digit, last
/// 4 (`411111******1111`). Inputs of 10 characters or fewer are fully masked,
/// since showing 6 + 4 of them would reveal everything.
pub fn mask_pan(digits: &str) -> String {
    let n = digits.chars().count();
    if n <= 10 {
        return "*".repeat(n);
    }
    digits
        .chars()
        .enumerate()
        .map(|(k, c)| if k < 6 || k >= n - 4 { c } else { '*' })
        .collect()
}

fn is_alnum(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_alphanumeric)
}

/// Length of the ASCII digit run starting at `i`.
fn digit_run(b: &[u8], i: usize) -> usize {
    b.get(i..)
        .map_or(0, |s| s.iter().take_while(|c| c.is_ascii_digit()).count())
}

/// Group shapes accepted for separated card numbers.
pub(crate) fn grouped_shape_ok(groups: &[usize]) -> bool {
    match groups {
        [4, 4, 4, x] => (1..=7).contains(x),
        [4, 4, 4, 4, x] => (1..=3).contains(x),
        [4, 6, 5] | [4, 6, 4] => true,
        _ => false,
    }
}

/// Finds card numbers: 13–19 contiguous digits, or digit groups with one
/// consistent separator (space or `-`) in the shapes 4-4-4-x, 4-4-4-4-x,
/// 4-6-5, 4-6-4, not touching ASCII letters or digits. Each must pass the
/// issuer table and Luhn and not be a single repeated digit. Hits are
/// non-overlapping and in input order.
pub fn find_pans(text: &[u8]) -> Vec<PanHit> {
    let mut hits = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(off) = text[i..].iter().position(u8::is_ascii_digit) else {
            break;
        };
        i += off;
        let run = digit_run(text, i);
        if is_alnum(i.checked_sub(1).and_then(|p| text.get(p))) {
            // Glued to a letter on the left: this whole run is not a candidate.
            i += run;
            continue;
        }
        if let Some(hit) = candidate_at(text, i, run) {
            i = hit.end;
            hits.push(hit);
        } else {
            i += run;
        }
    }
    hits
}

/// Tries the contiguous and grouped forms at `start` (a digit run of `run`
/// bytes that is not glued on the left).
fn candidate_at(text: &[u8], start: usize, run: usize) -> Option<PanHit> {
    let after = start + run;
    if (MIN_LEN..=MAX_LEN).contains(&run) {
        if is_alnum(text.get(after)) {
            return None;
        }
        let digits = text.get(start..after)?;
        return make_hit(start, after, digits.to_vec());
    }
    if run != 4 {
        return None;
    }
    let sep = *text.get(after)?;
    if sep != b' ' && sep != b'-' {
        return None;
    }
    // Collect at most five groups (the longest shape); per-start work is
    // therefore bounded, keeping the whole scan linear.
    let mut groups = vec![(start, run)];
    let mut pos = after;
    while groups.len() < 5 && text.get(pos) == Some(&sep) {
        let n = digit_run(text, pos + 1);
        if n == 0 {
            break;
        }
        groups.push((pos + 1, n));
        pos += 1 + n;
    }
    if groups.len() < 5 {
        // The sequence ended naturally: a different separator followed by a
        // digit means mixed separators, a letter means it is glued.
        let next = text.get(pos);
        if is_alnum(next) {
            return None;
        }
        if matches!(next, Some(b' ' | b'-'))
            && next != Some(&sep)
            && text.get(pos + 1).is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
    }
    // Longest matching prefix of groups wins.
    for k in (3..=groups.len()).rev() {
        let lens: Vec<usize> = groups[..k].iter().map(|g| g.1).collect();
        if !grouped_shape_ok(&lens) {
            continue;
        }
        let (last_start, last_len) = groups[k - 1];
        let end = last_start + last_len;
        if is_alnum(text.get(end)) {
            continue;
        }
        let mut digits = Vec::with_capacity(MAX_LEN);
        for &(s, n) in &groups[..k] {
            digits.extend_from_slice(text.get(s..s + n)?);
        }
        if let Some(hit) = make_hit(start, end, digits) {
            return Some(hit);
        }
    }
    None
}

fn make_hit(start: usize, end: usize, digits: Vec<u8>) -> Option<PanHit> {
    let brand = valid_pan(&digits)?;
    let digits = String::from_utf8(digits).ok()?;
    let test_card = is_test_card(&digits);
    Some(PanHit {
        start,
        end,
        digits,
        brand,
        test_card,
    })
}

/// Length of a separator token at `i` that may join digit groups in
/// [`mask_text`]: space, `-`, `+`, or an escape of a space or `-`
/// ([`esc_sep_len`]: `%20`, `%2D`, `%u0020`, `\u002D`, `&#32;`…).
fn sep_len(b: &[u8], i: usize, escapes: bool) -> usize {
    match b.get(i) {
        Some(b' ' | b'-' | b'+') => 1,
        Some(b'%' | b'\\' | b'&') if escapes => esc_sep_len(b, i),
        _ => 0,
    }
}

/// Ring size for the per-digit history kept by [`pan_mask_ranges`]; must
/// exceed `MAX_LEN + 1` and be a power of two.
const RING: usize = 32;

/// Card-number byte ranges (half-open, merged, sorted) of a text, in two
/// readings: `decoded`, where a separator escape joins digit groups
/// (`4111%201111…`; the escape's own digits are kept), and `written`, the
/// digits as they stand, where an escape's digits may start a number
/// (`%2520` then `0603…` holds `2520 0603…`; every digit is masked).
#[derive(Default)]
struct PanRanges {
    decoded: Ranges,
    written: Ranges,
}

impl PanRanges {
    fn is_empty(&self) -> bool {
        self.decoded.is_empty() && self.written.is_empty()
    }
}

/// [`PanRanges`] of `b`; the written reading differs only where `b` holds
/// an escape.
fn pan_mask_ranges(b: &[u8]) -> PanRanges {
    let escaped = b.iter().any(|c| matches!(c, b'%' | b'\\' | b'&'));
    PanRanges {
        decoded: pan_ranges_by(b, true),
        written: if escaped {
            pan_ranges_by(b, false)
        } else {
            Vec::new()
        },
    }
}

/// [`pan_mask_ranges`] of one reading: digits joined by at most one
/// separator token (with `escapes`, also an escaped space or `-`) form a
/// component; every 13–19 digit window of a component is checked. Luhn
/// sums come from two running alternating prefix sums, so each window
/// costs O(1) and the scan is linear in the input whatever its shape.
fn pan_ranges_by(b: &[u8], escapes: bool) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut digit = [0u8; RING];
    let mut pos = [0usize; RING];
    // c0[m % RING] = Σ_{j<m} (j even ? d_j : dbl(d_j)); c1 the opposite parity.
    let mut c0 = [0u64; RING];
    let mut c1 = [0u64; RING];
    // lens[s % RING]: valid-length bits for a window starting at digit s,
    // known once its fourth digit arrives; brand lookup runs once per digit.
    let mut lens = [0u32; RING];
    let mut n = 0usize; // digits in the current component
    let mut i = 0usize;
    while i < b.len() {
        let c = b[i];
        if !c.is_ascii_digit() {
            n = 0;
            i += 1;
            continue;
        }
        let d = c - b'0';
        let (plain, dbl) = (u64::from(d), u64::from(luhn_double(u32::from(d))));
        if n == 0 {
            c0[0] = 0;
            c1[0] = 0;
        }
        let (a0, a1) = (c0[n % RING], c1[n % RING]);
        let (v0, v1) = if n.is_multiple_of(2) {
            (plain, dbl)
        } else {
            (dbl, plain)
        };
        c0[(n + 1) % RING] = a0.wrapping_add(v0);
        c1[(n + 1) % RING] = a1.wrapping_add(v1);
        digit[n % RING] = d;
        pos[n % RING] = i;
        let e = n;
        n += 1;
        if let Some(s0) = e.checked_sub(3) {
            let lead = [
                digit[s0 % RING],
                digit[(s0 + 1) % RING],
                digit[(s0 + 2) % RING],
                d,
            ];
            lens[s0 % RING] = brand_prefix(lead).map_or(0, Brand::len_mask);
        }
        for len in MIN_LEN..=MAX_LEN.min(n) {
            let s = e + 1 - len;
            if lens[s % RING] & (1 << len) == 0 {
                continue;
            }
            let (hi, lo) = if e.is_multiple_of(2) {
                (c0[(e + 1) % RING], c0[s % RING])
            } else {
                (c1[(e + 1) % RING], c1[s % RING])
            };
            if !hi.wrapping_sub(lo).is_multiple_of(10) {
                continue;
            }
            let mut from = pos[(s + 6) % RING];
            let mut to = pos[(e - 4) % RING] + 1;
            // Windows arrive by increasing end, so any overlap is with the tail.
            while let Some(&(ls, le)) = ranges.last() {
                if from > le {
                    break;
                }
                from = from.min(ls);
                to = to.max(le);
                ranges.pop();
            }
            ranges.push((from, to));
        }
        i += 1;
        let k = sep_len(b, i, escapes);
        if k > 0 && b.get(i + k).is_some_and(u8::is_ascii_digit) {
            i += k;
        } else if !b.get(i).is_some_and(u8::is_ascii_digit) {
            n = 0;
        }
    }
    ranges
}

/// CVV-like key followed by a 3–4 digit value, in query, form, JSON and
/// YAML-ish shapes. The byte before the match and after the value are
/// checked by hand (the regex crate has no look-around).
static CVV_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i-u)(?:card|cc|credit_?card|payment)?(?:cvv2?|cvc2?|csc|cid|cvn|cvd|security_?code|card_?code|verification_?code|card_?verification(?:_?(?:code|value))?)(?:\]|%5d)?(?:\\?["']|%22|%27)?(?:[ \t+]|%20)*(?:=|%3d|:|%3a)(?:[ \t+]|%20)*(?:\\?["']|%22|%27)?(?:[ \t+]|%20)*((?:[0-9]|%(?:25)*3[0-9]|(?:%|\\)u003[0-9]|\\x3[0-9]|&#0*(?:4[89]|5[0-7])(?:;|\b)|&#[xX]0*3[0-9](?:;|\b)){3,4})"#,
    )
    .expect("static CVV regex is valid")
});

/// Whether three digits follow a key separator (`=`, `:`, `%3d`, `%3a`)
/// after the spaces and quote [`CVV_RE`] allows there: true wherever the
/// regex matches, and cheap enough to run first on every masked text.
fn cvv_possible(b: &[u8]) -> bool {
    let space = |j: usize| match b.get(j) {
        Some(b' ' | b'\t' | b'+') => 1,
        Some(b'%') if b.get(j + 1..j + 3) == Some(b"20") => 3,
        _ => 0,
    };
    let spaces = |mut j: usize| {
        loop {
            match space(j) {
                0 => return j,
                k => j += k,
            }
        }
    };
    memchr::memchr3_iter(b'=', b':', b'%', b).any(|i| {
        let after = match b[i] {
            b'%' => match b.get(i + 1..i + 3) {
                Some([b'3', b'd' | b'D' | b'a' | b'A']) => i + 3,
                _ => return false,
            },
            _ => i + 1,
        };
        let mut j = spaces(after);
        j += match b.get(j..).unwrap_or_default() {
            [b'\\', b'"' | b'\'', ..] => 2,
            [b'"' | b'\'', ..] => 1,
            [b'%', b'2', b'2' | b'7', ..] => 3,
            _ => 0,
        };
        // Three digits, each plain or escaped.
        let mut j = spaces(j);
        for _ in 0..3 {
            match digit_token_len(b, j) {
                0 => return false,
                n => j += n,
            }
        }
        true
    })
}

/// Length of the digit token at `b[j]`: 1 for a digit, an escaped digit's
/// length ([`esc_digit_len`]), else 0.
fn digit_token_len(b: &[u8], j: usize) -> usize {
    match b.get(j) {
        Some(c) if c.is_ascii_digit() => 1,
        Some(b'%' | b'\\' | b'&') => esc_digit_len(b, j),
        _ => 0,
    }
}

/// Byte ranges of CVV-like values to replace by `***`.
fn cvv_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for caps in CVV_RE.captures_iter(b) {
        let (Some(all), Some(val)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let start = all.start();
        // `card%5Bcvc%5D=`, `%22cvv%22:`: an escape before the key is a
        // boundary, not a glued letter or digit.
        let after_escape = start
            .checked_sub(3)
            .and_then(|p| b.get(p..start))
            .is_some_and(
                |t| matches!(t, [b'%', h, l] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit()),
            );
        let glued_left = !after_escape && is_alnum(start.checked_sub(1).and_then(|p| b.get(p)));
        let longer = digit_token_len(b, val.end()) > 0;
        if !glued_left && !longer {
            out.push((val.start(), val.end()));
        }
    }
    out
}

/// Defensive redaction for everything skimhunt prints.
///
/// Masks the middle digits (keeping the first 6 and last 4 of each window and
/// all separators) of every Luhn-valid, brand-prefixed 13–19 digit window,
/// even when glued to letters, inside longer digit runs, split by single
/// space, `-`, `+`, `%20` or `%2D` separators, or with digits and
/// separators written as escapes as the decoding layers read them (`%34`,
/// `%2534`, `\u0034`, `\x34`, `&#52;`, `&#x34;`), also where an escape's
/// own syntax is escaped (`%25%33%34`, `&percnt;34`: `card/layered.rs`, every
/// such spelling of a middle digit becoming as many `*`), and read by a
/// decoder of only some layers; and replaces the 3–4 digit
/// values of CVV-like keys (`cvv`, `cvc2`, `card[cvc]`, `payment[cc_cid]`,
/// `"security_code": 123`…) by `***`. Returns `Borrowed` when nothing
/// changed. Linear in the input length.
///
/// Card data that a base64 or hex blob encodes is masked inside the blob,
/// which is re-encoded in place (`redact.rs`): a skimmer's beacon in
/// the evidence still decodes, to masked text.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    match crate::redact::mask_blobs(text.as_bytes()) {
        None => mask_flat(text),
        Some(b) => {
            // Only ASCII bytes replaced ASCII bytes: still UTF-8.
            let s = String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            Cow::Owned(match mask_flat(&s) {
                Cow::Owned(m) => m,
                Cow::Borrowed(_) => s,
            })
        }
    }
}

/// [`mask_text`] without the blobs: plain and escaped digits, digits
/// spelled through stacked escapes, and CVV values.
fn mask_flat(text: &str) -> Cow<'_, str> {
    let first = mask_escapes(text);
    // What one escape spells is masked in its own style above; a stacked
    // spelling left after it becomes as many `*` (the length kept, so an
    // excerpt cut after masking still lands where it was meant).
    let stacked = layered::spans(first.as_bytes());
    if stacked.is_empty() {
        return first;
    }
    let mut b = first.as_bytes().to_vec();
    for &(from, to) in &stacked {
        b[from..to].fill(b'*');
    }
    // The spans are escapes and digits, all ASCII: still UTF-8.
    Cow::Owned(
        String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

/// [`mask_flat`] of digits that are plain or spelled by one escape (or a
/// chain of escaped introducers, [`escape_at`]).
fn mask_escapes(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    // Every masked value holds ASCII digits: a card number 13, a CVV 3, a
    // escaped one (`%34…`, `&#52;…`) more. Report fields such as the method,
    // protocol or referer often hold fewer.
    let digits = ascii_digits(b);
    if digits < 3 {
        return Cow::Borrowed(text);
    }
    let (pans, cvvs) = flat_ranges(b, digits);
    if pans.is_empty() && cvvs.is_empty() {
        return mask_escaped_digits(text);
    }
    let mut buf = b.to_vec();
    star_digits(b, &mut buf, &pans.decoded, true);
    star_digits(b, &mut buf, &pans.written, false);
    let mut out = Vec::with_capacity(buf.len());
    let mut last = 0;
    for &(from, to) in &cvvs {
        if let Some(seg) = buf.get(last..from) {
            out.extend_from_slice(seg);
        }
        out.extend_from_slice(b"***");
        last = to;
    }
    if let Some(seg) = buf.get(last..) {
        out.extend_from_slice(seg);
    }
    // Only ASCII digits were replaced by ASCII bytes, so this stays UTF-8.
    let s = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    match mask_escaped_digits(&s) {
        Cow::Borrowed(_) => Cow::Owned(s),
        Cow::Owned(m) => Cow::Owned(m),
    }
}

/// True when [`mask_text`] leaves every piece of `b` unchanged: every
/// value it masks holds three digits, a card-number-shaped digit sequence,
/// a CVV-like `key=123` or an escaped digit (`%34`, `\u0034`, `&#52;`), and
/// each of these tests looks only forward from where the value starts, so
/// what it finds in a piece it also finds in the whole. A finding's report
/// fields and evidence are pieces of its line: the line is tested once
/// instead of each piece (most log lines hold nothing to mask).
///
/// The blob test reads each blob of the line at every alignment, so a
/// blob that a piece cuts short decodes to part of what the whole gives.
pub fn masks_nothing_in(b: &[u8]) -> bool {
    let digits = ascii_digits(b);
    // One walk over the escapes for the three escape tests (the stacked
    // one, [`layered::may_mask`], needs a card number's digits).
    let stacked = digits >= MIN_LEN;
    let flat = digits < 3
        || (crate::matcher::find_digit_run(b, 0).is_none()
            && !cvv_possible(b)
            && !escape_starts(b).any(|i| {
                may_spell_digit(&b[i..])
                    || wide_sep_at(b, i)
                    || stacked && layered::starts_layer(b, i)
            }));
    flat && crate::redact::mask_blobs(b).is_none()
}

/// Masks `b` in place without changing its length, for decoded blob text
/// that is encoded again: the middle digits of card numbers and the
/// digits of CVV values become `*`, an escaped middle digit the same
/// escape of `*` (`%2A`, `\u002A`, `&#42;`). True when anything changed.
pub(crate) fn mask_in_place(b: &mut [u8]) -> bool {
    let digits = ascii_digits(b);
    if digits < 3 {
        return false;
    }
    // Every range comes from the text as it was.
    let (pans, cvvs) = flat_ranges(b, digits);
    let pct = escaped_digit_marks(b);
    if pans.is_empty() && cvvs.is_empty() && pct.is_none() && !layered::may_mask(b) {
        return false;
    }
    let before = b.to_vec();
    star_digits(&before, b, &pans.decoded, true);
    star_digits(&before, b, &pans.written, false);
    star_digits(&before, b, &cvvs, true);
    for (k, _) in pct.iter().flatten().enumerate().filter(|(_, m)| **m) {
        star_escape(&before, b, k);
    }
    // A stacked spelling left after that becomes `*`s, as in flat text.
    for (from, to) in layered::spans(b) {
        b[from..to].fill(b'*');
    }
    b[..] != before[..]
}

/// Half-open byte ranges.
type Ranges = Vec<(usize, usize)>;

/// The card-number ranges ([`pan_mask_ranges`]) and CVV value ranges
/// ([`cvv_ranges`]) of `b`, which holds `digits` ASCII digits; each search
/// runs only where a cheap test says it may find something.
fn flat_ranges(b: &[u8], digits: usize) -> (PanRanges, Ranges) {
    // The matcher's digit-sequence scanner accepts every sequence a window
    // can lie in (and more separators): most log lines hold 13 digits, few
    // a sequence of them.
    let many_digits =
        digits >= MIN_LEN && (crate::matcher::find_digit_run(b, 0).is_some() || has_wide_sep(b));
    let pans = if many_digits {
        pan_mask_ranges(b)
    } else {
        PanRanges::default()
    };
    let cvvs = if cvv_possible(b) {
        cvv_ranges(b)
    } else {
        Vec::new()
    };
    (pans, cvvs)
}

/// Writes `*` over the digits of `ranges` of `b` into `out` (of the same
/// length). With `escapes` (a decoded reading), only digit and separator
/// tokens occur in a range: the digits of a separator escape (`%20`,
/// `\u0020`, `&#32;`) are kept, an escaped digit becomes the same escape
/// of `*` ([`star_escape`]); without, every ASCII digit becomes `*`.
fn star_digits(b: &[u8], out: &mut [u8], ranges: &[(usize, usize)], escapes: bool) {
    for &(from, to) in ranges {
        let mut k = from;
        while k < to.min(b.len()) {
            // An escape's own digits are kept (a `%20` separator), unless
            // it spells a digit: then it spells `*`. Without `escapes`,
            // every digit is one.
            if let Some(e) = (escapes && matches!(b[k], b'%' | b'\\' | b'&'))
                .then(|| escape_at(b, k))
                .flatten()
            {
                if e.byte.is_ascii_digit() {
                    star_escape(b, out, k);
                }
                k += e.len;
                continue;
            }
            if b[k].is_ascii_digit() {
                out[k] = b'*';
            }
            k += 1;
        }
    }
}

/// How many ASCII digits `b` holds (counted without an early exit, which
/// the compiler vectorises: in byte lanes, 255 bytes at a time, since wider
/// counters take as many more instructions).
fn ascii_digits(b: &[u8]) -> usize {
    b.chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, c| n + u8::from(c.is_ascii_digit()))))
        .sum()
}

/// An escape that a decoding layer reads as one ASCII byte.
#[derive(Clone, Copy)]
struct Escape {
    /// Bytes the escape takes.
    len: usize,
    /// The byte it stands for.
    byte: u8,
    /// Where its number is, relative to its start, and the number's radix.
    num: (usize, usize),
    radix: u32,
}

/// The escape at `b[i]`, as the decoding layers read it: `%HH` and
/// `%uHHHH` (URL, IIS), `\uHHHH` (JSON), `\xHH` (JavaScript), `&#D…` and
/// `&#xH…` with or without `;` (HTML). An escape that spells `%`, `\` or
/// `&` starts another with the bytes after it, as layers applied until
/// nothing changes read it (`%2534`, `%5Cu0034`, `&#37;34`). Only escapes
/// of ASCII bytes: the digits and separators of a card number.
fn escape_at(b: &[u8], i: usize) -> Option<Escape> {
    let t = b.get(i..)?;
    let mut e = escape_after(*t.first()?, t, 1)?;
    while let Some(next) = u8::try_from(e.value)
        .ok()
        .and_then(|c| escape_after(c, t, e.end))
    {
        e = next;
    }
    let byte = u8::try_from(e.value).ok().filter(u8::is_ascii)?;
    Some(Escape {
        len: e.end,
        byte,
        num: e.num,
        radix: e.radix,
    })
}

/// An escape being read: where it ends, its value, where its number is and
/// the number's radix (offsets in the text it starts).
struct Raw {
    end: usize,
    value: u32,
    num: (usize, usize),
    radix: u32,
}

/// The escape that `intro` (`%`, `\` or `&`, written or spelled by an
/// escape) starts when `t[at..]` follows it.
fn escape_after(intro: u8, t: &[u8], at: usize) -> Option<Raw> {
    let hex = |from: usize, n: usize| {
        let value = t
            .get(from..from + n)?
            .iter()
            .try_fold(0u32, |v, &c| Some(v * 16 + char::from(c).to_digit(16)?))?;
        Some(Raw {
            end: from + n,
            value,
            num: (from, from + n),
            radix: 16,
        })
    };
    match (intro, t.get(at..)?) {
        (b'%' | b'\\', [b'u' | b'U', ..]) => hex(at + 1, 4),
        (b'%', _) => hex(at, 2),
        (b'\\', [b'x' | b'X', ..]) => hex(at + 1, 2),
        (b'&', rest @ [b'#', ..]) => {
            let (value, used) = crate::decode::numeric_body(rest)?;
            let hexed = matches!(rest[1], b'x' | b'X');
            let end = at + used;
            let to = end - usize::from(t[end - 1] == b';');
            Some(Raw {
                end,
                value,
                num: (at + 1 + usize::from(hexed), to),
                radix: if hexed { 16 } else { 10 },
            })
        }
        _ => None,
    }
}

/// Length of an escape at `b[i]` that spells an ASCII digit (`%34`,
/// `%u0034`, `\u0034`, `\x34`, `&#52;`, `&#x34;`); else 0.
fn esc_digit_len(b: &[u8], i: usize) -> usize {
    escape_at(b, i)
        .filter(|e| e.byte.is_ascii_digit())
        .map_or(0, |e| e.len)
}

/// Length of an escape at `b[i]` that spells a digit-group separator
/// (space or `-`: `%20`, `%2D`, `%u0020`, `\u002d`, `\x20`, `&#32;`…);
/// else 0.
fn esc_sep_len(b: &[u8], i: usize) -> usize {
    escape_at(b, i)
        .filter(|e| matches!(e.byte, b' ' | b'-'))
        .map_or(0, |e| e.len)
}

/// Where an escape may start.
fn escape_starts(b: &[u8]) -> memchr::Memchr3<'_> {
    memchr::memchr3_iter(b'%', b'\\', b'&', b)
}

/// Whether `b`, or a piece of it, holds an escaped digit: a piece may cut
/// a numeric reference short (`&#521` holds `&#52`, a `4`; so does
/// `%26#521`), so a reference counts when a prefix of its number spells a
/// digit.
fn has_escaped_digit(b: &[u8]) -> bool {
    escape_starts(b).any(|i| may_spell_digit(&b[i..]))
}

/// [`has_escaped_digit`] of the escape chain that `t` starts with.
fn may_spell_digit(t: &[u8]) -> bool {
    let Some(&first) = t.first() else {
        return false;
    };
    let (mut intro, mut at) = (first, 1);
    loop {
        if intro == b'&' && ref_prefix_spells_digit(&t[at..]) {
            return true;
        }
        let Some(e) = escape_after(intro, t, at) else {
            return false;
        };
        match u8::try_from(e.value) {
            Ok(c) if c.is_ascii_digit() => return true,
            Ok(c @ (b'%' | b'\\' | b'&')) => (intro, at) = (c, e.end),
            _ => return false,
        }
    }
}

/// Whether some prefix of the number of the numeric reference whose body
/// (from its `#`) `t` starts with is a digit's code (48-57, 0x30-0x39).
fn ref_prefix_spells_digit(t: &[u8]) -> bool {
    let (radix, digits) = match t {
        [b'#', b'x' | b'X', rest @ ..] => (16, rest),
        [b'#', rest @ ..] => (10, rest),
        _ => return false,
    };
    let mut v = 0u32;
    for &c in digits {
        let Some(d) = char::from(c).to_digit(radix) else {
            break;
        };
        v = v * radix + d;
        if v > u32::from(b'9') {
            break;
        }
        if v >= u32::from(b'0') {
            return true;
        }
    }
    false
}

/// Whether `b` holds an escaped separator that the matcher's digit scanner
/// does not read (it reads `%20` and `%2D` as hex digits and `%`), which
/// may join digit groups where that scanner sees none.
fn has_wide_sep(b: &[u8]) -> bool {
    escape_starts(b).any(|i| wide_sep_at(b, i))
}

/// [`has_wide_sep`] of the escape at `b[i]`.
fn wide_sep_at(b: &[u8], i: usize) -> bool {
    let n = esc_sep_len(b, i);
    n > 0 && !(b[i] == b'%' && n == 3)
}

/// Rewrites the escaped digit at `b[k]` (as `before` spells it) as the
/// same escape of `*`, in as many bytes (`%34` -> `%2A`, `&#52;` ->
/// `&#42;`, `&#x0034;` -> `&#x002A;`); a plain byte becomes `*`.
fn star_escape(before: &[u8], b: &mut [u8], k: usize) {
    let Some(e) = escape_at(before, k).filter(|e| e.byte.is_ascii_digit()) else {
        b[k] = b'*';
        return;
    };
    let (from, to) = (k + e.num.0, k + e.num.1);
    // A digit takes at least two digits of either radix (0x30, 48), as
    // does `*` (0x2A, 42): right-aligned, zeros before.
    let star: &[u8] = if e.radix == 16 { b"2A" } else { b"42" };
    b[from..to].fill(b'0');
    b[to - 2..to].copy_from_slice(star);
}

/// [`mask_text`] of an owned string: the same string back, not a copy,
/// when nothing needed masking (the common case, once per report field).
pub fn mask_owned(s: String) -> String {
    match mask_text(&s) {
        Cow::Owned(m) => m,
        Cow::Borrowed(_) => s,
    }
}

/// The digit tokens [`mask_escaped_digits`] masks, by their first byte
/// (a plain digit or the first byte of an escape, [`escape_at`]); `None`
/// when no digit is escaped.
fn escaped_digit_marks(b: &[u8]) -> Option<Vec<bool>> {
    if !has_escaped_digit(b) {
        return None;
    }
    // Digit tokens: (start, len, digit); a run breaks at anything that is
    // neither a digit token nor one separator token between two digits.
    let mut masked = vec![false; b.len()];
    let mut any = false;
    let mut run: Vec<(usize, usize, u8)> = Vec::new();
    let mut i = 0;
    let flush = |run: &mut Vec<(usize, usize, u8)>, masked: &mut [bool], any: &mut bool| {
        if run.iter().any(|t| t.1 > 1) && run.len() >= MIN_LEN {
            let digits: Vec<u8> = run.iter().map(|t| t.2).collect();
            for len in MIN_LEN..=MAX_LEN.min(digits.len()) {
                for st in 0..=digits.len() - len {
                    let w = &digits[st..st + len];
                    if luhn_valid(w) && brand_of(w).is_some() {
                        for t in &run[st + 6..st + len - 4] {
                            masked[t.0] = true;
                            *any = true;
                        }
                    }
                }
            }
        }
        run.clear();
    };
    while i < b.len() {
        if b[i].is_ascii_digit() {
            run.push((i, 1, b[i]));
            i += 1;
            continue;
        }
        if let Some(e) = escape_at(b, i).filter(|e| e.byte.is_ascii_digit()) {
            run.push((i, e.len, e.byte));
            i += e.len;
            continue;
        }
        let sep = match b[i] {
            b' ' | b'-' | b'+' => 1,
            b'%' | b'\\' | b'&' => esc_sep_len(b, i),
            _ => 0,
        };
        let next_is_digit = sep > 0
            && (b.get(i + sep).is_some_and(u8::is_ascii_digit) || esc_digit_len(b, i + sep) > 0);
        if !next_is_digit || run.is_empty() {
            flush(&mut run, &mut masked, &mut any);
        }
        i += sep.max(1);
    }
    flush(&mut run, &mut masked, &mut any);
    any.then_some(masked)
}

/// Masks card numbers whose digits are escaped as a decoding layer reads
/// them (`%34%31…`, `%u0034…` as IIS decodes it, `\u0034…`, `&#52;…`; as a
/// skimmer's exfiltration URL may carry them), alone or mixed with plain
/// digits and single separators (space, `-`, `+`, or their escapes). Each
/// middle digit's token becomes `*`. Linear: each digit token starts at
/// most 7 windows.
fn mask_escaped_digits(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let Some(masked) = escaped_digit_marks(b) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while k < b.len() {
        if masked[k] {
            out.push('*');
            k += esc_digit_len(b, k).max(1);
            continue;
        }
        let ch_len = text[k..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[k..k + ch_len]);
        k += ch_len;
    }
    Cow::Owned(out)
}

/// Errors from [`Fingerprinter`] construction.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// The operating system random source failed.
    #[error("cannot read random key from the OS: {0}")]
    Rng(getrandom::Error),
}

/// Keyed card-number fingerprints: lets reports correlate the same card
/// across records without storing it. The key is never printed.
#[derive(Clone)]
pub struct Fingerprinter {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprinter { key: <redacted> }")
    }
}

impl Fingerprinter {
    /// Fingerprinter with a caller-supplied key (any length).
    pub fn new(key: &[u8]) -> Self {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .expect("HMAC accepts keys of any length");
        Fingerprinter { mac }
    }

    /// Fingerprinter with a fresh 32-byte key from the OS random source.
    pub fn try_random() -> Result<Self, FingerprintError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(FingerprintError::Rng)?;
        Ok(Self::new(&key))
    }

    /// Like [`Fingerprinter::try_random`].
    ///
    /// # Panics
    /// If the OS random source is unavailable; a weak fallback key would make
    /// fingerprints of the small card-number space brute-forceable.
    pub fn random() -> Self {
        Self::try_random().expect("OS random source unavailable")
    }

    /// Hex of HMAC-SHA256(key, digits) truncated to 16 bytes (32 hex chars).
    pub fn fingerprint(&self, digits: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(digits.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = String::with_capacity(32);
        for byte in tag.iter().take(16) {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_sequence_scanner_admits_every_text_with_a_window_to_mask() {
        // Valid card numbers cut, glued and separated every way the masker
        // accepts, among digits, letters and other escapes.
        let mut rand = crate::test_util::rng(0xbb67_ae85_84ca_a73b);
        let pans = [
            "4111111111111111",
            "5500005555555559",
            "378282246310005",
            "6011000990139424",
        ];
        let parts = ["1", "23", "-", " ", "+", "%20", "%2D", "%41", "x", "=", "."];
        let mut masked = 0;
        for _ in 0..20_000 {
            let mut t = String::new();
            for _ in 0..(1 + rand(6)) {
                if rand(4) == 0 {
                    let pan = pans[rand(pans.len() as u64) as usize];
                    let sep = ["", " ", "-", "%20", "+"][rand(5) as usize];
                    for (k, c) in pan.chars().enumerate() {
                        if k > 0 && k % 4 == 0 {
                            t.push_str(sep);
                        }
                        t.push(c);
                    }
                } else {
                    t.push_str(parts[rand(parts.len() as u64) as usize]);
                }
            }
            let b = t.as_bytes();
            if !pan_mask_ranges(b).is_empty() {
                masked += 1;
                // The message shows the text masked, never a whole card number.
                assert!(
                    crate::matcher::find_digit_run(b, 0).is_some(),
                    "{}",
                    mask_text(&t)
                );
            }
        }
        assert!(masked > 2000, "{masked}");
    }

    #[test]
    fn mask_owned_masks_or_gives_the_string_back() {
        let clean = String::from("GET /a?b=1 HTTP/1.1");
        let at = clean.as_ptr();
        let back = mask_owned(clean);
        assert_eq!(back.as_ptr(), at, "not copied");
        assert_eq!(
            mask_owned("cc=4111111111111111".into()),
            "cc=411111******1111"
        );
    }

    #[test]
    fn cvv_gate_admits_every_text_the_cvv_regex_matches() {
        // Texts built from the grammar's own tokens, so that matches are
        // common and every separator, space and quote form occurs.
        let tokens: &[&str] = &[
            "cvv",
            "CVC2",
            "card[cid",
            "security_code",
            "]",
            "%5d",
            "%5D",
            "\"",
            "'",
            "\\\"",
            "%22",
            "%27",
            " ",
            "\t",
            "+",
            "%20",
            "%2",
            "=",
            "%3d",
            "%3D",
            ":",
            "%3a",
            "%3A",
            "%3",
            "1",
            "23",
            "456",
            "7890",
            "x",
            "&",
            "%",
            // Escaped digits.
            "%31",
            "%2532",
            "\\u0033",
            "&#52;",
            "&#x35",
        ];
        let mut rand = crate::test_util::rng(0x5eed_cafe);
        let mut matched = 0;
        for _ in 0..20_000 {
            let n = 1 + rand(14) as usize;
            let t: String = (0..n)
                .map(|_| tokens[rand(tokens.len() as u64) as usize])
                .collect();
            let b = t.as_bytes();
            if CVV_RE.is_match(b) {
                matched += 1;
                assert!(cvv_possible(b), "{t}");
            }
        }
        assert!(matched > 200, "only {matched} texts matched");
    }

    /// Appends the Luhn check digit to `prefix`.
    fn with_check(prefix: &str) -> String {
        for d in b'0'..=b'9' {
            let mut s = prefix.to_string();
            s.push(char::from(d));
            if luhn_valid(s.as_bytes()) {
                return s;
            }
        }
        unreachable!("one check digit always fits")
    }

    /// Digits padded with zeros to `len - 1`, plus the check digit.
    fn card(prefix: &str, len: usize) -> String {
        let mut p = prefix.to_string();
        while p.len() < len - 1 {
            p.push('0');
        }
        with_check(&p)
    }

    /// Reference check (slow, obviously correct): after dropping allowed
    /// separators, no 13–19 window of any digit run is a brand+Luhn number.
    fn assert_no_pan(out: &str) {
        let joined = out
            .replace("%20", "")
            .replace("%2D", "")
            .replace("%2d", "")
            .replace([' ', '-', '+'], "");
        for run in joined.split(|c: char| !c.is_ascii_digit()) {
            let b = run.as_bytes();
            for len in MIN_LEN..=MAX_LEN.min(b.len()) {
                for w in b.windows(len) {
                    assert!(
                        !(brand_of(w).is_some() && luhn_valid(w)),
                        "unmasked card-like window survived in {out:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn percent_encoded_digits_are_masked() {
        let t = "cc=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31&x=1";
        let m = mask_text(t);
        assert_eq!(m, "cc=%34%31%31%31%31%31******%31%31%31%31&x=1");
        let t = "n=4111%2011%311%201111%201111";
        assert!(!mask_text(t).contains("%311"));
        // Not a card number: unchanged.
        let t = "%31%32%33";
        assert!(matches!(mask_text(t), Cow::Borrowed(_)));
        // The IIS `%u0034` form, alone, mixed and as separators.
        let t = "cc=%u0034%u0031%u0031%u0031%u0031%u0031%u0031%U0031%u0031%u0031%u0031%u0031%u0031%u0031%u0031%u0031&x=1";
        assert_eq!(
            mask_text(t),
            "cc=%u0034%u0031%u0031%u0031%u0031%u0031******%u0031%u0031%u0031%u0031&x=1"
        );
        let t = "n=4111%u00201111%u002D1111%u00201111";
        assert_eq!(mask_text(t), "n=4111%u002011**%u002D****%u00201111");
        let t = "n=4111%u00201111%u0020%u0031111%u00201111";
        assert_eq!(mask_text(t), "n=4111%u002011**%u0020****%u00201111");
        for t in [
            "cc=%u0034%u0031%u0031%u0031%u0031%u0031%u0031%U0031%u0031%u0031%u0031%u0031%u0031%u0031%u0031%u0031",
            "n=4111%u00201111%u002D1111%u00201111",
        ] {
            assert!(!masks_nothing_in(t.as_bytes()), "{t}");
            let mut b = t.as_bytes().to_vec();
            assert!(mask_in_place(&mut b));
            assert_eq!(b.len(), t.len());
            assert!(
                find_pans(
                    crate::decode::url_decode(&String::from_utf8(b).unwrap(), false).as_bytes()
                )
                .is_empty()
            );
        }
    }

    /// Each escape that a decoding layer reads as a digit or separator is
    /// masked like `%34`: JSON and IIS `\u0034`/`%u0034`, JavaScript
    /// `\x34`, HTML `&#52;` and `&#x34;` (with or without `;`, with
    /// leading zeros), alone or mixed with plain digits; in place, each
    /// masked escape keeps its length and spells `*`.
    #[test]
    fn escaped_digits_are_masked_in_every_spelling() {
        let pan = "4111111111111111";
        type Spelling = (&'static str, fn(u8) -> String);
        let spell: [Spelling; 12] = [
            ("json", |c| format!("\\u{:04x}", c)),
            ("json upper", |c| format!("\\u{:04X}", c)),
            ("js", |c| format!("\\x{:02x}", c)),
            ("html", |c| format!("&#{c};")),
            ("html bare", |c| format!("&#{c}")),
            ("html zeros", |c| format!("&#000{c};")),
            ("html hex", |c| format!("&#x{:x};", c)),
            ("html HEX", |c| format!("&#X{:04X}", c)),
            ("url twice", |c| format!("%25{:02X}", c)),
            ("html, url", |c| format!("&#37;{:02x}", c)),
            ("url, json", |c| format!("%5Cu{:04x}", c)),
            ("url, html", |c| format!("%26#{c};")),
        ];
        // Every layer, as often as the matcher applies them.
        let flatten = |s: &str| {
            let mut t = s.replace("\\x3", "").replace("\\x2", "");
            for _ in 0..3 {
                t = crate::decode::json_unescape(&t).into_owned();
                t = crate::decode::html_unescape(&t).into_owned();
                t = crate::decode::url_decode(&t, false).into_owned();
            }
            t
        };
        for (name, f) in spell {
            let all: String = pan.bytes().map(f).collect();
            // Every other digit escaped, groups joined by escaped spaces.
            let mixed: String = pan
                .bytes()
                .enumerate()
                .map(|(i, c)| {
                    let d = if i % 2 == 0 {
                        f(c)
                    } else {
                        char::from(c).to_string()
                    };
                    if i % 4 == 3 && i < 15 {
                        d + &f(b' ')
                    } else {
                        d
                    }
                })
                .collect();
            // A bare reference before a plain digit would take it.
            let texts = if name == "html bare" || name == "html HEX" {
                vec![format!("cc={all}&x=1")]
            } else {
                vec![format!("cc={all}&x=1"), format!("n={mixed};")]
            };
            for t in texts {
                assert!(!masks_nothing_in(t.as_bytes()), "{name}: {t}");
                let m = mask_text(&t);
                assert!(find_pans(flatten(&m).as_bytes()).is_empty(), "{name}: {m}");
                assert_ne!(m, t, "{name}");
                let mut b = t.clone().into_bytes();
                assert!(mask_in_place(&mut b), "{name}: {t}");
                assert_eq!(b.len(), t.len(), "{name}");
                let s = String::from_utf8(b).unwrap();
                let star = f(b'*').to_ascii_lowercase();
                assert!(s.to_ascii_lowercase().contains(&star), "{name}: {s}");
                assert!(find_pans(flatten(&s).as_bytes()).is_empty(), "{name}: {s}");
            }
        }
        // Numbers that are no digit's code stay as they are.
        let m = mask_text(
            "&#521;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;&#49;",
        );
        assert!(!m.contains('*'), "{m}");
    }

    /// An escape's digits are digits to a reader of the text as written:
    /// `%2520` (a space, URL-encoded twice) before `0603…` also writes the
    /// number `2520 0603…`, which must be masked as well as the number the
    /// decoded reading joins across the separator. Found by the `card`
    /// fuzz target.
    #[test]
    fn both_readings_of_a_separator_escape_are_masked() {
        // A card number in any window of a run of digits as written.
        let window_pan = |t: &str| {
            t.as_bytes()
                .split(|c| !c.is_ascii_digit())
                .flat_map(|run| (MIN_LEN..=MAX_LEN).flat_map(move |n| run.windows(n)))
                .any(|w| luhn_valid(w) && brand_of(w).is_some_and(|b| b.valid_len(w.len())))
        };
        for t in [
            "n=1%2520060333333335&x=1",
            "q=cc4000002760003184=&#511 119-0033333%25200603333333335105133331",
            "n=4111%2520111111111111%25201111",
        ] {
            let m = mask_text(t);
            assert!(!window_pan(&m), "{t} -> {m}");
            let flat = crate::decode::url_decode_stable(&m, false, 4);
            assert!(find_pans(flat.as_bytes()).is_empty(), "{t} -> {flat}");
            let mut b = t.as_bytes().to_vec();
            mask_in_place(&mut b);
            let s = String::from_utf8(b).unwrap();
            assert!(!window_pan(&s), "{t} -> {s}");
        }
    }

    #[test]
    fn test_card_list_is_sorted_and_valid() {
        assert!(TEST_CARDS.windows(2).all(|w| w[0] < w[1]));
        for c in TEST_CARDS {
            assert!(valid_pan(c.as_bytes()).is_some(), "{c} is not a valid PAN");
        }
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"79927398710"));
        assert!(luhn_valid(b"4111111111111111"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(!luhn_valid(b""));
        assert!(!luhn_valid(b"4111-1111"));
        assert!(luhn_valid(b"0"));
    }

    #[test]
    fn brand_ranges_and_lengths() {
        let cases: &[(&str, usize, Option<Brand>)] = &[
            ("4", 13, Some(Brand::Visa)),
            ("4", 16, Some(Brand::Visa)),
            ("4", 19, Some(Brand::Visa)),
            ("4", 14, None),
            ("4", 15, None),
            ("4", 17, None),
            ("50", 16, None),
            ("51", 16, Some(Brand::Mastercard)),
            ("55", 16, Some(Brand::Mastercard)),
            ("56", 16, None),
            ("51", 15, None),
            ("51", 17, None),
            ("2220", 16, None),
            ("2221", 16, Some(Brand::Mastercard)),
            ("2720", 16, Some(Brand::Mastercard)),
            ("2721", 16, None),
            ("34", 15, Some(Brand::Amex)),
            ("37", 15, Some(Brand::Amex)),
            ("34", 16, None),
            ("35", 15, None),
            ("6011", 16, Some(Brand::Discover)),
            ("6011", 19, Some(Brand::Discover)),
            ("6011", 15, None),
            ("6012", 16, None),
            ("643", 16, None),
            ("644", 16, Some(Brand::Discover)),
            ("649", 16, Some(Brand::Discover)),
            ("65", 17, Some(Brand::Discover)),
            ("3527", 16, None),
            ("3528", 16, Some(Brand::Jcb)),
            ("3589", 19, Some(Brand::Jcb)),
            ("3590", 16, None),
            ("3528", 15, None),
            ("300", 14, Some(Brand::Diners)),
            ("305", 19, Some(Brand::Diners)),
            ("306", 14, None),
            ("36", 14, Some(Brand::Diners)),
            ("38", 16, Some(Brand::Diners)),
            ("39", 14, Some(Brand::Diners)),
            ("36", 13, None),
            ("62", 16, Some(Brand::Unionpay)),
            ("62", 19, Some(Brand::Unionpay)),
            ("62", 15, None),
            ("1", 16, None),
            ("9", 16, None),
        ];
        for &(prefix, len, want) in cases {
            let digits = card(prefix, len);
            assert_eq!(brand_of(digits.as_bytes()), want, "{prefix} len {len}");
            let found = find_pans(digits.as_bytes()).first().map(|h| h.brand);
            assert_eq!(found, want, "find_pans {prefix} len {len}");
        }
        assert_eq!(brand_of(b"41111111111x1111"), None);
        assert_eq!(brand_of(b"411111111111"), None);
        assert_eq!(Brand::Unionpay.as_str(), "unionpay");
        assert_eq!(
            serde_json::to_string(&Brand::Mastercard).ok().as_deref(),
            Some("\"mastercard\"")
        );
    }

    #[test]
    fn contiguous_hits_with_offsets() {
        let t = b"card=4111111111111111&exp=12/29 other 378282246310005.";
        let hits = find_pans(t);
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].start, hits[0].end), (5, 21));
        assert_eq!(hits[0].digits, "4111111111111111");
        assert_eq!(hits[0].brand, Brand::Visa);
        assert!(hits[0].test_card);
        assert_eq!(hits[1].brand, Brand::Amex);
        assert_eq!(&t[hits[1].start..hits[1].end], b"378282246310005");
        let real = card("45320151", 16);
        let hits = find_pans(real.as_bytes());
        assert_eq!(hits.len(), 1);
        assert!(!hits[0].test_card);
    }

    #[test]
    fn nineteen_digit_visa() {
        let v = card("4571", 19);
        let hits = find_pans(format!("x {v} y").as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].digits.len(), 19);
        assert_eq!(hits[0].brand, Brand::Visa);
    }

    #[test]
    fn touching_letters_or_digits_rejected() {
        for t in [
            "x4111111111111111",
            "4111111111111111x",
            "14111111111111111",
            "41111111111111110",
            "_id4111111111111111",
            "a4111 1111 1111 1111",
            "4111 1111 1111 1111b",
            "4111-1111-1111-1111z",
        ] {
            assert!(find_pans(t.as_bytes()).is_empty(), "{t}");
        }
        // Punctuation and non-ASCII are fine neighbours.
        assert_eq!(find_pans("é4111111111111111é".as_bytes()).len(), 1);
        assert_eq!(find_pans(b"[4111111111111111]").len(), 1);
    }

    #[test]
    fn grouped_forms() {
        let ok = [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "3782 822463 10005",
            "3782-822463-10005",
            "3056 930902 5904",
            "4222 2222 2222 2",
        ];
        for t in ok {
            let hits = find_pans(t.as_bytes());
            assert_eq!(hits.len(), 1, "{t}");
            assert_eq!((hits[0].start, hits[0].end), (0, t.len()), "{t}");
            assert!(hits[0].test_card, "{t}");
        }
        let v19 = card("4", 19);
        let grouped = format!(
            "{} {} {} {} {}",
            &v19[..4],
            &v19[4..8],
            &v19[8..12],
            &v19[12..16],
            &v19[16..]
        );
        let hits = find_pans(format!("pan: {grouped}, ok").as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].digits, v19);
        // A trailing unrelated group is left out, not fatal.
        let hits = find_pans(b"4111 1111 1111 1111 22 items");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].end, 19);
    }

    #[test]
    fn mixed_or_bad_separators_rejected() {
        for t in [
            "4111 1111-1111 1111",
            "4111-1111 1111-1111",
            "4111 1111 1111-1111",
            "4111  1111  1111  1111",
            "41111 111 1111 1111",
            "4111.1111.1111.1111",
        ] {
            assert!(find_pans(t.as_bytes()).is_empty(), "{t}");
        }
    }

    #[test]
    fn decoys_are_not_pans() {
        let mut order = card("400012341234123", 16).into_bytes();
        // Break the check digit: a Luhn-failing order number.
        if let Some(last) = order.last_mut() {
            *last = b'0' + (*last - b'0' + 1) % 10;
        }
        let no_brand_1 = card("1", 16);
        let no_brand_9 = card("9", 16);
        for t in [
            String::from_utf8(order).unwrap_or_default(),
            no_brand_1,
            no_brand_9,
            "1506470400000".to_string(),
            "GET /widget.js?_=1506470400000 HTTP/1.1".to_string(),
            "4444444444444444".to_string(),
        ] {
            assert!(find_pans(t.as_bytes()).is_empty(), "{t}");
            assert_eq!(mask_text(&t), Cow::Borrowed(t.as_str()), "{t}");
        }
        assert!(valid_pan(b"4444444444444444").is_none());
        assert!(valid_pan(b"0000000000000000").is_none());
    }

    #[test]
    fn hits_in_order_non_overlapping() {
        let t = b"a 5555555555554444 b 4111-1111-1111-1111 c 6011000990139424";
        let hits = find_pans(t);
        assert_eq!(hits.len(), 3);
        assert!(hits.windows(2).all(|w| w[0].end <= w[1].start));
        let brands: Vec<Brand> = hits.iter().map(|h| h.brand).collect();
        assert_eq!(brands, [Brand::Mastercard, Brand::Visa, Brand::Discover]);
    }

    #[test]
    fn mask_pan_shape() {
        assert_eq!(mask_pan("4111111111111111"), "411111******1111");
        assert_eq!(mask_pan("378282246310005"), "378282*****0005");
        assert_eq!(mask_pan("4222222222222"), "422222***2222");
        assert_eq!(mask_pan("1234567890"), "**********");
        assert_eq!(mask_pan(""), "");
    }

    #[test]
    fn mask_text_forms() {
        let cases = [
            ("pan=4111111111111111&x=1", "pan=411111******1111&x=1"),
            ("abc4111111111111111xyz", "abc411111******1111xyz"),
            ("4111 1111 1111 1111", "4111 11** **** 1111"),
            ("4111-1111-1111-1111", "4111-11**-****-1111"),
            ("4111+1111+1111+1111", "4111+11**+****+1111"),
            ("4111%201111%201111%201111", "4111%2011**%20****%201111"),
            ("4111%2D1111%2d1111-1111", "4111%2D11**%2d****-1111"),
            ("41 1111 11111 11 11111", "41 1111 *****  ** *1111"),
        ];
        for (input, want) in cases {
            let got = mask_text(input);
            if want.contains("  ") {
                // Shape-independent check for the odd grouping.
                assert_eq!(got.len(), input.len());
                assert_no_pan(&got);
            } else {
                assert_eq!(got, want, "{input}");
            }
        }
    }

    #[test]
    fn mask_text_inside_longer_runs_and_mixed() {
        for t in [
            "994111111111111111177",
            "id=00000000004111111111111111",
            "4111 1111-1111+1111",
            "x 3782 822463 10005 y 6011-0009-9013-9424",
            "{\"pan\":\"5555555555554444\",\"n\":30569309025904}",
        ] {
            let got = mask_text(t);
            assert!(matches!(got, Cow::Owned(_)), "{t}");
            assert_eq!(got.len(), t.len());
            assert_no_pan(&got);
        }
        let v19 = card("4571", 19);
        assert_no_pan(&mask_text(&format!("q={v19}")));
    }

    /// Tiny deterministic generator for property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn mask_text_property_random_texts() {
        let seps = [" ", "-", "+", "%20", "%2D"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let mut t = String::new();
            let mut last_sep = true;
            for _ in 0..rng.next(10) + 1 {
                match rng.next(4) {
                    0 => {
                        let planted = TEST_CARDS[rng.next(TEST_CARDS.len())];
                        let sep = seps[rng.next(seps.len())];
                        for (k, ch) in planted.chars().enumerate() {
                            if k > 0 && rng.next(4) == 0 {
                                t.push_str(sep);
                            }
                            t.push(ch);
                        }
                        last_sep = false;
                    }
                    1 => {
                        for _ in 0..rng.next(6) + 1 {
                            t.push(char::from(b'0' + rng.next(10) as u8));
                        }
                        last_sep = false;
                    }
                    2 if !last_sep => {
                        t.push_str(seps[rng.next(seps.len())]);
                        last_sep = true;
                    }
                    _ => {
                        t.push(['x', '=', '&', '/', 'é'][rng.next(5)]);
                        last_sep = false;
                    }
                }
            }
            let masked = mask_text(&t);
            assert_eq!(masked.len(), t.len(), "{t}");
            assert_no_pan(&masked);
            for hit in find_pans(t.as_bytes()) {
                assert_ne!(
                    masked.get(hit.start..hit.end),
                    t.get(hit.start..hit.end),
                    "{t}"
                );
            }
        }
    }

    #[test]
    fn mask_text_cvv() {
        let cases = [
            ("cvv=123", "cvv=***"),
            ("CVV2%3D1234&x=1", "CVV2%3D***&x=1"),
            ("{\"cvc\":\"123\"}", "{\"cvc\":\"***\"}"),
            ("{\"security_code\": 123}", "{\"security_code\": ***}"),
            ("securityCode=987", "securityCode=***"),
            ("cid: 999", "cid: ***"),
            ("csc=4321&cvc2=111", "csc=***&cvc2=***"),
            ("card[cvc]=123", "card[cvc]=***"),
            ("card%5Bcvc%5D=123", "card%5Bcvc%5D=***"),
            ("payment[cc_cid]=4321", "payment[cc_cid]=***"),
            ("card_code=555;cardcode=666", "card_code=***;cardcode=***"),
            ("cardCvv=321", "cardCvv=***"),
            ("%22cvv%22%3A%20%22123%22", "%22cvv%22%3A%20%22***%22"),
            ("CVC+=+0123", "CVC+=+***"),
            ("{\\\"cvv\\\":\\\"123\\\"}", "{\\\"cvv\\\":\\\"***\\\"}"),
            // Digits escaped as the decoding layers read them.
            ("cvv=%31%32%33&x=1", "cvv=***&x=1"),
            ("cvv=1%322", "cvv=***"),
            ("%22cvc%22%3A%22%2531%2532%2533%22", "%22cvc%22%3A%22***%22"),
            ("{\"cvv\":\"\\u0031\\u0032\\u0033\"}", "{\"cvv\":\"***\"}"),
            ("cvv=&#49;&#50;&#51;", "cvv=***"),
            ("cvv=&#x31&#x32&#x33&#x34", "cvv=***"),
        ];
        for (input, want) in cases {
            assert_eq!(mask_text(input), want, "{input}");
        }
        for keep in [
            "acid=123",
            "cvv=12345",
            "cvv=12",
            "cidr=1234",
            "nocvv",
            "cvv=%31%32%33%34%35",
            "cvv=&#49;&#50;",
        ] {
            assert_eq!(mask_text(keep), Cow::Borrowed(keep), "{keep}");
        }
        // In place, each escaped digit spells `*` in its own escape.
        for (input, want) in [
            ("cvv=%31%32%33", "cvv=%2A%2A%2A"),
            ("cvv=&#49;2\\u0033", "cvv=&#42;*\\u002A"),
        ] {
            let mut b = input.as_bytes().to_vec();
            assert!(mask_in_place(&mut b), "{input}");
            assert_eq!(String::from_utf8(b).unwrap(), want);
        }
        let both = mask_text("cc=4111111111111111&cvv=123");
        assert_eq!(both, "cc=411111******1111&cvv=***");
    }

    /// What `masks_nothing_in` clears, `mask_text` leaves unchanged in
    /// every piece (and in a piece with the evidence's `…` around it): on
    /// generated lines dense with digits, separators, percent escapes, CVV
    /// keys and quotes. Lines holding something to mask are not cleared.
    #[test]
    fn a_line_with_nothing_to_mask_has_no_piece_to_mask() {
        let tokens = [
            "4111",
            "1111",
            "5",
            "12",
            "123",
            " ",
            "  ",
            "-",
            "+",
            "%20",
            "%2D",
            "%2d",
            "%3",
            "%34",
            "%3D",
            "%3a",
            "=",
            ":",
            "cvv",
            "CVC2",
            "card_code",
            "security_code",
            "\"",
            "\\\"",
            "'",
            "%22",
            "&",
            "a",
            "/",
            ".",
            "é",
            "…",
            // A blob of `c=4111111111111111&v=123` (base64, hex), halves of
            // it, other base64 letters, escapes of blob characters.
            "Yz00MTExMTExMTExMTExMTExJnY9MTIz",
            "Yz00MTExMTExMTEx",
            "MTExMTExJnY9MTIz",
            "633d3431313131313131313131313131313126763d313233",
            "633d343131313131313131",
            "31313131313126763d313233",
            "QUFB",
            "x",
            "%2B",
            "%2F",
            "\\/",
            // Digits and separators as JSON, JavaScript, IIS and HTML
            // escapes, and their parts (a piece may cut a reference short).
            "\\u0034",
            "\\u0020",
            "\\x31",
            "\\x2d",
            "%u0031",
            "%u002D",
            "&#52;",
            "&#49",
            "&#521;",
            "&#x34;",
            "&#X0031",
            "&#32;",
            "&#x2D;",
            "&#",
            "#",
            "%25",
            "%2534",
            "&#37;3",
            "%5C",
            "%5Cu0034",
            "%26#521",
            "%26",
            "\\u00",
            "0",
            "3",
            // Escapes whose own syntax is escaped, and their parts.
            "%25%33%34",
            "%25%33",
            "%33%31",
            "%26%2352%3B",
            "%23",
            "%3B",
            "&percnt;",
            "&percnt",
            "&bsol;u0034",
            "&amp;#52;",
            "&amp",
            "&ampx",
            "\\\\u0031",
            "%%33%34",
        ];
        let mut rand = crate::test_util::rng(0x3c6e_f372_fe94_f82b);
        let mut cleared = 0;
        for round in 0..3000 {
            let line: String = (0..rand(16))
                .map(|_| tokens[rand(tokens.len() as u64) as usize])
                .collect();
            if !masks_nothing_in(line.as_bytes()) {
                continue;
            }
            cleared += 1;
            let cuts: Vec<usize> = line
                .char_indices()
                .map(|(i, _)| i)
                .chain([line.len()])
                .collect();
            for (k, &a) in cuts.iter().enumerate() {
                for &b in &cuts[k..] {
                    let piece = &line[a..b];
                    assert!(
                        matches!(mask_text(piece), Cow::Borrowed(_)),
                        "round {round}: {line:?} piece {piece:?}"
                    );
                }
            }
            let framed = format!("…{line}…");
            assert!(matches!(mask_text(&framed), Cow::Borrowed(_)), "{framed:?}");
        }
        assert!(cleared > 300, "{cleared}");
        for held in [
            "4111 1111 1111 1111",
            "x=4111-1111-1111-1111",
            "cvv=123",
            "%22cvv%22%3A%22123%22",
            "n=%34%31%31%31",
            "d=Yz00MTExMTExMTExMTExMTExJnY9MTIz",
            "d=xYz00MTExMTExMTExMTExMTExJnY9MTIz",
            "h=633d3431313131313131313131313131313126763d313233",
            "eyJjIjoiNTUwMDAwMDAwMDAwMDAwNCJ9Pz4%3D",
            "n=&#52;&#49;",
            "n=&#x34&#x31",
            "n=&#521;&#49;",
            "n=\\u0034",
            "n=\\x34\\x31",
            "4111&#32;1111",
            "4111\\u002D1111",
            "4111%2B1111%2B1111%2B1111",
            "n=%25%33%34%25%33%31%25%33%31%25%33%31111111111111",
            "n=&percnt;34&percnt;31111111111111111",
        ] {
            assert!(!masks_nothing_in(held.as_bytes()), "{held}");
        }
    }

    #[test]
    fn mask_text_borrowed_when_clean() {
        for t in [
            "",
            "hello world",
            "GET /a?id=12345 HTTP/1.1",
            "2017-09-28T12:00:00Z 200 5123",
        ] {
            assert!(matches!(mask_text(t), Cow::Borrowed(_)), "{t}");
        }
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        let inputs: [&[u8]; 6] = [
            b"",
            b"4",
            b"4111 ",
            b"4111-1111-1111-",
            b"%2",
            b"\xff\xfe4111111111111111\x00",
        ];
        for t in inputs {
            let _ = find_pans(t);
            let s = String::from_utf8_lossy(t);
            assert_no_pan(&mask_text(&s));
        }
        assert_eq!(mask_text("9%"), "9%");
        assert_eq!(mask_text("4111111111111%20"), "4111111111111%20");
    }

    #[test]
    fn ten_megabytes_of_digits_complete() {
        // Pseudo-random digits: many Luhn-valid branded windows to mask.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let digits: String = (0..10 * 1024 * 1024)
            .map(|_| {
                crate::test_util::xorshift(&mut x);
                char::from(b'0' + (x % 10) as u8)
            })
            .collect();
        assert!(find_pans(digits.as_bytes()).is_empty());
        let masked = mask_text(&digits);
        assert_eq!(masked.len(), digits.len());
        assert!(masked.contains('*'));
        // Spot-check the reference property on a prefix.
        assert_no_pan(&masked[..4096]);
        let spaced = "4111 ".repeat(1024 * 1024);
        let hits = find_pans(spaced.as_bytes());
        assert!(hits.windows(2).all(|w| w[0].end <= w[1].start));
        assert_no_pan(&mask_text(&spaced[..4096]));
    }

    #[test]
    fn fingerprints() {
        let a = Fingerprinter::new(b"key-a");
        let b = Fingerprinter::new(b"key-b");
        let fa = a.fingerprint("4111111111111111");
        assert_eq!(fa.len(), 32);
        assert!(
            fa.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(fa, a.fingerprint("4111111111111111"));
        assert_eq!(
            fa,
            Fingerprinter::new(b"key-a").fingerprint("4111111111111111")
        );
        assert_ne!(fa, b.fingerprint("4111111111111111"));
        assert_ne!(fa, a.fingerprint("4242424242424242"));
        let r1 = Fingerprinter::random();
        let r2 = Fingerprinter::random();
        assert_ne!(
            r1.fingerprint("4111111111111111"),
            r2.fingerprint("4111111111111111")
        );
        assert!(!format!("{a:?}").contains("key-a"));
    }
}
