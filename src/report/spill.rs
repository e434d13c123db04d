//! Findings in bounded memory. [`Findings`]: the first [`SPILL_AT`] are
//! kept in memory, the rest are written as JSON lines to an unnamed
//! temporary file and read back, in order, when replayed. [`Bytes`]: the
//! same for rendered text. A file with a million findings thus costs disk,
//! not RAM, for every output format.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::Finding;

/// Findings held in memory before the rest spill to disk.
pub const SPILL_AT: usize = 10_000;

/// An ordered, append-only list of findings that spills to disk.
pub struct Findings {
    threshold: usize,
    head: Vec<Finding>,
    spill: Option<BufWriter<File>>,
    spilled: u64,
    /// Findings pushed after a spill write failed (disk full): kept in memory
    /// rather than lost, replayed after the spilled ones.
    tail: Vec<Finding>,
}

impl Default for Findings {
    fn default() -> Self {
        Findings::new()
    }
}

impl std::fmt::Debug for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Findings")
            .field("len", &self.len())
            .field("spilled", &self.spilled)
            .finish()
    }
}

impl Findings {
    /// An empty list that spills past [`SPILL_AT`] findings.
    pub fn new() -> Self {
        Findings::with_threshold(SPILL_AT)
    }

    /// An empty list that spills past `threshold` findings.
    pub fn with_threshold(threshold: usize) -> Self {
        Findings {
            threshold,
            head: Vec::new(),
            spill: None,
            spilled: 0,
            tail: Vec::new(),
        }
    }

    /// Number of findings.
    pub fn len(&self) -> u64 {
        (self.head.len() + self.tail.len()) as u64 + self.spilled
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many findings went to disk.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// Appends one finding. Never loses it: if the temporary file cannot be
    /// created or written, it stays in memory.
    pub fn push(&mut self, f: Finding) {
        if self.spilled == 0 && self.tail.is_empty() && self.head.len() < self.threshold {
            self.head.push(f);
            return;
        }
        if !self.tail.is_empty() {
            self.tail.push(f);
            return;
        }
        if self.spill.is_none() {
            match tempfile::tempfile() {
                Ok(file) => self.spill = Some(BufWriter::with_capacity(1 << 16, file)),
                Err(_) => {
                    self.tail.push(f);
                    return;
                }
            }
        }
        let w = self.spill.as_mut().expect("created above");
        let ok = serde_json::to_writer(&mut *w, &f).is_ok() && w.write_all(b"\n").is_ok();
        if ok {
            self.spilled += 1;
        } else {
            // A half-written line would break the replay: stop spilling and
            // drop the partial line by rewinding to the last whole one.
            if let Ok(file) = self.spill.take().expect("set").into_inner() {
                let _ = truncate_to_lines(&file);
                self.spill = Some(BufWriter::new(file));
            }
            self.tail.push(f);
        }
    }

    /// Appends every finding of `other`, adding `line_base` to its lines.
    pub fn append(&mut self, other: Findings, line_base: u64) -> io::Result<()> {
        for f in other.replay()? {
            let mut f = f?;
            f.line += line_base;
            self.push(f);
        }
        Ok(())
    }

    /// Replays the findings in the order they were pushed.
    pub fn replay(self) -> io::Result<impl Iterator<Item = io::Result<Finding>>> {
        let spilled = match self.spill {
            None => None,
            Some(w) => {
                let mut file = w.into_inner().map_err(|e| e.into_error())?;
                file.seek(SeekFrom::Start(0))?;
                Some(
                    BufReader::with_capacity(1 << 16, file)
                        .lines()
                        .take(self.spilled as usize),
                )
            }
        };
        let replay = spilled
            .into_iter()
            .flatten()
            .map(|l| l.and_then(|l| serde_json::from_str::<Finding>(&l).map_err(io::Error::other)));
        Ok(self
            .head
            .into_iter()
            .map(Ok)
            .chain(replay)
            .chain(self.tail.into_iter().map(Ok)))
    }

    /// Keeps only the findings for which `keep` is true, in order (the
    /// list is replayed into a new one, so memory stays bounded).
    pub fn retain(&mut self, mut keep: impl FnMut(&Finding) -> bool) -> io::Result<()> {
        let old = std::mem::replace(self, Findings::with_threshold(self.threshold));
        for f in old.replay()? {
            let f = f?;
            if keep(&f) {
                self.push(f);
            }
        }
        Ok(())
    }

    /// All findings in a Vec (tests, small results).
    pub fn into_vec(self) -> io::Result<Vec<Finding>> {
        self.replay()?.collect()
    }
}

impl From<Vec<Finding>> for Findings {
    fn from(v: Vec<Finding>) -> Self {
        let mut out = Findings::new();
        for f in v {
            out.push(f);
        }
        out
    }
}

/// Rendered bytes kept in memory before the rest go to a temporary file.
pub const BYTES_IN_MEMORY: usize = 16 << 20;

/// Bytes appended in order, in bounded memory: the first `limit` stay in
/// memory, the rest go to an unnamed temporary file (or stay in memory
/// when none can be created, rather than being lost).
pub struct Bytes {
    limit: usize,
    memory: Vec<u8>,
    /// The bytes after `memory`, once it grew past the limit.
    file: Option<BufWriter<File>>,
    no_file: bool,
    len: u64,
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::with_limit(BYTES_IN_MEMORY)
    }
}

impl Bytes {
    /// Empty, keeping up to `limit` bytes in memory.
    pub fn with_limit(limit: usize) -> Self {
        Bytes {
            limit,
            memory: Vec::new(),
            file: None,
            no_file: false,
            len: 0,
        }
    }

    /// Number of bytes appended.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `b`. A failed write to the temporary file is an error: part
    /// of `b` may be there, and a gap cannot be taken back.
    pub fn append(&mut self, b: &[u8]) -> io::Result<()> {
        if self.file.is_none() && !self.no_file && self.memory.len() + b.len() > self.limit {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(BufWriter::with_capacity(1 << 16, f)),
                Err(_) => self.no_file = true,
            }
        }
        match &mut self.file {
            Some(f) => f.write_all(b).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("could not write rendered findings to a temporary file: {e}"),
                )
            })?,
            None => self.memory.extend_from_slice(b),
        }
        self.len += b.len() as u64;
        Ok(())
    }

    /// Appends what `write` adds to the end of a buffer. While the bytes
    /// are in memory it writes there, in place, instead of through
    /// `scratch` and a copy; what it wrote moves to the temporary file if
    /// it took the memory past the limit, as [`Bytes::append`] would have
    /// sent it. On an error nothing is appended.
    pub fn append_with(
        &mut self,
        scratch: &mut Vec<u8>,
        write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.file.is_some() {
            scratch.clear();
            write(scratch)?;
            return self.append(scratch);
        }
        let base = self.memory.len();
        if let Err(e) = write(&mut self.memory) {
            self.memory.truncate(base);
            return Err(e);
        }
        if self.memory.len() > self.limit && !self.no_file {
            let item = self.memory.split_off(base);
            return self.append(&item);
        }
        self.len += (self.memory.len() - base) as u64;
        Ok(())
    }

    /// Makes room for `n` more bytes in memory, when they will be kept
    /// there (fewer reallocations while a file's runs are joined).
    pub fn reserve(&mut self, n: usize) {
        if self.file.is_none() && self.memory.len().saturating_add(n) <= self.limit {
            self.memory.reserve(n);
        }
    }

    /// The bytes from the start.
    pub fn into_reader(self) -> io::Result<impl Read> {
        let file: Box<dyn Read> = match reread(self.file)? {
            None => Box::new(io::empty()),
            Some(r) => Box::new(r),
        };
        Ok(io::Cursor::new(self.memory).chain(file))
    }

    /// The bytes, while all of them are in memory.
    pub fn in_memory(&self) -> Option<&[u8]> {
        self.file.is_none().then_some(&self.memory[..])
    }

    /// Writes the bytes after the first `skip` to `out`. The part in memory
    /// goes in one write, with no copy through a buffer: a write that large
    /// passes a `BufWriter` by (a scan can render hundreds of MB).
    pub fn copy_to(self, skip: u64, out: &mut dyn Write) -> io::Result<()> {
        let in_memory =
            usize::try_from(skip).map_or(self.memory.len(), |s| s.min(self.memory.len()));
        out.write_all(&self.memory[in_memory..])?;
        let Some(mut r) = reread(self.file)? else {
            return Ok(());
        };
        io::copy(&mut (&mut r).take(skip - in_memory as u64), &mut io::sink())?;
        io::copy(&mut r, out)?;
        Ok(())
    }
}

impl Write for Bytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The temporary file written so far, read from its start.
fn reread(file: Option<BufWriter<File>>) -> io::Result<Option<BufReader<File>>> {
    let Some(w) = file else {
        return Ok(None);
    };
    let mut f = w.into_inner().map_err(|e| e.into_error())?;
    f.seek(SeekFrom::Start(0))?;
    Ok(Some(BufReader::with_capacity(1 << 16, f)))
}

/// Cuts a spill file after its last newline (a failed write may have left a
/// partial line) and positions writes there.
fn truncate_to_lines(file: &File) -> io::Result<()> {
    let mut f = file;
    let len = f.seek(SeekFrom::End(0))?;
    let mut keep = 0u64;
    let mut pos = 0u64;
    f.seek(SeekFrom::Start(0))?;
    let mut r = BufReader::new(f);
    let mut line = Vec::new();
    while pos < len {
        line.clear();
        let n = r.read_until(b'\n', &mut line)? as u64;
        if n == 0 {
            break;
        }
        pos += n;
        if line.ends_with(b"\n") {
            keep = pos;
        }
    }
    file.set_len(keep)?;
    let mut f = file;
    f.seek(SeekFrom::Start(keep))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::{Category, Level};

    fn finding(i: u64) -> Finding {
        Finding {
            rule_id: format!("r{i}"),
            rule_title: "t \"q\"\n".into(),
            level: Level::High,
            category: Category::CardSkimming,
            path: "p".into(),
            line: i,
            byte_offset: i * 10,
            timestamp: Some(jiff::Timestamp::from_second(1_506_420_000).unwrap()),
            fields: [("k".to_string(), "v\u{1b}".to_string())].into(),
            evidence: "e".into(),
            decoded: vec!["url"],
            decoded_evidence: Some("d".into()),
            pan: None,
            fingerprint: format!("fp{i}"),
        }
    }

    #[test]
    fn spills_past_threshold_and_replays_in_order() {
        let mut f = Findings::with_threshold(3);
        for i in 0..10 {
            f.push(finding(i));
        }
        assert_eq!(f.len(), 10);
        assert_eq!(f.spilled(), 7);
        let mut g = Findings::with_threshold(2);
        g.push(finding(100));
        g.append(f, 1000).unwrap();
        let v = g.into_vec().unwrap();
        let lines: Vec<u64> = v.iter().map(|f| f.line).collect();
        assert_eq!(lines[0], 100);
        assert_eq!(&lines[1..], &(1000..1010).collect::<Vec<_>>()[..]);
        assert_eq!(v[5].rule_title, "t \"q\"\n");
        assert_eq!(&v[5].fields["k"], "v\u{1b}");
    }

    #[test]
    fn copy_skips_the_first_bytes_across_memory_and_file() {
        let mut b = Bytes::with_limit(4);
        for part in [&b"ab"[..], b"cd", b"ef", b"gh"] {
            b.append(part).unwrap();
        }
        assert_eq!(b.len(), 8);
        let mut out = Vec::new();
        b.copy_to(3, &mut out).unwrap();
        assert_eq!(out, b"defgh");
    }
}
