//! `--format json`: one report object. Findings come first: they are
//! rendered by the scanning threads ([`JsonItems`]) and written as each
//! file is done, so a million findings stream to the output instead of
//! waiting in a temporary file for the summary (a 2 GB scan with 600,000
//! findings spent a tenth of its time writing that file). The summary,
//! files and sections follow, once they are known.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use super::render::{FindingWriter, Indented, Rendered, after_key};
use super::{Emitter, FileReport, Finding, Header, Summary};
use crate::detect::ReportSections;

pub struct JsonEmitter<W: Write> {
    out: W,
    files: Vec<FileReport>,
    /// Findings written so far.
    findings: u64,
    sections: Option<ReportSections>,
}

impl<W: Write> JsonEmitter<W> {
    pub fn new(out: W) -> Self {
        JsonEmitter {
            out,
            files: Vec::new(),
            findings: 0,
            sections: None,
        }
    }

    fn push(&mut self, f: &Finding) -> io::Result<()> {
        let mut item = Vec::new();
        JsonItems.write(f, &mut item)?;
        let skip = usize::from(self.findings == 0);
        self.out.write_all(&item[skip..])?;
        self.findings += 1;
        Ok(())
    }

    /// Writes rendered items. Every item starts with the comma that
    /// separates it from the one before; the report's first has none.
    fn write_items(&mut self, items: Rendered) -> io::Result<()> {
        let n = items.len();
        if n == 0 {
            return Ok(());
        }
        let skip = u64::from(self.findings == 0);
        items.into_bytes().copy_to(skip, &mut self.out)?;
        self.findings += n;
        Ok(())
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
        static KEY: std::sync::LazyLock<memchr::memmem::Finder> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\n      \"line\": "));
        after_key(&out[start..], &KEY).map(|i| start + i)
    }
}

/// The report after its findings.
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
        self.out.write_all(b"{\n  \"findings\": [")
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
        self.write_items(findings)
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
        // The rest of the object, pretty-printed, joins the open one
        // without its own opening brace.
        let rest = serde_json::to_vec_pretty(&report)?;
        let Some(rest) = rest.strip_prefix(b"{") else {
            return Err(io::Error::other("report object did not start with '{'"));
        };
        let close: &[u8] = if self.findings == 0 { b"]," } else { b"\n  ]," };
        self.out.write_all(close)?;
        self.out.write_all(rest)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
