//! Scanning one input: frame the bytes into lines (line-aligned chunks for
//! large plain files, so rayon can split a single file), drop records
//! outside the window before any rule runs, prefilter, parse candidates, and
//! turn rule hits into masked findings.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::card::{self, Fingerprinter};
use crate::detect::{Cursor, DetectState, Detectors, Loc};
use crate::discover::{Disposition, Entry, io_reason};
use crate::format::{self, LineParser, LogFormat, ParseOptions, TimeMemo};
use crate::input::{self, Compression, Opened};
use crate::level::Level;
use crate::matcher::{Engine, Finder, GateChoice};
use crate::progress::Progress;
use crate::record::{Family, Record};
use crate::report::render::{FindingWriter, Frames, Rendered};
use crate::report::spill::Findings;
use crate::report::{Fields, FileReport, FileStatus, Finding, PanReport, Tally};
use crate::rules::{Hit, Rule};
use crate::suppress::{Suppressed, Suppressor};
use crate::window::Window;

/// Everything a scan needs besides the rules.
pub struct ScanConfig {
    pub window: Window,
    /// Scan records that carry no parseable time.
    pub include_undated: bool,
    pub tz: TimeZone,
    /// Year for syslog lines; None = each file's modification year.
    pub year: Option<i16>,
    pub log_format: Option<LogFormat>,
    /// Plain files larger than this are split into line-aligned chunks that
    /// are scanned in parallel.
    pub chunk_size: usize,
    /// Stretches of kept lines shorter than this are gathered into one
    /// search; longer ones are searched where they lie (0: never gather).
    pub gather_below: usize,
    pub fingerprinter: Fingerprinter,
    /// Stop decompressing a stream past this many bytes (decompression bombs).
    pub max_decoded_bytes: u64,
    /// Multi-line detectors (drift, exposure, IOC, look-alikes); None = off.
    pub detect: Option<std::sync::Arc<Detectors>>,
    /// Stop decompressing a file once its decoded size exceeds this many
    /// times its stored size, past `ratio_floor` decoded bytes (bombs that
    /// stay under the absolute cap; real logs compress far less).
    pub max_ratio: u64,
    /// Decoded bytes below which the ratio cap does not apply.
    pub ratio_floor: u64,
    /// Record the SHA-256 of every input as stored (`--hash`).
    pub hash: bool,
    /// Renders findings in the scanning threads (the output format writes
    /// each on its own); None: findings are kept as values.
    pub writer: Option<std::sync::Arc<dyn FindingWriter>>,
    /// Baseline and ignore files: what they suppress is only counted.
    pub suppressor: Option<std::sync::Arc<Suppressor>>,
}

impl ScanConfig {
    pub fn new(window: Window, tz: TimeZone, fingerprinter: Fingerprinter) -> ScanConfig {
        ScanConfig {
            window,
            include_undated: true,
            tz,
            year: None,
            log_format: None,
            chunk_size: DEFAULT_CHUNK,
            gather_below: DEFAULT_GATHER_BELOW,
            fingerprinter,
            max_decoded_bytes: DEFAULT_MAX_DECODED,
            detect: None,
            max_ratio: DEFAULT_MAX_RATIO,
            ratio_floor: DEFAULT_RATIO_FLOOR,
            hash: false,
            writer: None,
            suppressor: None,
        }
    }
}

pub const DEFAULT_CHUNK: usize = 16 << 20;
/// Stretches shorter than this are copied into one buffer and searched
/// together. Each search call has a fixed cost, and over a short buffer the
/// literal walk cannot run its streams in lock step: a window over
/// shuffled lines (stretches of one or two lines) was slower than no
/// window at all.
pub const DEFAULT_GATHER_BELOW: usize = 128 << 10;
/// Chunks per worker thread that may be scanned ahead of a file's in-order
/// merge (see `ordered_chunks`).
const CHUNKS_PER_THREAD: usize = 4;
/// 64 GiB decoded from one stream: far beyond any single rotated log.
pub const DEFAULT_MAX_DECODED: u64 = 64 << 30;
/// Text logs compress 5–30×; deflate's ceiling is about 1032×.
pub const DEFAULT_MAX_RATIO: u64 = 200;
pub const DEFAULT_RATIO_FLOOR: u64 = 1 << 30;
/// Size of the head used for format detection.
const DETECT_HEAD: usize = 64 * 1024;
/// Bytes read from a stream at a time.
const STREAM_BLOCK: usize = 4 << 20;
/// Evidence shown around a match.
const EVIDENCE_BEFORE: usize = 160;
const EVIDENCE_AFTER: usize = 352;
const FIELD_MAX_CHARS: usize = 1024;
const FIELDS_MAX: usize = 64;

/// One scanned input: its report entry and findings (sorted by line, rule).
pub struct FileOutcome {
    pub file: FileReport,
    /// The findings, when not rendered (no [`ScanConfig::writer`]). Spills
    /// to a temporary file past a threshold (bounded memory).
    pub findings: Findings,
    /// The findings rendered by [`ScanConfig::writer`], when set.
    pub rendered: Rendered,
    /// Counts of the findings (and of the suppressed ones) for the summary.
    pub tally: Tally,
    /// Detector state of the file, merged by the caller in file order.
    pub detect: DetectState,
    /// The scan of this file failed inside skimhunt (a bug: see
    /// [`isolated`]); `file` is its error entry and nothing else is kept.
    pub internal_error: bool,
}

/// Runs the scan of one file (`scan`), turning a panic inside it (a bug in
/// skimhunt, never expected from any input) into the file's error entry,
/// so one file does not end a scan of a whole archive and the report
/// still says what was not scanned. The message is masked: a panic on a
/// slice of a line prints the line.
pub fn isolated(display: &str, scan: impl FnOnce() -> FileOutcome) -> FileOutcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(scan)) {
        Ok(o) => o,
        Err(payload) => {
            let mut file = FileReport::new(display);
            file.status = FileStatus::Error;
            file.reason = Some(format!(
                "internal error: {} (a bug in skimhunt: please report it; this file's \
                 findings are not in the report)",
                panic_text(payload.as_ref())
            ));
            FileOutcome {
                file,
                findings: Findings::default(),
                rendered: Rendered::default(),
                tally: Tally::default(),
                detect: DetectState::default(),
                internal_error: true,
            }
        }
    }
}

/// A panic's message, card numbers masked and control characters escaped.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic");
    crate::text::sanitize(&crate::card::mask_text(msg)).into_owned()
}

/// Where findings go as they are made: those the baseline or an ignore file
/// suppresses are counted, the rest are tallied and then rendered for the
/// output format ([`ScanConfig::writer`]) or kept.
struct Batch<'c> {
    writer: Option<&'c dyn FindingWriter>,
    suppress: Option<(&'c Suppressor, &'c std::path::Path, &'c str)>,
    kept: Findings,
    frames: Frames,
    tally: Tally,
    /// The first failure to render or spill; the file is then reported
    /// as an error.
    error: Option<std::io::Error>,
}

impl<'c> Batch<'c> {
    fn new(ctx: &FileCtx<'c>) -> Self {
        Batch {
            writer: ctx.cfg.writer.as_deref(),
            suppress: ctx
                .cfg
                .suppressor
                .as_deref()
                .map(|s| (s, ctx.root, ctx.relative)),
            kept: Findings::new(),
            frames: Frames::default(),
            tally: Tally::default(),
            error: None,
        }
    }

    fn push(&mut self, f: Finding) {
        if let Some((s, root, rel)) = self.suppress {
            match s.check(&f, root, rel) {
                Some(Suppressed::Baselined) => return self.tally.summary.baselined += 1,
                Some(Suppressed::Ignored) => return self.tally.summary.ignored += 1,
                None => {}
            }
        }
        match self.writer {
            // After a failed write the spill may end in a partial frame:
            // nothing more is added, and the file is reported as an error.
            Some(_) if self.error.is_some() => {}
            Some(w) => match self.frames.push(w, &f) {
                Ok(()) => self.tally.add(&f),
                Err(e) => self.error = Some(e),
            },
            None => {
                self.tally.add(&f);
                self.kept.push(f);
            }
        }
    }

    /// Findings kept or rendered.
    fn len(&self) -> u64 {
        self.kept.len() + self.frames.len()
    }
}

/// A file's findings, put together from its runs in order.
#[derive(Default)]
struct FileFindings {
    kept: Findings,
    rendered: Rendered,
    tally: Tally,
    error: Option<String>,
}

impl FileFindings {
    /// Appends a run's findings, whose lines are relative to the run.
    /// What was rendered before a failure is kept; the file is then an
    /// error with the reason.
    fn append(&mut self, b: Batch, line_base: u64) {
        let res = self
            .kept
            .append(b.kept, line_base)
            .and_then(|()| self.rendered.append(b.frames, line_base));
        if let Some(e) = b.error.or(res.err()) {
            self.error.get_or_insert(format!(
                "findings spilled to disk could not be written or read back: {e}"
            ));
        }
        self.tally.merge(b.tally);
    }

    fn len(&self) -> u64 {
        self.kept.len() + self.rendered.len()
    }
}

#[derive(Default)]
struct Counts {
    records: u64,
    in_window: u64,
    out_of_window: u64,
    undated: u64,
}

impl Counts {
    /// Counts one record by its time and says whether it is kept (in the
    /// window, or undated and undated records are scanned).
    fn classify(&mut self, cfg: &ScanConfig, time: Option<Timestamp>) -> bool {
        self.records += 1;
        match time {
            Some(t) if cfg.window.contains(t) => {
                self.in_window += 1;
                true
            }
            Some(_) => {
                self.out_of_window += 1;
                false
            }
            None => {
                self.undated += 1;
                cfg.include_undated
            }
        }
    }

    fn add(&mut self, o: &Counts) {
        self.records += o.records;
        self.in_window += o.in_window;
        self.out_of_window += o.out_of_window;
        self.undated += o.undated;
    }
}

/// The result of scanning a run of whole lines.
struct ChunkOut<'c> {
    findings: Batch<'c>,
    detect: DetectState,
    counts: Counts,
    /// Physical lines in the chunk.
    lines: u64,
}

/// Per-file constants shared by its chunks.
struct FileCtx<'a> {
    display: &'a str,
    /// The scan root the file was found under (ignore files are per root).
    root: &'a std::path::Path,
    /// Path relative to the scan root, for finding fingerprints.
    relative: &'a str,
    engine: &'a Engine,
    cfg: &'a ScanConfig,
}

impl FileCtx<'_> {
    /// Where a detector record of this file is: one per chunk, its line and
    /// offset set for each line (cloning the two names for every line the
    /// detectors take was four atomic operations a line).
    fn detector_loc(&self) -> Loc {
        Loc {
            path: self.display.into(),
            relative: self.relative.into(),
            line: 0,
            offset: 0,
        }
    }
}

/// Scans one discovered entry. Never panics on input and never fails: read
/// errors become a file status with a reason.
pub fn scan_entry(
    entry: &Entry,
    engine: &Engine,
    cfg: &ScanConfig,
    progress: &Progress,
) -> FileOutcome {
    let mut file = FileReport::new(&entry.display);
    let mut detect = DetectState::default();
    let relative = entry.relative();
    let mut out = match &entry.disposition {
        Disposition::Skip(r) | Disposition::Excluded(r) => {
            file.status = FileStatus::Skipped;
            file.reason = Some(r.clone());
            FileFindings::default()
        }
        Disposition::Error(r) => {
            file.status = FileStatus::Error;
            file.reason = Some(r.clone());
            FileFindings::default()
        }
        Disposition::Stdin => match input::open_stdin() {
            Ok((comp, mut r)) => {
                let ctx = FileCtx {
                    display: &entry.display,
                    root: &entry.root,
                    relative: &relative,
                    engine,
                    cfg,
                };
                scan_stream(
                    &ctx,
                    comp,
                    &mut *r,
                    cfg.year.unwrap_or_else(|| this_year(&cfg.tz)),
                    &mut file,
                    progress,
                    &mut detect,
                )
            }
            Err(e) => {
                file.status = FileStatus::Error;
                file.reason = Some(io_reason(&e));
                FileFindings::default()
            }
        },
        Disposition::Scan => {
            let path = entry.path.as_deref().expect("scan entries carry a path");
            let ctx = FileCtx {
                display: &entry.display,
                root: &entry.root,
                relative: &relative,
                engine,
                cfg,
            };
            let meta = std::fs::metadata(path);
            let year = cfg.year.unwrap_or_else(|| {
                meta.as_ref()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| Timestamp::try_from(t).ok())
                    .map(|t| t.to_zoned_datetime(cfg.tz.clone()).year())
                    .unwrap_or_else(|| this_year(&cfg.tz))
            });
            match input::open(path) {
                Ok(Opened::Plain(data)) => {
                    if cfg.hash {
                        file.sha256 = Some(hex_sha256(&data));
                    }
                    let release = |s: usize, l: usize| data.release(s, l);
                    let out = scan_plain(
                        &ctx,
                        &data,
                        &release,
                        year,
                        &mut file,
                        progress,
                        &mut detect,
                    );
                    check_shrink(path, &data, &mut file);
                    out
                }
                Ok(Opened::Stream(comp, mut r)) => {
                    file.bytes = meta.map(|m| m.len()).unwrap_or(0);
                    if cfg.hash {
                        match hash_file(path) {
                            Ok(h) => file.sha256 = Some(h),
                            Err(e) => file.note = Some(format!("not hashed: {}", io_reason(&e))),
                        }
                    }
                    scan_stream(&ctx, comp, &mut *r, year, &mut file, progress, &mut detect)
                }
                Err(e) => {
                    file.status = FileStatus::Error;
                    file.reason = Some(io_reason(&e));
                    FileFindings::default()
                }
            }
        }
    };
    if let Some(reason) = out.error.take() {
        file.status = FileStatus::Error;
        file.reason = Some(reason);
    }
    file.findings = out.len();
    progress.file_done();
    FileOutcome {
        file,
        findings: out.kept,
        rendered: out.rendered,
        tally: out.tally,
        detect,
        internal_error: false,
    }
}

/// Lowercase hex SHA-256 of `data`.
pub fn hex_sha256(data: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes as stored, read read-only (no atime update).
fn hash_file(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut f = input::open_readonly(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A mapped file cut short while it was read (the SIGBUS guard fired, or
/// it is now shorter than the map) is reported as an error: what was read
/// before the cut is kept, what the zero pages stood in for was not seen.
fn check_shrink(path: &std::path::Path, data: &input::Data, file: &mut FileReport) {
    let now = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if data.shrank() || now < data.len() as u64 {
        file.status = FileStatus::Error;
        file.reason = Some(format!(
            "file changed (shrank) while being scanned: {now} of {} bytes remain; \
             findings before the cut are kept",
            data.len()
        ));
    }
}

fn this_year(tz: &TimeZone) -> i16 {
    Timestamp::now().to_zoned_datetime(tz.clone()).year()
}

fn parser_for(ctx: &FileCtx, head: &[u8], year: i16, file: &mut FileReport) -> LineParser {
    let fmt = ctx
        .cfg
        .log_format
        .unwrap_or_else(|| format::detect(&head[..head.len().min(DETECT_HEAD)]));
    file.format = Some(fmt.as_str().to_string());
    if fmt == LogFormat::Plain {
        file.note = Some(format!(
            "RFC 3164 syslog times carry no year; {year} was assumed (--year overrides)"
        ));
    }
    LineParser::new(
        fmt,
        ParseOptions {
            tz: ctx.cfg.tz.clone(),
            year,
        },
    )
}

fn scan_plain(
    ctx: &FileCtx,
    data: &[u8],
    release: &(dyn Fn(usize, usize) + Sync),
    year: i16,
    file: &mut FileReport,
    progress: &Progress,
    detect: &mut DetectState,
) -> FileFindings {
    file.compression = Some(Compression::None.as_str().to_string());
    file.bytes = data.len() as u64;
    file.decoded_bytes = data.len() as u64;
    if input::looks_binary(data) {
        file.status = FileStatus::Skipped;
        file.reason = Some(input::binary_reason(data));
        progress.bytes(data.len() as u64);
        return FileFindings::default();
    }
    let parser = parser_for(ctx, data, year, file);
    // W3C headers are state carried from line to line, so such files are
    // scanned in one pass; every other format has independent lines.
    let chunks = if parser.format() == LogFormat::W3c {
        vec![(0, data.len())]
    } else {
        line_chunks(data, ctx.cfg.chunk_size, release)
    };
    let mut counts = Counts::default();
    let mut findings = FileFindings::default();
    let mut line_base = 0u64;
    let window = rayon::current_num_threads().max(1) * CHUNKS_PER_THREAD;
    ordered_chunks(
        chunks.len(),
        window,
        |i| {
            let (s, e) = chunks[i];
            let mut p = parser.clone();
            let o = scan_lines(ctx, &mut p, &data[s..e], s as u64);
            release(s, e - s);
            progress.bytes((e - s) as u64);
            progress.findings(o.findings.len());
            o
        },
        |mut o: ChunkOut| {
            findings.append(o.findings, line_base);
            o.detect.shift_lines(line_base);
            detect.merge(o.detect);
            line_base += o.lines;
            counts.add(&o.counts);
        },
    );
    apply_counts(file, &counts);
    findings
}

/// Runs `scan(i)` for every chunk index `0..n` on the current rayon pool
/// and hands each output to `merge` in index order, as soon as its
/// predecessors are merged. At most `window` chunks run or wait ahead of
/// the merge (bounded memory), and no thread waits for a whole batch: a
/// thread that finishes a chunk takes the next one.
fn ordered_chunks<T: Send>(
    n: usize,
    window: usize,
    scan: impl Fn(usize) -> T + Sync,
    merge: impl FnMut(T) + Send,
) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    struct State<T, M> {
        next: usize,
        ready: BTreeMap<usize, T>,
        merge: M,
    }
    let window = window.max(1);
    let taken = AtomicUsize::new(0);
    let state = Mutex::new(State {
        next: 0,
        ready: BTreeMap::new(),
        merge,
    });
    let merged = Condvar::new();
    // Set (under the lock) when a thread unwinds from a panic: the others
    // stop instead of waiting for a chunk that will never be merged, and
    // the panic propagates from the scope.
    let aborted = AtomicBool::new(false);
    // A poisoned lock means a merge panicked; see `aborted`.
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    struct OnPanic<'a, F: Fn()>(&'a F);
    impl<F: Fn()> Drop for OnPanic<'_, F> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                (self.0)();
            }
        }
    }
    let abort = || {
        let _st = lock();
        aborted.store(true, Ordering::Relaxed);
        merged.notify_all();
    };
    let work = || {
        let _guard = OnPanic(&abort);
        loop {
            let i = taken.fetch_add(1, Ordering::Relaxed);
            if i >= n || aborted.load(Ordering::Relaxed) {
                return;
            }
            {
                // The chunk at `next` is always taken by a running thread
                // that does not wait here, so this wait ends.
                let mut st = lock();
                while i >= st.next + window {
                    if aborted.load(Ordering::Relaxed) {
                        return;
                    }
                    st = merged.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            }
            let out = scan(i);
            let mut st = lock();
            st.ready.insert(i, out);
            loop {
                let next = st.next;
                let Some(o) = st.ready.remove(&next) else {
                    break;
                };
                (st.merge)(o);
                st.next += 1;
            }
            merged.notify_all();
        }
    };
    let helpers = rayon::current_num_threads()
        .saturating_sub(1)
        .min(n.saturating_sub(1));
    rayon::scope(|sc| {
        for _ in 0..helpers {
            sc.spawn(|_| work());
        }
        work();
    });
}

fn apply_counts(file: &mut FileReport, c: &Counts) {
    file.records = c.records;
    file.in_window = c.in_window;
    file.out_of_window = c.out_of_window;
    file.undated = c.undated;
}

/// Splits `data` into chunks of about `size` bytes that end on line ends.
/// `release` gets the bytes read to find each end, with room around them:
/// the kernel maps a large folio around each touch (about 1 MiB here),
/// which left 125 MB of a 2 GB file resident before a line was scanned.
pub fn line_chunks(
    data: &[u8],
    size: usize,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Vec<(usize, usize)> {
    const AROUND: usize = 2 << 20;
    let size = size.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let target = start.saturating_add(size);
        let end = if target >= data.len() {
            data.len()
        } else {
            let end = match memchr::memchr(b'\n', &data[target..]) {
                Some(i) => target + i + 1,
                None => data.len(),
            };
            let from = target.saturating_sub(AROUND);
            release(from, (end + AROUND).min(data.len()) - from);
            end
        };
        out.push((start, end));
        start = end;
    }
    out
}

fn scan_stream(
    ctx: &FileCtx,
    comp: Compression,
    r: &mut dyn Read,
    year: i16,
    file: &mut FileReport,
    progress: &Progress,
    detect: &mut DetectState,
) -> FileFindings {
    file.compression = Some(comp.as_str().to_string());
    let mut buf: Vec<u8> = Vec::with_capacity(STREAM_BLOCK);
    let mut block = vec![0u8; 1 << 20];
    let mut parser: Option<LineParser> = None;
    let mut findings = FileFindings::default();
    let mut counts = Counts::default();
    let mut line_base = 0u64;
    let mut offset_base = 0u64;
    // Ratio cap: only for files whose stored size is known.
    let ratio_cap = if file.bytes > 0 {
        file.bytes
            .saturating_mul(ctx.cfg.max_ratio)
            .max(ctx.cfg.ratio_floor)
    } else {
        u64::MAX
    };
    let mut decoded = 0u64;
    let mut failure: Option<String> = None;
    loop {
        // Fill the buffer to a block, or to the end of the stream.
        let mut eof = false;
        while buf.len() < STREAM_BLOCK {
            match r.read(&mut block) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    decoded += n as u64;
                    buf.extend_from_slice(&block[..n]);
                    if decoded > ctx.cfg.max_decoded_bytes {
                        failure = Some(format!(
                            "decompressed size exceeds the cap of {} bytes (decompression bomb?); scanned up to the cap",
                            ctx.cfg.max_decoded_bytes
                        ));
                        eof = true;
                        break;
                    }
                    if decoded > ratio_cap {
                        failure = Some(format!(
                            "decompressed size exceeds {} times the stored size (decompression bomb?); scanned up to the cap",
                            ctx.cfg.max_ratio
                        ));
                        eof = true;
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failure = Some(if comp == Compression::None {
                        io_reason(&e)
                    } else {
                        input::stream_error_reason(comp, &e)
                    });
                    eof = true;
                    break;
                }
            }
        }
        if parser.is_none() {
            if input::looks_binary(&buf) {
                file.status = FileStatus::Skipped;
                file.reason = Some(input::binary_reason(&buf));
                file.decoded_bytes = decoded;
                return FileFindings::default();
            }
            parser = Some(parser_for(ctx, &buf, year, file));
        }
        let p = parser.as_mut().expect("set above");
        // Scan whole lines; keep a partial last line for the next block
        // unless the stream has ended.
        let upto = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                // One line longer than the block: keep reading.
                None => {
                    buf.reserve(STREAM_BLOCK);
                    continue;
                }
            }
        };
        let mut o = scan_lines(ctx, p, &buf[..upto], offset_base);
        progress.findings(o.findings.len());
        findings.append(o.findings, line_base);
        if findings.error.is_some() {
            eof = true;
        }
        o.detect.shift_lines(line_base);
        detect.merge(o.detect);
        line_base += o.lines;
        offset_base += upto as u64;
        counts.add(&o.counts);
        buf.drain(..upto);
        if eof {
            break;
        }
    }
    progress.bytes(file.bytes);
    file.decoded_bytes = decoded;
    if file.bytes == 0 {
        file.bytes = decoded;
    }
    apply_counts(file, &counts);
    if let Some(reason) = failure {
        file.status = FileStatus::Error;
        file.reason = Some(format!("{reason} after {} records", counts.records));
    }
    findings
}

impl<'c> ChunkOut<'c> {
    /// Dates the record line `buf[ls..le]`, counts it in or out of the
    /// window, and gives the detectors if they want it (time, in window,
    /// detectors). The detectors see out-of-window lines too (baselines),
    /// without rules running on them; `cur` carries their buffer-wide
    /// searches over `buf` between calls for later lines.
    // Inlined into the line loops: the call was a measurable part of dating
    // every line.
    #[inline(always)]
    fn admit(
        &mut self,
        ctx: &FileCtx<'c>,
        (parser, memo, cur): (&LineParser, &mut TimeMemo, &mut Cursor),
        (buf, ls, le): (&[u8], usize, usize),
    ) -> (Option<Timestamp>, bool, Option<&'c Detectors>) {
        let time = parser.time_memo(&buf[ls..le], memo);
        let memo: &TimeMemo = memo;
        let keep = self.counts.classify(ctx.cfg, time);
        let det = ctx.cfg.detect.as_deref().filter(|d| {
            if keep {
                self.detect.wants_at(d, cur, (buf, ls, le), &|l| {
                    parser.request_part_memo(l, memo)
                })
            } else {
                time.is_some() && d.wants_baseline_at(cur, buf, ls, le)
            }
        });
        (time, keep, det)
    }
}

/// Scans a run of whole lines starting at `offset` in the file. Line numbers
/// in the findings are relative to the run (1-based); callers add the base.
fn scan_lines<'c>(
    ctx: &FileCtx<'c>,
    parser: &mut LineParser,
    buf: &[u8],
    offset: u64,
) -> ChunkOut<'c> {
    // Formats whose field values are slices of the raw line (W3C rewrites
    // `+`, JSON unescapes), which the regex gate needs.
    let raw_fields = matches!(
        parser.format(),
        LogFormat::Combined | LogFormat::Alb | LogFormat::Plain
    );
    let families: &[Family] = match parser.format() {
        LogFormat::Combined | LogFormat::Alb | LogFormat::W3c => &[Family::Web],
        LogFormat::Plain => &[Family::Plain],
        LogFormat::Jsonl => &[Family::Web, Family::Chat, Family::Csp, Family::Json],
    };
    if ctx.engine.buffer_search_ok(raw_fields, families) {
        let gates = ctx.engine.gate_choice(raw_fields, families);
        return scan_lines_fast(ctx, parser, buf, offset, gates);
    }
    scan_lines_each(ctx, parser, buf, offset)
}

/// The fast path: dates first, one cheap pass over the lines that decides
/// which records are in the window (logs need not be sorted), then each
/// stretch of consecutive kept lines is searched as one buffer for gate
/// hits; only the lines holding one are parsed and evaluated. Short
/// stretches are gathered into one buffer first ([`Stretches`]).
fn scan_lines_fast<'c>(
    ctx: &FileCtx<'c>,
    parser: &mut LineParser,
    buf: &[u8],
    offset: u64,
    gates: GateChoice,
) -> ChunkOut<'c> {
    let mut out = ChunkOut {
        findings: Batch::new(ctx),
        detect: DetectState::default(),
        counts: Counts::default(),
        lines: 0,
    };
    let mut st = Stretches {
        buf,
        offset,
        gates,
        gathered: Vec::new(),
        segs: Vec::new(),
        gathered_end_line: 0,
        cands: Vec::new(),
        det_hits: std::collections::VecDeque::new(),
    };
    let mut loc = ctx.detector_loc();
    // Start byte and lines before it, of the current stretch of kept lines.
    let mut stretch: Option<(usize, u64)> = None;
    let mut cursor = Cursor::default();
    let mut memo = TimeMemo::default();
    let mut pos = 0usize;
    let mut ends = crate::lines::LineEnds::new(buf);
    while pos < buf.len() {
        let end = ends.next().unwrap_or(buf.len());
        let mut line = &buf[pos..end];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if parser.changes_layout(line) {
            // The lines before are read with the layout they were written in.
            if let Some(open) = stretch.take() {
                st.close(ctx, parser, open, pos, out.lines, &mut out.findings);
            }
            st.flush(ctx, parser, &mut out.findings);
        }
        let keep = if parser.directive(line) {
            false
        } else {
            let span = (buf, pos, pos + line.len());
            // Without detectors a line's time only counts it. Carried on for
            // them, it was stored in two halves and reloaded whole, a load
            // that cannot take its value from the stores and waits: about 4 %
            // of the dating pass, on every line.
            let (time, keep, det) = if ctx.cfg.detect.is_none() {
                let time = parser.time_memo(line, &mut memo);
                (None, out.counts.classify(ctx.cfg, time), None)
            } else {
                out.admit(ctx, (parser, &mut memo, &mut cursor), span)
            };
            if let Some(d) = det {
                // The look-alike search has answered for this line already
                // when it was the test that took it; else it answers now
                // from its slots, and the parsed line need not be searched.
                let clean = keep
                    && !d.iocs_only
                    && !out
                        .detect
                        .lookalike_at(d, &mut cursor, buf, pos, pos + line.len());
                let rec = parser.record_memo(line, &mut memo);
                loc.line = out.lines + 1;
                loc.offset = offset + pos as u64;
                let mut hits = out.detect.observe(d, &rec, (time, keep, clean), &loc);
                hits.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
                st.det_hits.extend(hits);
            }
            keep
        };
        match (keep, stretch) {
            (true, None) => stretch = Some((pos, out.lines)),
            (false, Some(open)) => {
                st.close(ctx, parser, open, pos, out.lines, &mut out.findings);
                stretch = None;
            }
            _ => {}
        }
        out.lines += 1;
        pos = end + 1;
    }
    if let Some(open) = stretch {
        st.close(ctx, parser, open, buf.len(), out.lines, &mut out.findings);
    }
    st.flush(ctx, parser, &mut out.findings);
    // Out-of-window lines give no immediate detector finding; flush anyway.
    for f in st.det_hits {
        out.findings.push(f);
    }
    out
}

/// The gathered stretches are searched once they hold this many bytes.
const GATHER_UPTO: usize = 1 << 20;

/// Where a stretch of kept lines sits in the buffer searched.
#[derive(Clone, Copy, Debug)]
struct Seg {
    /// Start in the searched buffer.
    at: usize,
    /// Start in the chunk.
    orig: usize,
    /// Physical lines of the chunk before `orig`.
    lines_before: u64,
}

/// The stretches of kept lines of a chunk, searched in line order: long
/// ones where they lie, short ones gathered into one buffer first.
struct Stretches<'b> {
    buf: &'b [u8],
    /// File offset of `buf`.
    offset: u64,
    gates: GateChoice,
    /// Short stretches not searched yet, each ending in a newline (the
    /// chunk's last line may lack one; nothing follows it).
    gathered: Vec<u8>,
    segs: Vec<Seg>,
    /// The chunk line the last gathered stretch ends with.
    gathered_end_line: u64,
    cands: Vec<usize>,
    /// Immediate detector findings (IOC, look-alike) of lines not searched
    /// yet, in line order; merged with those lines' rule findings.
    det_hits: std::collections::VecDeque<Finding>,
}

impl Stretches<'_> {
    /// Takes the stretch from `start` to `end` in the chunk, with
    /// `lines_before` lines of the chunk before it and line `end_line` its
    /// last.
    fn close(
        &mut self,
        ctx: &FileCtx,
        parser: &LineParser,
        (start, lines_before): (usize, u64),
        end: usize,
        end_line: u64,
        findings: &mut Batch,
    ) {
        let bytes = &self.buf[start..end];
        let seg = Seg {
            at: 0,
            orig: start,
            lines_before,
        };
        if bytes.len() >= ctx.cfg.gather_below {
            // Earlier lines first.
            self.flush(ctx, parser, findings);
            self.search(ctx, parser, bytes, &[seg], end_line, findings);
            return;
        }
        self.segs.push(Seg {
            at: self.gathered.len(),
            ..seg
        });
        self.gathered.extend_from_slice(bytes);
        self.gathered_end_line = end_line;
        if self.gathered.len() >= GATHER_UPTO {
            self.flush(ctx, parser, findings);
        }
    }

    /// Searches the gathered stretches.
    fn flush(&mut self, ctx: &FileCtx, parser: &LineParser, findings: &mut Batch) {
        if self.segs.is_empty() {
            return;
        }
        let gathered = std::mem::take(&mut self.gathered);
        let segs = std::mem::take(&mut self.segs);
        let end_line = self.gathered_end_line;
        self.search(ctx, parser, &gathered, &segs, end_line, findings);
        // Keep the allocations for the next stretches.
        self.gathered = gathered;
        self.gathered.clear();
        self.segs = segs;
        self.segs.clear();
    }

    /// Searches `hay`, whose lines come from the chunk as `segs` say (in
    /// order, each ending at the next one's `at`), up to chunk line
    /// `end_line`, into `findings` with the detector findings of those lines.
    fn search(
        &mut self,
        ctx: &FileCtx,
        parser: &LineParser,
        hay: &[u8],
        segs: &[Seg],
        end_line: u64,
        findings: &mut Batch,
    ) {
        let mut hits: Vec<Finding> = Vec::new();
        let mut finder = Finder::new();
        let mut cur = 0usize;
        // Line numbers continue from `counted`, a line start, with
        // `line_no` lines of the chunk before it.
        let mut seg = 0usize;
        let mut counted = segs[0].at;
        let mut line_no = segs[0].lines_before;
        // `cur` passes the end after a last line without a newline.
        while cur < hay.len()
            && let Some(p) = ctx.engine.next_candidate(hay, cur, self.gates, &mut finder)
        {
            let ls = memchr::memrchr(b'\n', &hay[cur..p]).map_or(cur, |i| cur + i + 1);
            while segs.get(seg + 1).is_some_and(|s| s.at <= ls) {
                seg += 1;
                counted = segs[seg].at;
                line_no = segs[seg].lines_before;
            }
            line_no += memchr::memchr_iter(b'\n', &hay[counted..ls]).count() as u64 + 1;
            let le = memchr::memchr(b'\n', &hay[p..]).map_or(hay.len(), |i| p + i);
            let mut line = &hay[ls..le];
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            cur = le + 1;
            counted = cur;
            ctx.engine
                .candidates_at(hay, ls, line.len(), self.gates, &finder, &mut self.cands);
            if self.cands.is_empty() {
                continue;
            }
            let rec = parser.record(line);
            // Every format's record holds the time `parser.time` gives (each
            // format's tests check it): the line is not dated a second time.
            let time = rec.time;
            let s = &segs[seg];
            let line_off = self.offset + (s.orig + (ls - s.at)) as u64;
            ctx.engine.eval(&rec, &self.cands, |rule, hit| {
                hits.push(make_finding(ctx, rule, &hit, &rec, time, line_no, line_off));
            });
            // Detector findings of earlier lines go first; those of this line
            // join its rule findings, ordered by id like everywhere else.
            let det = &mut self.det_hits;
            while det.front().is_some_and(|f| f.line < line_no) {
                findings.push(det.pop_front().expect("checked"));
            }
            while det.front().is_some_and(|f| f.line == line_no) {
                hits.push(det.pop_front().expect("checked"));
            }
            hits.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
            for f in hits.drain(..) {
                findings.push(f);
            }
        }
        // The detector findings of the searched lines after the last rule
        // candidate; later lines' wait for their own search.
        while self.det_hits.front().is_some_and(|f| f.line <= end_line) {
            findings.push(self.det_hits.pop_front().expect("checked"));
        }
    }
}

/// The line-by-line path, for rule sets with a rule that has no gate and
/// for formats where the regex gate is unsound.
fn scan_lines_each<'c>(
    ctx: &FileCtx<'c>,
    parser: &mut LineParser,
    buf: &[u8],
    offset: u64,
) -> ChunkOut<'c> {
    let mut out = ChunkOut {
        findings: Batch::new(ctx),
        detect: DetectState::default(),
        counts: Counts::default(),
        lines: 0,
    };
    let mut cands: Vec<usize> = Vec::new();
    let mut loc = ctx.detector_loc();
    let mut hits: Vec<Finding> = Vec::new();
    let mut memo = TimeMemo::default();
    let mut cursor = Cursor::default();
    let mut pos = 0usize;
    while pos < buf.len() {
        let end = memchr::memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
        let mut line = &buf[pos..end];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        out.lines += 1;
        let line_no = out.lines;
        let line_off = offset + pos as u64;
        let span = (buf, pos, pos + line.len());
        pos = end + 1;
        if parser.directive(line) {
            continue;
        }
        let (time, keep, det) = out.admit(ctx, (parser, &mut memo, &mut cursor), span);
        if !keep && det.is_none() {
            continue;
        }
        if keep {
            ctx.engine.candidates(line, &mut cands);
        }
        if (!keep || cands.is_empty()) && det.is_none() {
            continue;
        }
        let rec = parser.record(line);
        if let Some(d) = det {
            loc.line = line_no;
            loc.offset = line_off;
            hits.extend(out.detect.observe(d, &rec, (time, keep, false), &loc));
        }
        if keep && !cands.is_empty() {
            ctx.engine.eval(&rec, &cands, |rule, hit| {
                hits.push(make_finding(ctx, rule, &hit, &rec, time, line_no, line_off));
            });
        }
        hits.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
        for f in hits.drain(..) {
            out.findings.push(f);
        }
    }
    out
}

fn make_finding(
    ctx: &FileCtx,
    rule: &Rule,
    hit: &Hit,
    rec: &Record,
    time: Option<Timestamp>,
    line: u64,
    byte_offset: u64,
) -> Finding {
    let pan = hit.pan.as_ref().map(|p| PanReport {
        masked: card::mask_pan(&p.digits),
        brand: p.brand,
        fingerprint: ctx.cfg.fingerprinter.fingerprint(&p.digits),
        test_card: p.test_card,
    });
    // Public test numbers are worth knowing about, not an incident.
    let level = if pan.as_ref().is_some_and(|p| p.test_card) {
        rule.level.min(Level::Low)
    } else {
        rule.level
    };
    // Fields and evidence are pieces of the line: when the line holds
    // nothing to mask, neither do they (values not borrowed from the line
    // are masked as usual).
    let clean = card::masks_nothing_in(rec.raw);
    let evidence = evidence(rec.raw, &evidence_anchor(rec, hit), clean);
    Finding {
        fingerprint: crate::report::fingerprint(&rule.id, ctx.relative, &evidence),
        rule_id: rule.id.clone(),
        rule_title: rule.title.clone(),
        level,
        category: rule.category,
        path: ctx.display.to_string(),
        line,
        byte_offset,
        timestamp: time,
        fields: report_fields(rec, clean),
        evidence,
        decoded: hit.decoded.clone(),
        decoded_evidence: (!hit.decoded.is_empty())
            .then(|| decoded_evidence(hit))
            .flatten(),
        pan,
    }
}

/// The record's fields for the report, cut and masked; `clean`: the raw
/// line holds nothing to mask ([`card::masks_nothing_in`]).
fn report_fields(rec: &Record, clean: bool) -> Fields {
    let line = rec.raw.as_ptr_range();
    let (lo, hi) = (line.start as usize, line.end as usize);
    let mut m = Fields::new();
    let n = rec.fields.len().min(FIELDS_MAX);
    // Values past the cut need no room (a JSON value may be megabytes).
    let bytes = rec.fields[..n]
        .iter()
        .map(|(k, v)| k.len() + v.len().min(4 * FIELD_MAX_CHARS + 3))
        .sum();
    m.reserve(n, bytes);
    for (k, v) in &rec.fields {
        if m.len() >= FIELDS_MAX {
            break;
        }
        // A piece of the line (not a value rebuilt from parts of it).
        let piece = |s: &str| {
            let at = s.as_ptr() as usize;
            lo <= at && at + s.len() <= hi
        };
        // Names come from the log too (JSON keys); masking needs digits,
        // which the formats' own names do not have.
        let name = if !k.bytes().any(|b| b.is_ascii_digit()) || clean && piece(k) {
            Cow::Borrowed(&**k)
        } else {
            card::mask_text(k)
        };
        // The first value of a repeated key wins.
        m.insert_first(&name, |out| {
            if clean && piece(v) {
                out.push_str(&cut_chars(v, FIELD_MAX_CHARS));
            } else {
                // Masked before the cut, with room past it: a cut through
                // a card number (or the blob encoding one) would leave
                // digits that no longer look like one.
                let head = head_chars(v, FIELD_MAX_CHARS + MASK_MARGIN);
                out.push_str(&cut_chars(&card::mask_text(head), FIELD_MAX_CHARS));
            }
        });
    }
    m
}

/// `s` cut to `max` characters, marked with `…` when cut.
fn cut_chars(s: &str, max: usize) -> Cow<'_, str> {
    let head = head_chars(s, max);
    if head.len() == s.len() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("{head}…"))
    }
}

/// The first `max` characters of `s`.
fn head_chars(s: &str, max: usize) -> &str {
    if s.len() <= max {
        // No more characters than bytes.
        return s;
    }
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

/// For a match found in decoded text, the hit to center the raw excerpt on:
/// the matched field's value as written (the decoded text is not in the
/// line), without the decoded-text card position.
fn evidence_anchor<'h>(rec: &Record, hit: &'h Hit) -> Cow<'h, Hit> {
    if hit.decoded.is_empty() {
        return Cow::Borrowed(hit);
    }
    Cow::Owned(Hit {
        field: hit.field.clone(),
        value: hit
            .field
            .as_deref()
            .and_then(|f| rec.get(f))
            .map(str::to_string),
        offset: None,
        ..Hit::default()
    })
}

/// Characters of decoded text shown before and after a decoded match.
const DECODED_BEFORE: usize = 120;
const DECODED_AFTER: usize = 240;

/// The decoded text around the match, masked: whole when short, else a
/// window widened so it never cuts through a digit group (a cut PAN could
/// slip past masking). Control characters become spaces.
fn decoded_evidence(hit: &Hit) -> Option<String> {
    let v = hit.value.as_deref()?;
    let at = hit.value_offset.filter(|&o| o <= v.len()).unwrap_or(0);
    let b = v.as_bytes();
    let mut start = at.saturating_sub(DECODED_BEFORE * 4 / 3);
    let mut end = (at + DECODED_AFTER * 4 / 3).min(b.len());
    let digitish = |c: u8| c.is_ascii_digit() || matches!(c, b' ' | b'-' | b'.' | b'+');
    let mut budget = 128;
    while start > 0 && (digitish(b[start - 1]) || !v.is_char_boundary(start)) && budget > 0 {
        start -= 1;
        budget -= 1;
    }
    let mut budget = 128;
    while end < b.len() && (digitish(b[end]) || !v.is_char_boundary(end)) && budget > 0 {
        end += 1;
        budget -= 1;
    }
    while !v.is_char_boundary(start) {
        start -= 1;
    }
    while !v.is_char_boundary(end) {
        end += 1;
    }
    let mut s = String::new();
    if start > 0 {
        s.push('…');
    }
    s.extend(
        v[start..end]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c }),
    );
    if end < b.len() {
        s.push('…');
    }
    Some(card::mask_owned(s))
}

/// The excerpt of the raw line around the match, masked unless `clean`:
/// the whole line when short, else a window, widened so it does not cut
/// through a digit group, and masked with room around it
/// ([`masked_excerpt`]).
fn evidence(raw: &[u8], hit: &Hit, clean: bool) -> String {
    const WHOLE: usize = EVIDENCE_BEFORE + EVIDENCE_AFTER;
    if raw.len() <= WHOLE {
        let s = crate::text::lossy(raw).into_owned();
        return if clean { s } else { card::mask_owned(s) };
    }
    let center = hit
        .offset
        .filter(|&o| o < raw.len())
        .or_else(|| {
            hit.value
                .as_deref()
                .filter(|v| !v.is_empty())
                .and_then(|v| memchr::memmem::find(raw, v.as_bytes()))
        })
        .or_else(|| hit.pan.as_ref().map(|p| p.start).filter(|&s| s < raw.len()))
        .unwrap_or(0);
    let mut start = center.saturating_sub(EVIDENCE_BEFORE);
    let mut end = (center + EVIDENCE_AFTER).min(raw.len());
    let digitish = |b: u8| b.is_ascii_digit() || b == b' ' || b == b'-' || b == b'%' || b == b'+';
    let mut budget = 128;
    while start > 0 && digitish(raw[start - 1]) && budget > 0 {
        start -= 1;
        budget -= 1;
    }
    let mut budget = 128;
    while end < raw.len() && digitish(raw[end]) && budget > 0 {
        end += 1;
        budget -= 1;
    }
    let mut s = String::new();
    if start > 0 {
        s.push('…');
    }
    if clean {
        s.push_str(&crate::text::lossy(&raw[start..end]));
    } else {
        s.push_str(&masked_excerpt(raw, start, end));
    }
    if end < raw.len() {
        s.push('…');
    }
    s
}

/// Bytes masked around an excerpt: more than a card number, or a blob
/// holding one, takes (nested blobs included).
const MASK_MARGIN: usize = 512;

/// `raw[start..end]` as text, masked with [`MASK_MARGIN`] bytes around it
/// and cut after: a card number, or the blob encoding one, that the cut
/// goes through is masked as a whole. Masking keeps the length but for
/// CVV values and escaped digits, so the cut may move by a few
/// bytes.
fn masked_excerpt(raw: &[u8], start: usize, end: usize) -> String {
    let (rs, re) = (
        start.saturating_sub(MASK_MARGIN),
        (end + MASK_MARGIN).min(raw.len()),
    );
    let before = crate::text::lossy(&raw[rs..start]).len();
    let len = crate::text::lossy(&raw[start..end]).len();
    let all = card::mask_owned(crate::text::lossy(&raw[rs..re]).into_owned());
    let mut a = before.min(all.len());
    while !all.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (before + len).min(all.len());
    while !all.is_char_boundary(b) {
        b += 1;
    }
    all[a..b].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line with nothing to mask skips masking only for values that are
    /// pieces of it: a value rebuilt from parts of the line (the combined
    /// parser joins a user name's tokens with single spaces) can hold a card
    /// number the line does not.
    #[test]
    fn values_rebuilt_from_a_clean_line_are_still_masked() {
        let raw: &[u8] = b"10.0.0.1 - 4111 1111  1111 1111 [27/Sep/2017:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 5";
        assert!(card::masks_nothing_in(raw));
        let text = std::str::from_utf8(raw).unwrap();
        let mut rec = Record::bare(raw, None, crate::record::Family::Web);
        rec.fields.push(("c-ip".into(), text[..8].into()));
        rec.fields.push((
            "cs-username".into(),
            Cow::Owned("4111 1111 1111 1111".to_string()),
        ));
        let fields = report_fields(&rec, true);
        assert_eq!(&fields["c-ip"], "10.0.0.1");
        assert_eq!(&fields["cs-username"], "4111 11** **** 1111");
        let hit = Hit::default();
        assert_eq!(evidence(raw, &hit, true), text);
    }

    fn pool(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    #[test]
    fn ordered_chunks_merge_in_order_within_the_window() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in [1, 2, 4] {
            for window in [1, 2, 7] {
                let merged = AtomicUsize::new(0);
                let mut order = Vec::new();
                pool(threads).install(|| {
                    ordered_chunks(
                        50,
                        window,
                        |i| {
                            // Uneven work, so chunks finish out of order.
                            std::thread::sleep(std::time::Duration::from_micros(
                                ((i * 7919) % 13) as u64 * 100,
                            ));
                            // A chunk only starts within the window.
                            assert!(i < merged.load(Ordering::SeqCst) + window, "{i}");
                            i
                        },
                        |i| {
                            order.push(i);
                            merged.fetch_add(1, Ordering::SeqCst);
                        },
                    )
                });
                assert_eq!(order, (0..50).collect::<Vec<_>>(), "{threads} {window}");
            }
        }
        let mut none = Vec::new();
        ordered_chunks(0, 4, |i| i, |i| none.push(i));
        assert!(none.is_empty());
    }

    #[test]
    fn a_panic_while_scanning_a_file_becomes_its_masked_error_entry() {
        let o = isolated("logs/a.log", || {
            panic!("byte index 3 is not a char boundary in `cc=4111111111111111&x`")
        });
        assert!(o.internal_error);
        assert_eq!(o.file.path, "logs/a.log");
        assert_eq!(o.file.status, FileStatus::Error);
        let reason = o.file.reason.unwrap();
        assert!(
            reason.starts_with("internal error: byte index 3"),
            "{reason}"
        );
        assert!(!reason.contains("4111111111111111"), "{reason}");
        assert!(reason.contains("411111"), "{reason}");
        assert_eq!(o.findings.len(), 0);
        // A formatted message (String payload) too; no panic: unchanged.
        let o = isolated("b", || panic!("{}", String::from("x\u{1b}[2J")));
        assert_eq!(
            o.file.reason.as_deref().map(|r| r.contains("\\u{1b}")),
            Some(true)
        );
        let mut ok = FileReport::new("c");
        ok.records = 7;
        let o = isolated("c", || FileOutcome {
            file: ok,
            findings: Findings::default(),
            rendered: Rendered::default(),
            tally: Tally::default(),
            detect: DetectState::default(),
            internal_error: false,
        });
        assert!(!o.internal_error);
        assert_eq!((o.file.status, o.file.records), (FileStatus::Scanned, 7));
    }

    #[test]
    fn a_panicking_chunk_propagates_instead_of_hanging() {
        let r = std::panic::catch_unwind(|| {
            pool(2).install(|| {
                ordered_chunks(
                    40,
                    2,
                    |i| {
                        if i == 0 {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            panic!("chunk 0");
                        }
                        i
                    },
                    |_| {},
                )
            })
        });
        assert!(r.is_err());
    }

    #[test]
    fn chunks_end_on_line_ends_and_cover_everything() {
        let data = b"aa\nbbbb\nc\n\ndd";
        for size in 1..20 {
            let ch = line_chunks(data, size, &|_, _| {});
            assert_eq!(ch.first().map(|c| c.0), Some(0));
            assert_eq!(ch.last().map(|c| c.1), Some(data.len()));
            for w in ch.windows(2) {
                assert_eq!(w[0].1, w[1].0);
                assert_eq!(data[w[0].1 - 1], b'\n');
            }
        }
        assert!(line_chunks(b"", 4, &|_, _| {}).is_empty());
    }
}
