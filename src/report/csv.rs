//! `--format csv`: one finding a row with the columns analysts sort by,
//! RFC 4180 quoting, control characters escaped (`\u{1b}`, `\r`, `\n`: a
//! report on stdout reaches a terminal, and a line break inside a cell
//! breaks line-based tools), and cells that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-` or `@`) defused with a leading
//! apostrophe.

use std::io::{self, Write};

use super::{Emitter, FileReport, Finding, Header, Summary};

/// The header row.
pub const COLUMNS: [&str; 17] = [
    "timestamp",
    "level",
    "category",
    "rule_id",
    "rule_title",
    "path",
    "line",
    "c-ip",
    "cs-method",
    "cs-uri",
    "sc-status",
    "pan_masked",
    "pan_brand",
    "fingerprint",
    "evidence",
    "decoded",
    "decoded_evidence",
];

/// Makes a cell inert in spreadsheets: a leading `=`, `+`, `-` or `@` (also
/// tab and carriage return, which some apps strip first) gets an apostrophe.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// A cell as written: control characters escaped, then defused.
pub(crate) fn cell(c: &str) -> String {
    defuse(&crate::text::sanitize(c)).into_owned()
}

/// The CSV writer every CSV skimhunt writes uses (findings, exposed
/// sessions): RFC 4180, quoted where needed, CRLF.
pub(crate) fn writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

pub struct CsvEmitter<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvEmitter<W> {
    pub fn new(out: W) -> Self {
        CsvEmitter { out: writer(out) }
    }
}

fn row(f: &Finding) -> [String; 17] {
    let field = |k: &str| f.fields.get(k).unwrap_or_default().to_string();
    [
        f.timestamp.map(|t| t.to_string()).unwrap_or_default(),
        f.level.as_str().to_string(),
        f.category.as_str().to_string(),
        f.rule_id.clone(),
        f.rule_title.clone(),
        f.path.clone(),
        f.line.to_string(),
        field("c-ip"),
        field("cs-method"),
        field("cs-uri"),
        field("sc-status"),
        f.pan.as_ref().map(|p| p.masked.clone()).unwrap_or_default(),
        f.pan
            .as_ref()
            .map(|p| p.brand.as_str().to_string())
            .unwrap_or_default(),
        f.fingerprint.clone(),
        f.evidence.clone(),
        f.decoded.join(" "),
        f.decoded_evidence.clone().unwrap_or_default(),
    ]
}

impl<W: Write> Emitter for CsvEmitter<W> {
    fn begin(&mut self, _header: &Header) -> io::Result<()> {
        self.out.write_record(COLUMNS)?;
        Ok(())
    }

    fn file_stream(
        &mut self,
        _file: &FileReport,
        findings: &mut dyn Iterator<Item = io::Result<Finding>>,
    ) -> io::Result<()> {
        for f in findings {
            let cells = row(&f?);
            self.out.write_record(cells.iter().map(|c| cell(c)))?;
        }
        Ok(())
    }

    fn sections(
        &mut self,
        findings: &[Finding],
        _sections: &crate::detect::ReportSections,
    ) -> io::Result<()> {
        for f in findings {
            let cells = row(f);
            self.out.write_record(cells.iter().map(|c| cell(c)))?;
        }
        Ok(())
    }

    fn finish(&mut self, _header: &Header, _summary: &Summary) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defuses_formula_cells_only() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("+1"), "'+1");
        assert_eq!(defuse("-2"), "'-2");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("GET"), "GET");
        assert_eq!(defuse(""), "");
    }

    #[test]
    fn cells_hold_no_control_characters() {
        assert_eq!(cell("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(cell("l1\r\nl2\tt"), "l1\\r\\nl2\tt");
        // Escaped first, so an escape cannot hide a formula.
        assert_eq!(cell("\r=1"), "\\r=1");
        assert_eq!(cell("=1"), "'=1");
    }
}
