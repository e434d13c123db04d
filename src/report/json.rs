//! `--format json`: one report object, written at the end. Findings are
//! kept in a spilling list (bounded memory) and streamed into the
//! `findings` array, so a million findings still make one report.

use std::io::{self, Write};

use serde::Serialize;

use super::spill::Findings;
use super::{Emitter, FileReport, Finding, Header, Summary};
use crate::detect::ReportSections;

pub struct JsonEmitter<W: Write> {
    out: W,
    files: Vec<FileReport>,
    findings: Findings,
    sections: Option<ReportSections>,
}

impl<W: Write> JsonEmitter<W> {
    pub fn new(out: W) -> Self {
        JsonEmitter {
            out,
            files: Vec::new(),
            findings: Findings::new(),
            sections: None,
        }
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

    fn file(&mut self, file: &FileReport, findings: &[Finding]) -> io::Result<()> {
        self.file_stream(file, &mut findings.iter().cloned().map(Ok))
    }

    fn file_stream(
        &mut self,
        file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()> {
        self.files.push(file.clone());
        for f in findings {
            self.findings.push(f?);
        }
        Ok(())
    }

    fn sections(&mut self, findings: &[Finding], sections: &ReportSections) -> io::Result<()> {
        for f in findings {
            self.findings.push(f.clone());
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
        // findings one at a time with the same layout serde_json would give
        // a nested array (two-space indent, items at depth two).
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
        let mut buf = Vec::new();
        for (i, f) in findings.replay()?.enumerate() {
            buf.clear();
            serde_json::to_writer_pretty(&mut buf, &f?)?;
            self.out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            for (k, line) in buf.split(|&b| b == b'\n').enumerate() {
                if k > 0 {
                    self.out.write_all(b"\n")?;
                }
                self.out.write_all(b"    ")?;
                self.out.write_all(line)?;
            }
        }
        self.out.write_all(b"\n  ]\n}\n")?;
        self.out.flush()
    }
}
