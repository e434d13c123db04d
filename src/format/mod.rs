//! STUB for lead's compile (helper C delivers the real one).
use crate::record::{Family, Record};
use jiff::Timestamp;
use jiff::tz::TimeZone;
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Combined,
    W3c,
    Alb,
    Jsonl,
    Plain,
}
impl LogFormat {
    pub fn as_str(self) -> &'static str {
        "plain"
    }
}
impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(_s: &str) -> Result<Self, String> {
        Ok(LogFormat::Plain)
    }
}
pub fn detect(_head: &[u8]) -> LogFormat {
    LogFormat::Plain
}
#[derive(Clone, Debug)]
pub struct ParseOptions {
    pub tz: TimeZone,
    pub year: i16,
}
#[derive(Clone, Debug)]
pub struct LineParser {
    f: LogFormat,
}
impl LineParser {
    pub fn new(format: LogFormat, _opts: ParseOptions) -> Self {
        LineParser { f: format }
    }
    pub fn format(&self) -> LogFormat {
        self.f
    }
    pub fn directive(&mut self, line: &[u8]) -> bool {
        line.is_empty()
    }
    pub fn time(&self, _line: &[u8]) -> Option<Timestamp> {
        None
    }
    pub fn record<'a>(&self, line: &'a [u8]) -> Record<'a> {
        Record::bare(line, None, Family::Plain)
    }
}
