//! `--format json`: one report object. Findings come first: they are
//! rendered by the scanning threads ([`JsonItems`]) and written as each
//! file is done, so a million findings stream to the output instead of
//! waiting in a temporary file for the summary (a 2 GB scan with 600,000
//! findings spent a tenth of its time writing that file). The summary,
//! files and sections follow, once they are known.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use super::render::{FindingWriter, Rendered};
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
        items.copy_to(skip, &mut self.out)?;
        self.findings += n;
        Ok(())
    }
}

/// Findings as items of the report's `findings` array: `,` and the object
/// on new lines at depth two, the layout serde_json gives a nested array.
/// The report drops the first item's comma.
///
/// Written by hand rather than through serde: with a list that matches 7 %
/// of all lines (600,000 findings per 2 GB), serde's per-key formatter
/// calls and byte-at-a-time string escaping were a tenth of the scan. A test
/// holds the bytes equal to serde_json's.
pub struct JsonItems;

impl FindingWriter for JsonItems {
    fn write(&self, f: &Finding, out: &mut Vec<u8>) -> io::Result<usize> {
        const KEY: &[u8] = b"\n      \"";
        let key = |out: &mut Vec<u8>, k: &str| {
            out.extend_from_slice(KEY);
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\": ");
        };
        // Opens the `i`th member of a nested object or array.
        let member = |out: &mut Vec<u8>, i: usize| {
            out.extend_from_slice(if i == 0 {
                b"\n        "
            } else {
                b",\n        "
            });
        };
        out.extend_from_slice(b",\n    {");
        key(out, "rule_id");
        json_str(out, &f.rule_id);
        out.push(b',');
        key(out, "rule_title");
        json_str(out, &f.rule_title);
        out.push(b',');
        key(out, "level");
        json_str(out, f.level.as_str());
        out.push(b',');
        key(out, "category");
        json_str(out, f.category.as_str());
        out.push(b',');
        key(out, "path");
        json_str(out, &f.path);
        out.push(b',');
        key(out, "line");
        let at = out.len();
        write!(out, "{},", f.line)?;
        key(out, "byte_offset");
        write!(out, "{},", f.byte_offset)?;
        key(out, "timestamp");
        match &f.timestamp {
            // Its serde form is its Display form, which needs no escaping.
            Some(t) => write!(out, "\"{t}\",")?,
            None => out.extend_from_slice(b"null,"),
        }
        key(out, "fields");
        if f.fields.is_empty() {
            out.extend_from_slice(b"{}");
        } else {
            out.push(b'{');
            for (i, (k, v)) in f.fields.iter().enumerate() {
                member(out, i);
                json_str(out, k);
                out.extend_from_slice(b": ");
                json_str(out, v);
            }
            out.extend_from_slice(b"\n      }");
        }
        out.push(b',');
        key(out, "evidence");
        json_str(out, &f.evidence);
        out.push(b',');
        if !f.decoded.is_empty() {
            key(out, "decoded");
            out.push(b'[');
            for (i, d) in f.decoded.iter().enumerate() {
                member(out, i);
                json_str(out, d);
            }
            out.extend_from_slice(b"\n      ],");
        }
        if let Some(d) = &f.decoded_evidence {
            key(out, "decoded_evidence");
            json_str(out, d);
            out.push(b',');
        }
        key(out, "pan");
        match &f.pan {
            Some(p) => {
                out.extend_from_slice(b"{\n        \"masked\": ");
                json_str(out, &p.masked);
                out.extend_from_slice(b",\n        \"brand\": ");
                json_str(out, p.brand.as_str());
                out.extend_from_slice(b",\n        \"fingerprint\": ");
                json_str(out, &p.fingerprint);
                out.extend_from_slice(b",\n        \"test_card\": ");
                out.extend_from_slice(if p.test_card { b"true" } else { b"false" });
                out.extend_from_slice(b"\n      },");
            }
            None => out.extend_from_slice(b"null,"),
        }
        key(out, "fingerprint");
        json_str(out, &f.fingerprint);
        out.extend_from_slice(b"\n    }");
        Ok(at)
    }
}

/// `s` as a JSON string, escaped as serde_json escapes it (`"`, `\\` and
/// control bytes; nothing else). Clean text is skipped 8 bytes at a time.
fn json_str(out: &mut Vec<u8>, s: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `x` that is below 0x20, a quote or a
    // backslash. Borrows run only upwards from such a byte, so the lowest
    // bit set is exact (higher ones may not be).
    let special = |x: u64| {
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
            | zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
    };
    let word = |w: &[u8]| u64::from_le_bytes(w.try_into().expect("8 bytes"));
    let needs = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
    let b = s.as_bytes();
    out.push(b'"');
    let (mut clean, mut i) = (0, 0);
    loop {
        let mut flagged = false;
        while let Some(w) = b.get(i..i + 8) {
            let m = special(word(w));
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                flagged = true;
                break;
            }
            i += 8;
        }
        if !flagged {
            // Fewer than 8 bytes left: the last 8 bytes as one word, else
            // one by one.
            let tail_clean = b.len() >= 8 && special(word(&b[b.len() - 8..])) == 0;
            if tail_clean {
                i = b.len();
            }
            while i < b.len() && !needs(b[i]) {
                i += 1;
            }
            if i == b.len() {
                break;
            }
        }
        let c = b[i];
        out.extend_from_slice(&b[clean..i]);
        let short = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            _ => 0,
        };
        if short != 0 {
            out.extend_from_slice(&[b'\\', short]);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let (hi, lo) = (HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]);
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
        }
        i += 1;
        clean = i;
    }
    out.extend_from_slice(&b[clean..]);
    out.push(b'"');
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::Brand;
    use crate::level::{Category, Level};
    use crate::report::PanReport;
    use crate::report::render::Indented;

    /// The hand-written finding is byte for byte what serde_json writes,
    /// on findings whose strings hold every control byte, quotes,
    /// backslashes, DEL and multi-byte characters, with and without the
    /// optional parts; and the returned offset is the line number's.
    #[test]
    fn written_findings_equal_serde_json() {
        let mut rand = crate::test_util::rng(0x6a09_e667_f3bc_c908);
        let chars: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain("\"\\/\u{7f}aZ9 -é€😀\u{2028}\u{feff}".chars())
            .collect();
        let mut text = |max: u64| -> String {
            let n = rand(max);
            (0..n)
                .map(|_| {
                    if rand(3) == 0 {
                        chars[rand(chars.len() as u64) as usize]
                    } else {
                        char::from(b'a' + rand(26) as u8)
                    }
                })
                .collect()
        };
        let mut rand = crate::test_util::rng(0xbb67_ae85_84ca_a73b);
        let brands = [Brand::Visa, Brand::Mastercard, Brand::Amex, Brand::Unionpay];
        let categories = [
            Category::InjectedScript,
            Category::CardSkimming,
            Category::CardExposure,
            Category::WebAttack,
        ];
        let layers = ["url", "base64", "hex", "html"];
        for round in 0..500 {
            let fields = (0..rand(5)).map(|_| (text(12), text(40))).collect();
            let f = Finding {
                rule_id: text(20),
                rule_title: text(40),
                level: Level::ALL[rand(5) as usize],
                category: categories[rand(4) as usize],
                path: text(30),
                line: rand(u64::MAX),
                byte_offset: rand(1 << 40),
                timestamp: (rand(2) == 0).then(|| {
                    jiff::Timestamp::new(rand(4_000_000_000) as i64, rand(3) as i32 * 250_000_000)
                        .unwrap()
                }),
                fields,
                evidence: text(200),
                decoded: (0..rand(3)).map(|_| layers[rand(4) as usize]).collect(),
                decoded_evidence: (rand(2) == 0).then(|| text(50)),
                pan: (rand(2) == 0).then(|| PanReport {
                    masked: text(16),
                    brand: brands[rand(4) as usize],
                    fingerprint: text(32),
                    test_card: rand(2) == 0,
                }),
                fingerprint: text(32),
            };
            let mut want = b",\n    ".to_vec();
            let mut ser = serde_json::Serializer::with_formatter(&mut want, Indented::new(2));
            f.serialize(&mut ser).unwrap();
            let mut got = b"prefix".to_vec();
            let at = JsonItems.write(&f, &mut got).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&got[6..]),
                String::from_utf8_lossy(&want),
                "round {round}"
            );
            assert!(
                got[at..].starts_with(f.line.to_string().as_bytes()),
                "round {round}"
            );
            assert!(got[..at].ends_with(b"\n      \"line\": "), "round {round}");
        }
    }
}
