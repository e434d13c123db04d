//! External sort: records written in sorted runs to unnamed temporary
//! files and merged back in order. Exposure lists every exposed session,
//! and a large merchant's archive has millions: this keeps their memory
//! to a fixed budget whatever the archive's size, at the cost of disk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Runs kept before the smallest half are merged into one, so a long scan
/// does not hold a file descriptor per run.
pub const MAX_RUNS: usize = 32;

/// A record that can be written to a run and read back.
pub trait Record: Ord + Clone {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()>;
    /// The next record, or `None` at the end of the run.
    fn read_from(r: &mut dyn BufRead) -> io::Result<Option<Self>>;
    /// Bytes it holds in memory, for budgets.
    fn size(&self) -> usize;
}

/// Sorted runs on disk.
#[derive(Debug)]
pub struct Runs<T> {
    pub(crate) files: Vec<File>,
    /// Set when merging runs failed: they stay as they are.
    no_compaction: bool,
    /// Tests: writing a run fails, as with no writable temporary directory.
    #[cfg(test)]
    pub(crate) refuse: bool,
    _t: std::marker::PhantomData<T>,
}

impl<T> Default for Runs<T> {
    fn default() -> Self {
        Runs {
            files: Vec::new(),
            no_compaction: false,
            #[cfg(test)]
            refuse: false,
            _t: std::marker::PhantomData,
        }
    }
}

impl<T: Record> Runs<T> {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Writes `items`, which must be in order, as a new run.
    pub fn add<'i>(&mut self, items: impl IntoIterator<Item = &'i T>) -> io::Result<()>
    where
        T: 'i,
    {
        self.add_with(|w| items.into_iter().try_for_each(|t| t.write_to(w)))
    }

    /// Writes a new run with `write`, which must write records in order.
    pub fn add_with(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        #[cfg(test)]
        if self.refuse {
            return Err(io::Error::other("refused"));
        }
        self.files.push(new_run(write)?);
        self.compact();
        Ok(())
    }

    /// Takes `other`'s runs.
    pub fn append(&mut self, other: Runs<T>) {
        self.files.extend(other.files);
        self.no_compaction |= other.no_compaction;
        self.compact();
    }

    /// Past [`MAX_RUNS`], merges the smallest half of the runs into one
    /// (so a record is rewritten a few times over a long scan, not at every
    /// merge); on failure the runs stay (and no merge is tried again).
    fn compact(&mut self) {
        while self.files.len() > MAX_RUNS && !self.no_compaction {
            self.files
                .sort_by_cached_key(|f| f.metadata().map_or(0, |m| m.len()));
            let mut small: Vec<File> = self.files.drain(..MAX_RUNS / 2 + 1).collect();
            let merged = merge_files(&small, Vec::<T>::new())
                .and_then(|m| new_run(|w| m.into_iter().try_for_each(|t| t?.write_to(w))));
            match merged {
                Ok(file) => self.files.push(file),
                Err(_) => {
                    self.files.append(&mut small);
                    self.no_compaction = true;
                }
            }
        }
    }

    /// Every record of every run and of `extra` (in order), in order. The
    /// runs' files are read from their start through shared handles: one
    /// merge of a `Runs` at a time.
    pub fn merged<'a>(
        &'a self,
        extra: impl IntoIterator<Item = T> + 'a,
    ) -> io::Result<Merge<'a, T>> {
        merge_files(&self.files, extra)
    }

    /// Whether no run was written.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The records of `files` (runs) and `extra`, in order.
fn merge_files<'a, T: Record + 'a>(
    files: &'a [File],
    extra: impl IntoIterator<Item = T> + 'a,
) -> io::Result<Merge<'a, T>> {
    let mut sources: Vec<Source<'a, T>> = Vec::with_capacity(files.len() + 1);
    for mut f in files {
        f.seek(SeekFrom::Start(0))?;
        let mut r = BufReader::with_capacity(1 << 16, f);
        sources.push(Box::new(std::iter::from_fn(move || {
            T::read_from(&mut r).transpose()
        })));
    }
    sources.push(Box::new(extra.into_iter().map(Ok)));
    Merge::new(sources)
}

/// A new unnamed temporary file holding what `write` writes.
fn new_run(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<File> {
    let mut w = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
    write(&mut w)?;
    w.into_inner().map_err(|e| e.into_error())
}

type Source<'a, T> = Box<dyn Iterator<Item = io::Result<T>> + 'a>;

/// Records of several sorted sources, in order.
pub struct Merge<'a, T> {
    sources: Vec<Source<'a, T>>,
    heap: BinaryHeap<Reverse<(T, usize)>>,
    failed: bool,
}

impl<'a, T: Record> Merge<'a, T> {
    fn new(mut sources: Vec<Source<'a, T>>) -> io::Result<Self> {
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(t) = s.next().transpose()? {
                heap.push(Reverse((t, i)));
            }
        }
        Ok(Merge {
            sources,
            heap,
            failed: false,
        })
    }
}

impl<T: Record> Iterator for Merge<'_, T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        if self.failed {
            return None;
        }
        let Reverse((t, i)) = self.heap.pop()?;
        match self.sources[i].next().transpose() {
            Ok(Some(n)) => self.heap.push(Reverse((n, i))),
            Ok(None) => {}
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        }
        Some(Ok(t))
    }
}

/// Records pushed in any order and read back sorted, in memory up to a
/// budget and in runs past it. Never loses one: if a run cannot be
/// written, the records stay in memory.
#[derive(Debug)]
pub struct Sorter<T> {
    mem: Vec<T>,
    bytes: usize,
    budget: usize,
    runs: Runs<T>,
    spill_failed: bool,
}

impl<T: Record> Sorter<T> {
    pub fn new(budget: usize) -> Self {
        Sorter {
            mem: Vec::new(),
            bytes: 0,
            budget,
            runs: Runs::default(),
            spill_failed: false,
        }
    }

    pub fn push(&mut self, t: T) {
        self.bytes += t.size();
        self.mem.push(t);
        if self.bytes > self.budget && !self.spill_failed {
            self.mem.sort_unstable();
            if self.runs.add(&self.mem).is_ok() {
                self.mem.clear();
                self.bytes = 0;
            } else {
                self.spill_failed = true;
            }
        }
    }

    /// Every record, in order.
    pub fn sorted(&mut self) -> io::Result<Merge<'_, T>> {
        self.mem.sort_unstable();
        self.runs.merged(self.mem.iter().cloned())
    }
}

/// Little-endian integers and length-prefixed bytes, for records.
pub fn put_u32(w: &mut dyn Write, v: u32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

pub fn put_u64(w: &mut dyn Write, v: u64) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

pub fn put_str(w: &mut dyn Write, s: &[u8]) -> io::Result<()> {
    let len = u32::try_from(s.len()).map_err(|_| io::Error::other("record field too long"))?;
    put_u32(w, len)?;
    w.write_all(s)
}

pub fn get_u32(r: &mut dyn BufRead) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

pub fn get_u64(r: &mut dyn BufRead) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// The next `len` bytes. Lengths come from our own runs, but a damaged
/// one must not ask for gigabytes up front: large reads grow as they go.
pub fn get_exact(r: &mut dyn BufRead, len: usize) -> io::Result<Vec<u8>> {
    let mut v;
    if len <= 1 << 20 {
        v = vec![0; len];
        r.read_exact(&mut v)?;
    } else {
        v = Vec::new();
        r.take(len as u64).read_to_end(&mut v)?;
        if v.len() != len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(v)
}

/// Bytes written by [`put_str`].
pub fn get_bytes(r: &mut dyn BufRead) -> io::Result<Vec<u8>> {
    let len = get_u32(r)? as usize;
    get_exact(r, len)
}

/// Text written by [`put_str`]; our own runs only hold valid UTF-8.
#[cfg(test)]
pub fn get_string(r: &mut dyn BufRead) -> io::Result<String> {
    String::from_utf8(get_bytes(r)?).map_err(|_| io::Error::other("run holds invalid UTF-8"))
}

/// Whether a run is at its end (so a record starts, or none does).
pub fn at_end(r: &mut dyn BufRead) -> io::Result<bool> {
    Ok(r.fill_buf()?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    struct Rec(u64, String);

    impl Record for Rec {
        fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
            put_u64(w, self.0)?;
            put_str(w, self.1.as_bytes())
        }
        fn read_from(r: &mut dyn BufRead) -> io::Result<Option<Self>> {
            if at_end(r)? {
                return Ok(None);
            }
            Ok(Some(Rec(get_u64(r)?, get_string(r)?)))
        }
        fn size(&self) -> usize {
            std::mem::size_of::<Self>() + self.1.len()
        }
    }

    /// Whatever the budget (every push its own run, runs merged past
    /// MAX_RUNS, or all in memory), the records come back sorted, all of
    /// them, duplicates included.
    #[test]
    fn sorter_returns_every_record_in_order() {
        let mut rand = crate::test_util::rng(0x9e37_79b9_7f4a_7c15);
        for budget in [0, 200, 5_000, usize::MAX] {
            let mut s = Sorter::new(budget);
            let mut want = Vec::new();
            for _ in 0..1_500 {
                let r = Rec(rand(300), "x".repeat(rand(5) as usize));
                want.push(r.clone());
                s.push(r);
            }
            want.sort();
            assert!(s.runs.len() <= MAX_RUNS, "budget {budget}");
            if budget == 0 {
                assert!(!s.runs.is_empty() && s.mem.is_empty());
            }
            let got: Vec<Rec> = s.sorted().unwrap().map(Result::unwrap).collect();
            assert_eq!(got, want, "budget {budget}");
            // Read twice: the runs rewind.
            let again = s.sorted().unwrap().count();
            assert_eq!(again, 1_500);
        }
    }

    /// A run that cannot be written keeps the records in memory, all of
    /// them, and no run is tried again.
    #[test]
    fn a_sorter_whose_runs_fail_keeps_every_record() {
        let mut s = Sorter::new(0);
        s.runs.refuse = true;
        for i in (0..500u64).rev() {
            s.push(Rec(i, String::new()));
        }
        assert!(s.spill_failed && s.runs.is_empty() && s.mem.len() == 500);
        let got: Vec<u64> = s.sorted().unwrap().map(|r| r.unwrap().0).collect();
        assert_eq!(got, (0..500).collect::<Vec<_>>());
    }

    #[test]
    fn appended_runs_merge_with_extra_records() {
        let mut a: Runs<Rec> = Runs::default();
        a.add(&[Rec(1, "a".into()), Rec(5, "e".into())]).unwrap();
        let mut b: Runs<Rec> = Runs::default();
        b.add(&[Rec(2, "b".into()), Rec(5, "d".into())]).unwrap();
        a.append(b);
        let got: Vec<Rec> = a
            .merged(vec![Rec(0, "z".into()), Rec(3, "c".into())])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let keys: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(keys, [0, 1, 2, 3, 5, 5]);
        assert_eq!(got[4].1, "d");
    }

    #[test]
    fn a_cut_run_is_an_error_not_a_short_list() {
        let mut w = Vec::new();
        Rec(7, "seven".into()).write_to(&mut w).unwrap();
        w.truncate(w.len() - 2);
        let mut r: &[u8] = &w;
        assert!(Rec::read_from(&mut r).is_err());
        let mut empty: &[u8] = &[];
        assert!(Rec::read_from(&mut empty).unwrap().is_none());
    }
}
