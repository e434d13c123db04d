//! `--format json`: one report object, written at the end.

use std::io::{self, Write};

use serde::Serialize;

use super::{Emitter, FileReport, Finding, Header, Summary};

pub struct JsonEmitter<W: Write> {
    out: W,
    files: Vec<FileReport>,
    findings: Vec<Finding>,
}

impl<W: Write> JsonEmitter<W> {
    pub fn new(out: W) -> Self {
        JsonEmitter {
            out,
            files: Vec::new(),
            findings: Vec::new(),
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

    fn finish(&mut self, header: &Header, summary: &Summary) -> io::Result<()> {
        let report = Report {
            header,
            summary,
            files: &self.files,
            findings: &self.findings,
        };
        serde_json::to_writer_pretty(&mut self.out, &report)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
