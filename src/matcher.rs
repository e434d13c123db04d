//! Matching: all rules compile into one literal prefilter over raw bytes, so
//! most lines are passed over without being parsed; only candidate lines are
//! turned into records and evaluated against each candidate rule's Sigma
//! detection.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::decode;
use crate::record::Record;
use crate::rules::{Hit, RecordCtx, Rule};

/// Bytes that mean a value may hide a rule's literal behind an encoding
/// (`%3Cscript`, `&#60;script`, `\u003cscript`, `\/\/host`): lines holding
/// one are candidates for every rule that decodes values.
const DECODE_TRIGGERS: &[&[u8]] = &[b"%", b"&", b"\\"];

/// The compiled rule set.
pub struct Engine {
    rules: Vec<Rule>,
    /// All literals of all rules; pattern index → rules needing it.
    ac: Option<AhoCorasick>,
    pattern_rules: Vec<Vec<usize>>,
    /// Rules without a literal set: evaluated on every kept line.
    always: Vec<usize>,
    /// Rules that decode base64/hex blobs: a literal can hide inside a blob,
    /// so any line with a long base64-alphabet run is a candidate for them.
    blob: Vec<usize>,
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Engine {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut blob = Vec::new();
        let mut add = |lit: &[u8], rule: usize, patterns: &mut Vec<Vec<u8>>| {
            let lit = lit.to_ascii_lowercase();
            match patterns.iter().position(|p| *p == lit) {
                Some(i) => {
                    if !pattern_rules[i].contains(&rule) {
                        pattern_rules[i].push(rule)
                    }
                }
                None => {
                    patterns.push(lit);
                    pattern_rules.push(vec![rule]);
                }
            }
        };
        for (i, r) in rules.iter().enumerate() {
            match r.literals() {
                Some(lits) if !lits.is_empty() && lits.iter().all(|l| !l.is_empty()) => {
                    for l in &lits {
                        add(l, i, &mut patterns);
                    }
                    if r.decode.any() {
                        for t in DECODE_TRIGGERS {
                            add(t, i, &mut patterns);
                        }
                    }
                    if r.decode.blobs() {
                        blob.push(i);
                    }
                }
                _ => always.push(i),
            }
        }
        let ac = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .expect("literal patterns always build"),
            )
        };
        Engine {
            rules,
            ac,
            pattern_rules,
            always,
            blob,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// True when some rule must see every line (no literal could be derived).
    pub fn has_always_rules(&self) -> bool {
        !self.always.is_empty()
    }

    /// The position of the first prefilter literal (or, when blob-decoding
    /// rules exist, of the first base64-alphabet run) at or after `from`,
    /// or None. Used to jump over whole stretches of a buffer.
    pub fn next_candidate(&self, hay: &[u8], from: usize) -> Option<usize> {
        let tail = hay.get(from..)?;
        let lit = self.ac.as_ref().and_then(|ac| {
            let input = aho_corasick::Input::new(hay).span(from..hay.len());
            ac.find(input).map(|m| m.start())
        });
        let blob = if self.blob.is_empty() {
            None
        } else {
            let end = lit.map_or(tail.len(), |l| l - from);
            blob_run_start(&tail[..end]).map(|p| p + from)
        };
        blob.or(lit)
    }

    /// The rules that may match `line`, in rule order, into `out`.
    pub fn candidates(&self, line: &[u8], out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.always);
        if !self.blob.is_empty() && decode::has_blob_run(line) {
            for &r in &self.blob {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(line) {
                for &r in &self.pattern_rules[m.pattern().as_usize()] {
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
        }
        out.sort_unstable();
    }

    /// Evaluates the candidate rules on a parsed record.
    pub fn eval<'r>(
        &'r self,
        rec: &Record,
        candidates: &[usize],
        mut hit: impl FnMut(&'r Rule, Hit),
    ) {
        // One evaluation state per distinct set of decode options, so a
        // value is decoded once per record, not once per rule.
        let mut ctxs: Vec<RecordCtx<'_>> = Vec::new();
        for &i in candidates {
            let rule = &self.rules[i];
            if !rule.applies_to(rec.family) {
                continue;
            }
            let k = match ctxs.iter().position(|c| c.opts() == rule.decode) {
                Some(k) => k,
                None => {
                    ctxs.push(RecordCtx::new(rec, rule.decode));
                    ctxs.len() - 1
                }
            };
            if let Some(h) = rule.eval_in(&ctxs[k]) {
                hit(rule, h);
            }
        }
    }
}

/// Start of the first base64-alphabet run long enough to be a blob.
fn blob_run_start(b: &[u8]) -> Option<usize> {
    let mut run = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if decode::is_base64_byte(c) {
            run += 1;
            if run >= decode::MIN_BASE64_RUN {
                return Some(i + 1 - run);
            }
        } else {
            run = 0;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Family;
    use crate::rules::load_str;

    fn rule(decode: &str) -> Rule {
        let y = format!(
            "title: T\nid: t\nlogsource:\n    category: webserver\ndetection:\n    sel:\n        cs-uri-query|contains: 'skimdrop.example'\n    condition: sel\nskimhunt:\n    decode: [{decode}]\n"
        );
        load_str(&y, "t.yml").unwrap().remove(0)
    }

    fn rec(line: &str) -> Record<'_> {
        let mut r = Record::bare(line.as_bytes(), None, Family::Web);
        r.fields
            .push(("cs-uri-query".to_string(), line.to_string()));
        r
    }

    /// Soundness: whenever a rule matches a line, the prefilter lists it.
    fn assert_sound(engine: &Engine, line: &str) -> bool {
        let r = rec(line);
        let mut c = Vec::new();
        engine.candidates(line.as_bytes(), &mut c);
        let mut hit = false;
        engine.eval(
            &r,
            &(0..engine.rules().len()).collect::<Vec<_>>(),
            |_, _| {
                hit = true;
            },
        );
        if hit {
            assert_eq!(c, [0], "{line}");
            assert!(
                engine.next_candidate(line.as_bytes(), 0).is_some(),
                "{line}"
            );
        }
        hit
    }

    fn b64(b: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for ch in b.chunks(3) {
            let n = ch
                .iter()
                .enumerate()
                .fold(0u32, |a, (i, &c)| a | u32::from(c) << (16 - 8 * i));
            for k in 0..=ch.len() {
                out.push(char::from(A[(n >> (18 - 6 * k) & 63) as usize]));
            }
        }
        out
    }

    #[test]
    fn blob_rules_see_lines_whose_literal_is_inside_a_blob() {
        let engine = Engine::new(vec![rule("url, json, base64, hex")]);
        let payload = "{\"u\":\"https://skimdrop.example/c\"}";
        let hex: String = payload.bytes().map(|c| format!("{c:02X}")).collect();
        let lines = [
            format!("d={}", b64(payload.as_bytes())),
            format!("h={hex}&x=1"),
            format!("d={}", b64(b64(payload.as_bytes()).as_bytes())),
            format!("/x/{}.gif", b64(payload.as_bytes())),
            // The literal itself, JSON-escaped (no blob, no '%').
            "u=https:\\/\\/skimdrop.example\\/c".to_string(),
        ];
        for l in &lines {
            assert!(assert_sound(&engine, l), "no match: {l}");
        }
        // Without blob decoding the same blob lines do not match at all.
        let plain = Engine::new(vec![rule("url")]);
        assert!(!assert_sound(&plain, &lines[0]));
        // A line with neither literal, trigger nor run is not a candidate.
        let mut c = Vec::new();
        engine.candidates(b"GET /index.html?a=1 HTTP/1.1", &mut c);
        assert!(c.is_empty());
        assert_eq!(engine.next_candidate(b"GET /a?b=1 HTTP/1.1", 0), None);
    }

    #[test]
    fn blob_prefilter_is_sound_on_random_lines() {
        // Random lines built from blob fragments, escapes and noise: every
        // match must be a prefilter candidate.
        let engine = Engine::new(vec![rule("url, plus, html, json, base64, hex")]);
        let pieces: Vec<String> = vec![
            b64(b"skimdrop.example"),
            b64(b"<a href=//skimdrop.example>"),
            "skimdrop.example"
                .bytes()
                .map(|c| format!("{c:02x}"))
                .collect(),
            "%2F".into(),
            "&#x2e;".into(),
            "\\u002e".into(),
            ".".into(),
            "=".into(),
            " ".into(),
            "skim".into(),
            "drop".into(),
            "example".into(),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut matched = 0;
        for _ in 0..3000 {
            let mut line = String::new();
            for _ in 0..(seed % 6 + 1) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                line.push_str(&pieces[(seed % pieces.len() as u64) as usize]);
            }
            if assert_sound(&engine, &line) {
                matched += 1;
            }
        }
        assert!(matched > 100, "only {matched} matches");
    }
}
