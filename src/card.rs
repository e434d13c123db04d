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

/// Card brand (issuer network), derived from the number's prefix and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
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
    "30569309025904",
    "3056930009020004",
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
    sum % 10 == 0
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
    let p1 = u32::from(lead[0]);
    let p2 = p1 * 10 + u32::from(lead[1]);
    let p3 = p2 * 10 + u32::from(lead[2]);
    let p4 = p3 * 10 + u32::from(lead[3]);
    let (brand, ok_len) = if p1 == 4 {
        (Brand::Visa, matches!(len, 13 | 16 | 19))
    } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        (Brand::Mastercard, len == 16)
    } else if p2 == 34 || p2 == 37 {
        (Brand::Amex, len == 15)
    } else if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 {
        (Brand::Discover, (16..=19).contains(&len))
    } else if (3528..=3589).contains(&p4) {
        (Brand::Jcb, (16..=19).contains(&len))
    } else if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) {
        (Brand::Diners, (14..=19).contains(&len))
    } else if p2 == 62 {
        (Brand::Unionpay, (16..=19).contains(&len))
    } else {
        return None;
    };
    ok_len.then_some(brand)
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
fn grouped_shape_ok(groups: &[usize]) -> bool {
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
        if matches!(next, Some(b' ' | b'-')) && next != Some(&sep) && is_alnum(text.get(pos + 1)) {
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
/// [`mask_text`]: space, `-`, `+`, `%20`, `%2D`/`%2d`.
fn sep_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b' ' | b'-' | b'+') => 1,
        Some(b'%') => match (b.get(i + 1), b.get(i + 2)) {
            (Some(b'2'), Some(b'0' | b'D' | b'd')) => 3,
            _ => 0,
        },
        _ => 0,
    }
}

/// Ring size for the per-digit history kept by [`pan_mask_ranges`]; must
/// exceed `MAX_LEN + 1` and be a power of two.
const RING: usize = 32;

/// Byte ranges (half-open, merged, sorted) whose digits must be masked.
///
/// Digits joined by at most one separator token form a component; every
/// 13–19 digit window of a component is checked. Luhn sums come from two
/// running alternating prefix sums, so each window costs O(1) and the scan is
/// linear in the input whatever its shape.
fn pan_mask_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut digit = [0u8; RING];
    let mut pos = [0usize; RING];
    // c0[m % RING] = Σ_{j<m} (j even ? d_j : dbl(d_j)); c1 the opposite parity.
    let mut c0 = [0u64; RING];
    let mut c1 = [0u64; RING];
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
        let (v0, v1) = if n % 2 == 0 { (plain, dbl) } else { (dbl, plain) };
        c0[(n + 1) % RING] = a0.wrapping_add(v0);
        c1[(n + 1) % RING] = a1.wrapping_add(v1);
        digit[n % RING] = d;
        pos[n % RING] = i;
        let e = n;
        n += 1;
        for len in MIN_LEN..=MAX_LEN.min(n) {
            let s = e + 1 - len;
            let lead = [
                digit[s % RING],
                digit[(s + 1) % RING],
                digit[(s + 2) % RING],
                digit[(s + 3) % RING],
            ];
            if !(2..=6).contains(&lead[0]) || brand_for(lead, len).is_none() {
                continue;
            }
            let (hi, lo) = if e % 2 == 0 {
                (c0[(e + 1) % RING], c0[s % RING])
            } else {
                (c1[(e + 1) % RING], c1[s % RING])
            };
            if hi.wrapping_sub(lo) % 10 != 0 {
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
        let k = sep_len(b, i);
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
        r#"(?i-u)(?:card|cc|credit_?card|payment)?(?:cvv2?|cvc2?|csc|cid|cvn|cvd|security_?code|card_?code|verification_?code|card_?verification(?:_?(?:code|value))?)(?:\]|%5d)?(?:\\?["']|%22|%27)?[ \t]*(?:=|%3d|:)[ \t]*(?:\\?["']|%22|%27)?[ \t]*([0-9]{3,4})"#,
    )
    .expect("static CVV regex is valid")
});

/// Byte ranges of CVV-like values to replace by `***`.
fn cvv_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for caps in CVV_RE.captures_iter(b) {
        let (Some(all), Some(val)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let glued_left = is_alnum(all.start().checked_sub(1).and_then(|p| b.get(p)));
        let longer = b.get(val.end()).is_some_and(u8::is_ascii_digit);
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
/// even when glued to letters, inside longer digit runs, or split by single
/// space, `-`, `+`, `%20` or `%2D` separators; and replaces the 3–4 digit
/// values of CVV-like keys (`cvv`, `cvc2`, `card[cvc]`, `payment[cc_cid]`,
/// `"security_code": 123`…) by `***`. Returns `Borrowed` when nothing
/// changed. Linear in the input length.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let many_digits = b.iter().filter(|c| c.is_ascii_digit()).take(MIN_LEN).count() >= MIN_LEN;
    let pans = if many_digits {
        pan_mask_ranges(b)
    } else {
        Vec::new()
    };
    let cvvs = cvv_ranges(b);
    if pans.is_empty() && cvvs.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut buf = b.to_vec();
    for &(from, to) in &pans {
        for k in from..to {
            // Inside a masked range only component digits and separator
            // tokens occur; the digits of a `%20`/`%2D` token are kept.
            let in_escape = k.checked_sub(1).and_then(|p| b.get(p)) == Some(&b'%')
                || k.checked_sub(2).and_then(|p| b.get(p)) == Some(&b'%');
            if let Some(slot) = buf.get_mut(k)
                && slot.is_ascii_digit()
                && !in_escape
            {
                *slot = b'*';
            }
        }
    }
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
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
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
