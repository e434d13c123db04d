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
    let pans = full_pans(text);
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
