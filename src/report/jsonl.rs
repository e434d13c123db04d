//! `--format jsonl`: one finding per line as files complete, then one
//! `{"type":"summary", …}` line. Findings are never all held in memory.

use std::io::{self, Write};

use serde::Serialize;

use super::{Emitter, FileReport, Finding, Header, Summary};
use crate::detect::ReportSections;

pub struct JsonlEmitter<W: Write> {
    out: W,
    files: Vec<FileReport>,
    sections: Option<ReportSections>,
}

impl<W: Write> JsonlEmitter<W> {
    pub fn new(out: W) -> Self {
        JsonlEmitter {
            out,
            files: Vec::new(),
            sections: None,
        }
    }
}

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    inner: &'a T,
}

#[derive(Serialize)]
struct Tail<'a> {
    #[serde(flatten)]
    header: &'a Header,
    summary: &'a Summary,
    files: &'a [FileReport],
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    sections: Option<&'a ReportSections>,
}

impl<W: Write> Emitter for JsonlEmitter<W> {
    fn begin(&mut self, _header: &Header) -> io::Result<()> {
        Ok(())
    }

    fn sections(&mut self, findings: &[Finding], sections: &ReportSections) -> io::Result<()> {
        self.write_findings(findings)?;
        self.sections = Some(sections.clone());
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
        for f in findings {
            serde_json::to_writer(
                &mut self.out,
                &Tagged {
                    kind: "finding",
                    inner: &f?,
                },
            )?;
            self.out.write_all(b"\n")?;
        }
        self.files.push(file.clone());
        Ok(())
    }

    fn finish(&mut self, header: &Header, summary: &Summary) -> io::Result<()> {
        let tail = Tail {
            header,
            summary,
            files: &self.files,
            sections: self.sections.as_ref(),
        };
        serde_json::to_writer(
            &mut self.out,
            &Tagged {
                kind: "summary",
                inner: &tail,
            },
        )?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

impl<W: Write> JsonlEmitter<W> {
    fn write_findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        for f in findings {
            serde_json::to_writer(
                &mut self.out,
                &Tagged {
                    kind: "finding",
                    inner: f,
                },
            )?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }
}
