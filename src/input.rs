//! Opening evidence: read-only, without touching access times where the
//! platform allows; plain files are memory-mapped, compressed ones (found by
//! magic bytes, not names) are streamed through a decoder.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use memmap2::Mmap;

/// Compression recognised from a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Compression {
    pub fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Compression::Bzip2
        } else if head.starts_with(b"\xfd7zXZ\x00") {
            Compression::Xz
        } else {
            Compression::None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }
}

/// An opened input.
pub enum Opened {
    /// A plain file, mapped (or read, when empty) whole.
    Plain(Data),
    /// A decompressing stream.
    Stream(Compression, Box<dyn Read + Send>),
}

/// Bytes of a plain file.
pub enum Data {
    Mapped(Guarded),
    Owned(Vec<u8>),
}

impl Data {
    /// Drops `len` bytes at `start` from this process's resident set once
    /// they have been scanned (they stay in the page cache), so peak RSS
    /// stays flat however big a mapped file is. No-op for owned data.
    pub fn release(&self, start: usize, len: usize) {
        if let Data::Mapped(m) = self
            && start.checked_add(len).is_some_and(|e| e <= m.map.len())
            && len > 0
        {
            // SAFETY: a read-only private file mapping; dropped pages are
            // read again from the file if touched, with the same bytes.
            // Failure only means the pages stay resident.
            let _ = unsafe {
                m.map
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len)
            };
        }
    }
}

impl std::ops::Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => &m.map,
            Data::Owned(v) => v,
        }
    }
}

impl Data {
    /// True when the file was cut short under the mapping while it was read:
    /// the missing pages read as zeros instead of killing the process.
    pub fn shrank(&self) -> bool {
        match self {
            Data::Mapped(m) => m.slot.is_some_and(sigbus::faulted),
            Data::Owned(_) => false,
        }
    }
}

/// A memory map registered with the SIGBUS guard for as long as it lives.
pub struct Guarded {
    map: Mmap,
    slot: Option<usize>,
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // Unregister before the map itself is unmapped (fields drop after).
        if let Some(s) = self.slot {
            sigbus::unregister(s);
        }
    }
}

/// Opens a file read-only. On Linux it first asks for O_NOATIME so that
/// reading evidence leaves its access time alone; that needs ownership of the
/// file, so on EPERM it quietly falls back to a plain read-only open.
pub fn open_readonly(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NOATIME: i32 = 0o1000000;
        if let Ok(f) = OpenOptions::new()
            .read(true)
            .custom_flags(O_NOATIME)
            .open(path)
        {
            return Ok(f);
        }
    }
    OpenOptions::new().read(true).open(path)
}

/// Opens a file for scanning: compression is decided by the magic bytes.
pub fn open(path: &Path) -> io::Result<Opened> {
    let mut file = open_readonly(path)?;
    // The longest magic: xz's six bytes.
    let mut head = [0u8; 6];
    let n = read_up_to(&mut file, &mut head)?;
    let comp = Compression::from_magic(&head[..n]);
    if comp != Compression::None {
        // Re-open rather than seek, so the decoder sees the stream from byte 0
        // whatever the file is.
        let f = open_readonly(path)?;
        return Ok(Opened::Stream(comp, decoder(comp, Box::new(f))?));
    }
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Opened::Plain(Data::Owned(Vec::new())));
    }
    // SAFETY: the map is read-only and private to this process. If another
    // process truncates the file while it is mapped, reads past the new end
    // fault (SIGBUS): the guard below turns those pages into zeros and flags
    // the map, so the scan survives and reports the change.
    let map = unsafe { Mmap::map(&file)? };
    let Some(slot) = sigbus::register(map.as_ptr() as usize, map.len()) else {
        // No guard (slots exhausted, or not Linux): read instead of mapping.
        drop(map);
        let mut v = Vec::with_capacity(len as usize);
        let mut f = open_readonly(path)?;
        f.read_to_end(&mut v)?;
        return Ok(Opened::Plain(Data::Owned(v)));
    };
    Ok(Opened::Plain(Data::Mapped(Guarded {
        map,
        slot: Some(slot),
    })))
}

/// Survival of files truncated while memory-mapped. A process-wide SIGBUS
/// handler looks the faulting address up among the registered maps; when it
/// belongs to one, it maps anonymous zero pages over the rest of that map
/// (MAP_FIXED) and marks it, so the faulting read resumes and sees zeros.
/// A fault anywhere else restores the default action and re-faults.
#[cfg(target_os = "linux")]
mod sigbus {
    use std::sync::Once;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    const SLOTS: usize = 256;
    static START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
    /// 0 = slot free; set last on register, cleared first on unregister.
    static LEN: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
    static CLAIMED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
    static FAULTED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    static INSTALL: Once = Once::new();
    static INSTALLED: AtomicBool = AtomicBool::new(false);

    fn install() {
        INSTALL.call_once(|| {
            // SAFETY: plain libc calls; the handler only touches atomics and
            // makes async-signal-safe system calls (mmap, sigaction).
            unsafe {
                let page = libc::sysconf(libc::_SC_PAGESIZE);
                if page > 0 {
                    PAGE.store(page as usize, Ordering::Relaxed);
                }
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = handler as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
                libc::sigemptyset(&mut sa.sa_mask);
                if libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) == 0 {
                    INSTALLED.store(true, Ordering::Release);
                }
            }
        });
    }

    /// Registers a map; None when no guard can be had.
    pub fn register(start: usize, len: usize) -> Option<usize> {
        install();
        if !INSTALLED.load(Ordering::Acquire) || len == 0 {
            return None;
        }
        for i in 0..SLOTS {
            if CLAIMED[i]
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                FAULTED[i].store(false, Ordering::Relaxed);
                START[i].store(start, Ordering::Relaxed);
                LEN[i].store(len, Ordering::Release);
                return Some(i);
            }
        }
        None
    }

    pub fn unregister(slot: usize) {
        LEN[slot].store(0, Ordering::Release);
        CLAIMED[slot].store(false, Ordering::Release);
    }

    pub fn faulted(slot: usize) -> bool {
        FAULTED[slot].load(Ordering::Acquire)
    }

    extern "C" fn handler(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
        // SAFETY: the kernel hands a valid siginfo for SA_SIGINFO handlers.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE.load(Ordering::Relaxed);
        for i in 0..SLOTS {
            let len = LEN[i].load(Ordering::Acquire);
            if len == 0 {
                continue;
            }
            let start = START[i].load(Ordering::Relaxed);
            if addr < start || addr - start >= len {
                continue;
            }
            let from = addr & !(page - 1);
            let end = (start + len).div_ceil(page) * page;
            // SAFETY: [from, end) lies inside a live read-only map that we
            // own; replacing it with zero pages changes only its contents.
            let r = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    end - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if r != libc::MAP_FAILED {
                FAULTED[i].store(true, Ordering::Release);
                return;
            }
            break;
        }
        // Not ours (or the remap failed): die of SIGBUS as before.
        // SAFETY: resetting a disposition is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    }
}

/// Elsewhere files are read rather than mapped (no guard available).
#[cfg(not(target_os = "linux"))]
mod sigbus {
    pub fn register(_start: usize, _len: usize) -> Option<usize> {
        None
    }
    pub fn unregister(_slot: usize) {}
    pub fn faulted(_slot: usize) -> bool {
        false
    }
}

/// Wraps standard input: it is always streamed, decompressed when its first
/// bytes say so.
pub fn open_stdin() -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let mut r = BufReader::with_capacity(1 << 16, io::stdin());
    let head = r.fill_buf()?;
    let comp = Compression::from_magic(head);
    Ok((comp, decoder(comp, Box::new(r))?))
}

fn decoder(comp: Compression, r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let r = BufReader::with_capacity(1 << 16, r);
    Ok(match comp {
        Compression::None => Box::new(r),
        // Multi-member: concatenated gzip files (rotated logs glued together)
        // are one stream to an analyst.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(r)),
        // Concatenated streams are one log, as with gzip members. The memory
        // limit refuses a header that asks for more than `xz -9e` needs, so
        // a crafted file cannot make the decoder allocate gigabytes.
        Compression::Xz => {
            let s = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_LIMIT,
                liblzma::stream::CONCATENATED,
            )?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(r, s))
        }
    })
}

/// Most memory one xz decoder may use: `xz -9` needs 65 MiB.
const XZ_MEMORY_LIMIT: u64 = 128 << 20;

/// Reads until `buf` is full or the stream ends.
pub fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How many leading bytes are checked for NUL to call a file binary.
pub const BINARY_PROBE: usize = 8 * 1024;

/// True when the first 8 KiB hold a NUL byte.
pub fn looks_binary(head: &[u8]) -> bool {
    memchr::memchr(0, &head[..head.len().min(BINARY_PROBE)]).is_some()
}

/// Why a file that [`looks_binary`] is skipped: containers and formats an
/// analyst is likely to point skimhunt at are named, with what to do
/// (their members or records are not read); anything else is a binary
/// file.
pub fn binary_reason(head: &[u8]) -> String {
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    let what = if at(257, b"ustar") {
        "tar archive: its members are not scanned; extract it and scan the directory"
    } else if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") {
        "zip archive: its members are not scanned; extract it and scan the directory"
    } else if at(0, b"7z\xbc\xaf\x27\x1c") {
        "7z archive: its members are not scanned; extract it and scan the directory"
    } else if at(0, b"Rar!\x1a\x07") {
        "rar archive: its members are not scanned; extract it and scan the directory"
    } else if at(0, b"\x04\x22\x4d\x18") {
        "lz4-compressed: not decoded (gzip, bzip2, zstd and xz are); decompress it first"
    } else if at(0, b"ElfFile\x00") {
        "Windows event log (EVTX): not a text log; use an event-log tool"
    } else if at(0, b"\xd4\xc3\xb2\xa1") || at(0, b"\xa1\xb2\xc3\xd4") || at(0, b"\x0a\x0d\x0d\x0a")
    {
        "packet capture (pcap): not a text log"
    } else if at(0, b"SQLite format 3\x00") {
        "SQLite database: not a text log; export its tables as text first"
    } else {
        "binary file (NUL byte in the first 8 KiB)"
    };
    what.to_string()
}

/// A plain reason for a decoder error: truncated archives are common in
/// evidence and deserve a clear name.
pub fn stream_error_reason(comp: Compression, e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        format!("truncated {}", comp.as_str())
    } else {
        format!("corrupt {}: {}", comp.as_str(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn magic_bytes() {
        assert_eq!(
            Compression::from_magic(&[0x1f, 0x8b, 8, 0]),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_magic(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::from_magic(b"BZh9"), Compression::Bzip2);
        assert_eq!(
            Compression::from_magic(b"\xfd7zXZ\0\0\x04"),
            Compression::Xz
        );
        assert_eq!(Compression::from_magic(b"BZhx"), Compression::None);
        assert_eq!(Compression::from_magic(b"1.2."), Compression::None);
        assert_eq!(Compression::from_magic(b""), Compression::None);
    }

    #[test]
    fn gzip_members_are_concatenated() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        let mut all = Vec::new();
        for part in ["a\n", "b\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(part.as_bytes()).unwrap();
            all.extend(e.finish().unwrap());
        }
        std::fs::write(&p, &all).unwrap();
        let Opened::Stream(c, mut r) = open(&p).unwrap() else {
            panic!("expected a stream")
        };
        assert_eq!(c, Compression::Gzip);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a\nb\n");
    }

    #[test]
    fn zstd_and_bzip2_stream() {
        let d = tempfile::tempdir().unwrap();
        let z = d.path().join("z");
        std::fs::write(&z, zstd::encode_all(&b"zz\n"[..], 3).unwrap()).unwrap();
        let Opened::Stream(Compression::Zstd, mut r) = open(&z).unwrap() else {
            panic!("zstd")
        };
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "zz\n");
        let b = d.path().join("b");
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(b"bb\n").unwrap();
        std::fs::write(&b, e.finish().unwrap()).unwrap();
        let Opened::Stream(Compression::Bzip2, mut r) = open(&b).unwrap() else {
            panic!("bzip2")
        };
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "bb\n");
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(path: &Path) -> io::Result<String> {
        let Opened::Stream(Compression::Xz, mut r) = open(path)? else {
            panic!("xz")
        };
        let mut s = String::new();
        r.read_to_string(&mut s)?;
        Ok(s)
    }

    #[test]
    fn xz_streams_concatenated_truncated_and_over_the_memory_limit() {
        let d = tempfile::tempdir().unwrap();
        // Two streams glued together are one log.
        let two = d.path().join("two.xz");
        std::fs::write(&two, [xz(b"a\n"), xz(b"b\n")].concat()).unwrap();
        assert_eq!(read_all(&two).unwrap(), "a\nb\n");
        // Cut short: an error named as truncation or corruption, never a
        // silent end.
        let big: String = (0..5000).map(|i| format!("line {i} text\n")).collect();
        let whole = xz(big.as_bytes());
        let cut = d.path().join("cut.xz");
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        let e = read_all(&cut).unwrap_err();
        assert!(
            stream_error_reason(Compression::Xz, &e).contains("xz"),
            "{e}"
        );
        // A block header asking for a 4 GiB dictionary (its CRC32 fixed up):
        // refused by the memory limit, not allocated.
        let mut huge = xz(b"x\n");
        // Stream header (12 bytes), then the block header: its size byte,
        // flags, then (no size fields here) filter id 0x21, props size 1,
        // the dictionary byte.
        let bh = 12;
        let len = (usize::from(huge[bh]) + 1) * 4;
        assert_eq!(
            &huge[bh + 2..bh + 4],
            &[0x21, 0x01],
            "LZMA2 filter where expected"
        );
        huge[bh + 4] = 40;
        let mut crc = flate2::Crc::new();
        crc.update(&huge[bh..bh + len - 4]);
        huge[bh + len - 4..bh + len].copy_from_slice(&crc.sum().to_le_bytes());
        let h = d.path().join("huge.xz");
        std::fs::write(&h, &huge).unwrap();
        let e = read_all(&h).unwrap_err();
        assert!(
            stream_error_reason(Compression::Xz, &e).contains("memory limit"),
            "{e}"
        );
    }

    #[test]
    fn truncated_gzip_reports_truncation() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..2000 {
            writeln!(e, "line {i} with some text to compress").unwrap();
        }
        let full = e.finish().unwrap();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.gz");
        std::fs::write(&p, &full[..full.len() / 2]).unwrap();
        let Opened::Stream(c, mut r) = open(&p).unwrap() else {
            panic!("stream")
        };
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(stream_error_reason(c, &err), "truncated gzip");
    }

    #[test]
    fn truncation_under_the_map_reads_zeros_and_is_flagged() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("shrinks.log");
        std::fs::write(&p, "line of text\n".repeat(5000)).unwrap();
        let Opened::Plain(data) = open(&p).unwrap() else {
            panic!("plain")
        };
        assert!(matches!(data, Data::Mapped(_)));
        assert!(!data.shrank());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(100)
            .unwrap();
        // Without the guard this read dies of SIGBUS.
        let sum: u64 = data.iter().map(|&b| u64::from(b)).sum();
        assert!(sum > 0);
        assert!(data.shrank());
        assert_eq!(data[60_000], 0);
    }

    #[test]
    fn empty_and_binary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("e");
        std::fs::write(&p, b"").unwrap();
        let Opened::Plain(data) = open(&p).unwrap() else {
            panic!("plain")
        };
        assert!(data.is_empty());
        assert!(looks_binary(b"abc\0def"));
        assert!(!looks_binary(b"abc def\n"));
    }

    #[test]
    fn binary_files_are_named_when_known() {
        let mut tar = vec![0u8; 1024];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert!(binary_reason(&tar).starts_with("tar archive"));
        assert!(binary_reason(b"PK\x03\x04\x14\0\0").starts_with("zip archive"));
        assert!(binary_reason(b"\x04\x22\x4d\x18\0").starts_with("lz4-compressed"));
        assert!(binary_reason(b"ElfFile\0\x01").starts_with("Windows event log"));
        assert_eq!(
            binary_reason(b"\0\0\0"),
            "binary file (NUL byte in the first 8 KiB)"
        );
        // Shorter than a magic: no panic.
        assert_eq!(
            binary_reason(b"P"),
            "binary file (NUL byte in the first 8 KiB)"
        );
    }
}
