//! `--format json`: one report object, written at the end. Findings are
//! rendered by the scanning threads ([`JsonItems`]) into the text of the
//! `findings` array, kept in memory up to a limit and in an unnamed
//! temporary file past that ([`super::spill::Bytes`]), and copied after the
//! rest of the report: a million findings still make one report, in bounded
//! memory, without a serialise/parse round trip at the end.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use super::render::{FindingWriter, Indented, Rendered, after_key};
use super::{Emitter, FileReport, Finding, Header, Summary};
use crate::detect::ReportSections;

pub struct JsonEmitter<W: Write> {
    out: W,
    files: Vec<FileReport>,
    findings: Rendered,
    sections: Option<ReportSections>,
}

impl<W: Write> JsonEmitter<W> {
    pub fn new(out: W) -> Self {
        JsonEmitter {
            out,
            files: Vec::new(),
            findings: Rendered::default(),
            sections: None,
        }
    }

    fn push(&mut self, f: &Finding) -> io::Result<()> {
        let mut item = Vec::new();
        JsonItems.write(f, &mut item)?;
        self.findings.push(&item)
    }
}

/// Findings as items of the report's `findings` array: `,` and the object
/// on new lines at depth two, the layout serde_json gives a nested array.
/// The report drops the first item's comma.
pub struct JsonItems;

impl FindingWriter for JsonItems {
    fn write(&self, f: &Finding, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        out.extend_from_slice(b",\n    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut *out, Indented::new(2));
        f.serialize(&mut ser)?;
        after_key(&out[start..], b"\n      \"line\": ").map(|i| start + i)
    }
}

/// The report without its findings, which are appended by hand.
#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    header: &'a Header,
    summary: &'a Summary,
    files: &'a [FileReport],
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    sections: Option<&'a ReportSections>,
}

impl<W: Write> Emitter for JsonEmitter<W> {
    fn begin(&mut self, _header: &Header) -> io::Result<()> {
        Ok(())
    }

    fn file_stream(
        &mut self,
        file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()> {
        self.files.push(file.clone());
        for f in findings {
            self.push(&f?)?;
        }
        Ok(())
    }

    fn writer(&self) -> Option<Arc<dyn FindingWriter>> {
        Some(Arc::new(JsonItems))
    }

    fn file_rendered(&mut self, file: &FileReport, findings: Rendered) -> io::Result<()> {
        self.files.push(file.clone());
        self.findings.extend(findings)
    }

    fn sections(&mut self, findings: &[Finding], sections: &ReportSections) -> io::Result<()> {
        for f in findings {
            self.push(f)?;
        }
        self.sections = Some(sections.clone());
        Ok(())
    }

    fn finish(&mut self, header: &Header, summary: &Summary) -> io::Result<()> {
        let report = Report {
            header,
            summary,
            files: &self.files,
            sections: self.sections.as_ref(),
        };
        // Pretty-print the rest of the object, then reopen it to add the
        // findings' text.
        let mut head = serde_json::to_vec_pretty(&report)?;
        if head.pop() != Some(b'}') {
            return Err(io::Error::other("report object did not end with '}'"));
        }
        while head.last() == Some(&b'\n') {
            head.pop();
        }
        self.out.write_all(&head)?;
        let findings = std::mem::take(&mut self.findings);
        if findings.is_empty() {
            self.out.write_all(b",\n  \"findings\": []\n}\n")?;
            return self.out.flush();
        }
        self.out.write_all(b",\n  \"findings\": [")?;
        // Every item starts with the comma that separates it from the one
        // before; the first has none before it.
        findings.into_bytes().copy_to(1, &mut self.out)?;
        self.out.write_all(b"\n  ]\n}\n")?;
        self.out.flush()
    }
}
