//! `--format json`: one report object, written at the end. Findings are
//! rendered as they arrive (while the scan goes on) into the text of the
//! `findings` array, kept in memory up to [`RENDERED_IN_MEMORY`] bytes and
//! in an unnamed temporary file past that, and copied after the rest of the
//! report: a million findings still make one report, in bounded memory,
//! without a serialise/parse round trip at the end.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use serde::Serialize;

use super::{Emitter, FileReport, Finding, Header, Summary};
use crate::detect::ReportSections;

/// Rendered findings kept in memory before they go to a temporary file.
pub const RENDERED_IN_MEMORY: usize = 16 << 20;

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
}

/// The text of the findings array's items, in order.
#[derive(Default)]
struct Rendered {
    count: u64,
    memory: Vec<u8>,
    /// The bytes after `memory`, once it grew past the limit.
    file: Option<BufWriter<File>>,
    /// Set when the temporary file failed (disk full): everything after
    /// stays in memory rather than being lost.
    no_file: bool,
    /// Reused buffers: one finding pretty-printed, then indented.
    body: Vec<u8>,
    item: Vec<u8>,
}

impl Rendered {
    /// Appends one finding with the layout serde_json gives a nested array
    /// (two-space indent, items at depth two).
    fn push(&mut self, f: &Finding) -> io::Result<()> {
        self.item.clear();
        self.item
            .extend_from_slice(if self.count == 0 { b"\n" } else { b",\n" });
        self.body.clear();
        serde_json::to_writer_pretty(&mut self.body, f)?;
        for (k, line) in self.body.split(|&b| b == b'\n').enumerate() {
            if k > 0 {
                self.item.push(b'\n');
            }
            self.item.extend_from_slice(b"    ");
            self.item.extend_from_slice(line);
        }
        self.count += 1;
        if self.file.is_none() && !self.no_file && self.memory.len() >= RENDERED_IN_MEMORY {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(BufWriter::new(f)),
                Err(_) => self.no_file = true,
            }
        }
        match &mut self.file {
            // A partial write cannot be taken back: the report would be
            // corrupt, so this is an error rather than a silent gap.
            Some(file) => file.write_all(&self.item).map_err(|_| {
                io::Error::other("could not write rendered findings to a temporary file")
            }),
            None => {
                self.memory.extend_from_slice(&self.item);
                Ok(())
            }
        }
    }

    fn copy_to(self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.memory)?;
        if let Some(w) = self.file {
            let mut f = w.into_inner().map_err(|e| e.into_error())?;
            f.seek(SeekFrom::Start(0))?;
            io::copy(&mut f, out)?;
        }
        Ok(())
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
            self.findings.push(&f?)?;
        }
        Ok(())
    }

    fn sections(&mut self, findings: &[Finding], sections: &ReportSections) -> io::Result<()> {
        for f in findings {
            self.findings.push(f)?;
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
        if findings.count == 0 {
            self.out.write_all(b",\n  \"findings\": []\n}\n")?;
            return self.out.flush();
        }
        self.out.write_all(b",\n  \"findings\": [")?;
        findings.copy_to(&mut self.out)?;
        self.out.write_all(b"\n  ]\n}\n")?;
        self.out.flush()
    }
}
