//! `--format jsonl`: one finding per line as files complete, then one
//! `{"type":"summary", …}` line. Findings are never all held in memory.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use super::render::{FindingWriter, Rendered, after_key};
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

/// One `{"type":"finding", …}` line per finding.
pub struct JsonlLines;

impl FindingWriter for JsonlLines {
    fn write(&self, f: &Finding, out: &mut Vec<u8>) -> io::Result<usize> {
        let start = out.len();
        serde_json::to_writer(
            &mut *out,
            &Tagged {
                kind: "finding",
                inner: f,
            },
        )?;
        out.push(b'\n');
        static KEY: std::sync::LazyLock<memchr::memmem::Finder> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b",\"line\":"));
        after_key(&out[start..], &KEY).map(|i| start + i)
    }
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

    fn writer(&self) -> Option<Arc<dyn FindingWriter>> {
        Some(Arc::new(JsonlLines))
    }

    fn file_rendered(&mut self, file: &FileReport, findings: Rendered) -> io::Result<()> {
        findings.copy_to(0, &mut self.out)?;
        self.files.push(file.clone());
        Ok(())
    }

    fn sections(&mut self, findings: &[Finding], sections: &ReportSections) -> io::Result<()> {
        self.write_findings(findings)?;
        self.sections = Some(sections.clone());
        Ok(())
    }

    fn file_stream(
        &mut self,
        file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()> {
        let mut line = Vec::new();
        for f in findings {
            line.clear();
            JsonlLines.write(&f?, &mut line)?;
            self.out.write_all(&line)?;
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
        let mut line = Vec::new();
        for f in findings {
            line.clear();
            JsonlLines.write(f, &mut line)?;
            self.out.write_all(&line)?;
        }
        Ok(())
    }
}
