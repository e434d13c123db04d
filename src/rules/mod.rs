//! Sigma rules: loading (with line/column errors), evaluation against
//! records, prefilter literals, embedded rule tests and linting.
//!
//! Rules are plain Sigma YAML plus an optional `skimhunt:` block (category,
//! decoding of values, test samples) that ordinary Sigma tools ignore.

mod condition;
mod eval;
mod literals;
mod loader;
mod modifiers;
mod yaml;

#[cfg(test)]
mod tests;

use crate::card::PanHit;
use crate::decode::DecodeOpts;
use crate::level::{Category, Level};
use crate::record::{Family, Record};

pub use eval::RecordCtx;
#[cfg(test)]
pub(crate) use literals::spellings;
pub use literals::{Gate, required_punct};
pub use loader::{check_unique_ids, lint, load_path, load_str};

/// One loaded rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The rule's `id`, or a slug of its title when absent (see [`lint`]).
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: Option<String>,
    pub references: Vec<String>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub tags: Vec<String>,
    /// `Medium` when the rule gives no level (reported by [`lint`]).
    pub level: Level,
    /// `skimhunt.category`, default [`Category::WebAttack`].
    pub category: Category,
    pub logsource: LogSource,
    pub falsepositives: Vec<String>,
    /// The file path as given to the loader.
    pub source: String,
    /// Line where the rule's YAML document starts.
    pub line: usize,
    /// `skimhunt.decode`: how field values are decoded before comparing.
    pub decode: DecodeOpts,
    /// `skimhunt.tests`: samples that must and must not match.
    pub tests: RuleTests,
    /// `skimhunt.ioc`: IOC list files (relative paths resolved against the
    /// rule file's directory) whose entries join the `--ioc` automaton.
    pub ioc_lists: Vec<std::path::PathBuf>,
    pub(crate) detection: eval::Detection,
    pub(crate) id_missing: bool,
    pub(crate) level_missing: bool,
}

/// A rule's `logsource`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
}

/// The samples in a rule's `skimhunt.tests` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleTests {
    /// Log format name of the samples; `None` means auto-detect.
    pub format: Option<String>,
    /// Lines the rule must match.
    pub matches: Vec<String>,
    /// Lines the rule must not match.
    pub nomatches: Vec<String>,
}

/// A rule loading error, displayed as `path:line:column: reason`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {reason}")]
pub struct RuleError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// Why a rule matched: one witness of the condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hit {
    /// The field that matched; `None` for a keyword match on the raw line
    /// (and for hits that are only true through a negation).
    pub field: Option<String>,
    /// The text the pattern matched in: the field value, or the raw line for
    /// keyword matches; the decoded form when `decoded`. It may contain a
    /// card number: the caller masks it.
    pub value: Option<String>,
    /// Byte offset in `record.raw` where a keyword match starts, when known
    /// (undecoded raw-line match of a valid-UTF-8 line).
    pub offset: Option<usize>,
    /// The card number that satisfied a `pan` modifier; offsets are relative
    /// to `value`.
    pub pan: Option<PanHit>,
    /// Byte offset in `value` where the match starts, when known.
    pub value_offset: Option<usize>,
    /// The decoding layers the match needed, outermost first (`["url",
    /// "base64"]`); empty when the original text matched.
    pub decoded: Vec<&'static str>,
}

/// A rule test sample that did not behave as expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestFailure {
    pub rule_id: String,
    pub sample: String,
    /// True when the sample should have matched and did not.
    pub expected_match: bool,
}

impl Rule {
    /// Whether the rule is meant for records of this family
    /// (`logsource.category`: webserver → Web; chat → Chat and Json;
    /// csp → Csp; absent → all; anything else → none).
    pub fn applies_to(&self, family: Family) -> bool {
        match self.logsource.category.as_deref() {
            None => true,
            Some(c) => match c.to_ascii_lowercase().as_str() {
                "webserver" => family == Family::Web,
                "chat" => matches!(family, Family::Chat | Family::Json),
                "csp" => family == Family::Csp,
                _ => false,
            },
        }
    }

    /// Evaluates the rule's condition on a record. Does not check
    /// [`Rule::applies_to`] or the time window: the caller does.
    pub fn eval(&self, rec: &Record) -> Option<Hit> {
        eval::eval(&self.detection, rec, self.decode, eval::Hooks::REAL)
    }

    /// [`Rule::eval`] reusing per-record state (decoded values) built for
    /// this rule's decode options; `ctx` must have been made with
    /// `self.decode`, else the rule is evaluated on its own.
    pub fn eval_in(&self, ctx: &RecordCtx<'_>) -> Option<Hit> {
        if ctx.opts() == self.decode {
            ctx.eval(&self.detection)
        } else {
            self.eval(ctx.record())
        }
    }

    /// Prefilter contract: returns `Some(L)` such that for every record `r`
    /// with `eval(r).is_some()`, the ASCII-lowercased raw line contains some
    /// `l` in `L`; or `None` when no such set can be derived (then the rule
    /// must be evaluated on every line). Literals are runs of `[a-z0-9_]`
    /// (at least 3 bytes) taken from the rule's values and regex literals.
    ///
    /// Caveat for rules with `decode`: their literals come from the values
    /// as written (the decoded form), so a raw line that encodes a letter of
    /// the literal itself (`%73cript`, `&#115;cript`, `\u0073cript`) would
    /// not contain it, nor would a line carrying it inside a base64 or hex
    /// blob. The matcher must additionally treat lines containing `%`, `&`
    /// or `\` as candidates for rules whose `decode` is set, and lines with
    /// a base64-alphabet run that may decode to text
    /// ([`crate::decode::run_may_decode`]) as candidates for rules that
    /// decode blobs.
    pub fn literals(&self) -> Option<Vec<Vec<u8>>> {
        literals::detection(&self.detection)
    }

    /// Prefilter gates: like [`Rule::literals`], but a rule without literals
    /// may still be gated by a card-number digit sequence or by a regex (see
    /// [`Gate`]). `None` when the rule must see every line. The same caveat
    /// about `decode` applies.
    pub fn gates(&self) -> Option<Vec<Gate>> {
        literals::gates(&self.detection, false)
    }

    /// Regexes every match of the rule matches in some value, each with its
    /// field (see `literals::required_regexes`).
    pub fn required_regexes(&self) -> Vec<(String, Option<String>)> {
        literals::required_regexes(&self.detection)
    }

    /// The gate sets of the parts the rule's condition ANDs in, with raw
    /// literals under the same terms as [`Rule::raw_gates`].
    pub fn and_gates(&self, raw: bool) -> Vec<Vec<Gate>> {
        literals::and_gates(&self.detection, raw && !self.decode.any())
    }

    /// Like [`Rule::gates`] with raw literals, which keep punctuation: sound
    /// only for formats whose field values are slices of the raw line, and
    /// only for rules that do not decode.
    pub fn raw_gates(&self) -> Option<Vec<Gate>> {
        if self.decode.any() {
            return self.gates();
        }
        literals::gates(&self.detection, true)
    }

    /// Runs the rule's test samples: `parse(line, format)` turns a sample
    /// into a Record. A `match` sample passes when the rule applies to the
    /// record's family and matches it; a `nomatch` sample passes otherwise.
    pub fn run_tests<F>(&self, parse: F) -> Vec<TestFailure>
    where
        F: for<'a> Fn(&'a [u8], Option<&str>) -> Record<'a>,
    {
        let fmt = self.tests.format.as_deref();
        let samples = self
            .tests
            .matches
            .iter()
            .map(|s| (s, true))
            .chain(self.tests.nomatches.iter().map(|s| (s, false)));
        let mut failures = Vec::new();
        for (sample, expected) in samples {
            let rec = parse(sample.as_bytes(), fmt);
            let got = self.applies_to(rec.family) && self.eval(&rec).is_some();
            if got != expected {
                failures.push(TestFailure {
                    rule_id: self.id.clone(),
                    sample: sample.clone(),
                    expected_match: expected,
                });
            }
        }
        failures
    }
}
