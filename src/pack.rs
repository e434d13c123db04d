//! Where rules come from: the built-in pack embedded at build time from
//! rules/*.yml, plus the user's files. Also the rule set's hash, recorded in
//! every report so a result can be tied to the exact rules that made it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::rules::{self, Rule, RuleError};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Rules with the hash of their source texts.
pub struct LoadedRules {
    pub rules: Vec<Rule>,
    pub sha256: String,
}

/// Loads the built-in pack (unless `no_default`) and every rule file under
/// `paths`. Fails on the first bad file, with its path, line and column.
pub fn load(paths: &[PathBuf], no_default: bool) -> Result<LoadedRules, RuleError> {
    let mut sources: Vec<(String, String)> = Vec::new();
    if !no_default {
        for (name, text) in BUILTIN_RULES {
            sources.push((format!("builtin:{name}"), (*text).to_string()));
        }
    }
    for p in paths {
        sources.extend(read_rule_files(p)?);
    }
    let mut hasher = Sha256::new();
    let mut all = Vec::new();
    for (name, text) in &sources {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
        all.extend(rules::load_str(text, name)?);
    }
    rules::check_unique_ids(&all)?;
    Ok(LoadedRules {
        rules: all,
        sha256: hex(&hasher.finalize()),
    })
}

/// Reads a rule file, or every .yml/.yaml file below a directory (sorted).
pub fn read_rule_files(path: &Path) -> Result<Vec<(String, String)>, RuleError> {
    let err = |p: &Path, reason: String| RuleError {
        path: p.display().to_string(),
        line: 0,
        column: 0,
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(path, crate::discover::io_reason(&e)))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        for e in WalkDir::new(path).sort_by_file_name() {
            let e = e.map_err(|e| err(path, e.to_string()))?;
            let ext = e.path().extension().and_then(|x| x.to_str()).unwrap_or("");
            if e.file_type().is_file() && (ext == "yml" || ext == "yaml") {
                files.push(e.path().to_path_buf());
            }
        }
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| err(&f, crate::discover::io_reason(&e)))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            err(
                &f,
                format!(
                    "not UTF-8 (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        out.push((f.display().to_string(), text));
    }
    Ok(out)
}

pub fn hex(bytes: &[u8]) -> String {
    // Every finding's fingerprint goes through here: no `format!` per byte.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(super::hex(&[]), "");
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xf0, 0xff]), "000fa5f0ff");
        let all: Vec<u8> = (0..=255).collect();
        let want: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::hex(&all), want);
    }
}
