//! STUB for lead's compile (helper A delivers the real one).
use crate::decode::DecodeOpts;
use crate::level::{Category, Level};
use crate::record::{Family, Record};
use std::path::Path;
#[derive(Clone, Debug, Default)]
pub struct LogSource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
}
#[derive(Clone, Debug, Default)]
pub struct RuleTests {
    pub format: Option<String>,
    pub matches: Vec<String>,
    pub nomatches: Vec<String>,
}
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: Option<String>,
    pub references: Vec<String>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub tags: Vec<String>,
    pub level: Level,
    pub category: Category,
    pub logsource: LogSource,
    pub falsepositives: Vec<String>,
    pub source: String,
    pub line: usize,
    pub decode: DecodeOpts,
    pub tests: RuleTests,
}
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {reason}")]
pub struct RuleError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}
#[derive(Clone, Debug, Default)]
pub struct Hit {
    pub field: Option<String>,
    pub value: Option<String>,
    pub offset: Option<usize>,
    pub pan: Option<crate::card::PanHit>,
    pub decoded: bool,
}
#[derive(Clone, Debug)]
pub struct TestFailure {
    pub rule_id: String,
    pub sample: String,
    pub expected_match: bool,
}
impl Rule {
    pub fn applies_to(&self, _f: Family) -> bool {
        true
    }
    pub fn eval(&self, _rec: &Record) -> Option<Hit> {
        None
    }
    pub fn literals(&self) -> Option<Vec<Vec<u8>>> {
        None
    }
    pub fn run_tests<F>(&self, _parse: F) -> Vec<TestFailure>
    where
        F: for<'a> Fn(&'a [u8], Option<&str>) -> Record<'a>,
    {
        Vec::new()
    }
}
pub fn load_str(_src: &str, _source: &str) -> Result<Vec<Rule>, RuleError> {
    Ok(Vec::new())
}
pub fn load_path(_path: &Path) -> Result<Vec<Rule>, RuleError> {
    Ok(Vec::new())
}
pub fn check_unique_ids(_rules: &[Rule]) -> Result<(), RuleError> {
    Ok(())
}
pub fn lint(_rules: &[Rule]) -> Vec<String> {
    Vec::new()
}
