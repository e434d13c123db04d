//! Findings rendered where they are made. A format that writes each finding
//! on its own ([`FindingWriter`]) has the scanning threads render them, so
//! the thread that assembles the report in file order only copies bytes:
//! one 2 GB file split over the pool otherwise ended with every finding
//! rendered on one thread.
//!
//! A run of lines (a chunk of a file) does not know how many lines come
//! before it until earlier runs are counted, so its findings are rendered
//! with run-relative line numbers into [`Frames`], and rewritten with the
//! final number when the run joins its file ([`Rendered::append`]).

use std::io::{self, Read, Write};

use super::Finding;
use super::spill::Bytes;

/// Renders one finding as its output format writes it.
pub trait FindingWriter: Send + Sync {
    /// Appends `f` to `out` and returns the offset in `out` of the first
    /// digit of its line number.
    fn write(&self, f: &Finding, out: &mut Vec<u8>) -> io::Result<usize>;
}

/// Bytes of a run's findings kept in memory before the rest spill to disk
/// (a few runs are in flight per thread).
const FRAMES_IN_MEMORY: usize = 8 << 20;

/// The findings of one run, rendered with run-relative line numbers. Each is
/// framed as three little-endian u64 (item length, offset of the line
/// number's first digit, line number) and the item's bytes.
pub struct Frames {
    bytes: Bytes,
    count: u64,
    scratch: Vec<u8>,
}

impl Default for Frames {
    fn default() -> Self {
        Frames {
            bytes: Bytes::with_limit(FRAMES_IN_MEMORY),
            count: 0,
            scratch: Vec::new(),
        }
    }
}

impl Frames {
    /// Renders `f` (whose `line` is relative to the run) and appends it,
    /// in place while the run's bytes are in memory.
    pub fn push(&mut self, w: &dyn FindingWriter, f: &Finding) -> io::Result<()> {
        let mut num = [0u8; 20];
        let line = decimal(f.line, &mut num);
        self.bytes.append_with(&mut self.scratch, |buf| {
            let head = buf.len();
            buf.extend_from_slice(&[0; 24]);
            let item = head + 24;
            let at = w.write(f, buf)? - item;
            if buf.get(item + at..item + at + line.len()) != Some(line) {
                return Err(io::Error::other(
                    "rendered finding has no line number where expected",
                ));
            }
            let len = buf.len() - item;
            buf[head..head + 8].copy_from_slice(&(len as u64).to_le_bytes());
            buf[head + 8..head + 16].copy_from_slice(&(at as u64).to_le_bytes());
            buf[head + 16..item].copy_from_slice(&f.line.to_le_bytes());
            Ok(())
        })?;
        self.count += 1;
        Ok(())
    }

    /// Number of findings.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Rendered findings of a file (or a report) with their final line numbers,
/// in order.
#[derive(Default)]
pub struct Rendered {
    bytes: Bytes,
    count: u64,
}

impl Rendered {
    /// Appends a run's findings, adding `line_base` to their line numbers.
    pub fn append(&mut self, frames: Frames, line_base: u64) -> io::Result<()> {
        // About as many bytes as the run's frames (line numbers may grow).
        self.bytes.reserve(frames.bytes.len() as usize);
        let mut r = frames.bytes.into_reader()?;
        let mut item = Vec::new();
        let mut num = [0u8; 20];
        for _ in 0..frames.count {
            let mut head = [0u8; 24];
            r.read_exact(&mut head)?;
            let word = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().expect("8 bytes"));
            let (len, at, line) = (word(0) as usize, word(8) as usize, word(16));
            item.resize(len, 0);
            r.read_exact(&mut item)?;
            let end = at + decimal(line, &mut num).len();
            if end > len {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "rendered finding framed wrongly",
                ));
            }
            self.bytes.append(&item[..at])?;
            self.bytes.append(decimal(line + line_base, &mut num))?;
            self.bytes.append(&item[end..])?;
            self.count += 1;
        }
        Ok(())
    }

    /// Appends an item whose line number is final.
    pub fn push(&mut self, item: &[u8]) -> io::Result<()> {
        self.bytes.append(item)?;
        self.count += 1;
        Ok(())
    }

    /// Appends another file's findings.
    pub fn extend(&mut self, other: Rendered) -> io::Result<()> {
        self.count += other.count;
        io::copy(&mut other.bytes.into_reader()?, &mut self.bytes)?;
        Ok(())
    }

    /// Number of findings.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The rendered text.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }
}

/// `n` in decimal, in the tail of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// serde_json's pretty layout (two-space indent), starting `depth` levels
/// deep.
pub(crate) struct Indented {
    depth: usize,
    has_value: bool,
}

impl Indented {
    pub(crate) fn new(depth: usize) -> Self {
        Indented {
            depth,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, b: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, b: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            for _ in 0..self.depth {
                w.write_all(b"  ")?;
            }
        }
        w.write_all(b)
    }
}

impl serde_json::ser::Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// The offset just past the first `key` in `item`: where a writer's line
/// number starts. Writers pass a key text that only the finding's own
/// `line` key can produce (JSON strings hold no raw newline or bare quote).
/// The key's searcher is built once (`memmem::find` builds one per call).
pub(crate) fn after_key(item: &[u8], key: &memchr::memmem::Finder) -> io::Result<usize> {
    key.find(item)
        .map(|i| i + key.needle().len())
        .ok_or_else(|| io::Error::other("rendered finding lacks its line number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::{Category, Level};
    use crate::report::json::JsonItems;
    use crate::report::jsonl::JsonlLines;

    /// A finding whose strings hold the writers' key texts, escaped.
    fn finding(line: u64) -> Finding {
        Finding {
            rule_id: "r,\"line\":1".into(),
            rule_title: "t\n      \"line\": 2".into(),
            level: Level::High,
            category: Category::CardSkimming,
            path: "dir/,\"line\":3\n  \"line\": 4.log".into(),
            line,
            byte_offset: 7,
            timestamp: None,
            fields: [("line".to_string(), "5".to_string())].into(),
            evidence: "e".into(),
            decoded: Vec::new(),
            decoded_evidence: None,
            pan: None,
            fingerprint: "f".into(),
        }
    }

    #[test]
    fn appended_runs_get_their_file_line_numbers_through_the_spill() {
        let writers: [&dyn FindingWriter; 2] = [&JsonItems, &JsonlLines];
        // Tiny limits: both the run and the file spill to disk at once;
        // middling: after a few findings held in memory; large: never.
        let limits = [(50, 70), (1200, 1500), (1 << 20, 1 << 20)];
        for (w, (run_limit, file_limit)) in writers
            .into_iter()
            .flat_map(|w| limits.into_iter().map(move |l| (w, l)))
        {
            let lines = [1u64, 9, 10, 99, 100, 12345];
            let mut frames = Frames {
                bytes: Bytes::with_limit(run_limit),
                count: 0,
                scratch: Vec::new(),
            };
            let mut file = Rendered {
                bytes: Bytes::with_limit(file_limit),
                count: 0,
            };
            let mut want = Vec::new();
            for &l in &lines {
                frames.push(w, &finding(l)).unwrap();
                w.write(&finding(l + 995), &mut want).unwrap();
            }
            file.append(frames, 995).unwrap();
            assert_eq!(file.len(), lines.len() as u64);
            let mut got = Vec::new();
            file.into_bytes().copy_to(0, &mut got).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }
}
