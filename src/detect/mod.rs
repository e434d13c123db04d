//! Detectors that need more than one line: script drift, exposure, IOC
//! lists, look-alike hosts, and the timeline.
//!
//! The scan loop asks [`DetectState::wants`] (a cheap byte test) for each
//! line, parses the ones wanted — out-of-window lines too, for baselines —
//! and calls [`DetectState::observe`], which returns immediate findings
//! (IOC and look-alike hits, in the window only) and keeps the rest as
//! state. States are per chunk and merged in file order, so results do not
//! depend on the thread count; [`finish`] turns the merged state into
//! findings and report sections.

pub mod drift;
pub mod exposure;
pub mod ioc;
pub mod lookalike;
mod runs;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use jiff::Timestamp;
use regex::bytes::RegexSet;
use regex_automata::meta;
use serde::Serialize;

use crate::card;
use crate::level::{Category, Level};
use crate::memo::StrMemo;
use crate::record::{Family, Record};
use crate::report::Finding;
use crate::window::Window;

use drift::{DriftState, Obs, Phase, UaClass};
use exposure::{Exposure, ExposureState, Interval};
use ioc::{IocError, IocSet};
use lookalike::Lookalikes;

/// Rule ids of detector findings.
pub const DRIFT: &str = "skimhunt.drift";
pub const DRIFT_VERSION: &str = "skimhunt.drift.version";
pub const DRIFT_CONDITIONAL: &str = "skimhunt.drift.conditional";
pub const IOC: &str = "skimhunt.ioc";
pub const LOOKALIKE: &str = "skimhunt.lookalike";

/// The default `--payment-path`: checkout, payment, billing, cart and
/// basket pages (as a path segment, optionally with an extension).
pub const DEFAULT_PAYMENT_PATH: &str = r#"(?i)/(checkout|one-?page-?checkout|payments?|billing|cart|basket|shopping-?cart)([/._?;\s"-]|$)"#;

/// Extensions of files a page loads, which are never payment pages
/// themselves (see `Detectors::is_payment`).
const STATIC_EXTENSIONS: [&str; 22] = [
    "js", "mjs", "map", "css", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp",
    "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "wav",
];

/// Errors building the detectors (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Ioc(#[from] IocError),
    #[error("--asset {glob:?}: {msg}")]
    Asset { glob: String, msg: String },
    #[error("--payment-path {re:?}: {msg}")]
    PaymentPath { re: String, msg: String },
    #[error("{0}")]
    OwnDomain(String),
}

/// Detector settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct DetectOptions {
    /// Extra static-asset globs (matched against the request path).
    pub assets: Vec<String>,
    /// Payment-page regexes (matched against paths); empty = the default.
    pub payment_paths: Vec<String>,
    pub iocs: Vec<PathBuf>,
    /// IOC lists given as (name, text), e.g. referenced from rule files.
    pub ioc_texts: Vec<(String, String)>,
    pub own_domains: Vec<String>,
    /// Only the IOC lists run: no drift, exposure or look-alike hosts
    /// (`--no-default-rules`, which drops every built-in detection).
    pub iocs_only: bool,
    /// Exposure's counts and sample only, not every session (no
    /// `--exposure-csv`): the list, sorted on disk past a budget, is then
    /// not built.
    pub exposure_sample_only: bool,
}

/// Immutable detector configuration shared by every chunk.
#[derive(Debug)]
pub struct Detectors {
    window: Window,
    /// See [`DetectOptions::iocs_only`].
    pub iocs_only: bool,
    /// See [`DetectOptions::exposure_sample_only`].
    exposure_sample_only: bool,
    assets: GlobSet,
    /// Literal parts of the asset globs, for the cheap line test.
    asset_literals: Option<AhoCorasick>,
    payment: RegexSet,
    /// The payment patterns as one regex over whole buffers, multi-line
    /// and CRLF-aware so a per-line match is also a match here.
    payment_any: meta::Regex,
    /// Whether a payment path also matches the line it sits in, so lines
    /// can be tested whole: not for a custom pattern with an assertion
    /// (`^/pay`, `/pay$`, `\bpay`), which holds at the path's edges but
    /// not inside a line; then every line is parsed and its path tested.
    payment_in_lines: bool,
    pub iocs: IocSet,
    pub lookalikes: Lookalikes,
}

/// Where a record is: file, 1-based line, byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub path: Arc<str>,
    /// The path relative to the scan root (for finding fingerprints).
    pub relative: Arc<str>,
    pub line: u64,
    pub offset: u64,
}

/// Longest literal run in a glob (for the prefilter).
fn glob_literal(g: &str) -> String {
    g.split(['*', '?', '[', ']', '{', '}', ','])
        .max_by_key(|s| s.len())
        .unwrap_or("")
        .to_string()
}

impl Detectors {
    pub fn new(window: Window, o: &DetectOptions) -> Result<Detectors, DetectError> {
        let mut gb = GlobSetBuilder::new();
        let mut lits = Vec::new();
        for g in &o.assets {
            let glob = GlobBuilder::new(g)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|e| DetectError::Asset {
                    glob: g.clone(),
                    msg: e.kind().to_string(),
                })?;
            gb.add(glob);
            let lit = glob_literal(g);
            // A glob without a usable literal (`*`) makes every line a candidate.
            lits.push(if lit.len() >= 2 { lit } else { String::new() });
        }
        let assets = gb.build().map_err(|e| DetectError::Asset {
            glob: o.assets.join(" "),
            msg: e.to_string(),
        })?;
        let asset_literals = if lits.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&lits)
                    .map_err(|e| DetectError::Asset {
                        glob: o.assets.join(" "),
                        msg: e.to_string(),
                    })?,
            )
        };
        let pats: Vec<String> = if o.payment_paths.is_empty() {
            vec![DEFAULT_PAYMENT_PATH.to_string()]
        } else {
            o.payment_paths.clone()
        };
        let payment = RegexSet::new(&pats).map_err(|e| DetectError::PaymentPath {
            re: pats.join(" "),
            msg: e.to_string(),
        })?;
        // The built-in pattern's one assertion, `$` after the path, is
        // followed in a request line by a byte its class takes.
        let payment_in_lines = o.payment_paths.is_empty()
            || pats.iter().all(|p| {
                regex_syntax::parse(p).is_ok_and(|h| h.properties().look_set().is_empty())
            });
        let any = if !payment_in_lines {
            "(?s).".to_string()
        } else {
            pats.iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|")
        };
        // Configured as `regex::bytes` builds its regexes (the payment set
        // above is one), so the same patterns are taken.
        let payment_any = meta::Regex::builder()
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(10 << 20))
                    .hybrid_cache_capacity(2 << 20)
                    .utf8_empty(false),
            )
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .utf8(false)
                    .multi_line(true)
                    .crlf(true),
            )
            .build(&any)
            .map_err(|e| DetectError::PaymentPath {
                re: pats.join(" "),
                msg: e.to_string(),
            })?;
        let mut iocs_in = Vec::new();
        for p in &o.iocs {
            let text = std::fs::read(p).map_err(|source| IocError::Io {
                path: p.display().to_string(),
                source,
            })?;
            iocs_in.push((
                p.display().to_string(),
                String::from_utf8_lossy(&text).into_owned(),
            ));
        }
        iocs_in.extend(o.ioc_texts.iter().cloned());
        Ok(Detectors {
            window,
            iocs_only: o.iocs_only,
            exposure_sample_only: o.exposure_sample_only,
            assets,
            asset_literals,
            payment,
            payment_any,
            payment_in_lines,
            iocs: IocSet::from_texts(&iocs_in)?,
            lookalikes: Lookalikes::new(&o.own_domains).map_err(DetectError::OwnDomain)?,
        })
    }

    /// [`Detectors::wants_baseline`] for the line `buf[ls..le]` (see
    /// [`DetectState::wants_at`]).
    pub fn wants_baseline_at(&self, cur: &mut Cursor, buf: &[u8], ls: usize, le: usize) -> bool {
        !self.iocs_only && cur.baseline(self, buf, ls, le)
    }

    /// Cheap test for out-of-window lines: only baselines need them.
    pub fn wants_baseline(&self, line: &[u8]) -> bool {
        self.wants_baseline_at(&mut Cursor::default(), line, 0, line.len())
    }

    /// Whether `path` is a payment page: it matches a payment pattern and
    /// is not a static file. A page loads `payment.js`, `checkout.css` or
    /// a `cart-icon.png` (often on every page of a shop), but a request
    /// for one is no visit to a payment page, and counting it would make
    /// nearly every visitor look exposed.
    fn is_payment(&self, path: &str) -> bool {
        !path.is_empty() && self.payment.is_match(path.as_bytes()) && !self.is_static(path)
    }

    /// A script, style sheet, image, font or media file by its extension,
    /// or a tracked asset (`--asset`).
    fn is_static(&self, path: &str) -> bool {
        let p = without_query(path).as_bytes();
        let name = &p[memchr::memrchr(b'/', p).map_or(0, |i| i + 1)..];
        memchr::memrchr(b'.', name).is_some_and(|i| {
            STATIC_EXTENSIONS
                .iter()
                .any(|e| name[i + 1..].eq_ignore_ascii_case(e.as_bytes()))
        }) || self.is_asset(path)
    }

    fn is_asset(&self, path: &str) -> bool {
        let p = without_query(path);
        p.len() > 3 && p.as_bytes()[p.len() - 3..].eq_ignore_ascii_case(b".js")
            || (!self.assets.is_empty() && self.assets.is_match(p))
    }

    fn phase(&self, t: Timestamp, in_window: bool) -> Phase {
        if in_window {
            Phase::During
        } else if self.window.since.is_some_and(|s| t < s) {
            Phase::Before
        } else {
            Phase::After
        }
    }
}

/// The path of a URL (or of a bare path), without query or fragment.
fn url_path(u: &str) -> &str {
    let rest = match SEP_PLAIN.find(u.as_bytes()) {
        Some(i) => {
            let r = &u[i + 3..];
            memchr::memchr(b'/', r.as_bytes()).map_or("", |j| &r[j..])
        }
        None => u,
    };
    without_query(rest)
}

/// `p` up to its query or fragment. A byte search for the cut: it runs on
/// every script line, and a `split` with a char set was a tenth of the
/// detectors' own time.
fn without_query(p: &str) -> &str {
    &p[..memchr::memchr2(b'?', b'#', p.as_bytes()).unwrap_or(p.len())]
}

/// `host/path` of a URL, host lower-cased, without query or fragment.
fn url_key(u: &str) -> Option<String> {
    let i = u.find("://")?;
    let r = &u[i + 3..];
    let host_end = r.find(['/', '?', '#']).unwrap_or(r.len());
    let host = r[..host_end].to_ascii_lowercase();
    Some(format!("{host}{}", url_path(u)))
}

/// Most distinct host spellings looked at in one line (bounds the work on
/// hostile lines).
const MAX_HOSTS: usize = 32;

static SEP_PLAIN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"://"));
static SEP_JSON: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b":\\/\\/"));
static SEP_PCT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"%3"));
static JS: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b".js"));

/// Calls `f` with the raw bytes of each host of a URL in a raw line
/// (`scheme://host`, JSON-escaped `:\/\/` and URL-encoded `%3A%2F%2F`),
/// at most [`MAX_HOSTS`] distinct spellings; stops when `f` returns false.
/// The chunk-wide test of every line is [`DetectState::lookalike_at`].
fn each_raw_host(line: &[u8], mut f: impl FnMut(&[u8]) -> bool) {
    let mut seen: [&[u8]; MAX_HOSTS] = [&[]; MAX_HOSTS];
    let mut n = 0;
    // The escaped spellings need a `\` or a `%`: most lines have neither.
    let escaped = memchr::memchr2(b'%', b'\\', line).is_some();
    let has_pct = escaped && memchr::memchr(b'%', line).is_some();
    let has_bs = escaped && memchr::memchr(b'\\', line).is_some();
    for (sep, need) in SEPS.into_iter().zip([true, has_bs, has_pct]) {
        if !need {
            continue;
        }
        let mut start = 0;
        while n < MAX_HOSTS
            && let Some((at, len)) = sep.find(line, start)
        {
            let (h0, j) = host_span(line, at + len);
            if j > h0 && j - h0 <= 253 {
                let h = &line[h0..j];
                if !seen[..n].contains(&h) {
                    seen[n] = h;
                    n += 1;
                    if !f(h) {
                        return;
                    }
                }
            }
            start = j.max(at + 1);
        }
    }
}

/// The host after a URL's `scheme://` whose `//` ends at `from`: its start
/// and end (userinfo skipped). A line's end, `\n` or `\r`, ends it too.
fn host_span(b: &[u8], from: usize) -> (usize, usize) {
    let mut h0 = from;
    loop {
        let j = host_run_end(b, h0);
        if b.get(j) != Some(&b'@') {
            return (h0, j);
        }
        // userinfo@host: the host follows.
        h0 = j + 1;
    }
}

/// Whether `c` may be part of a host as [`host_span`] reads one.
fn is_host_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'_' || c >= 0x80
}

/// The first index at or after `from` whose byte is not a host byte (or
/// the end). Hosts are read on every URL of every line, so with the class
/// scanner's block tests.
fn host_run_end(b: &[u8], from: usize) -> usize {
    static HOST: std::sync::LazyLock<crate::matcher::Runs> = std::sync::LazyLock::new(|| {
        crate::matcher::Runs::new(std::array::from_fn(|c| is_host_byte(c as u8)), 1)
    });
    HOST.end(b, from)
}

/// The spellings of `://` that [`each_raw_host`] reads, in its order:
/// plain, JSON-escaped, URL-encoded.
const SEPS: [Sep; 3] = [Sep::Plain, Sep::Json, Sep::Pct];

#[derive(Clone, Copy)]
enum Sep {
    Plain,
    Json,
    Pct,
    /// Either escaped spelling, whichever comes first: one pass over a
    /// chunk for the two (each was a pass of its own, and they are rare).
    Escaped,
}

/// `://` URL-encoded, compared ignoring ASCII case.
const PCT: &[u8] = b"%3a%2f%2f";

impl Sep {
    /// The next separator at or after `from`: its start and length.
    fn find(self, buf: &[u8], mut from: usize) -> Option<(usize, usize)> {
        let pct_at = |at: usize| {
            buf.get(at..at + PCT.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(PCT))
        };
        loop {
            let finder = match self {
                Sep::Plain => &*SEP_PLAIN,
                Sep::Json => &*SEP_JSON,
                Sep::Pct => &*SEP_PCT,
                Sep::Escaped => {
                    let at = from + memchr::memchr2(b'%', b'\\', buf.get(from..)?)?;
                    if buf[at] == b'%' && pct_at(at) {
                        return Some((at, PCT.len()));
                    }
                    // `:\/\/` is found by its first `\`, after the `:`.
                    if buf[at] == b'\\' && at > from && buf[at - 1..].starts_with(SEP_JSON.needle())
                    {
                        return Some((at - 1, SEP_JSON.needle().len()));
                    }
                    from = at + 1;
                    continue;
                }
            };
            let at = from + finder.find(buf.get(from..)?)?;
            match self {
                Sep::Pct if !pct_at(at) => from = at + 1,
                Sep::Pct => return Some((at, PCT.len())),
                _ => return Some((at, finder.needle().len())),
            }
        }
    }
}

/// Hosts of URLs in a raw line (see [`each_raw_host`]), lowercased, each once.
fn raw_hosts(line: &[u8], out: &mut Vec<String>) {
    each_raw_host(line, |h| {
        let h = String::from_utf8_lossy(h).to_lowercase();
        if !out.contains(&h) {
            out.push(h);
        }
        true
    });
}

/// Hash map with a fast (non-DoS-resistant) hasher. The keys are hosts,
/// paths and user agents of the logs; a hostile log can at worst slow its
/// own scan, and every such map is bounded.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Detector state of one chunk, file or run.
#[derive(Debug, Default)]
pub struct DetectState {
    pub drift: DriftState,
    pub exposure: ExposureState,
    cache: lookalike::Cache,
    hosts: Vec<String>,
    /// Verdicts for values that recur on most lines (user agents, page
    /// paths), so a script request costs hash lookups, not regex runs.
    memo: Memo,
}

/// Per-chunk caches of pure functions of a string (bounded: a slot per
/// hash, long keys not kept).
#[derive(Debug, Default)]
struct Memo {
    ua: StrMemo<UaClass>,
    payment: StrMemo<bool>,
}

fn field_last<'r>(rec: &'r Record, names: &[&str]) -> Option<&'r str> {
    rec.fields.iter().find_map(|(k, v)| {
        let last = k.rsplit('.').next().unwrap_or(k);
        names
            .iter()
            .any(|n| last.eq_ignore_ascii_case(n))
            .then_some(v.as_ref())
    })
}

const BUILD_KEYS: [&str; 11] = [
    "version",
    "widget_version",
    "ver",
    "hash",
    "sha256",
    "sha384",
    "sha1",
    "md5",
    "integrity",
    "etag",
    "checksum",
];

/// The next hit of one buffer-wide search, refreshed only when the scan
/// has passed it: a chunk is searched once per test, not once per line.
#[derive(Default, Clone, Copy)]
struct Slot {
    searched: bool,
    at: Option<usize>,
}

impl Slot {
    /// Whether the next hit at or after `ls` starts before `le`.
    fn hit(&mut self, ls: usize, le: usize, search: impl FnOnce(usize) -> Option<usize>) -> bool {
        if !self.searched || self.at.is_some_and(|p| p < ls) {
            self.at = search(ls);
            self.searched = true;
        }
        self.at.is_some_and(|p| p < le)
    }
}

/// Buffer-wide state of the detectors' cheap line tests over one chunk
/// (lines given by increasing byte ranges). A hit in a line's range is
/// confirmed on the line itself, so the answers are exactly those of the
/// per-line tests; the buffer searches only skip lines faster.
#[derive(Default)]
pub struct Cursor {
    js: Slot,
    asset: Slot,
    ioc: Slot,
    pay: Slot,
    /// Where the match in `pay` ends.
    pay_end: usize,
    /// The search cache of `payment_any`, owned here: through the regex's
    /// shared pool, a thread other than its first took a lock on every call.
    pay_cache: Option<meta::Cache>,
    /// The next look-alike host after a plain and after an escaped `://`.
    look: [Slot; 2],
}

impl Cursor {
    fn baseline(&mut self, d: &Detectors, buf: &[u8], ls: usize, le: usize) -> bool {
        let line = &buf[ls..le];
        self.js.hit(ls, le, |f| JS.find(&buf[f..]).map(|i| f + i)) && JS.find(line).is_some()
            || d.asset_literals.as_ref().is_some_and(|a| {
                self.asset.hit(ls, le, |f| {
                    a.find(aho_corasick::Input::new(buf).span(f..buf.len()))
                        .map(|m| m.start())
                }) && a.is_match(line)
            })
    }
}

impl DetectState {
    /// [`DetectState::wants`] for the line `buf[ls..le]`, with buffer-wide
    /// searches kept in `cur` (one per chunk, lines in order).
    /// `request_part` gives the part of a line that can hold its request
    /// path (`LineParser::request_part`): a payment page matters to the
    /// detectors only as the path a line requests (a payment referer only
    /// on asset lines, which the baseline test takes), and most lines that
    /// name one name it in the referer.
    pub fn wants_at(
        &mut self,
        d: &Detectors,
        cur: &mut Cursor,
        (buf, ls, le): (&[u8], usize, usize),
        request_part: &dyn Fn(&[u8]) -> &[u8],
    ) -> bool {
        let line = &buf[ls..le];
        let ioc = |cur: &mut Cursor| {
            cur.ioc.hit(ls, le, |f| d.iocs.find_from(buf, f)) && d.iocs.any(line)
        };
        if d.iocs_only {
            return ioc(cur);
        }
        if cur.baseline(d, buf, ls, le) || ioc(cur) || !d.payment_in_lines || {
            let Cursor {
                pay,
                pay_end,
                pay_cache,
                ..
            } = &mut *cur;
            pay.hit(ls, le, |f| {
                let cache = pay_cache.get_or_insert_with(|| d.payment_any.create_cache());
                let input = regex_automata::Input::new(buf).range(f..);
                d.payment_any.search_with(cache, &input).map(|m| {
                    *pay_end = m.end();
                    m.start()
                })
            })
        } && {
            // The slot holds the first match from the line's start:
            // one past the request part (in the referer) leaves none
            // in it, and one inside it is a match of the part alone
            // (no pattern here has an assertion that could tell the
            // line from the part, see `payment_in_lines`). Only a match
            // running past the part's end needs the part tested.
            let part = request_part(line);
            let end = ls + part.len();
            cur.pay.at.is_some_and(|p| p < end) && (cur.pay_end <= end || d.payment.is_match(part))
        } {
            return true;
        }
        self.lookalike_at(d, cur, buf, ls, le)
    }

    /// Whether a URL host in the line `buf[ls..le]` is a look-alike (any
    /// spelling `each_raw_host` reads). Two searches over the chunk, for
    /// a plain `://` and for an escaped one, each running ahead to the next
    /// look-alike and judging each host once where it stands; a line with
    /// more than `MAX_HOSTS` hosts may be taken where `each_raw_host`
    /// stops early (it is then parsed, and judged as before).
    pub fn lookalike_at(
        &mut self,
        d: &Detectors,
        cur: &mut Cursor,
        buf: &[u8],
        ls: usize,
        le: usize,
    ) -> bool {
        let mut any = false;
        for (slot, sep) in cur.look.iter_mut().zip([Sep::Plain, Sep::Escaped]) {
            any |= slot.hit(ls, le, |mut from| {
                while let Some((at, len)) = sep.find(buf, from) {
                    let (h0, j) = host_span(buf, at + len);
                    if j > h0
                        && j - h0 <= 253
                        && self.cache.is_lookalike(&d.lookalikes, &buf[h0..j])
                    {
                        return Some(at);
                    }
                    from = j.max(at + 1);
                }
                None
            });
        }
        any
    }

    /// Cheap byte test for an in-window line: scripts, payment paths, IOC
    /// literals, and URLs whose host is a look-alike.
    pub fn wants(
        &mut self,
        d: &Detectors,
        line: &[u8],
        request_part: &dyn Fn(&[u8]) -> &[u8],
    ) -> bool {
        self.wants_at(
            d,
            &mut Cursor::default(),
            (line, 0, line.len()),
            request_part,
        )
    }

    /// Observes one parsed record. Returns the immediate findings (IOC and
    /// look-alike hits of in-window records). `raw_clean`: the raw line is
    /// known to hold no look-alike host ([`DetectState::lookalike_at`]
    /// said so), so only a `cs-host` field needs judging.
    pub fn observe(
        &mut self,
        d: &Detectors,
        rec: &Record,
        (time, in_window, raw_clean): (Option<Timestamp>, bool, bool),
        loc: &Loc,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        if d.iocs_only {
            if in_window {
                self.iocs(d, rec, time, loc, &mut out);
            }
            return out;
        }
        if let Some(t) = time {
            match rec.family {
                Family::Web => self.web(d, rec, t, in_window, loc),
                Family::Chat | Family::Json => self.widget(d, rec, t, in_window, loc),
                _ => {}
            }
        }
        if in_window {
            self.iocs(d, rec, time, loc, &mut out);
            self.lookalikes(d, rec, (time, raw_clean), loc, &mut out);
        }
        out
    }

    fn web(&mut self, d: &Detectors, rec: &Record, t: Timestamp, in_window: bool, loc: &Loc) {
        let stem = rec
            .get("cs-uri-stem")
            .or_else(|| rec.get("cs-uri").map(url_path))
            .unwrap_or("");
        let ua = rec.get("cs-user-agent").unwrap_or("");
        let ip = rec.get("c-ip").unwrap_or("");
        let status = rec.get("sc-status").unwrap_or("");
        let method = rec.get("cs-method").unwrap_or("GET");
        let key = || -> std::borrow::Cow<str> {
            match rec.get("cs-host").filter(|h| !h.is_empty() && *h != "-") {
                Some(h) => format!("{}{stem}", h.to_ascii_lowercase()).into(),
                None => stem.into(),
            }
        };
        if d.is_asset(stem) {
            let referer = rec.get("cs-referer").unwrap_or("");
            let payment_ref = referer != "-"
                && self
                    .memo
                    .payment
                    .get(url_path(referer), |p| d.is_payment(p));
            let bytes = rec
                .get("sc-bytes")
                .and_then(|b| b.parse::<u64>().ok())
                .unwrap_or(0);
            // Only complete successful GETs teach sizes: never 206, 304 or HEAD.
            if status == "200" && bytes > 0 && method.eq_ignore_ascii_case("GET") {
                let obs = Obs {
                    phase: d.phase(t, in_window),
                    t,
                    ua: self.memo.ua.get(ua, UaClass::of),
                    payment: payment_ref,
                    loc: loc.clone(),
                };
                self.drift.size(&key(), bytes, &obs);
            }
            if in_window && payment_ref {
                self.exposure.asset_from_payment(t, ip, ua, &key());
            }
        }
        let ok = status.parse::<u16>().map_or(true, |s| s < 400);
        if in_window && ok && self.memo.payment.get(stem, |p| d.is_payment(p)) {
            self.exposure.payment_page(t, ip, ua);
        }
    }

    /// Chat-service and other JSON events naming a script URL with a
    /// version or hash (widget loads).
    fn widget(&mut self, d: &Detectors, rec: &Record, t: Timestamp, in_window: bool, loc: &Loc) {
        let script = rec.fields.iter().find_map(|(k, v)| {
            let last = k.rsplit('.').next().unwrap_or(k);
            let named = [
                "src",
                "script",
                "script_url",
                "script_src",
                "widget_url",
                "url",
            ]
            .iter()
            .any(|n| last.eq_ignore_ascii_case(n));
            (named && v.contains("://") && d.is_asset(url_path(v))).then_some((k, v))
        });
        let Some((skey, surl)) = script else { return };
        let parent = skey.rsplit_once('.').map_or("", |(p, _)| p);
        let mut parts: Vec<String> = rec
            .fields
            .iter()
            .filter(|(k, _)| {
                let (p, last) = k.rsplit_once('.').unwrap_or(("", k));
                p == parent && BUILD_KEYS.iter().any(|n| last.eq_ignore_ascii_case(n))
            })
            .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), v))
            .collect();
        let Some(url) = url_key(surl) else { return };
        let page = field_last(
            rec,
            &["page_url", "page", "document_url", "referer", "referrer"],
        )
        .unwrap_or("");
        let payment = d.is_payment(url_path(page));
        let sid = field_last(
            rec,
            &[
                "session_id",
                "sessionid",
                "chat_session_id",
                "chat_id",
                "conversation_id",
            ],
        );
        if let Some(sid) = sid.filter(|_| rec.family == Family::Chat && in_window) {
            self.exposure.chat_load(t, sid);
        }
        if parts.is_empty() {
            return;
        }
        parts.sort();
        parts.dedup();
        let obs = Obs {
            phase: d.phase(t, in_window),
            t,
            ua: UaClass::of(field_last(rec, &["user_agent", "useragent", "ua"]).unwrap_or("")),
            payment,
            loc: loc.clone(),
        };
        let build: String = card::mask_text(&parts.join(" "))
            .chars()
            .take(512)
            .collect();
        self.drift.build(&url, &build, &obs);
    }

    fn iocs(
        &mut self,
        d: &Detectors,
        rec: &Record,
        time: Option<Timestamp>,
        loc: &Loc,
        out: &mut Vec<Finding>,
    ) {
        if d.iocs.is_empty() {
            return;
        }
        let mut ids = Vec::new();
        let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
        if rec.fields.is_empty() {
            d.iocs.matches(rec.raw, &mut ids);
            for id in ids.drain(..) {
                seen.entry(id).or_insert("line");
            }
        }
        for (k, v) in &rec.fields {
            d.iocs.matches(v.as_bytes(), &mut ids);
            for id in ids.drain(..) {
                seen.entry(id).or_insert(k.as_ref());
            }
        }
        for (id, field) in seen {
            let e = d.iocs.entry(id);
            let mut fields = BTreeMap::new();
            fields.insert("ioc.list".to_string(), e.list.clone());
            fields.insert("ioc.entry".to_string(), e.entry.clone());
            fields.insert("ioc.field".to_string(), field.to_string());
            out.push(finding(
                IOC,
                format!("IOC list match: {} ({}:{})", e.entry, e.list, e.line),
                Level::High,
                Category::CardSkimming,
                loc,
                time,
                fields,
                rec.raw,
                Some(
                    e.entry
                        .trim_start_matches("https://")
                        .trim_start_matches("http://"),
                ),
            ));
        }
    }

    fn lookalikes(
        &mut self,
        d: &Detectors,
        rec: &Record,
        (time, raw_clean): (Option<Timestamp>, bool),
        loc: &Loc,
        out: &mut Vec<Finding>,
    ) {
        // Nearly every line names only hosts whose verdict is cached by
        // their raw bytes: no allocation unless one is a look-alike.
        let mut any = false;
        if !raw_clean {
            each_raw_host(rec.raw, |h| {
                any = self.cache.is_lookalike(&d.lookalikes, h);
                !any
            });
        }
        let host = rec.get("cs-host");
        if !any
            && host.is_none_or(|h| {
                h.is_ascii() && !self.cache.is_lookalike(&d.lookalikes, h.as_bytes())
            })
        {
            return;
        }
        self.hosts.clear();
        raw_hosts(rec.raw, &mut self.hosts);
        if let Some(h) = rec.get("cs-host") {
            let h = h.to_ascii_lowercase();
            if !self.hosts.contains(&h) {
                self.hosts.push(h);
            }
        }
        let hosts = std::mem::take(&mut self.hosts);
        for h in &hosts {
            let Some(v) = self.cache.check(&d.lookalikes, h) else {
                continue;
            };
            let mut fields = BTreeMap::new();
            fields.insert("lookalike.host".to_string(), h.clone());
            fields.insert("lookalike.imitates".to_string(), v.imitates.clone());
            fields.insert(
                "lookalike.method".to_string(),
                v.method.as_str().to_string(),
            );
            out.push(finding(
                LOOKALIKE,
                format!(
                    "Look-alike host {h} imitates {} ({})",
                    v.imitates,
                    v.method.as_str()
                ),
                Level::High,
                Category::InjectedScript,
                loc,
                time,
                fields,
                rec.raw,
                Some(h),
            ));
        }
        self.hosts = hosts;
    }

    /// Appends the state of later lines or files.
    pub fn merge(&mut self, o: DetectState) {
        self.drift.merge(o.drift);
        self.exposure.merge(o.exposure);
    }

    /// Adds `base` to stored line numbers (chunk-relative → file lines).
    pub fn shift_lines(&mut self, base: u64) {
        self.drift.shift_lines(base);
    }
}

/// Evidence excerpt of a raw line: at most this many bytes, masked.
const EVIDENCE_MAX: usize = 512;

#[allow(clippy::too_many_arguments)]
fn finding(
    id: &str,
    title: String,
    level: Level,
    category: Category,
    loc: &Loc,
    time: Option<Timestamp>,
    fields: BTreeMap<String, String>,
    raw: &[u8],
    needle: Option<&str>,
) -> Finding {
    // Centre the excerpt on what matched (`needle`), so the host is shown.
    let at = needle
        .filter(|n| !n.is_empty())
        .and_then(|n| {
            let lower = raw.to_ascii_lowercase();
            memchr::memmem::find(&lower, n.to_ascii_lowercase().as_bytes())
        })
        .unwrap_or(0);
    let start = at.saturating_sub(EVIDENCE_MAX / 4);
    let end = (start + EVIDENCE_MAX).min(raw.len());
    let mut ev = String::from_utf8_lossy(&raw[start..end]).into_owned();
    if start > 0 {
        // Never start or end inside a digit run a mask could miss.
        let trimmed = ev.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '-');
        ev = format!("…{trimmed}");
    }
    if end < raw.len() {
        while ev.ends_with(|c: char| c.is_ascii_digit() || c == ' ' || c == '-') {
            ev.pop();
        }
        ev.push('…');
    }
    let evidence = card::mask_owned(ev);
    Finding {
        fingerprint: crate::report::fingerprint(id, &loc.relative, &evidence),
        decoded: Vec::new(),
        decoded_evidence: None,
        rule_id: id.to_string(),
        rule_title: card::mask_text(&title).into_owned(),
        level,
        category,
        path: loc.path.to_string(),
        line: loc.line,
        byte_offset: loc.offset,
        timestamp: time,
        fields: fields
            .into_iter()
            .map(|(k, v)| (k, card::mask_text(&v).into_owned()))
            .collect(),
        evidence,
        pan: None,
    }
}

/// The report's `drift` section.
#[derive(Debug, Clone, Serialize)]
pub struct DriftSection {
    /// Out-of-window records before the window used for baselines.
    pub baseline_records: u64,
    /// Out-of-window records after the window used for `reverted_at`.
    pub after_window_records: u64,
    /// Script assets and widget URLs tracked.
    pub assets_tracked: usize,
    /// Assets served with too many distinct sizes (or builds) to judge
    /// drift: more than 4 in the baseline or new in the window. At most
    /// 50 are listed; `unstable_count` has them all.
    pub unstable: Vec<String>,
    pub unstable_count: usize,
    /// Served-time runs were dropped (more than [`drift::MAX_EVENTS`] that
    /// could not be written to disk) or those on disk could not be read
    /// back: a revert time may be late or missing; sizes, builds and their
    /// counts are still exact.
    pub truncated: bool,
    pub items: Vec<drift::Item>,
}

/// Report sections computed at the end of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSections {
    /// None (null) when the built-in detectors did not run.
    pub drift: Option<DriftSection>,
    pub exposure: Option<Exposure>,
    pub timeline: timeline::Timeline,
}

/// What [`finish`] computes.
pub struct DetectReport {
    /// Drift findings (the immediate ones were returned by `observe`).
    pub findings: Vec<Finding>,
    pub drift: Option<DriftSection>,
    pub exposure: Option<Exposure>,
}

fn drift_finding(i: &drift::Item) -> Finding {
    let (id, title) = match i.kind {
        drift::Kind::Size => (
            DRIFT,
            "Script served with a size outside its baseline (drift)",
        ),
        drift::Kind::Version => (
            DRIFT_VERSION,
            "Script version or hash first seen inside the window",
        ),
        drift::Kind::Conditional => (
            DRIFT_CONDITIONAL,
            "Script served differently by client class (conditional serving)",
        ),
    };
    let what = match (i.size, &i.build, i.split_by) {
        (Some(s), _, _) => format!("size {s}"),
        (_, Some(b), _) => b.clone(),
        (_, _, Some(by)) => format!(
            "split by {by}: {:?}",
            i.sizes_by_class.clone().unwrap_or_default()
        ),
        _ => String::new(),
    };
    let evidence = format!(
        "{} served with {what}; baseline ({}) {}; {} requests {} .. {}; {:.0}% from payment pages; {}",
        i.asset,
        i.baseline,
        i.baseline_values.join(", "),
        i.requests,
        i.first_seen,
        i.last_seen,
        i.payment_referer_share * 100.0,
        i.reverted_at
            .map_or("not reverted".to_string(), |t| format!("reverted at {t}"))
    );
    let mut fields = BTreeMap::new();
    fields.insert("drift.asset".to_string(), i.asset.clone());
    fields.insert("drift.baseline".to_string(), i.baseline.to_string());
    fields.insert("drift.value".to_string(), what);
    // Counts and times grow with the log: the fingerprint keeps to what
    // drifted, so baselines do not churn.
    let key = format!("{} {}", i.asset, fields["drift.value"]);
    Finding {
        fingerprint: crate::report::fingerprint(id, &i.relative, &key),
        decoded: Vec::new(),
        decoded_evidence: None,
        rule_id: id.to_string(),
        rule_title: title.to_string(),
        level: i.level,
        category: Category::InjectedScript,
        path: i.path.clone(),
        line: i.line,
        byte_offset: i.byte_offset,
        timestamp: Some(i.first_seen),
        fields: fields
            .into_iter()
            .map(|(k, v)| (k, card::mask_text(&v).into_owned()))
            .collect(),
        evidence: card::mask_text(&evidence).into_owned(),
        pan: None,
    }
}

/// Turns the merged state into drift findings and the drift and exposure
/// sections.
pub fn finish(d: &Detectors, state: DetectState) -> DetectReport {
    if d.iocs_only {
        return DetectReport {
            findings: Vec::new(),
            drift: None,
            exposure: None,
        };
    }
    let drift::Analysis {
        items,
        unstable,
        truncated,
    } = drift::analyse(&state.drift);
    let findings = items.iter().map(drift_finding).collect();
    // Exposure follows the drift found against a real history; without
    // one it covers the window.
    let real: Vec<&drift::Item> = items
        .iter()
        .filter(|i| i.baseline == "history" && i.kind != drift::Kind::Conditional)
        .collect();
    let interval = if real.is_empty() {
        Interval {
            since: d.window.since,
            until: d.window.until,
            basis: "window",
        }
    } else {
        Interval {
            since: real.iter().map(|i| i.first_seen).min(),
            until: real.iter().map(|i| i.last_seen).max(),
            basis: "drift",
        }
    };
    let drifted: BTreeSet<String> = items
        .iter()
        .filter(|i| i.kind == drift::Kind::Size)
        .map(|i| i.asset.clone())
        .collect();
    let exposure = exposure::analyse(state.exposure, interval, &drifted, !d.exposure_sample_only);
    // Asset paths, builds and agents come from the logs and may hold card
    // data; the drift findings above mask their own copies.
    let items = items
        .into_iter()
        .map(|mut i| {
            i.asset = card::mask_owned(i.asset);
            i.build = i.build.map(card::mask_owned);
            i.baseline_values = i
                .baseline_values
                .into_iter()
                .map(card::mask_owned)
                .collect();
            i
        })
        .collect();
    DetectReport {
        findings,
        drift: Some(DriftSection {
            baseline_records: state.drift.baseline_records,
            after_window_records: state.drift.after_records,
            assets_tracked: state.drift.assets_tracked(),
            unstable_count: unstable.len(),
            unstable: unstable
                .into_iter()
                .take(50)
                .map(card::mask_owned)
                .collect(),
            truncated,
            items,
        }),
        exposure: Some(exposure),
    }
}

#[cfg(test)]
mod tests;
