//! Suppressing known findings: a baseline (an earlier JSON or JSONL report,
//! matched by finding fingerprint) and ignore files (`.skimhuntignore` in a
//! scan root, or `--ignore-file`). Suppressed findings are counted, never
//! emitted, and never count toward `--fail-on`.
//!
//! Ignore file syntax, one entry a line:
//! - `#` starts a comment line; blank lines are skipped;
//! - 32 hex digits: a finding fingerprint;
//! - `rule-id:path-glob`: that rule (or `*` for every rule) on files whose
//!   path relative to the scan root, path as reported, or file name matches
//!   the glob.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::report::Finding;

/// The name of the ignore file looked for in each directory scan root.
pub const IGNORE_FILE_NAME: &str = ".skimhuntignore";

/// A baseline or ignore file that cannot be used (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    /// Reading the file failed.
    #[error("{path}: {reason}")]
    Read { path: String, reason: String },
    /// A line of an ignore file is neither a fingerprint nor `rule:glob`.
    #[error("{path}:{line}: {reason}")]
    Syntax {
        path: String,
        line: usize,
        reason: String,
    },
    /// The baseline is not a skimhunt JSON or JSONL report.
    #[error("baseline {path}: {reason}")]
    Baseline { path: String, reason: String },
}

/// Why a finding was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    /// Its fingerprint is in the baseline report.
    Baselined,
    /// An ignore file matched it.
    Ignored,
}

/// The parsed entries of one or more ignore files.
#[derive(Debug, Default)]
pub struct IgnoreList {
    fingerprints: HashSet<String>,
    /// (rule id or `*`, glob index in `globs`).
    rules: Vec<(String, usize)>,
    globs: Vec<GlobSet>,
}

impl IgnoreList {
    /// Parses ignore-file text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<IgnoreList, SuppressError> {
        let mut list = IgnoreList::default();
        list.add(text, origin)?;
        Ok(list)
    }

    /// Reads and parses an ignore file.
    pub fn read(path: &Path) -> Result<IgnoreList, SuppressError> {
        let text = read_text(path)?;
        IgnoreList::parse(&text, &path.display().to_string())
    }

    fn add(&mut self, text: &str, origin: &str) -> Result<(), SuppressError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: String| SuppressError::Syntax {
                path: origin.to_string(),
                line: i + 1,
                reason,
            };
            if is_fingerprint(line) {
                self.fingerprints.insert(line.to_ascii_lowercase());
                continue;
            }
            let Some((rule, glob)) = line.split_once(':') else {
                return Err(err(format!(
                    "'{}' is neither a fingerprint (32 hex digits) nor rule-id:path-glob",
                    crate::text::sanitize(line)
                )));
            };
            let (rule, glob) = (rule.trim(), glob.trim());
            if rule.is_empty() || rule.chars().any(char::is_whitespace) {
                return Err(err("empty or blank-containing rule id before ':'".into()));
            }
            if glob.is_empty() {
                return Err(err("empty path glob after ':'".into()));
            }
            let g = Glob::new(glob).map_err(|e| {
                err(format!(
                    "invalid glob '{}': {}",
                    crate::text::sanitize(glob),
                    e.kind()
                ))
            })?;
            let set = GlobSetBuilder::new()
                .add(g)
                .build()
                .map_err(|e| err(e.to_string()))?;
            self.globs.push(set);
            self.rules.push((rule.to_string(), self.globs.len() - 1));
        }
        Ok(())
    }

    /// Whether this list matches the finding found in a file with the given
    /// root-relative path.
    pub fn matches(&self, f: &Finding, relative: &str) -> bool {
        if self.fingerprints.contains(&f.fingerprint) {
            return true;
        }
        let name = relative.rsplit('/').next().unwrap_or(relative);
        self.rules.iter().any(|(rule, gi)| {
            (rule == "*" || *rule == f.rule_id) && {
                let g = &self.globs[*gi];
                g.is_match(relative) || g.is_match(&f.path) || g.is_match(name)
            }
        })
    }

    /// True when the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty() && self.rules.is_empty()
    }
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn read_text(path: &Path) -> Result<String, SuppressError> {
    let bytes = fs::read(path).map_err(|e| SuppressError::Read {
        path: path.display().to_string(),
        reason: crate::discover::io_reason(&e),
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads the fingerprints of every finding in an earlier report: skimhunt's
/// JSON (`findings[].fingerprint`) or JSONL (`"type":"finding"` lines).
pub fn read_baseline(path: &Path) -> Result<HashSet<String>, SuppressError> {
    let text = read_text(path)?;
    let bad = |reason: String| SuppressError::Baseline {
        path: path.display().to_string(),
        reason,
    };
    let mut out = HashSet::new();
    let take = |f: &serde_json::Value, out: &mut HashSet<String>| -> Result<(), SuppressError> {
        match f.get("fingerprint").and_then(|v| v.as_str()) {
            Some(fp) if is_fingerprint(fp) => {
                out.insert(fp.to_ascii_lowercase());
                Ok(())
            }
            _ => Err(bad(
                "a finding has no fingerprint (a report from skimhunt before 0.1 fingerprints?)"
                    .into(),
            )),
        }
    };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        let findings = v
            .get("findings")
            .and_then(|f| f.as_array())
            .ok_or_else(|| bad("not a skimhunt JSON report (no findings array)".into()))?;
        for f in findings {
            take(f, &mut out)?;
        }
        return Ok(out);
    }
    let mut saw_summary = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            bad(format!(
                "line {}: neither a JSON nor a JSONL report: {e}",
                i + 1
            ))
        })?;
        match v.get("type").and_then(|t| t.as_str()) {
            Some("finding") => take(&v, &mut out)?,
            Some("summary") => saw_summary = true,
            _ => return Err(bad(format!("line {}: not a skimhunt JSONL record", i + 1))),
        }
    }
    if !saw_summary {
        return Err(bad(
            "JSONL report without its summary line (cut short?)".into()
        ));
    }
    Ok(out)
}

/// Everything that can suppress a finding in one scan.
#[derive(Debug, Default)]
pub struct Suppressor {
    baseline: HashSet<String>,
    global: IgnoreList,
    per_root: HashMap<PathBuf, IgnoreList>,
}

impl Suppressor {
    /// Loads the baseline, the `--ignore-file` and the `.skimhuntignore` of
    /// every directory root (each applies to findings under its root only).
    pub fn load(
        baseline: Option<&Path>,
        ignore_file: Option<&Path>,
        roots: &[PathBuf],
    ) -> Result<Suppressor, SuppressError> {
        let mut s = Suppressor::default();
        if let Some(b) = baseline {
            s.baseline = read_baseline(b)?;
        }
        if let Some(f) = ignore_file {
            s.global = IgnoreList::read(f)?;
        }
        for r in roots {
            let candidate = r.join(IGNORE_FILE_NAME);
            if r.is_dir() && candidate.is_file() {
                s.per_root.insert(r.clone(), IgnoreList::read(&candidate)?);
            }
        }
        Ok(s)
    }

    /// True when nothing can be suppressed (the scan can skip the checks).
    pub fn is_empty(&self) -> bool {
        self.baseline.is_empty()
            && self.global.is_empty()
            && self.per_root.values().all(IgnoreList::is_empty)
    }

    /// Why `f` (found under `root`, at `relative` below it) is suppressed, if
    /// it is. The baseline wins over the ignore files.
    pub fn check(&self, f: &Finding, root: &Path, relative: &str) -> Option<Suppressed> {
        if self.baseline.contains(&f.fingerprint) {
            return Some(Suppressed::Baselined);
        }
        let by_root = self
            .per_root
            .get(root)
            .is_some_and(|l| l.matches(f, relative));
        if by_root || self.global.matches(f, relative) {
            return Some(Suppressed::Ignored);
        }
        None
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::level::{Category, Level};

    fn finding(rule: &str, path: &str, fp: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            rule_title: "t".into(),
            level: Level::High,
            category: Category::InjectedScript,
            path: path.into(),
            line: 1,
            byte_offset: 0,
            timestamp: None,
            fields: crate::report::Fields::new(),
            evidence: "e".into(),
            decoded: Vec::new(),
            decoded_evidence: None,
            pan: None,
            fingerprint: fp.into(),
        }
    }

    const FP: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_fingerprints_rules_and_comments() {
        let l = IgnoreList::parse(
            "# known noise\n\n  0123456789ABCDEF0123456789ABCDEF \nweb-xss:**/access*.log\n*:cdn/*\n",
            "x",
        )
        .unwrap();
        assert!(l.matches(&finding("other", "logs/a", FP), "a"));
        assert!(l.matches(
            &finding("web-xss", "/abs/sub/access.log", "f"),
            "sub/access.log"
        ));
        assert!(l.matches(
            &finding("web-xss", "/abs/access-1.log", "f"),
            "access-1.log"
        ));
        assert!(!l.matches(
            &finding("web-sqli", "/abs/sub/access.log", "f"),
            "sub/access.log"
        ));
        assert!(l.matches(&finding("anything", "r/cdn/x.gz", "f"), "cdn/x.gz"));
        assert!(!l.matches(&finding("anything", "r/web/x.gz", "f"), "web/x.gz"));
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        for (text, want) in [
            ("# ok\nnot a rule\n", "neither a fingerprint"),
            ("rule:\n", "empty path glob"),
            (":x\n", "empty or blank"),
            ("r:a[\n", "invalid glob"),
        ] {
            let e = IgnoreList::parse(text, "ign").unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(e.starts_with("ign:"), "{e}");
        }
        let e = IgnoreList::parse("# c\nbad\n", "ign")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ign:2: "), "{e}");
    }

    #[test]
    fn baseline_reads_json_and_jsonl_reports() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        fs::write(
            &json,
            format!(r#"{{"findings":[{{"fingerprint":"{FP}"}}]}}"#),
        )
        .unwrap();
        assert!(read_baseline(&json).unwrap().contains(FP));
        let jsonl = dir.path().join("r.jsonl");
        fs::write(
            &jsonl,
            format!(
                "{{\"type\":\"finding\",\"fingerprint\":\"{FP}\"}}\n{{\"type\":\"summary\"}}\n"
            ),
        )
        .unwrap();
        assert!(read_baseline(&jsonl).unwrap().contains(FP));
        let bad = dir.path().join("bad.json");
        fs::write(&bad, "{\"findings\":[{}]}").unwrap();
        assert!(read_baseline(&bad).is_err());
        fs::write(&bad, "hello").unwrap();
        assert!(read_baseline(&bad).is_err());
        assert!(read_baseline(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn baseline_wins_and_root_lists_stay_in_their_root() {
        let mut s = Suppressor::default();
        s.baseline.insert(FP.into());
        s.per_root.insert(
            PathBuf::from("a"),
            IgnoreList::parse("*:*.log", "a/.skimhuntignore").unwrap(),
        );
        let f = finding("r", "a/x.log", FP);
        assert_eq!(
            s.check(&f, Path::new("a"), "x.log"),
            Some(Suppressed::Baselined)
        );
        let g = finding("r", "a/x.log", "f");
        assert_eq!(
            s.check(&g, Path::new("a"), "x.log"),
            Some(Suppressed::Ignored)
        );
        assert_eq!(s.check(&g, Path::new("b"), "x.log"), None);
    }
}
