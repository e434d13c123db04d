//! Matching: all rules compile into prefilter gates over raw bytes (one
//! Aho-Corasick automaton for every literal, a card-number digit scanner, an
//! encoding-escape scanner, one multi-pattern regex for literal-free
//! regexes), searched over whole buffers so most lines are passed over
//! without being looked at one by one; only lines holding a gate hit are
//! parsed into records and evaluated against their candidate rules.

use aho_corasick::dfa::DFA;
use aho_corasick::{MatchKind, StartKind};
use regex_automata::meta;
use regex_syntax::hir::{Hir, HirKind};

use crate::decode;
use crate::record::{Family, Record};
use crate::rules::{Gate, Hit, RecordCtx, Rule, required_punct};
use crate::walk::{Lasts, Table};

/// Lazy-DFA cache for the literal-free regex gate: the 2 MiB default
/// thrashes on dozens of patterns.
const GATE_CACHE: usize = 64 << 20;
/// Fewest digits in a card number (see `card::find_pans`).
const PAN_MIN_DIGITS: usize = 13;

/// The compiled rule set.
pub struct Engine {
    rules: Vec<Rule>,
    /// Gate sets by [`GateChoice`]: raw literals (keeping punctuation:
    /// `window.name`, not `window`) for formats whose field values are
    /// slices of the raw line, safe ones for the rest; and for formats
    /// whose records are all web records, sets without the rules that
    /// cannot apply to them (a chat rule's regex gate took a tenth of a
    /// web log scan). Each is built when a file first needs it: a scan of
    /// one format needs one, and building all four was most of the start-up
    /// time.
    sets: [std::sync::OnceLock<GateSet>; 4],
}

/// Which gate set a file's lines go through, from its format: see
/// [`Engine::gate_choice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateChoice {
    raw_fields: bool,
    web_only: bool,
}

impl GateChoice {
    fn index(self) -> usize {
        usize::from(self.raw_fields) * 2 + usize::from(self.web_only)
    }
}

/// The prefilter gates of every rule, for one kind of format.
struct GateSet {
    /// All literals of all rules: the buffer search needs the line of the
    /// next occurrence ([`Lasts`]), a candidate line every literal present
    /// (overlapping, for attribution).
    ac: Option<Table>,
    /// Pattern index → rules needing it.
    pattern_rules: Vec<Vec<usize>>,
    /// Rules without any gate: evaluated on every kept line.
    always: Vec<usize>,
    /// Rules gated by a card-number-shaped digit sequence.
    digit_rules: Vec<usize>,
    /// Rules gated by a digit sequence that may be a valid card number.
    pan_rules: Vec<usize>,
    /// Rules that decode values: also candidates on lines holding an
    /// escape that may hide a literal.
    escape_rules: Vec<usize>,
    /// Rules that do not decode, in a set for formats that unescape JSON
    /// strings: also candidates on lines holding a `\uXXXX` escape, which
    /// the parser turns into the character (`\u0073kim` is `skim`).
    unicode_rules: Vec<usize>,
    /// Rules gated by the literal-free regex gate.
    regex_rules: Vec<usize>,
    /// One regex per distinct gate pattern, each with its own literal
    /// prefilter: one combined regex had none as soon as one member lacked
    /// a literal, and ran its DFA over every byte.
    regex_gates: Vec<RegexGate>,
    /// Regex gates that need a long run of one class (`[A-Za-z0-9+/]{200,}`),
    /// found by a skip-scanner instead of a DFA.
    runs: Vec<ClassRun>,
    /// Punctuation-count gates of decoding rules' literal-free regexes.
    counts: Vec<CountGate>,
    /// Rules that decode base64/hex blobs: a literal can hide inside a blob,
    /// so a line with a run that may decode is a candidate for them.
    blob: Option<BlobGate>,
    /// Tests a rule's line must also pass, whatever gate made it a
    /// candidate: from the parts its condition ANDs in besides the one that
    /// gives its gate (an image path and a long payload in its query; a
    /// POST and an image path). Raw-field formats only.
    confirms: Vec<(usize, Confirm)>,
}

/// A necessary condition of one rule's match, tested on its candidate lines.
enum Confirm {
    /// A class run; with `in_query`, after the line's first `?`: the regex
    /// reads `cs-uri-query`, which raw-field formats cut from a request
    /// target in the line right after a `?` (`format::push_uri`).
    Run { run: Box<ClassRun>, in_query: bool },
    /// One of these literals, ASCII case ignored (a rule that does not
    /// decode: no escape can spell them).
    Lits(aho_corasick::AhoCorasick),
}

impl Confirm {
    fn holds(&self, line: &[u8]) -> bool {
        match self {
            Confirm::Run { run, in_query } => {
                let from = if *in_query {
                    match memchr::memchr(b'?', line) {
                        Some(q) => q + 1,
                        None => return false,
                    }
                } else {
                    0
                };
                run.find(line, from).is_some()
            }
            Confirm::Lits(ac) => ac.is_match(line),
        }
    }
}

/// A searcher for a gate set made of literals only (`None` otherwise):
/// a line holds a member when the searcher finds one in it.
fn literal_confirm(set: &[Gate]) -> Option<aho_corasick::AhoCorasick> {
    let lits = set
        .iter()
        .map(|g| match g {
            Gate::Lit(l) => Some(l.as_slice()),
            _ => None,
        })
        .collect::<Option<Vec<&[u8]>>>()?;
    if lits.is_empty() {
        return None;
    }
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(lits)
        .ok()
}

/// The class of raw bytes that can spell, once a value is decoded with the
/// in-place layers of `opts`, a byte of `class`: the class and the bytes of
/// the escapes that may stand for one. `None` for blob layers, whose
/// output is no run of the input.
fn raw_class(mut class: [bool; 256], opts: decode::DecodeOpts) -> Option<[bool; 256]> {
    if opts.blobs() {
        return None;
    }
    let mut add = |f: &dyn Fn(u8) -> bool| {
        for (b, c) in class.iter_mut().enumerate() {
            *c |= f(b as u8);
        }
    };
    if opts.url {
        // `%XX` and `%uXXXX`.
        add(&|b| matches!(b, b'%' | b'u' | b'U') || b.is_ascii_hexdigit());
    }
    if opts.plus {
        add(&|b| b == b'+');
    }
    if opts.html {
        add(&|b| matches!(b, b'&' | b'#' | b';') || b.is_ascii_alphanumeric());
    }
    if opts.json {
        add(&|b| matches!(b, b'\\' | b'/' | b'"') || b.is_ascii_alphanumeric());
    }
    Some(class)
}

/// The blob gate: runs of base64-alphabet bytes, `%`, `&` and `;` (URL or
/// HTML decoding can join pieces split by `%2F` or `&sol;` into one run,
/// and neither escape can hide a literal byte, so no escape gate fires).
/// With `exact` (field values are slices of the raw line) a run without
/// such an escape must also decode as the decoder would
/// ([`decode::run_may_decode`]): paths and ids in URLs are long base64
/// runs, and without that test most web lines were decoded and evaluated.
struct BlobGate {
    run: ClassRun,
    /// The blob layers any of the rules decode.
    opts: decode::DecodeOpts,
    exact: bool,
}

impl BlobGate {
    fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        if !self.exact {
            return self.run.find(hay, from);
        }
        match &self.run.ranges {
            #[cfg(target_arch = "x86_64")]
            Some(tests) if tests.wide && self.run.min <= 64 => {
                // SAFETY: `wide` is set only when the CPU has AVX2 and POPCNT.
                unsafe { self.find_exact_wide(tests, hay, from) }
            }
            Some(tests) if self.run.min <= 64 => {
                self.find_exact_by(hay, from, |block| range_mask(block, tests))
            }
            _ => self.first_blob(
                hay,
                from,
                |p| self.run.find(hay, p),
                |s| self.run.run_end(hay, s),
            ),
        }
    }

    /// The start of the first run that may hold a blob: the next run and
    /// its end found by block tests inlined in one loop. Web lines hold a
    /// run or two each (paths, referers, ids), nearly all tested and passed
    /// over, and a call for each start and each end was 1.5 % of a scan
    /// with the rule pack.
    #[inline(always)]
    fn find_exact_by(
        &self,
        hay: &[u8],
        from: usize,
        mask: impl Fn(&[u8; 64]) -> u64,
    ) -> Option<usize> {
        self.first_blob(
            hay,
            from,
            |p| self.run.find_blocks_by(hay, p, &mask),
            |s| self.run.run_end_by(hay, s, &mask),
        )
    }

    /// The start of the first run in `hay` from `from` that may hold a
    /// blob, runs found by `next_run` (a start at or after a position) and
    /// `run_end`.
    #[inline(always)]
    fn first_blob(
        &self,
        hay: &[u8],
        from: usize,
        next_run: impl Fn(usize) -> Option<usize>,
        run_end: impl Fn(usize) -> usize,
    ) -> Option<usize> {
        let mut p = from;
        loop {
            let s = next_run(p)?;
            let e = run_end(s);
            if self.run_may_hold_blob(&hay[s..e]) {
                return Some(s);
            }
            p = e;
        }
    }

    /// Whether a maximal raw run of the class may give a blob variant once
    /// its field is decoded ([`BlobGate::run_may_hold_blob_fresh`]),
    /// remembered: most runs are a few recurring paths and referers, whose
    /// answer is known before their bytes are looked at for escapes.
    fn run_may_hold_blob(&self, r: &[u8]) -> bool {
        remembered(r, self.opts, || self.run_may_hold_blob_fresh(r))
    }

    /// Whether a maximal raw run of the class may give a blob variant once
    /// its field is decoded. `%XX` escapes and character references in the
    /// run either join its pieces (`%2F`, `&sol;` become a base64 byte) or
    /// separate them (`&` between query parameters, `%2C`); each piece
    /// between separators is tested on its own. Query strings are runs
    /// joined by `&`, and taking every run with a `&` as a candidate made
    /// a tenth of all web lines candidates for every blob rule.
    fn run_may_hold_blob_fresh(&self, r: &[u8]) -> bool {
        if memchr::memchr3(b'%', b'&', b';', r).is_none() {
            return decode::run_may_decode(r, self.opts);
        }
        // A piece whose decoded length reaches a blob's: joined pieces are
        // taken as they are (the field cuts of `run_may_decode` do not map
        // onto decoded text), the others tested exactly.
        let piece = |bytes: &[u8], len: usize, joined: bool| {
            len >= decode::MIN_BASE64_RUN && (joined || may_decode(bytes, self.opts))
        };
        let (mut start, mut len, mut joined) = (0, 0, false);
        let mut i = 0;
        while i < r.len() {
            match blob_escape(r, i) {
                RunByte::Plain => {
                    len += 1;
                    i += 1;
                }
                RunByte::Joins(n) => {
                    len += 1;
                    joined = true;
                    i += n;
                }
                RunByte::Separates(n) => {
                    if piece(&r[start..i], len, joined) {
                        return true;
                    }
                    i += n;
                    (start, len, joined) = (i, 0, false);
                }
                RunByte::Hides => return true,
            }
        }
        piece(&r[start..], len, joined)
    }
}

/// What one position of a blob-class run becomes in the decoded field.
enum RunByte {
    /// A base64 byte as it is.
    Plain,
    /// An escape of `n` bytes decoding to a base64 byte (`%2F`, `&sol;`).
    Joins(usize),
    /// `n` bytes decoding to a byte outside the alphabet (`&` between
    /// parameters, `%2C`, `&lt;`, a stray `;`).
    Separates(usize),
    /// An escape that may decode into another escape (`%25`, `&amp;`,
    /// `&#`, `%3B`, ...): the line is taken, as the escape gate takes it.
    Hides,
}

/// Classifies `r[i]` (a byte of the blob class) the way URL and HTML
/// decoding, repeated, would see it.
fn blob_escape(r: &[u8], i: usize) -> RunByte {
    let byte = |v: u8, n: usize| {
        // `;` can complete a reference (`hides_literal` takes `\`, which
        // starts a JSON escape).
        if hides_literal(v) || v == b';' {
            RunByte::Hides
        } else if decode::is_base64_byte(v) {
            RunByte::Joins(n)
        } else {
            RunByte::Separates(n)
        }
    };
    match r[i] {
        b'%' => match (r.get(i + 1), r.get(i + 2)) {
            (Some(&h), Some(&l)) if is_hex(h) && is_hex(l) => byte(hex_val(h) << 4 | hex_val(l), 3),
            // `%u002F` (IIS): as `%2F` when ASCII.
            (Some(b'u' | b'U'), _) => match decode::percent_u(r, i) {
                Some((c, n)) if c.is_ascii() => byte(c as u8, n),
                Some((_, n)) => RunByte::Separates(n),
                None => RunByte::Separates(1),
            },
            // A `%` that escapes nothing stays as it is.
            _ => RunByte::Separates(1),
        },
        b'&' => {
            if r.get(i + 1) == Some(&b'#') {
                return RunByte::Hides;
            }
            match decode::parse_reference(&r[i..]) {
                Some((v, n)) => match v.as_bytes() {
                    [c] => byte(*c, n),
                    // Non-ASCII values: outside the alphabet, and no escape.
                    _ => RunByte::Separates(n),
                },
                None => RunByte::Separates(1),
            }
        }
        b';' => RunByte::Separates(1),
        _ => RunByte::Plain,
    }
}

/// Runs remembered per thread by [`remembered`] (a power of two). Few:
/// in web logs a few dozen runs (referers, static paths, crawler names)
/// are two thirds of all, and the rest are mostly seen once (product
/// paths, click ids). A table of 4,096 slots (512 KiB) held more of the
/// rare ones but missed the cache on most lookups; 128 stay in L1.
const MEMO_SLOTS: usize = 128;
const _: () = assert!(MEMO_SLOTS.is_power_of_two());

/// Longest run [`remembered`] keeps (a slot is 128 bytes).
const MEMO_MAX_RUN: usize = 119;

/// Hits a slot's run can bank against runs that would replace it.
const MEMO_MAX_SCORE: u8 = 7;

/// One remembered blob test of a raw run (see [`remembered`]): the run's
/// bytes in place (no allocation per miss), `len` 0 when empty.
#[derive(Clone, Copy)]
struct MemoSlot {
    opts: decode::DecodeOpts,
    len: u8,
    verdict: bool,
    /// Hits banked, less the misses since: the slot's run is replaced only
    /// at 0, so a run seen once does not push out one seen on every page.
    score: u8,
    run: [u8; MEMO_MAX_RUN],
}

thread_local! {
    static DECODE_MEMO: std::cell::RefCell<Vec<MemoSlot>> = std::cell::RefCell::new(
        vec![
            MemoSlot {
                opts: decode::DecodeOpts::default(),
                len: 0,
                verdict: false,
                score: 0,
                run: [0; MEMO_MAX_RUN],
            };
            MEMO_SLOTS
        ]
    );
}

/// [`decode::run_may_decode`], remembered.
fn may_decode(run: &[u8], opts: decode::DecodeOpts) -> bool {
    remembered(run, opts, || decode::run_may_decode(run, opts))
}

/// `verdict()`, the blob test of the raw run `run` under `opts`, remembered
/// for runs that recur: the same paths and referers come back on many
/// lines, and trying their decodings again was a tenth of a default-pack
/// scan. The test of a run without escapes is [`decode::run_may_decode`]
/// whichever caller asks, so one memo serves both. A slot holds the whole
/// run, so a hash collision only costs a recomputation.
fn remembered(run: &[u8], opts: decode::DecodeOpts, verdict: impl FnOnce() -> bool) -> bool {
    // Blob runs are at least 16 bytes: shorter ones are not worth a slot.
    if run.len() > MEMO_MAX_RUN || run.len() < 8 {
        return verdict();
    }
    let n = run.len();
    let slot = crate::memo::slot_of(crate::memo::quick_hash(run), MEMO_SLOTS);
    let known = DECODE_MEMO.with(|m| {
        let s = &mut m.borrow_mut()[slot];
        let hit = usize::from(s.len) == n && s.opts == opts && s.run[..n] == *run;
        if hit {
            s.score = (s.score + 1).min(MEMO_MAX_SCORE);
        }
        hit.then_some(s.verdict)
    });
    if let Some(v) = known {
        return v;
    }
    // Computed with the memo free: the test of a run with escapes asks it
    // about the pieces between them.
    let v = verdict();
    DECODE_MEMO.with(|m| {
        let s = &mut m.borrow_mut()[slot];
        if s.score == 0 {
            s.len = n as u8;
            s.opts = opts;
            s.verdict = v;
            s.score = 1;
            s.run[..n].copy_from_slice(run);
        } else {
            s.score -= 1;
        }
    });
    v
}

/// A gate: some line holds `min` bytes of a set (see `Gate::Count`).
struct CountGate {
    set: [bool; 256],
    min: usize,
    rules: Vec<usize>,
    /// The set as vector tests (it is a few bytes).
    tests: ByteTests,
}

/// Whether the CPU runs the block scans' vector code: AVX2 for the tests,
/// POPCNT for counting their masks (without it `count_ones` is a dozen
/// instructions, in the per-line loop of the count gates).
#[cfg(target_arch = "x86_64")]
pub(crate) fn wide_cpu() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt")
}

/// Runs `$body` with `$mask` bound to the AVX2 class test of `$tests`,
/// picked once per call: the nibble lookup when the class has tables
/// (small enough to inline into the block loops), else the per-range
/// compares. Used only inside `#[target_feature(enable = "avx2,popcnt")]` functions.
#[cfg(target_arch = "x86_64")]
macro_rules! with_wide_mask {
    ($tests:expr, $mask:ident => $body:expr) => {{
        let tests: &ByteTests = $tests;
        match &tests.nibbles {
            Some(tables) => {
                let $mask = |block: &[u8; 64]| nibble_mask_wide(block, tables, tests.upper);
                $body
            }
            None => {
                let $mask = |block: &[u8; 64]| range_mask_wide(block, tests);
                $body
            }
        }
    }};
}

impl BlobGate {
    /// [`BlobGate::find_exact_by`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn find_exact_wide(&self, tests: &ByteTests, hay: &[u8], from: usize) -> Option<usize> {
        with_wide_mask!(tests, mask => self.find_exact_by(hay, from, mask))
    }
}

impl CountGate {
    fn new(set: [bool; 256], min: usize) -> CountGate {
        CountGate {
            set,
            min,
            rules: Vec::new(),
            tests: ByteTests::new(&byte_ranges(&set)),
        }
    }

    /// Whether `line` (without its newline) holds `min` bytes of the set:
    /// the block count, as a byte loop here was a twentieth of a
    /// default-pack scan.
    fn line_hits(&self, line: &[u8]) -> bool {
        self.find(line, 0).is_some()
    }

    /// The start of the first line at or after `from` (a line start) that
    /// holds `min` bytes of the set.
    fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if self.tests.wide {
            // SAFETY: `wide` is set only when the CPU has AVX2 and POPCNT.
            return unsafe { self.find_wide(hay, from) };
        }
        self.find_by(hay, from, |block| range_mask(block, &self.tests))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn find_wide(&self, hay: &[u8], from: usize) -> Option<usize> {
        with_wide_mask!(&self.tests, mask => self.find_by(hay, from, mask))
    }

    /// 64 bytes at a time: members counted by popcount between the
    /// newlines of the block (a byte-by-byte loop was a sixth of a
    /// default-pack scan).
    #[inline(always)]
    fn find_by(&self, hay: &[u8], from: usize, mask: impl Fn(&[u8; 64]) -> u64) -> Option<usize> {
        let min = self.min.max(1);
        let (mut ls, mut n) = (from, 0usize);
        let mut p = from;
        while let Some(block) = hay.get(p..p + 64) {
            let block: &[u8; 64] = block.try_into().expect("64 bytes");
            let mut m = mask(block);
            let mut nl = crate::lines::block_mask(block, b'\n');
            while nl != 0 {
                let k = nl.trailing_zeros();
                // Members before the newline end the current line's count.
                let upto = if k == 63 {
                    u64::MAX
                } else {
                    (1u64 << (k + 1)) - 1
                };
                n += (m & upto).count_ones() as usize;
                if n >= min {
                    return Some(ls);
                }
                (ls, n) = (p + k as usize + 1, 0);
                m &= !upto;
                nl &= nl - 1;
            }
            n += m.count_ones() as usize;
            if n >= min {
                return Some(ls);
            }
            p += 64;
        }
        for (i, &b) in hay.iter().enumerate().skip(p) {
            if b == b'\n' {
                (ls, n) = (i + 1, 0);
            } else if self.set[usize::from(b)] {
                n += 1;
                if n >= min {
                    return Some(ls);
                }
            }
        }
        None
    }
}

/// A byte class as inclusive ranges.
fn byte_ranges(class: &[bool; 256]) -> Vec<(u8, u8)> {
    let mut ranges = Vec::new();
    let mut b = 0usize;
    while b < 256 {
        if class[b] {
            let start = b;
            while b + 1 < 256 && class[b + 1] {
                b += 1;
            }
            ranges.push((start as u8, b as u8));
        }
        b += 1;
    }
    ranges
}

/// A literal-free regex gate and the rules it admits.
struct RegexGate {
    re: meta::Regex,
    rules: Vec<usize>,
}

/// Maximal runs of `min` or more bytes of a class, found a block at a time
/// (the class-run gate's scanner, for other modules).
pub(crate) struct Runs(ClassRun);

impl Runs {
    pub(crate) fn new(class: [bool; 256], min: usize) -> Runs {
        Runs(ClassRun::new(class, min, Vec::new()))
    }

    /// The end of the run of class bytes at `s`: the first byte at or after
    /// it outside the class (`s` when none is left).
    pub(crate) fn end(&self, hay: &[u8], s: usize) -> usize {
        self.0.run_end(hay, s)
    }

    /// The runs in `hay`, as (start, end), in order.
    pub(crate) fn iter<'h>(&'h self, hay: &'h [u8]) -> impl Iterator<Item = (usize, usize)> + 'h {
        let mut from = 0;
        std::iter::from_fn(move || {
            let s = self.0.find(hay, from)?;
            let e = self.0.run_end(hay, s);
            from = e;
            Some((s, e))
        })
    }
}

/// A gate: the line holds `min` consecutive bytes of a class.
struct ClassRun {
    class: [bool; 256],
    min: usize,
    rules: Vec<usize>,
    /// The class as vector tests, when few enough for a block test.
    ranges: Option<ByteTests>,
}

/// A byte class as the cheapest test of each part on a 16-byte vector:
/// single bytes by equality, spans by an unsigned compare, and the whole
/// upper half (any non-ASCII byte, which a Unicode `\d` or `\w` admits) by
/// the sign bits alone. With AVX2, the ASCII part is two table lookups by
/// nibble instead, whatever the number of parts.
struct ByteTests {
    singles: Vec<u8>,
    spans: Vec<(u8, u8)>,
    upper: bool,
    /// Test 32 bytes per instruction (the CPU has AVX2).
    wide: bool,
    /// Nibble tables of the ASCII part: byte `b < 0x80` is in the class
    /// when `low[b & 15] & high[b >> 4] != 0` (bit `h` of `low[l]` says
    /// whether `h << 4 | l` is in it). `None` when a part is non-ASCII
    /// other than the whole upper half.
    nibbles: Option<([u8; 16], [u8; 16])>,
}

impl ByteTests {
    /// From inclusive byte ranges.
    fn new(ranges: &[(u8, u8)]) -> ByteTests {
        let mut t = ByteTests {
            singles: Vec::new(),
            spans: Vec::new(),
            upper: false,
            #[cfg(target_arch = "x86_64")]
            wide: wide_cpu(),
            #[cfg(not(target_arch = "x86_64"))]
            wide: false,
            nibbles: None,
        };
        let mut low = [0u8; 16];
        let high: [u8; 16] = std::array::from_fn(|h| if h < 8 { 1 << h } else { 0 });
        let mut ascii = true;
        // A range across 0x80 as its ASCII part and its upper part.
        let split = ranges.iter().flat_map(|&(lo, hi)| {
            let (a, b) = if lo < 0x80 && hi >= 0x80 {
                ((lo, 0x7f), Some((0x80, hi)))
            } else {
                ((lo, hi), None)
            };
            std::iter::once(a).chain(b)
        });
        for (lo, hi) in split {
            match (lo, hi) {
                (0x80, 0xff) => t.upper = true,
                _ if lo == hi => t.singles.push(lo),
                _ => t.spans.push((lo, hi)),
            }
            if (lo, hi) != (0x80, 0xff) {
                ascii &= hi < 0x80;
                for b in lo..=hi.min(0x7f) {
                    low[usize::from(b & 15)] |= 1 << (b >> 4);
                }
            }
        }
        t.nibbles = ascii.then_some((low, high));
        t
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn has(&self, b: u8) -> bool {
        (self.upper && b >= 0x80)
            || self.singles.contains(&b)
            || self.spans.iter().any(|&(lo, hi)| lo <= b && b <= hi)
    }
}

/// Fewest required punctuation bytes worth a count gate (fewer would admit
/// most lines).
const MIN_PUNCT_COUNT: usize = 4;

/// Shortest repetition worth a skip-scanner of its own.
const MIN_CLASS_RUN: usize = 24;

/// Most byte ranges worth the block test (each costs a few vector
/// operations per 16 bytes).
const MAX_RANGES: usize = 8;

impl ClassRun {
    fn new(class: [bool; 256], min: usize, rules: Vec<usize>) -> ClassRun {
        let ranges = byte_ranges(&class);
        ClassRun {
            class,
            min,
            rules,
            ranges: (ranges.len() <= MAX_RANGES).then(|| ByteTests::new(&ranges)),
        }
    }

    /// The start of the first run of `min` class bytes in `hay[from..]`.
    fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        match &self.ranges {
            // Short runs of a common class (digits and spaces) made the
            // skip-scan below stop every few bytes, each stop a mispredicted
            // branch; the block test costs the same on any text.
            Some(ranges) if self.min <= 64 => self.find_blocks(ranges, hay, from),
            Some(ranges) => self.skip_blocks(ranges, hay, from),
            None => self.skip_scan(hay, from),
        }
    }

    /// [`ClassRun::skip_scan`] testing the window's last 64 bytes at once
    /// (`min` > 64): a byte-by-byte look back from the window's end stopped
    /// at a different, mispredicted byte each time.
    fn skip_blocks(&self, tests: &ByteTests, hay: &[u8], from: usize) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if tests.wide {
            // SAFETY: `wide` is set only when the CPU has AVX2 and POPCNT.
            return unsafe { self.skip_blocks_wide(tests, hay, from) };
        }
        self.skip_blocks_by(hay, from, |block| range_mask(block, tests))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn skip_blocks_wide(&self, tests: &ByteTests, hay: &[u8], from: usize) -> Option<usize> {
        with_wide_mask!(tests, mask => self.skip_blocks_by(hay, from, mask))
    }

    #[inline(always)]
    fn skip_blocks_by(
        &self,
        hay: &[u8],
        from: usize,
        mask: impl Fn(&[u8; 64]) -> u64,
    ) -> Option<usize> {
        let w = self.min;
        debug_assert!(w > 64);
        let mut p = from;
        'window: while p + w <= hay.len() {
            // Look back from the window's end, a block at a time, for the
            // last non-member: no run starts at or before it.
            let mut e = p + w;
            while e > p {
                // Near the haystack's start the block runs past `e` into
                // bytes already found to be members (p + w > 64 fits).
                let b0 = e.saturating_sub(64);
                let block: &[u8; 64] = hay[b0..b0 + 64].try_into().expect("64 bytes");
                let mut miss = !mask(block);
                if b0 < p {
                    // Bytes before the window do not count.
                    miss &= u64::MAX << (p - b0);
                }
                if miss != 0 {
                    p = b0 + 64 - miss.leading_zeros() as usize;
                    continue 'window;
                }
                e = b0;
            }
            return Some(p);
        }
        None
    }

    /// 64 bytes at a time: a membership mask, the starts of `min` members
    /// in a row inside the block, and the members at its end carried into
    /// the next.
    fn find_blocks(&self, tests: &ByteTests, hay: &[u8], from: usize) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if tests.wide {
            // SAFETY: `wide` is set only when the CPU has AVX2 and POPCNT.
            return unsafe { self.find_blocks_wide(tests, hay, from) };
        }
        self.find_blocks_by(hay, from, |block| range_mask(block, tests))
    }

    /// The end of the run of class bytes at `s`: the first non-member at or
    /// after it (`hay.len()` when none), a block at a time where the class
    /// has vector tests.
    fn run_end(&self, hay: &[u8], s: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        if let Some(tests) = self.ranges.as_ref().filter(|t| t.wide) {
            // SAFETY: `wide` is set only when the CPU has AVX2 and POPCNT.
            return unsafe { self.run_end_wide(tests, hay, s) };
        }
        match &self.ranges {
            Some(tests) => self.run_end_by(hay, s, |block| range_mask(block, tests)),
            None => hay[s..]
                .iter()
                .position(|&b| !self.class[usize::from(b)])
                .map_or(hay.len(), |i| s + i),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn run_end_wide(&self, tests: &ByteTests, hay: &[u8], s: usize) -> usize {
        with_wide_mask!(tests, mask => self.run_end_by(hay, s, mask))
    }

    #[inline(always)]
    fn run_end_by(&self, hay: &[u8], s: usize, mask: impl Fn(&[u8; 64]) -> u64) -> usize {
        let mut p = s;
        while let Some(block) = hay.get(p..p + 64) {
            let lead = mask(block.try_into().expect("64 bytes")).trailing_ones() as usize;
            if lead < 64 {
                return p + lead;
            }
            p += 64;
        }
        p + tail_mask(hay, p, &mask).trailing_ones() as usize
    }

    /// [`ClassRun::find_blocks`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn find_blocks_wide(&self, tests: &ByteTests, hay: &[u8], from: usize) -> Option<usize> {
        with_wide_mask!(tests, mask => self.find_blocks_by(hay, from, mask))
    }

    #[inline(always)]
    fn find_blocks_by(
        &self,
        hay: &[u8],
        from: usize,
        mask: impl Fn(&[u8; 64]) -> u64,
    ) -> Option<usize> {
        let w = self.min.max(1);
        // Members in a row just before `p`.
        let mut run = 0usize;
        let mut p = from;
        while let Some(block) = hay.get(p..p + 64) {
            let m = mask(block.try_into().expect("64 bytes"));
            let lead = m.trailing_ones() as usize;
            if run + lead >= w {
                return Some(p - run);
            }
            if lead < 64 {
                // Bit s stays set when bytes s..s+w are all members (zeros
                // shift in from the top, so no start runs past the block).
                let (mut x, mut have) = (m, 1usize);
                while have < w {
                    let sh = have.min(w - have);
                    x &= x >> sh;
                    have += sh;
                }
                if x != 0 {
                    return Some(p + x.trailing_zeros() as usize);
                }
                run = m.leading_ones() as usize;
            } else {
                run += 64;
            }
            p += 64;
        }
        // The tail as one more block, with no members past the end (so no
        // start there either).
        let m = tail_mask(hay, p, &mask);
        if run + m.trailing_ones() as usize >= w {
            return Some(p - run);
        }
        let (mut x, mut have) = (m, 1usize);
        while have < w {
            let sh = have.min(w - have);
            x &= x >> sh;
            have += sh;
        }
        (x != 0).then(|| p + x.trailing_zeros() as usize)
    }

    /// Skip-scans: when the last byte of a `min`-byte window is outside the
    /// class, no run can start in the window.
    fn skip_scan(&self, hay: &[u8], from: usize) -> Option<usize> {
        let mut p = from;
        while p + self.min <= hay.len() {
            match hay[p..p + self.min]
                .iter()
                .rposition(|&b| !self.class[usize::from(b)])
            {
                Some(q) => p += q + 1,
                None => return Some(p),
            }
        }
        None
    }
}

/// The class mask of the last bytes of `hay`, from `p` (fewer than 64
/// left): bit i for byte `p + i`, none past the end. One block test, of the
/// haystack's last 64 bytes when it has that many, else of a padded copy;
/// a byte-by-byte tail cost a mispredicted branch per byte on every line.
#[inline(always)]
fn tail_mask(hay: &[u8], p: usize, mask: impl Fn(&[u8; 64]) -> u64) -> u64 {
    // Callers may start past the end.
    let n = hay.len().saturating_sub(p);
    if n == 0 {
        return 0;
    }
    debug_assert!(n < 64);
    let m = match hay.len().checked_sub(64) {
        Some(b0) => mask(hay[b0..].try_into().expect("64 bytes")) >> (p - b0),
        None => {
            let mut block = [0u8; 64];
            block[..n].copy_from_slice(&hay[p..]);
            mask(&block)
        }
    };
    m & ((1u64 << n) - 1)
}

/// Bit i set when `block[i]` is in the class: per 16 bytes, one compare
/// per single byte, two per span, SSE2.
#[cfg(target_arch = "x86_64")]
#[inline]
fn range_mask(block: &[u8; 64], tests: &ByteTests) -> u64 {
    use std::arch::x86_64::*;
    let mut m = 0u64;
    for k in 0..4 {
        // SAFETY: SSE2 is part of the x86_64 baseline; the unaligned load
        // reads bytes 16k..16k+16 of the 64-byte array.
        let bits = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().add(k * 16).cast::<__m128i>());
            let mut acc = _mm_setzero_si128();
            for &b in &tests.singles {
                acc = _mm_or_si128(acc, _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)));
            }
            for &(lo, hi) in &tests.spans {
                // Unsigned `v - lo <= hi - lo` as `min(d, n) == d`.
                let d = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
                let n = _mm_set1_epi8(hi.wrapping_sub(lo) as i8);
                acc = _mm_or_si128(acc, _mm_cmpeq_epi8(_mm_min_epu8(d, n), d));
            }
            let upper = if tests.upper { _mm_movemask_epi8(v) } else { 0 };
            (_mm_movemask_epi8(acc) | upper) as u16
        };
        m |= u64::from(bits) << (16 * k);
    }
    m
}

/// [`range_mask_wide`] of a class with nibble tables: small enough to
/// inline into the block loops, which pick it once per call (a call per
/// block cost a tenth of a line's digit-run test).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn nibble_mask_wide(block: &[u8; 64], (low, high): &([u8; 16], [u8; 16]), upper: bool) -> u64 {
    use std::arch::x86_64::*;
    // SAFETY: the loads read the 16-byte tables.
    let (lt, ht) = unsafe {
        (
            _mm256_broadcastsi128_si256(_mm_loadu_si128(low.as_ptr().cast::<__m128i>())),
            _mm256_broadcastsi128_si256(_mm_loadu_si128(high.as_ptr().cast::<__m128i>())),
        )
    };
    let nibble = _mm256_set1_epi8(0x0f);
    let mut m = 0u64;
    for k in 0..2 {
        // SAFETY: the unaligned load reads bytes 32k..32k+32 of the array.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(k * 32).cast::<__m256i>()) };
        // Bytes >= 0x80 look up high[8..16], which is zero.
        let l = _mm256_shuffle_epi8(lt, _mm256_and_si256(v, nibble));
        let h = _mm256_shuffle_epi8(ht, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
        let out = _mm256_cmpeq_epi8(_mm256_and_si256(l, h), _mm256_setzero_si256());
        let mut bits = !(_mm256_movemask_epi8(out) as u32);
        if upper {
            bits |= _mm256_movemask_epi8(v) as u32;
        }
        m |= u64::from(bits) << (32 * k);
    }
    m
}

/// [`range_mask`] on two 32-byte vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn range_mask_wide(block: &[u8; 64], tests: &ByteTests) -> u64 {
    use std::arch::x86_64::*;
    if let Some(tables) = &tests.nibbles {
        return nibble_mask_wide(block, tables, tests.upper);
    }
    let mut m = 0u64;
    for k in 0..2 {
        // SAFETY: the unaligned load reads bytes 32k..32k+32 of the array.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(k * 32).cast::<__m256i>()) };
        let mut acc = _mm256_setzero_si256();
        for &b in &tests.singles {
            acc = _mm256_or_si256(acc, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8)));
        }
        for &(lo, hi) in &tests.spans {
            let d = _mm256_sub_epi8(v, _mm256_set1_epi8(lo as i8));
            let n = _mm256_set1_epi8(hi.wrapping_sub(lo) as i8);
            acc = _mm256_or_si256(acc, _mm256_cmpeq_epi8(_mm256_min_epu8(d, n), d));
        }
        let upper = if tests.upper {
            _mm256_movemask_epi8(v)
        } else {
            0
        };
        m |= u64::from((_mm256_movemask_epi8(acc) | upper) as u32) << (32 * k);
    }
    m
}

/// Bit i set when `block[i]` is in the class.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn range_mask(block: &[u8; 64], tests: &ByteTests) -> u64 {
    let mut m = 0u64;
    for (i, &b) in block.iter().enumerate() {
        m |= u64::from(tests.has(b)) << i;
    }
    m
}

/// Adds `rule` to the run gate of `class` and `min`, creating it if new.
fn add_run(runs: &mut Vec<ClassRun>, class: [bool; 256], min: usize, rule: usize) {
    match runs.iter_mut().find(|r| r.class == class && r.min == min) {
        Some(r) => r.rules.push(rule),
        None => runs.push(ClassRun::new(class, min, vec![rule])),
    }
}

/// The class run a regex needs, when some necessary part of it is a
/// repetition of one class at least [`MIN_CLASS_RUN`] long. Non-ASCII
/// characters count as any byte at or above 0x80 (a superset).
fn class_run_of(pattern: &str) -> Option<([bool; 256], usize)> {
    use regex_syntax::hir::Class;
    fn walk(h: &Hir, depth: usize) -> Option<([bool; 256], usize)> {
        if depth > 64 {
            return None;
        }
        match h.kind() {
            HirKind::Capture(c) => walk(&c.sub, depth + 1),
            HirKind::Concat(items) => items.iter().find_map(|i| walk(i, depth + 1)),
            // Every branch needs a run: one of the union of their classes,
            // as long as the shortest.
            HirKind::Alternation(alts) => {
                let mut set = [false; 256];
                let mut min = usize::MAX;
                for a in alts {
                    let (s, m) = walk(a, depth + 1)?;
                    set.iter_mut().zip(s).for_each(|(x, y)| *x |= y);
                    min = min.min(m);
                }
                Some((set, min))
            }
            HirKind::Repetition(r) if r.min as usize >= MIN_CLASS_RUN => {
                let HirKind::Class(c) = r.sub.kind() else {
                    return None;
                };
                let mut set = [false; 256];
                match c {
                    Class::Unicode(u) => {
                        for rg in u.ranges() {
                            let (a, z) = (rg.start() as u32, rg.end() as u32);
                            for cp in a..=z.min(0x7f) {
                                set[cp as usize] = true;
                            }
                            if z >= 0x80 {
                                set[0x80..].iter_mut().for_each(|b| *b = true);
                            }
                        }
                    }
                    Class::Bytes(b) => {
                        for rg in b.ranges() {
                            for x in rg.start()..=rg.end() {
                                set[usize::from(x)] = true;
                            }
                        }
                    }
                }
                Some((set, r.min as usize))
            }
            _ => None,
        }
    }
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .dot_matches_new_line(true)
        .build()
        .parse(pattern)
        .ok()?;
    walk(&hir, 0)
}

/// Per-buffer search state: the next hit of each gate, so a gate is never
/// searched twice over the same bytes.
#[derive(Default)]
pub struct Finder {
    runs: Vec<Option<Option<usize>>>,
    blob: Option<Option<usize>>,
    lits: Lasts,
    regex: Vec<Option<Option<usize>>>,
    counts: Vec<Option<Option<usize>>>,
    digits: Option<Option<usize>>,
    pans: Option<Option<usize>>,
    escape: Option<Option<usize>>,
    unicode: Option<Option<usize>>,
}

impl Finder {
    pub fn new() -> Finder {
        Finder::default()
    }
}

/// Removes anchors and look-arounds (each becomes the empty string), so the
/// regex matches a superset: a match inside a field value is then also a
/// match inside the raw line that holds that value.
fn strip_looks(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => h.clone(),
        HirKind::Repetition(r) => {
            let mut r = r.clone();
            r.sub = Box::new(strip_looks(&r.sub));
            Hir::repetition(r)
        }
        HirKind::Capture(c) => strip_looks(&c.sub),
        HirKind::Concat(items) => Hir::concat(items.iter().map(strip_looks).collect()),
        HirKind::Alternation(items) => Hir::alternation(items.iter().map(strip_looks).collect()),
    }
}

fn build_regex_gate(patterns: &[String]) -> Option<meta::Regex> {
    let mut hirs = Vec::with_capacity(patterns.len());
    for p in patterns {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(true)
            .dot_matches_new_line(true)
            .build()
            .parse(p)
            .ok()?;
        hirs.push(strip_looks(&hir));
    }
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .hybrid_cache_capacity(GATE_CACHE)
                .dfa_size_limit(Some(GATE_CACHE))
                .nfa_size_limit(Some(GATE_CACHE)),
        )
        .build_many_from_hir(&hirs)
        .ok()
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Whether a decoded byte could put a literal byte (`[A-Za-z0-9_]`) into
/// the decoded text, directly or through another layer (`%`, `&`, `#`, and
/// `\\`, which JSON decoding reads next: `%5Cu0073` is `s`).
fn hides_literal(b: u8) -> bool {
    // Bytes >= 0x80: UTF-8 of case-fold variants such as `ſ` (see
    // `rules::literals`).
    b.is_ascii_alphanumeric() || b >= 0x80 || matches!(b, b'_' | b'%' | b'&' | b'#' | b'\\')
}

/// Named references (see `decode::html_unescape`) whose value is `&`, `_`,
/// `#`, `%`, `+` or `\\`: the only ones that can help hide a literal byte.
const RISKY_ENTITIES: &[&[u8]] = &[b"amp", b"bsol", b"lowbar", b"num", b"percnt", b"plus"];

/// Whether `hay[i..]` starts an escape that decoding could turn into a
/// literal byte: `%XX` of such a byte, a numeric or risky named HTML
/// reference, or a `\uXXXX` escape (JSON fields are unescaped).
fn escape_at(hay: &[u8], i: usize) -> bool {
    let at = |k: usize| hay.get(i + k).copied().unwrap_or(0);
    match at(0) {
        b'%' => {
            if is_hex(at(1)) && is_hex(at(2)) {
                let v = (hex_val(at(1)) << 4) | hex_val(at(2));
                hides_literal(v)
            } else {
                // `%u0073`-style escapes.
                matches!(at(1), b'u' | b'U')
            }
        }
        b'&' => {
            if at(1) == b'#' {
                return true;
            }
            let rest = &hay[(i + 1).min(hay.len())..];
            RISKY_ENTITIES
                .iter()
                .any(|e| rest.len() >= e.len() && rest[..e.len()].eq_ignore_ascii_case(e))
        }
        // JSON decoding (`\/`, `\u0073`, `\\`).
        b'\\' => at(1) != 0,
        _ => false,
    }
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Position of the first escape (see [`escape_at`]) in `hay[from..]`.
fn find_escape(hay: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < hay.len() {
        let off = memchr::memchr3(b'%', b'&', b'\\', &hay[i..])?;
        i += off;
        if escape_at(hay, i) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Position of the first JSON `\uXXXX` escape in `hay[from..]`.
fn find_unicode_escape(hay: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < hay.len() {
        i += memchr::memchr(b'\\', &hay[i..])?;
        if hay.get(i + 1) == Some(&b'u')
            && hay
                .get(i + 2..i + 6)
                .is_some_and(|h| h.iter().all(|&b| is_hex(b)))
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Length of a digit separator token at `hay[i]`: one space, `-` or `+`, or
/// a `%XX` escape (`%20`, `%2D`, `%2B` and double encodings); else 0.
fn sep_len(hay: &[u8], i: usize) -> usize {
    match hay.get(i) {
        Some(b' ' | b'-' | b'+') => 1,
        Some(b'%')
            if hay.get(i + 1).is_some_and(|b| is_hex(*b))
                && hay.get(i + 2).is_some_and(|b| is_hex(*b)) =>
        {
            3
        }
        _ => 0,
    }
}
/// Whether a card-number-shaped digit sequence starts at `i`: digit runs
/// joined by single separator tokens, 13 or more digits in all. A superset
/// of what `card::find_pans` accepts, also in URL-/form-decoded values.
pub fn digit_run_at(hay: &[u8], mut i: usize) -> bool {
    let mut digits = 0;
    loop {
        let start = i;
        while hay.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - start;
        if digits >= PAN_MIN_DIGITS {
            return true;
        }
        if i == start {
            return false;
        }
        let s = sep_len(hay, i);
        if s == 0 || !hay.get(i + s).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        i += s;
    }
}

/// Bytes that may appear inside a digit sequence (digits and separator
/// tokens, `%XX` included).
fn in_digit_seq(b: u8) -> bool {
    b.is_ascii_hexdigit() || matches!(b, b' ' | b'-' | b'+' | b'%')
}

/// Position where the first card-number-shaped digit sequence of
/// `hay[from..]` starts ([`digit_run_at`]).
pub fn find_digit_run(hay: &[u8], from: usize) -> Option<usize> {
    find_digit_seq(hay, from, digit_run_at)
}

/// Position where the first digit sequence of `hay[from..]` that may be a
/// card number starts ([`pan_at`]).
pub fn find_pan_run(hay: &[u8], from: usize) -> Option<usize> {
    find_digit_seq(hay, from, pan_at)
}

/// The first digit-run start `i` in `hay[from..]` where `at(hay, i)`. The
/// sequences both tests look for span at least 13 bytes of
/// [`in_digit_seq`], so only runs of that many members (the class-run
/// scanner) are checked start by start.
fn find_digit_seq(hay: &[u8], from: usize, at: fn(&[u8], usize) -> bool) -> Option<usize> {
    static MEMBERS: std::sync::LazyLock<ClassRun> = std::sync::LazyLock::new(|| {
        ClassRun::new(
            std::array::from_fn(|b| in_digit_seq(b as u8)),
            PAN_MIN_DIGITS,
            Vec::new(),
        )
    });
    let mut p = from;
    while p < hay.len() {
        let mut i = MEMBERS.find(hay, p)?;
        while i < hay.len() && in_digit_seq(hay[i]) {
            if hay[i].is_ascii_digit() && (i == from || !hay[i - 1].is_ascii_digit()) && at(hay, i)
            {
                return Some(i);
            }
            i += 1;
        }
        p = i + 1;
    }
    None
}

/// Whether the digit run at `i` (a run start) may begin a card number that
/// `card::find_pans` accepts in a decoded value: the run has 13–19 digits,
/// or it is a 4-digit group that the next runs, joined by single separator
/// tokens, extend to a card shape (4-4-4-x, 4-4-4-4-x, 4-6-5, 4-6-4); and
/// those digits pass the issuer table and Luhn. A superset for values that
/// decode: URL and form decoding turn a separator token (`%20`, `%2D`, `+`)
/// into one separator and touch no digit, an escape that could spell a
/// digit or join runs is taken by the escape gate of every decoding rule,
/// blobs by the blob gate; the letters or digits `find_pans` refuses next
/// to a number are not looked at, nor whether the separators agree. A
/// value cut inside a sequence starts at a run start (checked on its own)
/// or ends early (every shorter shape is tried). A raw run that starts with
/// the hex digits of an escape (`%204111…`, `%A04111…`) is also tried from
/// after the escape, where the decoded digits start.
pub fn pan_at(hay: &[u8], i: usize) -> bool {
    // Whether a `%` comes right before `k`.
    let escaped = |k: usize| k.checked_sub(1).and_then(|k| hay.get(k)) == Some(&b'%');
    pan_from(hay, i)
        || (escaped(i) && hay.get(i + 1).copied().is_some_and(is_hex) && pan_from(hay, i + 2))
        || (i >= 1 && escaped(i - 1) && pan_from(hay, i + 1))
}

/// [`pan_at`] for digits that start at `i`.
fn pan_from(hay: &[u8], i: usize) -> bool {
    let run = |p: usize| {
        hay.get(p..)
            .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let n = run(i);
    if (13..=19).contains(&n) {
        return crate::card::is_valid_pan(&hay[i..i + n]);
    }
    if n != 4 {
        return false;
    }
    // Five groups are the longest shape; a group longer than 7 fits none.
    let mut groups = [(i, 4usize); 5];
    let (mut k, mut p) = (1, i + 4);
    while k < 5 {
        let s = sep_len(hay, p);
        let n = if s == 0 { 0 } else { run(p + s) };
        if n == 0 || n > 7 {
            break;
        }
        groups[k] = (p + s, n);
        k += 1;
        p += s + n;
    }
    let lens = groups.map(|g| g.1);
    (3..=k).any(|m| {
        crate::card::grouped_shape_ok(&lens[..m]) && {
            // At most five groups of at most seven digits.
            let mut digits = [0u8; 35];
            let mut len = 0;
            for &(s, n) in &groups[..m] {
                digits[len..len + n].copy_from_slice(&hay[s..s + n]);
                len += n;
            }
            crate::card::is_valid_pan(&digits[..len])
        }
    })
}

/// Whether `line` has a card-number-shaped digit sequence.
fn has_digit_run(line: &[u8]) -> bool {
    find_digit_run(line, 0).is_some()
}

impl GateSet {
    /// `web_only`: leave out the rules that do not apply to web records.
    fn new(rules: &[Rule], raw: bool, web_only: bool) -> GateSet {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut digit_rules = Vec::new();
        let mut pan_rules = Vec::new();
        let mut escape_rules = Vec::new();
        let mut unicode_rules = Vec::new();
        let mut regex_rules = Vec::new();
        let mut regex_pats: Vec<(String, Vec<usize>)> = Vec::new();
        let mut runs: Vec<ClassRun> = Vec::new();
        let mut counts: Vec<CountGate> = Vec::new();
        let mut blob: Option<BlobGate> = None;
        let mut confirms = Vec::new();
        let mut add = |lit: &[u8], rule: usize, patterns: &mut Vec<Vec<u8>>| {
            let lit = lit.to_ascii_lowercase();
            match patterns.iter().position(|p| *p == lit) {
                Some(i) => {
                    if !pattern_rules[i].contains(&rule) {
                        pattern_rules[i].push(rule)
                    }
                }
                None => {
                    patterns.push(lit);
                    pattern_rules.push(vec![rule]);
                }
            }
        };
        for (i, r) in rules.iter().enumerate() {
            if web_only && !r.applies_to(Family::Web) {
                continue;
            }
            let gates = if raw { r.raw_gates() } else { r.gates() };
            if raw {
                for (p, field) in r.required_regexes() {
                    if let Some(class) =
                        class_run_of(&p).and_then(|(c, min)| Some((raw_class(c, r.decode)?, min)))
                    {
                        let run = Box::new(ClassRun::new(class.0, class.1, Vec::new()));
                        let in_query = field.as_deref() == Some("cs-uri-query");
                        confirms.push((i, Confirm::Run { run, in_query }));
                    }
                }
                if !r.decode.any() {
                    for set in r.and_gates(true) {
                        if Some(&set) == gates.as_ref() {
                            continue;
                        }
                        if let Some(ac) = literal_confirm(&set) {
                            confirms.push((i, Confirm::Lits(ac)));
                        }
                    }
                }
            }
            // A decoding rule's regex is no gate (its decoded text is not a
            // substring of the line); a punctuation count can stand in.
            let gates = gates.map(|gs| {
                gs.into_iter()
                    .map(|g| match g {
                        Gate::Regex(p) if r.decode.any() => match required_punct(&p) {
                            Some((c, n)) if n >= MIN_PUNCT_COUNT => Gate::Count(c, n),
                            _ => Gate::Regex(p),
                        },
                        g => g,
                    })
                    .collect::<Vec<_>>()
            });
            let gates = gates.filter(|g| {
                !g.is_empty()
                    && g.iter().all(|g| match g {
                        Gate::Lit(l) => !l.is_empty(),
                        // Decoded text is not a substring of the raw line.
                        Gate::Regex(_) | Gate::DigitBytes(_) => !r.decode.any(),
                        Gate::Digits | Gate::Pan | Gate::Count(..) => true,
                    })
            });
            let Some(gates) = gates else {
                always.push(i);
                continue;
            };
            for g in &gates {
                match g {
                    Gate::Lit(l) => add(l, i, &mut patterns),
                    Gate::Digits => {
                        if !digit_rules.contains(&i) {
                            digit_rules.push(i)
                        }
                    }
                    Gate::Pan => {
                        if !pan_rules.contains(&i) {
                            pan_rules.push(i)
                        }
                    }
                    Gate::Count(c, min) => {
                        let set: [bool; 256] = std::array::from_fn(|b| {
                            let b = b as u8;
                            b == *c || matches!(b, b'%' | b'&' | b'\\')
                        });
                        match counts
                            .iter_mut()
                            .find(|g: &&mut CountGate| g.set == set && g.min == *min)
                        {
                            Some(g) => g.rules.push(i),
                            None => {
                                let mut g = CountGate::new(set, *min);
                                g.rules.push(i);
                                counts.push(g);
                            }
                        }
                    }
                    Gate::DigitBytes(min) => {
                        let class: [bool; 256] = std::array::from_fn(|c| {
                            let b = c as u8;
                            b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'+') || b >= 0x80
                        });
                        add_run(&mut runs, class, *min, i);
                    }
                    Gate::Regex(p) => {
                        if let Some((class, min)) = class_run_of(p) {
                            add_run(&mut runs, class, min, i);
                            continue;
                        }
                        match regex_pats.iter_mut().find(|(q, _)| q == p) {
                            Some((_, rs)) => {
                                if !rs.contains(&i) {
                                    rs.push(i)
                                }
                            }
                            None => regex_pats.push((p.clone(), vec![i])),
                        }
                    }
                }
            }
            if r.decode.any() {
                escape_rules.push(i);
            } else if !raw {
                unicode_rules.push(i);
            }
            if r.decode.blobs() {
                let b = blob.get_or_insert_with(|| BlobGate {
                    run: ClassRun::new(
                        std::array::from_fn(|c| {
                            decode::is_base64_byte(c as u8) || b"%&;".contains(&(c as u8))
                        }),
                        decode::MIN_BASE64_RUN,
                        Vec::new(),
                    ),
                    opts: decode::DecodeOpts::default(),
                    exact: raw,
                });
                b.run.rules.push(i);
                b.opts = b.opts.union(r.decode);
            }
        }
        for g in &mut counts {
            g.rules.sort_unstable();
            g.rules.dedup();
        }
        let mut regex_gates = Vec::new();
        for (p, rs) in regex_pats {
            match build_regex_gate(std::slice::from_ref(&p)) {
                Some(re) => {
                    for &r in &rs {
                        if !regex_rules.contains(&r) {
                            regex_rules.push(r);
                        }
                    }
                    regex_gates.push(RegexGate { re, rules: rs });
                }
                // Too big or unparseable as a superset: evaluate those rules
                // on every line instead.
                None => always.extend(rs),
            }
        }
        always.sort_unstable();
        always.dedup();
        // A rule with another, buildable gate pattern must still see every
        // line when one of its patterns has no gate.
        regex_rules.retain(|r| !always.contains(r));
        for g in &mut regex_gates {
            g.rules.retain(|r| !always.contains(r));
        }
        regex_gates.retain(|g| !g.rules.is_empty());
        // A count gate of the same set with a lower minimum takes every line
        // a higher one takes: one pass over the bytes for both, when it
        // lists the higher one's rules (`\x` and `\u` escape runs).
        let lower: Vec<([bool; 256], usize, Vec<usize>)> = counts
            .iter()
            .map(|g| (g.set, g.min, g.rules.clone()))
            .collect();
        counts.retain(|g| {
            !lower.iter().any(|(set, min, rules)| {
                *set == g.set && *min < g.min && g.rules.iter().all(|r| rules.contains(r))
            })
        });
        // A full DFA without prefilter: with dozens of case-insensitive
        // literals a packed prefilter hits nearly every byte and each hit
        // restarts a slower automaton; a DFA walk measured 1.6x faster on
        // the benchmark lists (walked as a `Table`, see walk.rs).
        let ac = (!patterns.is_empty()).then(|| {
            let dfa = DFA::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .start_kind(StartKind::Unanchored)
                .prefilter(false)
                .build(&patterns)
                .expect("literal patterns always build");
            // An unanchored automaton always has an unanchored start state.
            Table::new(&dfa).expect("the literal automaton has a start state")
        });
        GateSet {
            ac,
            pattern_rules,
            always,
            digit_rules,
            pan_rules,
            escape_rules,
            unicode_rules,
            regex_rules,
            regex_gates,
            counts,
            runs,
            blob,
            confirms,
        }
    }
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Engine {
        Engine {
            rules,
            sets: Default::default(),
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The gate set for a format: `raw_fields` when its field values are
    /// substrings of the raw line, `families` the record families it can
    /// produce.
    pub fn gate_choice(&self, raw_fields: bool, families: &[Family]) -> GateChoice {
        GateChoice {
            raw_fields,
            web_only: families == [Family::Web],
        }
    }

    fn set(&self, c: GateChoice) -> &GateSet {
        self.sets[c.index()].get_or_init(|| GateSet::new(&self.rules, c.raw_fields, c.web_only))
    }

    /// The gate set every format may use.
    fn safe(&self) -> &GateSet {
        self.set(self.gate_choice(false, &[]))
    }

    /// True when some rule must see every line (no gate could be derived).
    pub fn has_always_rules(&self) -> bool {
        !self.safe().always.is_empty()
    }

    /// True when the whole-buffer search ([`Engine::next_candidate`]) is
    /// sound for lines whose field values are substrings of the raw line
    /// (`raw_fields`); otherwise every line must go through
    /// [`Engine::candidates`].
    /// `families` are the record families the format can produce: rules
    /// without a gate that apply to none of them do not count (a chat rule
    /// with only `exists` never forces web logs down the per-line path).
    pub fn buffer_search_ok(&self, raw_fields: bool, families: &[Family]) -> bool {
        let g = self.set(self.gate_choice(raw_fields, families));
        let always_applies = g
            .always
            .iter()
            .any(|&i| families.iter().any(|&f| self.rules[i].applies_to(f)));
        !always_applies && (raw_fields || (g.regex_rules.is_empty() && g.runs.is_empty()))
    }

    /// The start of the first byte at or after `from` where some gate hits,
    /// or None: no line from `from` on can match any rule. Only valid when
    /// [`Engine::buffer_search_ok`]. `f` carries gate hits between calls
    /// over the same buffer with increasing `from`; `gates` must come from
    /// [`Engine::gate_choice`] with the arguments given to `buffer_search_ok`.
    pub fn next_candidate(
        &self,
        hay: &[u8],
        from: usize,
        gates: GateChoice,
        f: &mut Finder,
    ) -> Option<usize> {
        let g = self.set(gates);
        fn refresh(
            slot: &mut Option<Option<usize>>,
            from: usize,
            search: impl FnOnce() -> Option<usize>,
        ) -> Option<usize> {
            match *slot {
                Some(Some(p)) if p >= from => Some(p),
                Some(None) => None,
                _ => {
                    let p = search();
                    *slot = Some(p);
                    p
                }
            }
        }
        let mut best: Option<usize> = None;
        let mut take = |p: Option<usize>| {
            if let Some(p) = p {
                best = Some(best.map_or(p, |b| b.min(p)));
            }
        };
        if let Some(ac) = &g.ac {
            // The last byte of the literal that ends first: no earlier line
            // holds a whole literal, so no candidate line is skipped.
            take(f.lits.first_from(ac, hay, from));
        }
        if f.regex.len() < g.regex_gates.len() {
            f.regex.resize(g.regex_gates.len(), None);
        }
        for (rg, slot) in g.regex_gates.iter().zip(f.regex.iter_mut()) {
            let re = &rg.re;
            take(refresh(slot, from, || {
                let input = regex_automata::Input::new(hay).span(from..hay.len());
                re.find(input).map(|m| m.start())
            }));
        }
        if f.runs.len() < g.runs.len() {
            f.runs.resize(g.runs.len(), None);
        }
        for (r, slot) in g.runs.iter().zip(f.runs.iter_mut()) {
            take(refresh(slot, from, || r.find(hay, from)));
        }
        if let Some(b) = &g.blob {
            take(refresh(&mut f.blob, from, || b.find(hay, from)));
        }
        if f.counts.len() < g.counts.len() {
            f.counts.resize(g.counts.len(), None);
        }
        for (c, slot) in g.counts.iter().zip(f.counts.iter_mut()) {
            take(refresh(slot, from, || c.find(hay, from)));
        }
        if !g.digit_rules.is_empty() {
            take(refresh(&mut f.digits, from, || find_digit_run(hay, from)));
        }
        if !g.pan_rules.is_empty() {
            take(refresh(&mut f.pans, from, || find_pan_run(hay, from)));
        }
        if !g.escape_rules.is_empty() {
            take(refresh(&mut f.escape, from, || find_escape(hay, from)));
        }
        if !g.unicode_rules.is_empty() {
            take(refresh(&mut f.unicode, from, || {
                find_unicode_escape(hay, from)
            }));
        }
        best
    }

    /// The rules that may match `line`, in rule order, into `out`. Sound for
    /// any record format.
    pub fn candidates(&self, line: &[u8], out: &mut Vec<usize>) {
        self.candidates_in(line, self.gate_choice(false, &[]), out)
    }

    /// Like [`Engine::candidates`], with the gate set of a format (with raw
    /// fields, field values are substrings of the raw line, and the regex
    /// gate is applied too).
    pub fn candidates_in(&self, line: &[u8], gates: GateChoice, out: &mut Vec<usize>) {
        self.candidates_walked(line, gates, out, None)
    }

    /// [`Engine::candidates_in`] for the line `hay[start..start + len]`
    /// just found by [`Engine::next_candidate`] with `f`: the literals come
    /// from the buffer walk when it covered the line, instead of a second
    /// walk over it.
    pub fn candidates_at(
        &self,
        hay: &[u8],
        start: usize,
        len: usize,
        gates: GateChoice,
        f: &Finder,
        out: &mut Vec<usize>,
    ) {
        self.candidates_walked(&hay[start..start + len], gates, out, Some((f, start)))
    }

    fn candidates_walked(
        &self,
        line: &[u8],
        gates: GateChoice,
        out: &mut Vec<usize>,
        walked: Option<(&Finder, usize)>,
    ) {
        let g = self.set(gates);
        let raw_fields = gates.raw_fields;
        out.clear();
        out.extend_from_slice(&g.always);
        // Whether a gate hits the line, from its slot in the walk that found
        // the line when there is one, else by `test`. `next_candidate`
        // refreshed every slot from one position at or before the line, to
        // the gate's first hit from there (or none), and no slot's hit lies
        // before the line, which holds the nearest: the line has a hit when
        // that one is in it. The walk's tests see past the line end (an
        // escape's next bytes), so it may take a line the line test would
        // not, never the reverse. A search that gave up early would be
        // wrong here: every slot search runs to its first hit.
        let f = walked.map(|(f, _)| f);
        let start = walked.map_or(0, |(_, s)| s);
        let walked_hit = |slot: Option<Option<Option<usize>>>, test: &dyn Fn() -> bool| match slot {
            Some(Some(None)) => false,
            Some(Some(Some(p))) if p >= start => p < start + line.len(),
            _ => test(),
        };
        if let Some(ac) = &g.ac {
            let mut add = |p: usize| {
                for &r in &g.pattern_rules[p] {
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            };
            let done = walked.is_some_and(|(f, start)| {
                f.lits.patterns_in(ac, start, start + line.len(), &mut add)
            });
            if !done {
                ac.each_match(line, |p, _| add(p));
            }
        }
        let mut extend = |rs: &[usize]| {
            for &r in rs {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        };
        if !raw_fields {
            extend(&g.regex_rules);
        } else {
            for (k, rg) in g.regex_gates.iter().enumerate() {
                if walked_hit(f.and_then(|f| f.regex.get(k).copied()), &|| {
                    rg.re.is_match(line)
                }) {
                    extend(&rg.rules);
                }
            }
        }
        for (k, r) in g.runs.iter().enumerate() {
            if !raw_fields
                || walked_hit(f.and_then(|f| f.runs.get(k).copied()), &|| {
                    r.find(line, 0).is_some()
                })
            {
                extend(&r.rules);
            }
        }
        if let Some(b) = &g.blob
            && walked_hit(f.map(|f| f.blob), &|| b.find(line, 0).is_some())
        {
            extend(&b.run.rules);
        }
        for (k, c) in g.counts.iter().enumerate() {
            if walked_hit(f.and_then(|f| f.counts.get(k).copied()), &|| {
                c.line_hits(line)
            }) {
                extend(&c.rules);
            }
        }
        if !g.digit_rules.is_empty() && walked_hit(f.map(|f| f.digits), &|| has_digit_run(line)) {
            extend(&g.digit_rules);
        }
        if !g.pan_rules.is_empty()
            && walked_hit(f.map(|f| f.pans), &|| find_pan_run(line, 0).is_some())
        {
            extend(&g.pan_rules);
        }
        if !g.escape_rules.is_empty()
            && walked_hit(f.map(|f| f.escape), &|| find_escape(line, 0).is_some())
        {
            extend(&g.escape_rules);
        }
        if !g.unicode_rules.is_empty()
            && walked_hit(f.map(|f| f.unicode), &|| {
                find_unicode_escape(line, 0).is_some()
            })
        {
            extend(&g.unicode_rules);
        }
        for (r, c) in &g.confirms {
            if out.contains(r) && !c.holds(line) {
                out.retain(|x| x != r);
            }
        }
        out.sort_unstable();
    }

    /// Evaluates the candidate rules on a parsed record.
    pub fn eval<'r>(
        &'r self,
        rec: &Record,
        candidates: &[usize],
        mut hit: impl FnMut(&'r Rule, Hit),
    ) {
        // One evaluation state per distinct set of decode options, so a
        // value is decoded once per record, not once per rule.
        let mut ctxs: Vec<RecordCtx<'_>> = Vec::new();
        for &i in candidates {
            let rule = &self.rules[i];
            if !rule.applies_to(rec.family) {
                continue;
            }
            let k = match ctxs.iter().position(|c| c.opts() == rule.decode) {
                Some(k) => k,
                None => {
                    ctxs.push(RecordCtx::new(rec, rule.decode));
                    ctxs.len() - 1
                }
            };
            if let Some(h) = rule.eval_in(&ctxs[k]) {
                hit(rule, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs() {
        for yes in [
            &b"x 4111111111111111 y"[..],
            b"n=4111 1111 1111 1111",
            b"n=4111-1111-1111-1111&",
            b"n=4111%201111%201111%201111",
            b"n=4111+1111+1111+1111",
            b"n=1234567890123",
        ] {
            assert!(has_digit_run(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"10.0.0.1 - - [15/Apr/2017:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5123"[..],
            b"123456789012",
            b"4111  1111 1111 1111",
            b"",
        ] {
            assert!(!has_digit_run(no), "{}", String::from_utf8_lossy(no));
        }
        // Found at the right place past a long non-candidate stretch.
        let mut hay = vec![b'a'; 1000];
        hay.extend_from_slice(b" 5500-0000-0000-0004 ");
        assert_eq!(find_digit_run(&hay, 0), Some(1001));
        assert_eq!(find_digit_run(&hay, 1002), Some(1002));
    }

    /// The block scanner finds exactly what a byte-by-byte search finds,
    /// from any start, with runs across block edges.
    #[test]
    fn digit_run_blocks_match_a_plain_search() {
        fn plain(hay: &[u8], from: usize) -> Option<usize> {
            (from..hay.len()).find(|&i| {
                hay[i].is_ascii_digit()
                    && (i == from || !hay[i - 1].is_ascii_digit())
                    && digit_run_at(hay, i)
            })
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"0123456789 -+%abcdefXyz.\n";
        for n in 0..3000 {
            let len = (n * 37) % 400;
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    crate::test_util::xorshift(&mut x);
                    // Mostly digits, so long runs are common.
                    if x.is_multiple_of(3) {
                        alphabet[(x >> 8) as usize % alphabet.len()]
                    } else {
                        b'0' + (x >> 16) as u8 % 10
                    }
                })
                .collect();
            for from in [0, 1, 13, 51, 52, 63, 64, 65, 130] {
                if from > hay.len() {
                    continue;
                }
                assert_eq!(
                    find_digit_run(&hay, from),
                    plain(&hay, from),
                    "{from} {}",
                    String::from_utf8_lossy(&hay)
                );
            }
        }
    }

    #[test]
    fn every_spelling_of_punctuation_is_listed_or_an_escape() {
        // Random layered encodings (URL, HTML named and numeric, JSON, `+`)
        // of each punctuation character, on a random part of the bytes
        // each time: whatever still decodes to the character must be one
        // of its listed spellings or hold an escape the escape gate takes.
        let all = decode::DecodeOpts::all();
        let opts = [all, all.without_plus()];
        let decodes_to = |e: &str, p: u8| {
            opts.iter()
                .any(|o| decode::decode_value(e, *o) == char::from(p).to_string())
        };
        let mut rand = crate::test_util::rng(0x6a09_e667_f3bc_c908);
        let mut checked = 0;
        for p in (b' '..0x7f).filter(|b| *b == b' ' || b.is_ascii_punctuation()) {
            let Some(listed) = crate::rules::spellings(p) else {
                assert_eq!(p, b'_');
                continue;
            };
            for (i, f) in listed.iter().enumerate() {
                let f = String::from_utf8(f.clone()).unwrap();
                assert!(decodes_to(&f, p), "{f}");
                assert!(!listed[..i].contains(&f.clone().into_bytes()));
            }
            for _ in 0..2000 {
                let mut e = char::from(p).to_string();
                for _ in 0..(1 + rand(3)) {
                    let layer = rand(7);
                    // One character of the text, or about half of them.
                    let n = e.chars().count() as u64;
                    let one = (rand(3) > 0).then(|| rand(n));
                    let mut next = String::new();
                    for (k, c) in e.chars().enumerate() {
                        let named: Vec<(&str, bool)> = decode::references_to(c).collect();
                        let v = u32::from(c);
                        let skip = match one {
                            Some(j) => j != k as u64,
                            None => rand(2) == 0,
                        };
                        let enc = match layer {
                            _ if skip => None,
                            0 => Some(format!("%{v:02X}")),
                            1 if !named.is_empty() => {
                                let (n, legacy) = named[rand(named.len() as u64) as usize];
                                Some(if legacy && rand(2) == 0 {
                                    format!("&{n}")
                                } else {
                                    format!("&{n};")
                                })
                            }
                            2 => Some(format!("&#{v};")),
                            3 => Some(format!("&#x{v:x};")),
                            4 => Some(format!("\\u{v:04x}")),
                            5 if matches!(c, '"' | '\\' | '/') => Some(format!("\\{c}")),
                            6 if c == ' ' => Some("+".to_string()),
                            _ => None,
                        };
                        next.push_str(enc.as_deref().unwrap_or(&c.to_string()));
                    }
                    e = next;
                }
                if !decodes_to(&e, p) {
                    continue;
                }
                checked += 1;
                let lower = e.to_ascii_lowercase().into_bytes();
                assert!(
                    listed.contains(&lower) || find_escape(e.as_bytes(), 0).is_some(),
                    "{e} spells {:?} but is not listed",
                    char::from(p)
                );
            }
        }
        assert!(checked > 30_000, "{checked}");
    }

    #[test]
    fn escapes() {
        assert!(escape_at(b"%73cript", 0));
        assert!(escape_at(b"%2573", 0));
        assert!(escape_at(b"&#115;", 0));
        assert!(escape_at(b"&AMP;#115;", 0));
        assert!(escape_at(b"\\u0073", 0));
        assert!(!escape_at(b"%3Cscript", 0));
        assert!(!escape_at(b"%20", 0));
        assert!(!escape_at(b"&b=2", 0));
        assert_eq!(find_escape(b"a=%3C&b=%2F&c=%41", 0), Some(14));
        assert_eq!(find_escape(b"%", 0), None);
    }

    #[test]
    fn looks_are_stripped() {
        let g = build_regex_gate(&["^abc$".to_string(), r"\bxyz\b".to_string()]).unwrap();
        assert!(g.is_match(&b"--ABC--"[..]));
        assert!(g.is_match(&b"axyzb"[..]));
        assert!(!g.is_match(&b"ab"[..]));
    }

    #[test]
    fn class_runs() {
        let (class, min) = class_run_of("x=[A-Za-z0-9+/]{40,}={0,2}").unwrap();
        let r = ClassRun::new(class, min, vec![]);
        let mut hay = b"GET /a?x=".to_vec();
        hay.extend(std::iter::repeat_n(b'Q', 39));
        hay.extend_from_slice(b" y=");
        assert_eq!(r.find(&hay, 0), None);
        hay.extend(std::iter::repeat_n(b'Z', 40));
        assert_eq!(r.find(&hay, 0), Some(hay.len() - 40));
        assert!(class_run_of("a{3,}").is_none());
        assert!(class_run_of("(?:ab){40}").is_none());
    }

    #[test]
    fn byte_tests_agree_with_their_class_on_every_byte() {
        // Random classes: ASCII subsets of every density, with or without
        // the whole upper half or a part of it; every byte value tested by
        // each vector path the CPU has.
        let mut rand = crate::test_util::rng(0xa54f_f53a_5f1d_36f1);
        let bytes: Vec<u8> = (0..=255u8).collect();
        for round in 0..300 {
            let density = 1 + rand(16);
            let upper = rand(3);
            let class: [bool; 256] = std::array::from_fn(|b| match (b >= 0x80, upper) {
                (false, _) => rand(density) == 0,
                (true, 0) => false,
                (true, 1) => true,
                (true, _) => b % 7 == 0,
            });
            let t = ByteTests::new(&byte_ranges(&class));
            let mut narrow = ByteTests::new(&byte_ranges(&class));
            narrow.wide = false;
            assert_eq!(t.nibbles.is_some(), upper < 2, "round {round}");
            for block in bytes.chunks(64) {
                let block: &[u8; 64] = block.try_into().unwrap();
                let want = block
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (i, &b)| m | u64::from(class[usize::from(b)]) << i);
                if t.wide {
                    // SAFETY: `wide` is set only when the CPU has AVX2 and POPCNT.
                    #[cfg(target_arch = "x86_64")]
                    assert_eq!(unsafe { range_mask_wide(block, &t) }, want, "round {round}");
                }
                assert_eq!(range_mask(block, &narrow), want, "narrow, round {round}");
            }
        }
    }

    #[test]
    fn count_gate_blocks_find_the_line_a_plain_count_finds() {
        // Lines shorter and longer than a block, dense and sparse in
        // members, newlines at every block position, both vector widths.
        let set: [bool; 256] = std::array::from_fn(|b| b",%&\\".contains(&(b as u8)));
        let mut rand = crate::test_util::rng(0x3c6e_f372_fe94_f82b);
        for min in [1, 2, 4, 16, 70] {
            let g = CountGate::new(set, min);
            let mut narrow = CountGate::new(set, min);
            narrow.tests.wide = false;
            for round in 0..200 {
                let len = rand(600) as usize;
                let dense = 1 + rand(8);
                let line_len = 1 + rand(150);
                let hay: Vec<u8> = (0..len)
                    .map(|_| match rand(line_len) {
                        0 => b'\n',
                        _ if rand(dense) == 0 => b",%&\\"[rand(4) as usize],
                        _ => b'a',
                    })
                    .collect();
                // From a line start, as the scan asks.
                let starts: Vec<usize> = std::iter::once(0)
                    .chain((0..len).filter(|&i| hay[i] == b'\n').map(|i| i + 1))
                    .collect();
                let from = starts[rand(starts.len() as u64) as usize];
                let want = starts.iter().copied().filter(|&s| s >= from).find(|&s| {
                    let end = hay[s..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(len, |e| s + e);
                    hay[s..end].iter().filter(|&&b| set[usize::from(b)]).count() >= min
                });
                assert_eq!(g.find(&hay, from), want, "min {min}, round {round}");
                assert_eq!(
                    narrow.find(&hay, from),
                    want,
                    "narrow, min {min}, round {round}"
                );
                // One line on its own, as a candidate line is tested.
                for line in hay.split(|&b| b == b'\n') {
                    let want = line.iter().filter(|&&b| set[usize::from(b)]).count() >= min;
                    assert_eq!(g.line_hits(line), want, "line, min {min}, round {round}");
                    assert_eq!(narrow.line_hits(line), want, "narrow line, min {min}");
                }
            }
        }
    }

    #[test]
    fn blob_gate_finds_the_run_a_plain_walk_over_runs_finds() {
        // Lines of paths, ids, escapes and text blobs; from every kind of
        // start; each path of the gate (vector, 16-byte, byte-wise).
        let class: [bool; 256] =
            std::array::from_fn(|c| decode::is_base64_byte(c as u8) || b"%&;".contains(&(c as u8)));
        let gate = |wide: bool, ranges: bool| {
            let mut run = ClassRun::new(class, decode::MIN_BASE64_RUN, vec![]);
            if let Some(t) = &mut run.ranges {
                t.wide &= wide;
            }
            if !ranges {
                run.ranges = None;
            }
            BlobGate {
                run,
                opts: decode::DecodeOpts::all(),
                exact: true,
            }
        };
        let gates = [gate(true, true), gate(false, true), gate(false, false)];
        let text =
            crate::test_util::base64(b"{\"card\":\"4111111111111111\",\"cvv\":\"123\"}", true);
        let pieces: [&[u8]; 10] = [
            b"/media/catalog/product/cache/1/image/9df78eab33525d08d6e5fb8d27136e95/m/j/mj09",
            b"gclid=wn1elQe05Uj6cAqq6EBOx00tWKIqA8uz",
            text.as_bytes(),
            b"%2F",
            b"&amp;",
            b"/x/",
            b" ",
            b"\n",
            b".",
            b"eyJhIjoiYiJ9",
        ];
        let mut rand = crate::test_util::rng(0x51ab_b10b);
        let mut found = 0;
        for round in 0..400 {
            let hay: Vec<u8> = (0..rand(30))
                .flat_map(|_| pieces[rand(10) as usize].iter().copied())
                .collect();
            for from in [0, 1, 63, 64, rand(hay.len() as u64 + 1) as usize] {
                let from = from.min(hay.len());
                // Runs counted from `from`, the first long one that may
                // hold a blob.
                let (mut i, mut want) = (from, None);
                while i < hay.len() && want.is_none() {
                    let s = i;
                    while i < hay.len() && class[usize::from(hay[i])] {
                        i += 1;
                    }
                    if i - s >= decode::MIN_BASE64_RUN
                        && gates[0].run_may_hold_blob_fresh(&hay[s..i])
                    {
                        want = Some(s);
                    }
                    i = i.max(s + 1);
                }
                found += usize::from(want.is_some());
                for (k, g) in gates.iter().enumerate() {
                    assert_eq!(
                        g.find(&hay, from),
                        want,
                        "gate {k}, round {round}, from {from}"
                    );
                }
            }
        }
        assert!(found > 500, "{found}");
    }

    #[test]
    fn block_and_skip_scans_find_the_first_run_a_plain_count_finds() {
        // Classes of few and of many ranges, runs shorter and longer than
        // a block, generated text dense in members, from every kind of start.
        let classes: [&dyn Fn(u8) -> bool; 4] = [
            &|b| b.is_ascii_digit() || b" +-".contains(&b) || b >= 0x80,
            &|b| decode::is_base64_byte(b) || b"%&;".contains(&b),
            &|b| b.is_ascii_punctuation(),
            // Too many ranges for the block test.
            &|b| b % 2 == 0 && b != b'.',
        ];
        let mut rand = crate::test_util::rng(0x9e37_79b9_7f4a_7c15u64);
        for (ci, member) in classes.iter().enumerate() {
            let class: [bool; 256] = std::array::from_fn(|b| member(b as u8));
            let inside: Vec<u8> = (0..=255u8).filter(|&b| member(b)).collect();
            for min in [1, 2, 13, 16, 24, 63, 64, 65, 127, 128, 129, 200, 300] {
                let r = ClassRun::new(class, min, vec![]);
                // The 16-byte tests too, whatever this CPU has.
                let mut narrow = ClassRun::new(class, min, vec![]);
                if let Some(t) = &mut narrow.ranges {
                    t.wide = false;
                }
                for round in 0..30 {
                    let len = rand(700) as usize;
                    // Runs of about a dozen members, or of a few blocks.
                    let gap = if round % 2 == 0 { 12 } else { 150 };
                    let hay: Vec<u8> = (0..len)
                        .map(|_| {
                            if rand(gap) == 0 {
                                b'.'
                            } else {
                                inside[rand(inside.len() as u64) as usize]
                            }
                        })
                        .map(|b| if ci >= 2 && b == b'.' { b'a' } else { b })
                        .collect();
                    for from in [0, 1, 63, 64, rand(len as u64 + 1) as usize] {
                        let from = from.min(len);
                        let mut want = None;
                        let mut n = 0;
                        for (i, &b) in hay.iter().enumerate().skip(from) {
                            n = if class[usize::from(b)] { n + 1 } else { 0 };
                            if n >= min {
                                want = Some(i + 1 - min);
                                break;
                            }
                        }
                        assert_eq!(
                            r.find(&hay, from),
                            want,
                            "class {ci}, min {min}, round {round}, from {from}"
                        );
                        if let Some(t) = &narrow.ranges {
                            assert!(!t.wide);
                            assert_eq!(narrow.find(&hay, from), want, "narrow, class {ci}");
                        }
                        assert_eq!(r.skip_scan(&hay, from), want, "skip, class {ci}, min {min}");
                        let end = hay[from..]
                            .iter()
                            .position(|&b| !class[usize::from(b)])
                            .map_or(len, |i| from + i);
                        assert_eq!(r.run_end(&hay, from), end, "end, class {ci}, from {from}");
                        assert_eq!(narrow.run_end(&hay, from), end, "narrow end, class {ci}");
                    }
                }
            }
        }
    }
}

/// Walks `hay` as the buffer search does and calls `f` with the finder,
/// the start and the text (without `\r`) of each candidate line.
#[cfg(test)]
fn each_candidate_line(
    engine: &Engine,
    hay: &[u8],
    gates: GateChoice,
    mut f: impl FnMut(&Finder, usize, &[u8]),
) {
    let mut finder = Finder::new();
    let mut cur = 0;
    while cur < hay.len()
        && let Some(p) = engine.next_candidate(hay, cur, gates, &mut finder)
    {
        let ls = memchr::memrchr(b'\n', &hay[cur..p]).map_or(cur, |i| cur + i + 1);
        let le = memchr::memchr(b'\n', &hay[p..]).map_or(hay.len(), |i| p + i);
        let line = &hay[ls..le];
        f(&finder, ls, line.strip_suffix(b"\r").unwrap_or(line));
        cur = le + 1;
    }
}

#[cfg(test)]
mod walked_tests {
    use super::*;
    use crate::level::Category;
    use crate::record::Family;

    /// The literals of a candidate line read from the buffer walk are the
    /// ones a fresh walk over the line finds: on long buffers (four-stream
    /// walks, lines across block seams) of lines dense with literals.
    #[test]
    fn walked_attribution_equals_a_walk_of_the_line() {
        let list = "eval\\(\nab\nb\\.js\\?v=\ncdn\\.link\ncmd=\nx\\.php\\?q=\nlong-literal-number-one\nnumber-one\n";
        let rules = crate::patterns::from_str(list, "p.txt", Category::InjectedScript).unwrap();
        let engine = Engine::new(rules);
        let words: [&[u8]; 8] = [
            b"EVAL(",
            b"ab",
            b"b.js?v=",
            b"cdn.link",
            b"CMD=",
            b"x.php?q=",
            b"long-literal-number-one",
            b"\r\n",
        ];
        let mut rand = crate::test_util::rng(0x5151_7e57_a77a_c4ed);
        for raw in [false, true] {
            let gates = engine.gate_choice(raw, &[Family::Web]);
            for round in 0..24 {
                let len = (crate::walk::BLOCK as u64 * (3 + rand(4))) as usize;
                let mut hay = vec![b'.'; len];
                for _ in 0..len / 200 {
                    hay[rand(len as u64) as usize] = b'\n';
                }
                let count = len as u64 / 500;
                crate::test_util::plant_words(
                    &mut hay,
                    &words,
                    count,
                    (crate::walk::BLOCK, 6),
                    &mut rand,
                );
                let (mut walked, mut fresh) = (Vec::new(), Vec::new());
                let (mut lines, mut covered) = (0, 0);
                each_candidate_line(&engine, &hay, gates, |finder, ls, line| {
                    let ac = engine.set(gates).ac.as_ref().expect("literals");
                    if finder.lits.patterns_in(ac, ls, ls + line.len(), |_| {}) {
                        covered += 1;
                    }
                    engine.candidates_at(&hay, ls, line.len(), gates, finder, &mut walked);
                    engine.candidates_in(line, gates, &mut fresh);
                    assert_eq!(walked, fresh, "round {round}, line at {ls}");
                    assert!(!fresh.is_empty(), "round {round}, line at {ls}");
                    lines += 1;
                });
                // Most lines come from the walk; those across the end of a
                // walk fall back to their own.
                assert!(lines > 50 && covered * 10 > lines * 9, "{lines} {covered}");
            }
        }
    }
}

#[cfg(test)]
mod slot_tests {
    use super::*;
    use crate::record::Family;

    /// The card-number gate takes every line whose URL- and form-decoded
    /// text holds a number `find_pans` accepts: numbers whole and in groups,
    /// joined by spaces, `-`, `+`, `%20` or `%2D`, glued to letters or not,
    /// cut short, among random digit runs; and it leaves most random runs.
    #[test]
    fn the_card_gate_takes_every_card_number_after_decoding() {
        let cards = [
            "4111111111111111",
            "5500005555555559",
            "378282246310005",
            "6011000990139424",
        ];
        let seps = [" ", "-", "+", "%20", "%2D", "%2d", "%41", ""];
        let mut rand = crate::test_util::rng(0x9a4_c4d5);
        let opts = crate::decode::DecodeOpts {
            url: true,
            plus: true,
            ..Default::default()
        };
        let (mut hits, mut random, mut taken) = (0, 0, 0);
        for round in 0..20_000 {
            let mut line = String::from("GET /p?");
            for _ in 0..1 + rand(4) {
                match rand(5) {
                    0 | 1 => {
                        let card = cards[rand(cards.len() as u64) as usize];
                        let sep = seps[rand(seps.len() as u64) as usize];
                        let cut = rand(3) == 0;
                        let groups: Vec<&str> = if card.len() == 15 {
                            vec![&card[..4], &card[4..10], &card[10..]]
                        } else {
                            vec![&card[..4], &card[4..8], &card[8..12], &card[12..]]
                        };
                        let mut g = groups.join(sep);
                        if cut {
                            g.truncate(g.len() - 1 - rand(3) as usize);
                        }
                        line.push_str(&g);
                    }
                    2 => {
                        // A random number of 10-20 digits.
                        let n = 10 + rand(11);
                        line.extend((0..n).map(|_| char::from(b'0' + rand(10) as u8)));
                        random += 1;
                    }
                    3 => line.push_str(["x", "a=", "&", " ", "%20", "-", "1"][rand(7) as usize]),
                    _ => line.push_str(&"7".repeat(1 + rand(5) as usize)),
                }
            }
            let decoded = crate::decode::decode_value(&line, opts);
            let want = !crate::card::find_pans(decoded.as_bytes()).is_empty();
            let got = find_pan_run(line.as_bytes(), 0).is_some();
            assert!(got || !want, "round {round}: {line} ({decoded})");
            hits += usize::from(want);
            taken += usize::from(got);
        }
        assert!(hits > 1500, "{hits} lines with a card number");
        // Random numbers pass the issuer and Luhn checks now and then only.
        assert!(
            taken < hits + random / 4,
            "{taken} taken, {hits} with a number, {random} random"
        );
    }

    /// Count gates of one set: the lower minimum stands for a higher one
    /// whose rules it lists, and still takes the lines the higher one took.
    #[test]
    fn a_lower_count_gate_stands_for_a_higher_one() {
        let rules = crate::pack::load(&[], false).unwrap().rules;
        let at = |title: &str| {
            rules
                .iter()
                .position(|r| r.title.starts_with(title))
                .unwrap()
        };
        let escapes = at("Run of \\x or \\u escapes");
        let engine = Engine::new(rules);
        let gates = engine.gate_choice(true, &[Family::Web]);
        let counts = &engine.set(gates).counts;
        for (i, a) in counts.iter().enumerate() {
            for b in &counts[i + 1..] {
                assert!(a.set != b.set, "two count gates of one set");
            }
        }
        let mut c = Vec::new();
        for q in ["\\x41".repeat(8), "\\u0041".repeat(6)] {
            let line = format!(
                "10.0.0.1 - - [10/May/2017:10:00:00 +0000] \"GET /p?q={q} HTTP/1.1\" 200 1 \"-\" \"-\""
            );
            engine.candidates_in(line.as_bytes(), gates, &mut c);
            assert!(c.contains(&escapes), "{line}: {c:?}");
        }
    }

    /// The gates other than literals (blob, digit, escape, count, regex and
    /// class-run gates) answer for a candidate line from the walk's slots:
    /// every rule a test of the line alone lists is listed, on the built-in
    /// pack and lines dense with blobs, card-shaped digits and escapes, some
    /// of them cut by line ends. The walk may list more only where a test
    /// looks past the line end.
    #[test]
    fn slot_answers_cover_the_line_tests() {
        let rules = crate::pack::load(&[], false).unwrap().rules;
        let engine = Engine::new(rules);
        let words: [&[u8]; 14] = [
            b"PHNjcmlwdCBzcmM9Ly9ldmlsLmV4YW1wbGUvYS5qcz48L3NjcmlwdD4",
            b"eyJudW1iZXIiOiI0MTExMTExMTExMTExMTExIn0",
            b"7b226e223a224a20536d697468227d7b2241",
            b"4111 1111 1111 1111",
            b"5500-0000-0000-0004",
            b"%3Cscript%3E",
            b"&#x3c;",
            b"\\u0073",
            b"%5C",
            b"\\",
            b"&lt",
            b"\"\"\"\"\"\"\"\"\"",
            b"/media/catalog/product/cache/1/small_image/240x300/e0a23efd0edab8f7d66fd775df28e4b6/m.gif?",
            b"\r\n",
        ];
        let mut rand = crate::test_util::rng(0x5107_7e57);
        let (mut lines, mut more) = (0, 0);
        for raw in [false, true] {
            let gates = engine.gate_choice(raw, &[Family::Web]);
            for round in 0..12 {
                let len = 40_000 + rand(40_000) as usize;
                let mut hay = vec![b'a'; len];
                for _ in 0..len / 120 {
                    hay[rand(len as u64) as usize] = b'\n';
                }
                for _ in 0..len / 300 {
                    let w = words[rand(words.len() as u64) as usize];
                    let at = rand(len as u64) as usize;
                    let end = (at + w.len()).min(len);
                    hay[at..end].copy_from_slice(&w[..end - at]);
                }
                let (mut walked, mut fresh) = (Vec::new(), Vec::new());
                let mut found = std::collections::BTreeSet::new();
                each_candidate_line(&engine, &hay, gates, |finder, ls, line| {
                    engine.candidates_at(&hay, ls, line.len(), gates, finder, &mut walked);
                    engine.candidates_in(line, gates, &mut fresh);
                    assert!(
                        fresh.iter().all(|r| walked.contains(r)),
                        "raw {raw}, round {round}, line at {ls}: {walked:?} misses some of {fresh:?}"
                    );
                    more += usize::from(walked != fresh);
                    found.insert(ls);
                    lines += 1;
                });
                // No line with a candidate of its own is passed over.
                let mut ls = 0;
                for l in hay.split(|&b| b == b'\n') {
                    let l2 = l.strip_suffix(b"\r").unwrap_or(l);
                    engine.candidates_in(l2, gates, &mut fresh);
                    assert!(
                        fresh.is_empty() || found.contains(&ls),
                        "raw {raw}, line at {ls}"
                    );
                    ls += l.len() + 1;
                }
            }
        }
        assert!(lines > 2000, "{lines} candidate lines");
        assert!(more * 20 < lines, "{more} of {lines} lines took more rules");
    }
}

#[cfg(test)]
mod blob_tests {
    use super::*;

    /// The memo answers as the decoder does, for runs that share their
    /// head, middle and tail words (one slot, different runs), runs seen
    /// again, both decode options, and runs too long to remember.
    #[test]
    fn the_decode_memo_answers_as_the_decoder() {
        let text = "eyJjYyI6IjQxMTExMTExMTExMTExMTEiLCJjdnYiOiIxMjMifQ";
        let mut rand = crate::test_util::rng(0x3e30_5107);
        let all = decode::DecodeOpts::all();
        let b64 = decode::DecodeOpts { hex: false, ..all };
        let mut texts = 0;
        for _ in 0..20_000 {
            let len = 16 + rand(140) as usize;
            let mut run: Vec<u8> = match rand(2) {
                // A blob's start (text), or noise.
                0 => text.as_bytes()[..len.min(text.len())].to_vec(),
                _ => (0..len).map(|_| b"Ab/9-_"[rand(6) as usize]).collect(),
            };
            let len = run.len();
            if len > 24 && rand(3) == 0 {
                // Same words at the hash's three places, one byte between differs.
                let k = 8 + rand((len - 16) as u64) as usize;
                if !(len / 2 - 4..len / 2 + 4).contains(&k) {
                    run[k] = b'Q';
                }
            }
            let opts = if rand(2) == 0 { all } else { b64 };
            let want = decode::run_may_decode(&run, opts);
            texts += usize::from(want);
            assert_eq!(
                may_decode(&run, opts),
                want,
                "{}",
                String::from_utf8_lossy(&run)
            );
            assert_eq!(may_decode(&run, opts), want);
        }
        // Runs in one slot with different answers: a text blob, and the
        // same blob with every byte off the hash's three words made noise.
        let long = "eyJjYXJkIjoiNDExMTExMTExMTExMTExMSIsIm5hbWUiOiJKIFNtaXRoIiwiY3Z2IjoiMTIzIn0x";
        let n = long.len();
        let noisy: Vec<u8> = long
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                let kept = i < 8 || (n / 2 - 4..n / 2 + 4).contains(&i) || i >= n - 8;
                if kept { b } else { b'/' }
            })
            .collect();
        for _ in 0..3 {
            assert!(may_decode(long.as_bytes(), all));
            assert!(!may_decode(&noisy, all));
        }
        assert!(texts > 100 && texts < 20_000, "{texts}");
    }
    use crate::record::Family;
    use crate::rules::load_str;

    fn rule(decode: &str) -> Rule {
        let y = format!(
            "title: T\nid: t\nlogsource:\n    category: webserver\ndetection:\n    sel:\n        cs-uri-query|contains: 'skimdrop.example'\n    condition: sel\nskimhunt:\n    decode: [{decode}]\n"
        );
        load_str(&y, "t.yml").unwrap().remove(0)
    }

    fn rec(line: &str) -> Record<'_> {
        let mut r = Record::bare(line.as_bytes(), None, Family::Web);
        r.fields
            .push(("cs-uri-query".into(), line.to_string().into()));
        r
    }

    /// Soundness: whenever a rule matches a line, the prefilter lists it.
    fn assert_sound(engine: &Engine, line: &str) -> bool {
        let r = rec(line);
        let mut c = Vec::new();
        engine.candidates(line.as_bytes(), &mut c);
        let mut hit = false;
        engine.eval(
            &r,
            &(0..engine.rules().len()).collect::<Vec<_>>(),
            |_, _| {
                hit = true;
            },
        );
        if hit {
            assert_eq!(c, [0], "{line}");
            assert!(
                engine
                    .next_candidate(
                        line.as_bytes(),
                        0,
                        engine.gate_choice(false, &[]),
                        &mut Finder::new()
                    )
                    .is_some(),
                "{line}"
            );
        }
        hit
    }

    fn b64(b: &[u8]) -> String {
        crate::test_util::base64(b, true)
    }

    #[test]
    fn blob_rules_see_lines_whose_literal_is_inside_a_blob() {
        let engine = Engine::new(vec![rule("url, json, base64, hex")]);
        let payload = "{\"u\":\"https://skimdrop.example/c\"}";
        let hex: String = payload.bytes().map(|c| format!("{c:02X}")).collect();
        let lines = [
            format!("d={}", b64(payload.as_bytes())),
            format!("h={hex}&x=1"),
            format!("d={}", b64(b64(payload.as_bytes()).as_bytes())),
            format!("/x/{}.gif", b64(payload.as_bytes())),
            // The literal itself, JSON-escaped (no blob, no '%').
            "u=https:\\/\\/skimdrop.example\\/c".to_string(),
        ];
        for l in &lines {
            assert!(assert_sound(&engine, l), "no match: {l}");
        }
        // Without blob decoding the same blob lines do not match at all.
        let plain = Engine::new(vec![rule("url")]);
        assert!(!assert_sound(&plain, &lines[0]));
        // A line with neither literal, trigger nor run is not a candidate.
        let mut c = Vec::new();
        engine.candidates(b"GET /index.html?a=1 HTTP/1.1", &mut c);
        assert!(c.is_empty());
        assert_eq!(
            engine.next_candidate(
                b"GET /a?b=1 HTTP/1.1",
                0,
                engine.gate_choice(false, &[]),
                &mut Finder::new()
            ),
            None
        );
        // The search resumes one past a last line without a newline.
        let hay = b"d=skimdrop.example";
        for raw in [false, true] {
            let gates = engine.gate_choice(raw, &[Family::Web]);
            let next = engine.next_candidate(hay, hay.len() + 1, gates, &mut Finder::new());
            assert_eq!(next, None);
        }
    }

    #[test]
    fn remembered_decode_decisions_equal_fresh_ones() {
        // More runs than slots (collisions and evictions), each asked
        // several times, under two option sets, with runs that decode to
        // text among noise.
        let all = decode::DecodeOpts::parse_name("all").unwrap();
        let b64_only = decode::DecodeOpts::parse_name("base64").unwrap();
        let mut rand = crate::test_util::rng(0xd1b5_4a32_d192_ed03);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
        let mut runs: Vec<Vec<u8>> = (0..MEMO_SLOTS + 1500)
            .map(|i| {
                if i % 7 == 0 {
                    b64(format!("<script src=//evil{i}.example/a.js>").as_bytes()).into_bytes()
                } else if i % 7 == 1 {
                    // Text only under the hex layer.
                    crate::pack::hex(format!("<img src=x onerror=alert({i})>").as_bytes())
                        .into_bytes()
                } else {
                    let len = 16 + rand(80) as usize;
                    (0..len)
                        .map(|_| alphabet[rand(alphabet.len() as u64) as usize])
                        .collect()
                }
            })
            .collect();
        runs.push(vec![b'A'; MEMO_MAX_RUN + 1]);
        let mut seen_true = 0;
        for _ in 0..3 {
            for _ in 0..runs.len() {
                let r = &runs[rand(runs.len() as u64) as usize];
                for o in [all, b64_only] {
                    let want = decode::run_may_decode(r, o);
                    seen_true += usize::from(want);
                    assert_eq!(may_decode(r, o), want, "{}", String::from_utf8_lossy(r));
                }
            }
        }
        assert!(seen_true > 100);
        let hexed = &runs[1];
        assert_ne!(
            decode::run_may_decode(hexed, all),
            decode::run_may_decode(hexed, b64_only)
        );
    }

    #[test]
    fn web_formats_skip_the_gates_of_rules_for_other_records() {
        let chat = load_str(
            "title: C\nid: c\nlogsource:\n    category: chat\ndetection:\n    sel:\n        message|re: '_0x[0-9a-f]{4}'\n    condition: sel\n",
            "c.yml",
        )
        .unwrap()
        .remove(0);
        let engine = Engine::new(vec![rule("url"), chat]);
        let line = b"GET /a?v=_0x1a2b HTTP/1.1";
        for raw in [false, true] {
            let web = engine.gate_choice(raw, &[Family::Web]);
            assert_eq!(
                engine.next_candidate(line, 0, web, &mut Finder::new()),
                None
            );
            let mut c = Vec::new();
            engine.candidates_in(line, web, &mut c);
            assert!(c.is_empty(), "{c:?}");
            // The web rule's own gate is kept.
            let hit = b"GET /a?u=skimdrop.example HTTP/1.1";
            assert!(
                engine
                    .next_candidate(hit, 0, web, &mut Finder::new())
                    .is_some()
            );
        }
        // A format that can produce chat records still sees the chat rule.
        let all = [Family::Web, Family::Chat, Family::Csp, Family::Json];
        let mut c = Vec::new();
        engine.candidates_in(line, engine.gate_choice(false, &all), &mut c);
        assert_eq!(c, [1]);
        engine.candidates(line, &mut c);
        assert_eq!(c, [1]);
    }

    /// Soundness on a parsed line of `fmt`, through the gate set that
    /// format's scan uses: whenever a rule matches, the line is a
    /// candidate. Returns whether some rule matched.
    fn sound_as(engine: &Engine, fmt: crate::format::LogFormat, line: &str) -> bool {
        use crate::format::{LineParser, LogFormat, ParseOptions};
        let p = LineParser::new(fmt, ParseOptions::default());
        let rec = p.record(line.as_bytes());
        let all: Vec<usize> = (0..engine.rules().len()).collect();
        let mut hit = Vec::new();
        engine.eval(&rec, &all, |r, _| hit.push(r.id.clone()));
        if !hit.is_empty() {
            let gates = engine.gate_choice(fmt == LogFormat::Combined, &[Family::Web]);
            let mut c = Vec::new();
            engine.candidates_in(line.as_bytes(), gates, &mut c);
            assert!(!c.is_empty(), "not a candidate: {line}");
            let next = engine.next_candidate(line.as_bytes(), 0, gates, &mut Finder::new());
            assert!(next.is_some(), "buffer search passed over: {line}");
        }
        !hit.is_empty()
    }

    fn combined(query: &str) -> String {
        format!(
            "10.0.0.1 - - [10/May/2017:10:00:00 +0000] \"GET /p?{query} HTTP/1.1\" 200 1 \"-\" \"-\""
        )
    }

    #[test]
    fn escape_gate_sees_backslashes_spelled_by_other_layers() {
        // `%5C` and `&bsol;` decode to `\`, which JSON decoding then reads
        // as the start of `\u0073`.
        use crate::format::LogFormat;
        let engine = Engine::new(vec![rule("url, json, html")]);
        for q in ["q=%5Cu0073kimdrop.example", "q=&bsol;u0073kimdrop.example"] {
            assert!(assert_sound(&engine, q), "no match: {q}");
            assert!(sound_as(&engine, LogFormat::Combined, &combined(q)));
        }
    }

    #[test]
    fn json_unicode_escapes_reach_rules_that_do_not_decode() {
        // The JSON parser unescapes `\u0073`: a rule without `decode` sees
        // `skimdrop.example` although the raw line does not hold it.
        use crate::format::LogFormat;
        let engine = Engine::new(vec![rule("")]);
        let line = r#"{"time":"2017-05-01T00:00:00Z","request":"GET /a?q=\u0073kimdrop.example HTTP/1.1"}"#;
        assert!(sound_as(&engine, LogFormat::Jsonl, line));
        // A raw-field format takes the same bytes literally.
        let mut c = Vec::new();
        let raw = engine.gate_choice(true, &[Family::Web]);
        engine.candidates_in(br"GET /a?q=\u0073kim", raw, &mut c);
        assert!(c.is_empty());
    }

    #[test]
    fn blob_pieces_are_cut_where_decoding_cuts_them() {
        use crate::format::LogFormat;
        let engine = Engine::new(vec![rule("url, plus, html, json, base64, hex")]);
        let raw = engine.gate_choice(true, &[Family::Web]);
        // Parameters joined by `&` and split by `%2C` around ids that do
        // not decode to text: no candidate.
        for q in [
            "utm_source=facebook&utm_medium=cpc&gclid=r32xMHFi4rFlQvYOTN3i5tANowCBkA41",
            "sections=cart%2Cmessages&update_section_id=true&_=1490332237000",
            "a=SGVsbG8gd29y%2CbGQgaGVsbG8&b=1",
        ] {
            let line = combined(q);
            assert_eq!(
                engine.next_candidate(line.as_bytes(), 0, raw, &mut Finder::new()),
                None,
                "{q}"
            );
        }
        // A blob next to parameters, or joined by escapes that decode to
        // base64 bytes (also through `;` decoded first), still is one.
        let blob = crate::test_util::base64(b"{\"u\":\"https://skimdrop.example/c?x=1\"}>>", false);
        assert!(blob.contains('/') && blob.contains('+'), "{blob}");
        for q in [
            format!("d={blob}&utm_source=x"),
            format!("x=1&d={blob}"),
            format!("d={}", blob.replace('/', "%2F")),
            format!("d={}", blob.replace('/', "&sol;")),
            format!("d={}", blob.replace('/', "&sol%3B")),
            format!("d={}", blob.replace('/', "&sol&semi;")),
            format!("d={}", blob.replace('+', "%2B").replace('/', "&SOL;")),
            format!("d={}%2C{blob}", &blob[..10]),
        ] {
            assert!(
                sound_as(&engine, LogFormat::Combined, &combined(&q)),
                "no match: {q}"
            );
        }
        // Here neither side of the `/` decodes to text alone: only the
        // joined blob does.
        let joined = crate::test_util::base64("ÿÿskimdrop.example".as_bytes(), false);
        assert_eq!(joined.matches('/').count(), 1, "{joined}");
        for slash in [
            "%2F",
            "&sol;",
            "&sol%3B",
            "&sol&semi;",
            "%252F",
            "&amp;sol;",
        ] {
            let q = format!("x=1&d={}&y=2", joined.replace('/', slash));
            assert!(
                sound_as(&engine, LogFormat::Combined, &combined(&q)),
                "no match: {q}"
            );
        }
    }

    #[test]
    fn iis_escapes_in_a_blob_run_read_as_their_character() {
        let at = |r: &[u8]| match blob_escape(r, 0) {
            RunByte::Plain => "plain",
            RunByte::Joins(6) => "joins",
            RunByte::Separates(6) => "separates",
            RunByte::Separates(1) => "stays",
            RunByte::Hides => "hides",
            _ => "other",
        };
        assert_eq!(at(b"%u002Fab"), "joins");
        assert_eq!(at(b"%U002b"), "joins");
        assert_eq!(at(b"%u00FFab"), "separates");
        assert_eq!(at(b"%u002C"), "separates");
        assert_eq!(at(b"%u0025"), "hides");
        assert_eq!(at(b"%uZZ"), "stays");
        assert_eq!(at(b"%uD83D"), "stays");
    }

    #[test]
    fn blob_pieces_are_sound_on_random_queries() {
        // A blob whose halves decode to noise, its `/` spelled by every
        // kind of escape or broken by a parameter boundary, among random
        // ids and separators.
        use crate::format::LogFormat;
        let engine = Engine::new(vec![rule("url, plus, html, json, base64, hex")]);
        let blob = crate::test_util::base64("ÿÿskimdrop.example".as_bytes(), false);
        let mut rand = crate::test_util::rng(0x2545_f491_4f6c_dd1d);
        let glue = [
            "%2F",
            "%2f",
            "&sol;",
            "&sol%3B",
            "&sol&semi;",
            "%2B",
            "%2D",
            "&#x2F;",
            "&amp;sol;",
            "%252F",
            "&",
            "&a=",
            "%2C",
            ";",
            "&lt;",
            "%20",
            "&sol",
            "&lowbar;",
            "%3B",
            "&semi;",
            "%u002F",
            "%U002b",
            "%u00FF",
            "%u",
        ];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
        let (mut matched, mut passed) = (0, 0);
        for _ in 0..4000 {
            let mut q = String::from("d=");
            for _ in 0..(1 + rand(4)) {
                match rand(3) {
                    // The blob's `/` spelled or broken some way.
                    0 => q.push_str(&blob.replace('/', glue[rand(glue.len() as u64) as usize])),
                    1 => q.push_str(glue[rand(glue.len() as u64) as usize]),
                    _ => {
                        for _ in 0..(4 + rand(30)) {
                            q.push(char::from(alphabet[rand(alphabet.len() as u64) as usize]));
                        }
                    }
                }
            }
            let line = combined(&q);
            if sound_as(&engine, LogFormat::Combined, &line) {
                matched += 1;
            }
            let raw = engine.gate_choice(true, &[Family::Web]);
            if engine
                .next_candidate(line.as_bytes(), 0, raw, &mut Finder::new())
                .is_none()
            {
                passed += 1;
            }
        }
        assert!(
            matched > 300 && passed > 300,
            "{matched} matched, {passed} passed over"
        );
    }

    #[test]
    fn blob_prefilter_is_sound_on_random_lines() {
        // Random lines built from blob fragments, escapes and noise: every
        // match must be a prefilter candidate.
        let engine = Engine::new(vec![rule("url, plus, html, json, base64, hex")]);
        let pieces: Vec<String> = vec![
            b64(b"skimdrop.example"),
            b64(b"<a href=//skimdrop.example>"),
            "skimdrop.example"
                .bytes()
                .map(|c| format!("{c:02x}"))
                .collect(),
            "%2F".into(),
            "&#x2e;".into(),
            "\\u002e".into(),
            ".".into(),
            "=".into(),
            " ".into(),
            "skim".into(),
            "drop".into(),
            "example".into(),
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut matched = 0;
        for _ in 0..3000 {
            let mut line = String::new();
            for _ in 0..(seed % 6 + 1) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                line.push_str(&pieces[(seed % pieces.len() as u64) as usize]);
            }
            if assert_sound(&engine, &line) {
                matched += 1;
            }
        }
        assert!(matched > 100, "only {matched} matches");
    }

    fn beacon_rules() -> Vec<Rule> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/");
        [
            "card-skimming_image_beacon_base64_payload.yml",
            "card-skimming_image_beacon_hex_payload.yml",
        ]
        .iter()
        .flat_map(|f| load_str(&std::fs::read_to_string(format!("{dir}{f}")).unwrap(), f).unwrap())
        .collect()
    }

    fn line(path_query: &str) -> String {
        format!(
            "10.0.0.1 - - [10/May/2017:10:00:00 +0000] \"GET {path_query} HTTP/1.1\" 200 1 \"-\" \"-\""
        )
    }

    #[test]
    fn image_lines_without_a_long_run_are_no_candidates() {
        let engine = Engine::new(beacon_rules());
        let raw = engine.gate_choice(true, &[Family::Web]);
        let mut c = Vec::new();
        for q in ["/img/logo.png", "/img/logo.png?v=12", "/a.gif?utm=abc&x=1"] {
            engine.candidates_in(line(q).as_bytes(), raw, &mut c);
            assert!(c.is_empty(), "{q}: {c:?}");
        }
        let b64 =
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk";
        let hex = "41".repeat(40);
        for (q, rule) in [
            (format!("/x.png?d={b64}"), 0),
            (format!("/x.gif?d={hex}"), 1),
        ] {
            engine.candidates_in(line(&q).as_bytes(), raw, &mut c);
            assert!(c.contains(&rule), "{q}: {c:?}");
        }
    }

    #[test]
    fn confirms_need_every_part_the_condition_ands_in() {
        let rules = crate::pack::load(&[], false).unwrap().rules;
        let at = |title: &str| rules.iter().position(|r| r.title == title).unwrap();
        let (post, beacon) = (
            at("POST request to an image path"),
            at("Image request carrying a long base64 payload"),
        );
        let engine = Engine::new(rules);
        let raw = engine.gate_choice(true, &[Family::Web]);
        let req = |method: &str, target: &str| {
            format!(
                "10.0.0.1 - - [10/May/2017:10:00:00 +0000] \"{method} {target} HTTP/1.1\" 200 1 \"https://shop.example/\" \"-\""
            )
        };
        let b64 =
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk";
        let long_path = "/static/version1490500000/frontend/Magento/luma/en_US/images/loader-2.gif";
        let mut c = Vec::new();
        for (line, rule, want) in [
            // The method gives the gate, an image extension confirms it.
            (req("POST", "/i/x.GIF"), post, true),
            (req("GET", "/i/x.gif"), post, false),
            (req("POST", "/checkout/save"), post, false),
            // A long run in the path is no payload; one after the `?` is.
            (req("GET", long_path), beacon, false),
            (req("GET", &format!("{long_path}?v=1")), beacon, false),
            (req("GET", &format!("/x.png?d={b64}")), beacon, true),
            (req("GET", &format!("/x.png?d=%2F{b64}")), beacon, true),
        ] {
            engine.candidates_in(line.as_bytes(), raw, &mut c);
            assert_eq!(c.contains(&rule), want, "{line}: {c:?}");
            if want {
                assert!(sound_as(&engine, crate::format::LogFormat::Combined, &line));
            }
        }
    }

    #[test]
    fn confirm_runs_are_sound_on_random_image_queries() {
        // Payloads spelled with escapes that URL decoding joins into one run,
        // among pieces and separators: every line a beacon rule matches is
        // still a candidate, and many image lines are not.
        let engine = Engine::new(beacon_rules());
        let mut rand = crate::test_util::rng(0x0b5e_55ed_cafe);
        let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-";
        let pieces = [
            "%2B", "%2F", "%41", "%61", "%30", "%3D", "=", "&", "&d=", "%25", ".", "%2E", "+",
            "%20", "%u0041", "%u002F", "%U0030",
        ];
        let (mut matched, mut dropped) = (0, 0);
        for _ in 0..4000 {
            let mut q = String::from("/i/p.png?d=");
            for _ in 0..(1 + rand(6)) {
                if rand(2) == 0 {
                    q.push_str(pieces[rand(pieces.len() as u64) as usize]);
                } else {
                    for _ in 0..(1 + rand(40)) {
                        q.push(char::from(b64[rand(b64.len() as u64) as usize]));
                    }
                }
            }
            let l = line(&q);
            if sound_as(&engine, crate::format::LogFormat::Combined, &l) {
                matched += 1;
            }
            let mut c = Vec::new();
            engine.candidates_in(
                l.as_bytes(),
                engine.gate_choice(true, &[Family::Web]),
                &mut c,
            );
            dropped += usize::from(c.is_empty());
        }
        assert!(
            matched > 200 && dropped > 1000,
            "{matched} matched, {dropped} dropped"
        );
    }

    #[test]
    fn alternations_of_runs_need_the_shortest() {
        let (class, min) =
            class_run_of("(?:^|=)(?:[0-9a-f]{65,127}|[0-9a-f]{129,})(?:&|$)").unwrap();
        assert_eq!(min, 65);
        assert!(class[usize::from(b'a')] && class[usize::from(b'F')] && !class[usize::from(b'g')]);
        assert!(class_run_of("(?:[0-9a-f]{65}|x)").is_none());
    }
}
