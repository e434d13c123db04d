//! Reports: the finding and file records every output format shares, the
//! summary, and one emitter per format behind the [`Emitter`] trait.
//! Card numbers are masked before anything reaches an emitter.

use std::collections::BTreeMap;
use std::io;

use jiff::Timestamp;
use serde::Serialize;

use crate::card::Brand;
use crate::level::{Category, Level};
pub use fields::Fields;

pub mod csv;
pub mod fields;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod render;
pub mod sarif;
pub mod spill;
pub mod text;

/// A masked card number attached to a finding.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PanReport {
    /// First six and last four digits only.
    pub masked: String,
    pub brand: Brand,
    /// HMAC-SHA256 of the digits under the run's key: counts distinct cards
    /// without revealing them.
    pub fingerprint: String,
    pub test_card: bool,
}

/// One rule match on one record.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub rule_title: String,
    pub level: Level,
    pub category: Category,
    pub path: String,
    /// 1-based line in the (decompressed) file.
    pub line: u64,
    /// Offset of the line's first byte in the (decompressed) file.
    pub byte_offset: u64,
    /// RFC 3339 UTC, or null for an undated record.
    pub timestamp: Option<Timestamp>,
    /// Normalised fields of the record (masked, long values cut).
    pub fields: Fields,
    /// The part of the line around the match (masked, lossily decoded).
    pub evidence: String,
    /// Decoding layers the match needed, outermost first (`["url",
    /// "base64"]`); absent when the line matched as written.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        default,
        deserialize_with = "interned_names"
    )]
    pub decoded: Vec<&'static str>,
    /// When `decoded` is present: the decoded text around the match
    /// (masked), since `evidence` shows the line as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_evidence: Option<String>,
    pub pan: Option<PanReport>,
    /// Stable identity of the finding across runs: see [`fingerprint`].
    pub fingerprint: String,
}

/// Hex of the first 16 bytes of SHA-256 over the rule id, the path relative
/// to the scan root and the evidence with whitespace runs collapsed. Line
/// numbers, thread counts and absolute paths are left out on purpose, so a
/// log that grows or a scan from another directory keeps its fingerprints
/// (baselines and code-scanning alerts do not churn).
pub fn fingerprint(rule_id: &str, relative_path: &str, evidence: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(relative_path.as_bytes());
    h.update([0]);
    if single_spaced(evidence) {
        // Already collapsed: one update, not one per word.
        h.update(evidence.as_bytes());
    } else {
        let mut first = true;
        for word in evidence.split_whitespace() {
            if !first {
                h.update(b" ");
            }
            first = false;
            h.update(word.as_bytes());
        }
    }
    crate::pack::hex(&h.finalize()[..16])
}

/// Whether `s` is its own whitespace-collapsed form: ASCII, its only
/// whitespace single spaces between other characters.
fn single_spaced(s: &str) -> bool {
    let b = s.as_bytes();
    // Folds without an early exit, which the compiler vectorises: this runs
    // for every finding.
    let other = b.iter().fold(false, |a, &c| {
        a | (c >= 0x80) | matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
    });
    let double = b
        .iter()
        .zip(b.iter().skip(1))
        .fold(false, |a, (&x, &y)| a | ((x == b' ') & (y == b' ')));
    b.first() != Some(&b' ') && b.last() != Some(&b' ') && !other && !double
}

/// Whether a file was scanned.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Scanned,
    Skipped,
    Error,
}

/// One input in the report's `files` list.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub format: Option<String>,
    pub compression: Option<String>,
    /// Bytes as stored.
    pub bytes: u64,
    /// Bytes after decompression (equal to `bytes` for plain files).
    pub decoded_bytes: u64,
    pub records: u64,
    pub in_window: u64,
    pub out_of_window: u64,
    pub undated: u64,
    pub findings: u64,
    pub status: FileStatus,
    pub reason: Option<String>,
    /// Anything an analyst should know about how the file was read (e.g. the
    /// year assumed for syslog lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// SHA-256 (lowercase hex) of the file's bytes as stored (compressed
    /// bytes for archives), with `--hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl FileReport {
    pub fn new(path: &str) -> FileReport {
        FileReport {
            path: path.to_string(),
            format: None,
            compression: None,
            bytes: 0,
            decoded_bytes: 0,
            records: 0,
            in_window: 0,
            out_of_window: 0,
            undated: 0,
            findings: 0,
            status: FileStatus::Scanned,
            reason: None,
            note: None,
            sha256: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct RulesInfo {
    pub count: usize,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanInfo {
    pub started: Timestamp,
    pub finished: Option<Timestamp>,
    pub command_line: Vec<String>,
    pub rules: RulesInfo,
    /// The built-in detectors that ran: `drift`, `exposure`,
    /// `lookalike` (all off with --no-default-rules) and `ioc` (with IOC
    /// lists).
    pub detectors: Vec<&'static str>,
    /// The host's time zone when the scan ran (IANA name, or the fixed
    /// offset when it has none), for reading local times in the evidence.
    pub host_time_zone: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileCounts {
    pub scanned: u64,
    pub skipped: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub files: FileCounts,
    pub bytes: u64,
    pub records: u64,
    pub in_window: u64,
    pub out_of_window: u64,
    pub undated: u64,
    pub findings: u64,
    /// Findings left out because their fingerprint is in the --baseline report.
    pub baselined: u64,
    /// Findings left out by the ignore file (.skimhuntignore, --ignore-file).
    pub ignored: u64,
    pub by_level: BTreeMap<Level, u64>,
    pub by_rule: BTreeMap<String, u64>,
    pub by_category: BTreeMap<Category, u64>,
}

impl Summary {
    pub fn add_file(&mut self, f: &FileReport) {
        match f.status {
            FileStatus::Scanned => self.files.scanned += 1,
            FileStatus::Skipped => self.files.skipped += 1,
            FileStatus::Error => self.files.errors += 1,
        }
        self.bytes += f.bytes;
        self.records += f.records;
        self.in_window += f.in_window;
        self.out_of_window += f.out_of_window;
        self.undated += f.undated;
    }

    /// Counts one finding.
    pub fn add_finding(&mut self, f: &Finding) {
        self.findings += 1;
        *self.by_level.entry(f.level).or_default() += 1;
        match self.by_rule.get_mut(&f.rule_id) {
            Some(n) => *n += 1,
            None => {
                self.by_rule.insert(f.rule_id.clone(), 1);
            }
        }
        *self.by_category.entry(f.category).or_default() += 1;
    }

    /// Adds the counts of other files or findings.
    pub fn merge(&mut self, o: &Summary) {
        self.files.scanned += o.files.scanned;
        self.files.skipped += o.files.skipped;
        self.files.errors += o.files.errors;
        self.bytes += o.bytes;
        self.records += o.records;
        self.in_window += o.in_window;
        self.out_of_window += o.out_of_window;
        self.undated += o.undated;
        self.findings += o.findings;
        self.baselined += o.baselined;
        self.ignored += o.ignored;
        add_counts(&mut self.by_level, &o.by_level);
        add_counts(&mut self.by_rule, &o.by_rule);
        add_counts(&mut self.by_category, &o.by_category);
    }

    /// The highest level among the findings.
    pub fn max_level(&self) -> Option<Level> {
        self.by_level.keys().next_back().copied()
    }
}

/// What the summary and the timeline take from findings, counted where the
/// findings are made and merged in file order.
#[derive(Debug, Default)]
pub struct Tally {
    /// Only its finding counts (`findings`, `baselined`, `ignored`, `by_*`).
    pub summary: Summary,
    pub timeline: crate::detect::timeline::Timeline,
}

impl Tally {
    pub fn add(&mut self, f: &Finding) {
        self.summary.add_finding(f);
        self.timeline.add(f);
    }

    /// Adds the tally of later findings.
    pub fn merge(&mut self, o: Tally) {
        self.summary.merge(&o.summary);
        self.timeline.merge(o.timeline);
    }
}

fn add_counts<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, n) in from {
        match into.get_mut(k) {
            Some(c) => *c += n,
            None => {
                into.insert(k.clone(), *n);
            }
        }
    }
}

/// What every emitter is told before the first file.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    pub tool: ToolInfo,
    pub scan: ScanInfo,
    pub window: WindowInfo,
}

/// One output format. Files arrive in report order (sorted by path), each
/// with its findings sorted by line and rule id.
pub trait Emitter {
    fn begin(&mut self, header: &Header) -> io::Result<()>;
    /// One file and its findings, replayed one by one (they may come from a
    /// spill file): an emitter keeps only what its format needs.
    fn file_stream(
        &mut self,
        file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()>;
    /// [`Emitter::file_stream`] with findings in memory.
    fn file(&mut self, file: &FileReport, findings: &[Finding]) -> io::Result<()> {
        self.file_stream(file, &mut findings.iter().cloned().map(Ok))
    }
    /// End-of-scan detector output (drift findings; drift, exposure and
    /// timeline sections), called once after the last file and before
    /// `finish`. The default ignores it.
    fn sections(
        &mut self,
        _findings: &[Finding],
        _sections: &crate::detect::ReportSections,
    ) -> io::Result<()> {
        Ok(())
    }
    /// Renders single findings for the scanning threads, when the format
    /// writes each on its own; those files then arrive through
    /// [`Emitter::file_rendered`]. None: findings arrive as values.
    fn writer(&self) -> Option<std::sync::Arc<dyn render::FindingWriter>> {
        None
    }
    /// A file whose findings were rendered by [`Emitter::writer`].
    fn file_rendered(&mut self, _file: &FileReport, _findings: render::Rendered) -> io::Result<()> {
        Err(io::Error::other(
            "this output format renders no findings ahead of the report",
        ))
    }
    /// `header.scan.finished` is set by now.
    fn finish(&mut self, header: &Header, summary: &Summary) -> io::Result<()>;
}

/// Reads layer names back (findings replayed from a spill file), interning
/// each distinct name once so they can be `&'static str` again.
fn interned_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<&'static str>, D::Error> {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let v: Vec<String> = serde::Deserialize::deserialize(d)?;
    let mut g = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = g.get_or_insert_with(HashSet::new);
    Ok(v.into_iter()
        .map(|s| match set.get(s.as_str()) {
            Some(&n) => n,
            None => {
                let n: &'static str = Box::leak(s.into_boxed_str());
                set.insert(n);
                n
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_whitespace_runs_only() {
        let a = fingerprint("r1", "a/b.log", "GET  /x\t?q=1");
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint("r1", "a/b.log", " GET /x\t?q=1 "));
        assert_ne!(a, fingerprint("r2", "a/b.log", "GET /x\t?q=1"));
        assert_ne!(a, fingerprint("r1", "b.log", "GET /x\t?q=1"));
        assert_ne!(a, fingerprint("r1", "a/b.log", "GET /y\t?q=1"));
    }

    #[test]
    fn collapsed_evidence_hashes_as_the_word_by_word_form() {
        // The fast path (one update) against joining the words.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut texts: Vec<String> = [
            "",
            " ",
            "a",
            "a b",
            " a",
            "a ",
            "a  b",
            "a\tb",
            "a\u{a0}b",
            "a\u{2003}b",
            "caf\u{e9} x",
            "a\x0bb",
            "a\x0cb",
            "a\rb",
            "a\nb",
            "\u{85}a",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        texts.extend(
            crate::test_util::garbage(11, 300, b"ab \t\r\n\x0b\x0c")
                .into_iter()
                .map(|g| String::from_utf8_lossy(&g).into_owned()),
        );
        // Words and single or double spaces, sometimes at the ends.
        let mut rand = crate::test_util::rng(0x0dd_ba11);
        for _ in 0..300 {
            let seps = [" ", " ", " ", "  ", "\t"];
            let mut t = String::new();
            for k in 0..rand(8) {
                if k > 0 || rand(5) == 0 {
                    t.push_str(seps[rand(seps.len() as u64) as usize]);
                }
                t.push_str(["GET", "/a?b=1", "\"x\"", "-"][rand(4) as usize]);
            }
            if rand(5) == 0 {
                t.push(' ');
            }
            texts.push(t);
        }
        let mut fast = 0;
        for t in &texts {
            // The fast path is taken only for text that is its own
            // collapsed form (it may decline others, such as non-ASCII).
            if single_spaced(t) {
                fast += 1;
                assert_eq!(*t, words(t), "{t:?}");
            }
            assert_eq!(
                fingerprint("r", "p", t),
                fingerprint("r", "p", &words(t)),
                "{t:?}"
            );
        }
        assert!(fast > 50, "{fast}");
    }
}
