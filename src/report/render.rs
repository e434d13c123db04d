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
use super::spill::{BYTES_IN_MEMORY, Bytes};

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
/// in order. Runs that fit in memory are held as they were rendered and
/// renumbered only as they are written out ([`Rendered::copy_to`]): joining
/// them first copied every finding through cold memory (2 % of a scan with
/// 600,000 findings). The rest are renumbered into `bytes`, which spills to
/// disk.
pub struct Rendered {
    /// Runs and their line bases, all before `bytes`.
    held: Vec<(Frames, u64)>,
    held_len: usize,
    /// Bytes of held runs allowed (memory the file may keep); 0 once
    /// anything went to `bytes`.
    hold_limit: usize,
    bytes: Bytes,
    count: u64,
}

impl Default for Rendered {
    fn default() -> Self {
        Rendered::with_limit(BYTES_IN_MEMORY)
    }
}

impl Rendered {
    /// Empty, keeping up to `limit` bytes of held runs and as many again of
    /// renumbered ones in memory.
    fn with_limit(limit: usize) -> Self {
        Rendered {
            held: Vec::new(),
            held_len: 0,
            hold_limit: limit,
            bytes: Bytes::with_limit(limit),
            count: 0,
        }
    }

    /// Appends a run's findings, adding `line_base` to their line numbers.
    pub fn append(&mut self, frames: Frames, line_base: u64) -> io::Result<()> {
        let len = frames.bytes.len() as usize;
        // Held runs all come before `bytes`: once a run went there, none
        // is held.
        if self.bytes.is_empty()
            && frames.bytes.in_memory().is_some()
            && self.held_len.saturating_add(len) <= self.hold_limit
        {
            self.count += frames.count;
            self.held_len += len;
            self.held.push((frames, line_base));
            return Ok(());
        }
        self.hold_limit = 0;
        // About as many bytes as the run's frames (line numbers may grow).
        self.bytes.reserve(len);
        let bytes = &mut self.bytes;
        let n = each_renumbered(frames, line_base, |piece| bytes.append(piece))?;
        self.count += n;
        Ok(())
    }

    /// Appends an item whose line number is final.
    pub fn push(&mut self, item: &[u8]) -> io::Result<()> {
        self.hold_limit = 0;
        self.bytes.append(item)?;
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

    /// Writes the rendered text after its first `skip` bytes to `out`.
    pub fn copy_to(self, skip: u64, out: &mut dyn Write) -> io::Result<()> {
        let mut skip = skip;
        for (frames, base) in self.held {
            each_renumbered(frames, base, |piece| {
                let cut = usize::try_from(skip).map_or(piece.len(), |s| s.min(piece.len()));
                skip -= cut as u64;
                out.write_all(&piece[cut..])
            })?;
        }
        self.bytes.copy_to(skip, out)
    }
}

/// Passes a run's findings, piece by piece, to `emit` with `line_base` added
/// to their line numbers, and returns how many there were.
fn each_renumbered(
    frames: Frames,
    line_base: u64,
    mut emit: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<u64> {
    let mut renumbered = |item: &[u8], at: usize, line: u64| {
        let mut num = [0u8; 20];
        let end = at + decimal(line, &mut num).len();
        if end > item.len() {
            return Err(bad_frame());
        }
        emit(&item[..at])?;
        emit(decimal(line + line_base, &mut num))?;
        emit(&item[end..])
    };
    if let Some(mut mem) = frames.bytes.in_memory() {
        // The common case: frames read where they lie, not copied out.
        for _ in 0..frames.count {
            let (head, rest) = mem.split_at_checked(24).ok_or_else(bad_frame)?;
            let (len, at, line) = frame_head(head.try_into().expect("24 bytes"));
            let (item, rest) = rest.split_at_checked(len).ok_or_else(bad_frame)?;
            renumbered(item, at, line)?;
            mem = rest;
        }
        return Ok(frames.count);
    }
    let mut r = frames.bytes.into_reader()?;
    let mut item = Vec::new();
    for _ in 0..frames.count {
        let mut head = [0u8; 24];
        r.read_exact(&mut head)?;
        let (len, at, line) = frame_head(&head);
        item.resize(len, 0);
        r.read_exact(&mut item)?;
        renumbered(&item, at, line)?;
    }
    Ok(frames.count)
}

/// A frame's head: item length, offset of the line number, line number.
fn frame_head(head: &[u8; 24]) -> (usize, usize, u64) {
    let word = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().expect("8 bytes"));
    (word(0) as usize, word(8) as usize, word(16))
}

fn bad_frame() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "rendered finding framed wrongly",
    )
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
        // Run limits: frames spill to disk at once, after a few findings, or
        // never. File limits: no run is held, some are, all are.
        let run_limits = [50, 1200, 1 << 20];
        let file_limits = [70, 1500, 3000, 1 << 20];
        // (line base, run-relative lines) of three runs; a long run between
        // two short ones, which must not be held after it went to disk.
        let runs: [(u64, &[u64]); 3] = [(0, &[1, 9]), (995, &[10, 99, 100, 101]), (5000, &[12345])];
        let (mut held_only, mut mixed) = (false, false);
        for w in writers {
            for (run_limit, file_limit) in run_limits
                .into_iter()
                .flat_map(|r| file_limits.into_iter().map(move |f| (r, f)))
            {
                let mut file = Rendered::with_limit(file_limit);
                let mut want = Vec::new();
                for (base, lines) in runs {
                    let mut frames = Frames {
                        bytes: Bytes::with_limit(run_limit),
                        count: 0,
                        scratch: Vec::new(),
                    };
                    for &l in lines {
                        frames.push(w, &finding(l)).unwrap();
                        w.write(&finding(l + base), &mut want).unwrap();
                    }
                    file.append(frames, base).unwrap();
                }
                held_only |= file.held.len() == runs.len();
                mixed |= !file.held.is_empty() && !file.bytes.is_empty();
                // An item with its final number goes after every run.
                let mut last = Vec::new();
                w.write(&finding(77777), &mut last).unwrap();
                file.push(&last).unwrap();
                want.extend_from_slice(&last);
                assert_eq!(file.len(), 8);
                // The emitters skip the first item's separator.
                let mut got = Vec::new();
                file.copy_to(1, &mut got).unwrap();
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    String::from_utf8(want[1..].to_vec()).unwrap(),
                    "run limit {run_limit}, file limit {file_limit}"
                );
            }
        }
        assert!(held_only && mixed, "held {held_only}, mixed {mixed}");
    }

    #[test]
    fn held_runs_write_with_a_skip_into_their_pieces() {
        let mut file = Rendered::default();
        let mut want = Vec::new();
        for (base, l) in [(0u64, 3u64), (40, 8)] {
            let mut frames = Frames::default();
            frames.push(&JsonItems, &finding(l)).unwrap();
            JsonItems.write(&finding(l + base), &mut want).unwrap();
            file.append(frames, base).unwrap();
        }
        assert_eq!(file.held.len(), 2);
        // A skip that ends inside the first item, past its line number.
        let first = want.iter().position(|&b| b == b'}').unwrap() + 3;
        let mut got = Vec::new();
        file.copy_to(first as u64, &mut got).unwrap();
        assert_eq!(got, want[first..]);
    }
}
