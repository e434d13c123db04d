//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shared() -> PathBuf {
    root().join("../shared")
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skimhunt"));
    c.current_dir(root());
    c.env_remove("SKIMHUNT_PAN_KEY");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run skimhunt")
}

pub fn stdout_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Every Luhn-valid number with a card-brand prefix and a card length found
/// in `text`, including digit groups joined by single spaces or dashes.
/// Written independently of skimhunt's card module, so it can check it.
pub fn full_pans(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Collect a run of digits allowing single separators.
        let mut digits = Vec::new();
        let mut j = i;
        while j < b.len() {
            if b[j].is_ascii_digit() {
                digits.push(b[j] - b'0');
                j += 1;
            } else if (b[j] == b' ' || b[j] == b'-') && j + 1 < b.len() && b[j + 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        for len in 13..=19 {
            if digits.len() < len {
                break;
            }
            for s in 0..=digits.len() - len {
                let w = &digits[s..s + len];
                if luhn(w) && branded(w) && !w.iter().all(|&d| d == w[0]) {
                    found.push(w.iter().map(|d| char::from(b'0' + d)).collect());
                }
            }
        }
        i = j;
    }
    found
}

/// Standard base64 with padding; URL-safe without when `url_safe`.
pub fn base64(data: &[u8], url_safe: bool) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                let ch = A[(n >> (18 - 6 * k) & 63) as usize];
                out.push(match (ch, url_safe) {
                    (b'+', true) => '-',
                    (b'/', true) => '_',
                    _ => ch as char,
                });
            } else if !url_safe {
                out.push('=');
            }
        }
    }
    out
}

/// Standard padded base64.
pub fn b64(data: &[u8]) -> String {
    base64(data, false)
}

/// [`full_pans`] of `text` and of what its base64 and hex blobs decode
/// to ([`decodings`]), each also with its escapes read ([`unescaped`]),
/// as a reader of a report could decode them.
pub fn encoded_pans(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for t in [text.to_string(), unescaped(text)] {
        found.extend(full_pans(&t));
        for d in decodings(&t) {
            let d = String::from_utf8_lossy(&d);
            found.extend(full_pans(&d));
            found.extend(full_pans(&unescaped(&d)));
        }
    }
    found
}

/// `text` with every escape of an ASCII character read as it, until none
/// is left (`%2534` is `4`, `%25%33%34` too), at most eight times over:
/// `%HH`, `%uHHHH`, `\uHHHH`, `\xHH`, `\\`, HTML `&#D…` / `&#xH…` (`;`
/// optional), and the named references of escape syntax (`&percnt;`,
/// `&bsol;`, `&amp;`, `&num;`, `&semi;`, `&plus;`).
pub fn unescaped(text: &str) -> String {
    let mut t = text.to_string();
    for _ in 0..8 {
        let next = unescaped_once(&t);
        if next == t {
            break;
        }
        t = next;
    }
    t
}

fn unescaped_once(text: &str) -> String {
    let b = text.as_bytes();
    let hex = |s: &[u8]| -> Option<u32> {
        let s = std::str::from_utf8(s).ok()?;
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(s, 16).ok()
    };
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let fixed = |skip: usize, n: usize| {
            rest.get(skip..skip + n)
                .and_then(hex)
                .map(|v| (v, skip + n))
        };
        let named = [
            ("&percnt;", b'%'),
            ("&bsol;", b'\\'),
            ("&amp;", b'&'),
            ("&num;", b'#'),
            ("&semi;", b';'),
            ("&plus;", b'+'),
        ];
        let esc = match rest {
            [b'\\', b'\\', ..] => Some((u32::from(b'\\'), 2)),
            [b'&', ..] if named.iter().any(|(n, _)| rest.starts_with(n.as_bytes())) => named
                .iter()
                .find(|(n, _)| rest.starts_with(n.as_bytes()))
                .map(|(n, v)| (u32::from(*v), n.len())),
            [b'%' | b'\\', b'u' | b'U', ..] => fixed(2, 4),
            [b'%', ..] => fixed(1, 2),
            [b'\\', b'x' | b'X', ..] => fixed(2, 2),
            [b'&', b'#', ..] => {
                let (radix, start) = if matches!(rest.get(2), Some(b'x' | b'X')) {
                    (16, 3)
                } else {
                    (10, 2)
                };
                let end = start
                    + rest[start..]
                        .iter()
                        .take_while(|c| char::from(**c).is_digit(radix))
                        .count();
                let digits = std::str::from_utf8(&rest[start..end]).unwrap();
                let semi = usize::from(rest.get(end) == Some(&b';'));
                u32::from_str_radix(digits.trim_start_matches('0'), radix)
                    .ok()
                    .map(|v| (v, end + semi))
            }
            _ => None,
        };
        match esc {
            Some((v, n)) if v < 0x80 => {
                out.push(v as u8);
                i += n;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the blobs of `text` decode to: runs of 16+ base64 characters from
/// each of four offsets, runs of 26+ hex digits from each of two, three
/// layers deep, with the `%2B`, `%2F`, `%3D` and `\/` escapes of blob
/// characters read first.
pub fn decodings(text: &str) -> Vec<Vec<u8>> {
    let mut t = text.to_string();
    for (from, to) in [("%2B", "+"), ("%2F", "/"), ("%3D", "="), ("\\/", "/")] {
        t = t.replace(from, to).replace(&from.to_lowercase(), to);
    }
    let mut out = Vec::new();
    blob_decodings(t.as_bytes(), 3, &mut out);
    out
}

fn blob_decodings(b: &[u8], depth: usize, out: &mut Vec<Vec<u8>>) {
    if depth == 0 {
        return;
    }
    let b64 = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
    let mut decoded: Vec<Vec<u8>> = Vec::new();
    for run in b.split(|c| !b64(c)).filter(|r| r.len() >= 16) {
        for a in 0..4 {
            decoded.push(base64_decode(&String::from_utf8_lossy(&run[a..])));
        }
    }
    for run in b
        .split(|c| !c.is_ascii_hexdigit())
        .filter(|r| r.len() >= 26)
    {
        for a in 0..2 {
            let val = |c: u8| (c as char).to_digit(16).unwrap() as u8;
            decoded.push(
                run[a..]
                    .chunks_exact(2)
                    .map(|p| val(p[0]) << 4 | val(p[1]))
                    .collect(),
            );
        }
    }
    for d in decoded {
        blob_decodings(&d, depth - 1, out);
        out.push(d);
    }
}

/// Decodes base64 of either alphabet; `=` and other bytes end it.
pub fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => break,
        };
        acc = (acc << 6 | u32::from(v)) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &x) in d.iter().rev().enumerate() {
        let mut v = x as u32;
        if k % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn branded(d: &[u8]) -> bool {
    let n = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    let len = d.len();
    (d[0] == 4 && matches!(len, 13 | 16 | 19))
        || ((51..=55).contains(&n(2)) || (2221..=2720).contains(&n(4))) && len == 16
        || matches!(n(2), 34 | 37) && len == 15
        || (n(4) == 6011 || (644..=649).contains(&n(3)) || n(2) == 65) && (16..=19).contains(&len)
        || (3528..=3589).contains(&n(4)) && (16..=19).contains(&len)
        || ((300..=305).contains(&n(3)) || matches!(n(2), 36 | 38 | 39)) && (14..=19).contains(&len)
        || n(2) == 62 && (16..=19).contains(&len)
}

pub fn assert_no_full_pan(what: &str, text: &str) {
    let pans = encoded_pans(text);
    assert!(
        pans.is_empty(),
        "{what} leaks {} full card number(s) (first one's last 4: {})",
        pans.len(),
        pans.first().map(|p| &p[p.len() - 4..]).unwrap_or("")
    );
}

pub fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, body).unwrap();
    p
}
