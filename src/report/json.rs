//! `--format json`: one report object, written at the end.

use std::io::{self, Write};

use serde::Serialize;

use super::{Emitter, FileReport, Finding, Header, Summary};
use crate::detect::ReportSections;

pub struct JsonEmitter<W: Write> {
    out: W,
    files: Vec<FileReport>,
    findings: Vec<Finding>,
    sections: Option<ReportSections>,
}

impl<W: Write> JsonEmitter<W> {
    pub fn new(out: W) -> Self {
        JsonEmitter {
            out,
            files: Vec::new(),
            findings: Vec::new(),
            sections: None,
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    header: &'a Header,
    summary: &'a Summary,
    files: &'a [FileReport],
    findings: &'a [Finding],
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    sections: Option<&'a ReportSections>,
}

impl<W: Write> Emitter for JsonEmitter<W> {
    fn begin(&mut self, _header: &Header) -> io::Result<()> {
        Ok(())
    }

    fn file(&mut self, file: &FileReport, findings: &[Finding]) -> io::Result<()> {
        self.files.push(file.clone());
        self.findings.extend_from_slice(findings);
        Ok(())
    }

    fn sections(&mut self, findings: &[Finding], sections: &ReportSections) -> io::Result<()> {
        self.findings.extend_from_slice(findings);
        self.sections = Some(sections.clone());
        Ok(())
    }

    fn finish(&mut self, header: &Header, summary: &Summary) -> io::Result<()> {
        let report = Report {
            header,
            summary,
            files: &self.files,
            findings: &self.findings,
            sections: self.sections.as_ref(),
        };
        serde_json::to_writer_pretty(&mut self.out, &report)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
