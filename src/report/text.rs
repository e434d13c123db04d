//! `--format text`: a human listing for terminals. Colour (ANSI) only when
//! asked for, which the caller does when standard output is a terminal;
//! everything taken from logs or rule files goes through
//! [`crate::text::sanitize`] so no input can emit an escape sequence.

use std::io::{self, Write};

use super::{Emitter, FileReport, FileStatus, Finding, Header, Summary};
use crate::level::Level;
use crate::text::sanitize;

pub struct TextEmitter<W: Write> {
    out: W,
    color: bool,
}

impl<W: Write> TextEmitter<W> {
    /// `color`: use ANSI colours (pass `stdout().is_terminal()` for stdout).
    pub fn new(out: W, color: bool) -> Self {
        TextEmitter { out, color }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn level_color(l: Level) -> &'static str {
    match l {
        Level::Critical => "1;35",
        Level::High => "1;31",
        Level::Medium => "33",
        Level::Low => "36",
        Level::Informational => "2",
    }
}

impl<W: Write> Emitter for TextEmitter<W> {
    fn begin(&mut self, header: &Header) -> io::Result<()> {
        let bound = |t: Option<jiff::Timestamp>| t.map_or("-".to_string(), |t| t.to_string());
        let title = self.paint("1", &format!("skimhunt {}", header.tool.version));
        writeln!(
            self.out,
            "{title}  window {} .. {}  rules {}",
            bound(header.window.since),
            bound(header.window.until),
            header.scan.rules.count
        )
    }

    fn file_stream(
        &mut self,
        file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()> {
        if file.status == FileStatus::Error {
            let msg = format!(
                "error: {}: {}",
                sanitize(&file.path),
                sanitize(file.reason.as_deref().unwrap_or("error"))
            );
            let msg = self.paint("31", &msg);
            writeln!(self.out, "{msg}")?;
        }
        for f in findings {
            let f = &f?;
            let level = self.paint(level_color(f.level), &format!("{:<13}", f.level.as_str()));
            let when = f
                .timestamp
                .map_or("(undated)".to_string(), |t| t.to_string());
            let place = self.paint("1", &format!("{}:{}", sanitize(&f.path), f.line));
            writeln!(
                self.out,
                "{level} {when}  {place}  {} [{}]",
                sanitize(&f.rule_id),
                f.category.as_str()
            )?;
            writeln!(self.out, "    {}", sanitize(&f.rule_title))?;
            if let Some(p) = &f.pan {
                writeln!(
                    self.out,
                    "    card {} ({}{})",
                    p.masked,
                    p.brand.as_str(),
                    if p.test_card {
                        ", public test number"
                    } else {
                        ""
                    }
                )?;
            }
            let evidence = self.paint("2", &sanitize(&f.evidence));
            writeln!(self.out, "    {evidence}")?;
            if let Some(d) = &f.decoded_evidence {
                let d = self.paint("2", &sanitize(d));
                writeln!(self.out, "    decoded {}: {d}", f.decoded.join(", "))?;
            }
        }
        Ok(())
    }

    fn sections(
        &mut self,
        findings: &[Finding],
        _sections: &crate::detect::ReportSections,
    ) -> io::Result<()> {
        // Drift findings carry their own file and line; print them the same way.
        self.file(&FileReport::new("detectors"), findings)
    }

    fn finish(&mut self, _header: &Header, summary: &Summary) -> io::Result<()> {
        let levels: Vec<String> = summary
            .by_level
            .iter()
            .rev()
            .map(|(l, n)| format!("{n} {l}"))
            .collect();
        let mut line = format!(
            "{} findings in {} files ({} records)",
            summary.findings, summary.files.scanned, summary.records
        );
        if !levels.is_empty() {
            line.push_str(&format!(": {}", levels.join(", ")));
        }
        if summary.baselined + summary.ignored > 0 {
            line.push_str(&format!(
                "; suppressed {} baselined, {} ignored",
                summary.baselined, summary.ignored
            ));
        }
        let line = self.paint("1", &line);
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::level::Category;
    use crate::report::{FileReport, Header, RulesInfo, ScanInfo, ToolInfo, WindowInfo};

    fn header() -> Header {
        Header {
            tool: ToolInfo {
                name: "skimhunt",
                version: "0",
            },
            scan: ScanInfo {
                started: jiff::Timestamp::UNIX_EPOCH,
                finished: None,
                command_line: vec![],
                rules: RulesInfo {
                    count: 1,
                    sha256: String::new(),
                },
                detectors: vec![],
                host_time_zone: "UTC".into(),
            },
            window: WindowInfo {
                since: None,
                until: None,
            },
        }
    }

    #[test]
    fn log_text_cannot_emit_escapes_and_plain_has_none() {
        let f = Finding {
            rule_id: "r".into(),
            rule_title: "title\x1b]0;pwned\x07".into(),
            level: Level::High,
            category: Category::InjectedScript,
            path: "a\x1b[2J.log".into(),
            line: 3,
            byte_offset: 0,
            timestamp: None,
            fields: crate::report::Fields::new(),
            evidence: "<script>\x1b[31m".into(),
            decoded: Vec::new(),
            decoded_evidence: None,
            pan: None,
            fingerprint: "f".into(),
        };
        for color in [false, true] {
            let mut buf = Vec::new();
            let mut e = TextEmitter::new(&mut buf, color);
            e.begin(&header()).unwrap();
            e.file(&FileReport::new("a.log"), std::slice::from_ref(&f))
                .unwrap();
            e.finish(&header(), &Summary::default()).unwrap();
            let s = String::from_utf8(buf).unwrap();
            assert!(s.contains("<script>\\u{1b}[31m"), "{s}");
            // Only our own SGR sequences, and none without colour.
            let escapes = s.matches('\x1b').count();
            let sgr = s.matches("\x1b[").count();
            assert_eq!(escapes, sgr, "{s:?}");
            assert_eq!(escapes == 0, !color, "{s:?}");
            assert!(!s.contains('\x07'));
        }
    }
}
