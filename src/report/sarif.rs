//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it. One run:
//! the tool with every loaded rule, one result per finding located by the
//! file's path relative to its scan root (`%SRCROOT%`), the scanned files as
//! artifacts, and one invocation. Built as `serde_json::Value`s, whose
//! sorted keys make the output byte-stable; results are rendered as they
//! arrive into a spill ([`Rendered`]) and spliced into the log at the end,
//! so a million findings do not sit in memory as values.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::render::{Indented, Rendered};
use super::{Emitter, FileReport, FileStatus, Finding, Header, Summary};
use crate::level::Level;
use crate::rules::Rule;

/// The schema URI written into `$schema`.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF result level for a skimhunt level.
pub fn sarif_level(l: Level) -> &'static str {
    match l {
        Level::Critical | Level::High => "error",
        Level::Medium => "warning",
        Level::Low | Level::Informational => "note",
    }
}

/// GitHub's `security-severity` score (a string, 0.0–10.0) for a level.
pub fn security_severity(l: Level) -> &'static str {
    match l {
        Level::Critical => "9.5",
        Level::High => "8.0",
        Level::Medium => "5.5",
        Level::Low => "3.0",
        Level::Informational => "1.0",
    }
}

/// Percent-encodes a `/`-separated relative path into a URI reference.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct SarifEmitter<W: Write> {
    out: W,
    rules: Vec<Value>,
    rule_index: HashMap<String, usize>,
    /// Display path → path relative to its scan root.
    relative: HashMap<String, String>,
    artifacts: Vec<Value>,
    artifact_index: HashMap<String, usize>,
    /// Each result as `,` and the object at the depth of `runs[0].results`.
    results: Rendered,
    scratch: Vec<u8>,
    notifications: Vec<Value>,
}

impl<W: Write> SarifEmitter<W> {
    /// A descriptor for a detector finding (`skimhunt.drift`, …), which has
    /// no rule file: added the first time one is reported.
    fn detector_rule(&mut self, f: &Finding) {
        if self.rule_index.contains_key(&f.rule_id) {
            return;
        }
        let (name, text) = match f.rule_id.as_str() {
            crate::detect::DRIFT => (
                "Script drift",
                "A script asset served with a size outside its baseline",
            ),
            crate::detect::DRIFT_VERSION => (
                "Script version drift",
                "A script version or hash first seen inside the window",
            ),
            crate::detect::DRIFT_CONDITIONAL => (
                "Conditional serving",
                "A script served differently by client class",
            ),
            crate::detect::IOC => ("IOC list match", "A host or URL from an IOC list"),
            crate::detect::LOOKALIKE => ("Look-alike host", "A host imitating a protected name"),
            _ => ("Detector finding", "A skimhunt detector finding"),
        };
        self.rule_index.insert(f.rule_id.clone(), self.rules.len());
        self.rules.push(json!({
            "id": f.rule_id,
            "name": name,
            "shortDescription": {"text": name},
            "fullDescription": {"text": text},
            "help": {"text": format!("{text}. See docs/analytics.md.")},
            "defaultConfiguration": {"level": sarif_level(f.level)},
            "properties": {
                "tags": ["security", f.category.as_str()],
                "security-severity": security_severity(f.level),
                "skimhunt-level": f.level.as_str(),
                "source": "built-in detector",
            },
        }));
    }

    /// One result per finding, located in its file.
    fn push_result(&mut self, f: &Finding) -> io::Result<()> {
        if f.rule_id.starts_with("skimhunt.") {
            self.detector_rule(f);
        }
        let mut artifact_location = location(&self.relative_of(&f.path));
        if let Some(i) = self.artifact_index.get(&f.path) {
            artifact_location["index"] = json!(i);
        }
        let mut props = Map::new();
        props.insert("category".into(), json!(f.category.as_str()));
        props.insert("skimhunt-level".into(), json!(f.level.as_str()));
        props.insert("path".into(), json!(f.path));
        if let Some(t) = f.timestamp {
            props.insert("timestamp".into(), json!(t.to_string()));
        }
        if let Some(p) = &f.pan {
            props.insert("pan_masked".into(), json!(p.masked));
            props.insert("pan_brand".into(), json!(p.brand));
        }
        // A match in decoded text: the message also shows what it decoded
        // to, since the evidence shows the line as written.
        let mut message = format!("{}: {}", f.rule_title, f.evidence);
        if !f.decoded.is_empty() {
            props.insert("decoded".into(), json!(f.decoded));
            if let Some(d) = &f.decoded_evidence {
                props.insert("decoded_evidence".into(), json!(d));
                message.push_str(&format!(" (decoded {}: {d})", f.decoded.join(", ")));
            }
        }
        let mut result = json!({
            "ruleId": f.rule_id,
            "level": sarif_level(f.level),
            "message": {"text": message},
            "locations": [{"physicalLocation": {
                "artifactLocation": artifact_location,
                "region": {"startLine": f.line.max(1)},
            }}],
            "partialFingerprints": {"primaryLocationLineHash": f.fingerprint},
            "properties": Value::Object(props),
        });
        if let Some(i) = self.rule_index.get(&f.rule_id) {
            result["ruleIndex"] = json!(i);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(b",\n        ");
        let mut ser = serde_json::Serializer::with_formatter(&mut self.scratch, Indented::new(4));
        serde::Serialize::serialize(&result, &mut ser)?;
        self.results.push(&self.scratch)
    }

    /// `rules`: every loaded rule (they become `tool.driver.rules`);
    /// `relative`: each entry's display path mapped to its root-relative path.
    pub fn new(out: W, rules: &[Rule], relative: HashMap<String, String>) -> Self {
        let mut rule_index = HashMap::new();
        let mut descs = Vec::new();
        for r in rules {
            if rule_index.contains_key(&r.id) {
                continue;
            }
            rule_index.insert(r.id.clone(), descs.len());
            descs.push(rule_descriptor(r));
        }
        SarifEmitter {
            out,
            rules: descs,
            rule_index,
            relative,
            artifacts: Vec::new(),
            artifact_index: HashMap::new(),
            results: Rendered::default(),
            scratch: Vec::new(),
            notifications: Vec::new(),
        }
    }

    fn relative_of(&self, display: &str) -> String {
        self.relative
            .get(display)
            .cloned()
            .unwrap_or_else(|| display.trim_start_matches('/').to_string())
    }
}

fn rule_descriptor(r: &Rule) -> Value {
    let mut help = String::new();
    help.push_str(r.description.as_deref().unwrap_or(&r.title));
    if !r.falsepositives.is_empty() {
        help.push_str("\n\nFalse positives: ");
        help.push_str(&r.falsepositives.join("; "));
    }
    if !r.references.is_empty() {
        help.push_str("\n\nReferences:\n");
        for reference in &r.references {
            help.push_str("- ");
            help.push_str(reference);
            help.push('\n');
        }
    }
    let mut tags = vec!["security".to_string(), r.category.as_str().to_string()];
    tags.extend(r.tags.iter().cloned());
    tags.dedup();
    let mut d = json!({
        "id": r.id,
        "name": r.title,
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.description.as_deref().unwrap_or(&r.title)},
        "help": {"text": help},
        "defaultConfiguration": {"level": sarif_level(r.level)},
        "properties": {
            "tags": tags,
            "security-severity": security_severity(r.level),
            "skimhunt-level": r.level.as_str(),
            "source": r.source,
        },
    });
    // helpUri must be an absolute URI; only plain web links qualify.
    if let Some(u) = r
        .references
        .iter()
        .find(|u| (u.starts_with("https://") || u.starts_with("http://")) && !u.contains(' '))
    {
        d["helpUri"] = json!(u);
    }
    d
}

fn location(uri: &str) -> Value {
    json!({"uri": uri_path(uri), "uriBaseId": "%SRCROOT%"})
}

impl<W: Write> Emitter for SarifEmitter<W> {
    fn begin(&mut self, _header: &Header) -> io::Result<()> {
        Ok(())
    }

    fn file_stream(
        &mut self,
        file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()> {
        let rel = self.relative_of(&file.path);
        match file.status {
            FileStatus::Scanned => {
                self.artifact_index
                    .insert(file.path.clone(), self.artifacts.len());
                self.artifacts.push(artifact(file, &rel));
            }
            FileStatus::Error => self.notifications.push(json!({
                "level": "error",
                "message": {"text": format!(
                    "{}: {}",
                    file.path,
                    file.reason.as_deref().unwrap_or("error")
                )},
                "locations": [{"physicalLocation": {"artifactLocation": location(&rel)}}],
            })),
            FileStatus::Skipped => {}
        }
        for f in findings {
            self.push_result(&f?)?;
        }
        Ok(())
    }

    fn sections(
        &mut self,
        findings: &[Finding],
        _sections: &crate::detect::ReportSections,
    ) -> io::Result<()> {
        for f in findings {
            self.push_result(f)?;
        }
        Ok(())
    }

    fn finish(&mut self, header: &Header, summary: &Summary) -> io::Result<()> {
        let mut invocation = json!({
            "executionSuccessful": true,
            "commandLine": command_line(&header.scan.command_line),
            "arguments": header.scan.command_line.iter().skip(1).collect::<Vec<_>>(),
            "startTimeUtc": header.scan.started.to_string(),
            "toolExecutionNotifications": std::mem::take(&mut self.notifications),
            "properties": {
                "window": {
                    "since": header.window.since.map(|t| t.to_string()),
                    "until": header.window.until.map(|t| t.to_string()),
                },
                "rules_sha256": header.scan.rules.sha256,
                "baselined": summary.baselined,
                "ignored": summary.ignored,
                "files": summary.files,
            },
        });
        if let Some(t) = header.scan.finished {
            invocation["endTimeUtc"] = json!(t.to_string());
        }
        let log = json!({
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": header.tool.name,
                    "semanticVersion": header.tool.version,
                    "version": header.tool.version,
                    "rules": std::mem::take(&mut self.rules),
                }},
                "columnKind": "unicodeCodePoints",
                "artifacts": std::mem::take(&mut self.artifacts),
                "invocations": [invocation],
                "results": [],
            }],
        });
        let text = serde_json::to_vec_pretty(&log)?;
        let results = std::mem::take(&mut self.results);
        // The run's own key, at its depth: JSON strings hold no raw newline.
        const KEY: &[u8] = b"\n      \"results\": [";
        if results.is_empty() {
            self.out.write_all(&text)?;
        } else {
            let at = memchr::memmem::find(&text, KEY)
                .map(|i| i + KEY.len())
                .ok_or_else(|| io::Error::other("SARIF log without its results array"))?;
            self.out.write_all(&text[..at])?;
            // Every item starts with the comma that separates it from the
            // one before; the first has none before it.
            results.copy_to(1, &mut self.out)?;
            self.out.write_all(b"\n      ")?;
            self.out.write_all(&text[at..])?;
        }
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// One `run.artifacts[]` entry, with `hashes.sha-256` under `--hash`.
fn artifact(file: &FileReport, relative: &str) -> Value {
    let mut a = json!({
        "location": location(relative),
        "length": file.bytes,
        "properties": {"path": file.path, "records": file.records},
    });
    if let Some(f) = &file.format {
        a["properties"]["format"] = json!(f);
    }
    if let Some(c) = &file.compression {
        a["properties"]["compression"] = json!(c);
    }
    if let Some(h) = &file.sha256 {
        a["hashes"] = json!({ "sha-256": h });
    }
    a
}

/// The command line as one string, quoting arguments a shell would split.
fn command_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_uris() {
        assert_eq!(sarif_level(Level::Critical), "error");
        assert_eq!(sarif_level(Level::Medium), "warning");
        assert_eq!(sarif_level(Level::Informational), "note");
        assert_eq!(security_severity(Level::High), "8.0");
        assert_eq!(uri_path("a b/c#d%.log"), "a%20b/c%23d%25.log");
        assert_eq!(
            command_line(&["skimhunt".into(), "a b".into(), "it's".into()]),
            r"skimhunt 'a b' 'it'\''s'"
        );
    }
}
