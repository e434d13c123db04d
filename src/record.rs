//! The record view that rules see: one log line, its UTC time, and its
//! normalised fields.
//!
//! Web formats use Sigma's webserver field names (`c-ip`, `cs-method`,
//! `cs-uri-stem`, `cs-uri-query`, `cs-uri`, `sc-status`, `sc-bytes`,
//! `cs-referer`, `cs-user-agent`, `cs-host`); JSON lines use dotted paths
//! (`csp-report.blocked-uri`). Values are strings: numbers keep their textual
//! form so comparisons (`gt`, `lt`, …) parse them when needed.

use std::borrow::Cow;

use jiff::Timestamp;

/// The family of a record decides which rules apply to it
/// (`logsource.category` in a rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Web-server, CDN and load-balancer access logs (`category: webserver`).
    Web,
    /// Chat-service exports (`category: chat`).
    Chat,
    /// Content-Security-Policy violation reports (`category: csp`).
    Csp,
    /// JSON lines of any other schema.
    Json,
    /// Plain text lines.
    Plain,
}

/// A field name and value, borrowed from the line (or the format's static
/// names) where no unescaping or lossy decoding was needed: most records
/// are parsed without allocating.
pub type Field<'a> = (Cow<'a, str>, Cow<'a, str>);

/// One parsed log record. Borrowed from the scanned buffer where possible.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// The raw line without its line ending.
    pub raw: &'a [u8],
    /// The record's time in UTC, when one could be parsed.
    pub time: Option<Timestamp>,
    pub family: Family,
    /// Normalised fields in source order. A name may repeat (JSON arrays
    /// give the same dotted path once per element).
    pub fields: Vec<Field<'a>>,
}

impl<'a> Record<'a> {
    /// A record with no fields (plain text, or a line that did not parse).
    pub fn bare(raw: &'a [u8], time: Option<Timestamp>, family: Family) -> Self {
        Record {
            raw,
            time,
            family,
            fields: Vec::new(),
        }
    }

    /// The first value of a field, by exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Every value of a field, by exact name.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }
}
