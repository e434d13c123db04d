//! Matching: all rules compile into one literal prefilter over raw bytes, so
//! most lines are passed over without being parsed; only candidate lines are
//! turned into records and evaluated against each candidate rule's Sigma
//! detection.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::record::Record;
use crate::rules::{Hit, Rule};

/// Bytes that mean a value may hide a rule's literal behind an encoding
/// (`%3Cscript`, `&#60;script`, `\u003cscript`): lines holding one are
/// candidates for every rule that decodes values.
const DECODE_TRIGGERS: &[&[u8]] = &[b"%", b"&", b"\\u"];

/// The compiled rule set.
pub struct Engine {
    rules: Vec<Rule>,
    /// All literals of all rules; pattern index → rules needing it.
    ac: Option<AhoCorasick>,
    pattern_rules: Vec<Vec<usize>>,
    /// Rules without a literal set: evaluated on every kept line.
    always: Vec<usize>,
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Engine {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
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
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// True when some rule must see every line (no literal could be derived).
    pub fn has_always_rules(&self) -> bool {
        !self.always.is_empty()
    }

    /// The position of the first prefilter literal at or after `from`, or
    /// None. Used to jump over whole stretches of a buffer.
    pub fn next_candidate(&self, hay: &[u8], from: usize) -> Option<usize> {
        let ac = self.ac.as_ref()?;
        let input = aho_corasick::Input::new(hay).span(from..hay.len());
        ac.find(input).map(|m| m.start())
    }

    /// The rules that may match `line`, in rule order, into `out`.
    pub fn candidates(&self, line: &[u8], out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.always);
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
        for &i in candidates {
            let rule = &self.rules[i];
            if rule.applies_to(rec.family)
                && let Some(h) = rule.eval(rec)
            {
                hit(rule, h);
            }
        }
    }
}
