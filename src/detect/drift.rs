//! Script drift: the same script URL suddenly served with another size (or,
//! in chat-service logs, another version or hash) inside the window, and
//! conditional serving (different sizes to different client classes).
//!
//! Observations are kept per chunk and merged in file order; the analysis
//! runs once, in [`analyse`], on the merged state.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;
use std::io::{self, BufRead, Write};

use jiff::Timestamp;
use serde::Serialize;

use super::runs::{self, Runs};
use super::{FastMap, Loc};
use crate::level::Level;

/// Client classes for conditional serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UaClass {
    Desktop = 0,
    Mobile = 1,
    Bot = 2,
}

impl UaClass {
    const ALL: [UaClass; 3] = [UaClass::Desktop, UaClass::Mobile, UaClass::Bot];

    pub fn of(ua: &str) -> UaClass {
        let l = ua.to_ascii_lowercase();
        const BOT: [&str; 10] = [
            "bot", "crawl", "spider", "slurp", "curl/", "wget", "python", "headless", "java/",
            "go-http",
        ];
        if BOT.iter().any(|b| l.contains(b)) {
            UaClass::Bot
        } else if ["mobile", "android", "iphone", "ipad", "ipod"]
            .iter()
            .any(|m| l.contains(m))
        {
            UaClass::Mobile
        } else {
            UaClass::Desktop
        }
    }

    fn name(self) -> &'static str {
        match self {
            UaClass::Desktop => "desktop",
            UaClass::Mobile => "mobile",
            UaClass::Bot => "bot",
        }
    }
}

/// Request counts of one served value, split by client class and by
/// whether the referer was a payment page.
#[derive(Debug, Clone, Default)]
struct Split {
    ua: [u64; 3],
    /// [other referer, payment-page referer]
    referer: [u64; 2],
}

impl Split {
    fn total(&self) -> u64 {
        self.ua.iter().sum()
    }

    fn add(&mut self, o: &Split) {
        for i in 0..3 {
            self.ua[i] += o.ua[i];
        }
        for i in 0..2 {
            self.referer[i] += o.referer[i];
        }
    }
}

/// The in-window requests of one value of a series, counted as they come:
/// a busy script's millions of requests cost this much, not a record each.
#[derive(Debug, Clone)]
struct Served {
    /// Earliest request: its time and its place in file order (`Series::seq`),
    /// which breaks ties between equal times, and its location.
    first: (Timestamp, u64),
    loc: Loc,
    last: Timestamp,
    /// Requests by client class.
    ua: [u64; 3],
    /// Requests whose referer (or page) was a payment page.
    pay: u64,
}

impl Served {
    fn n(&self) -> u64 {
        self.ua.iter().sum()
    }

    /// Adds `o`, later in file order (its places already shifted).
    fn add(&mut self, o: &Served) {
        if o.first < self.first {
            self.first = o.first;
            self.loc = o.loc.clone();
        }
        self.last = self.last.max(o.last);
        for i in 0..3 {
            self.ua[i] += o.ua[i];
        }
        self.pay += o.pay;
    }
}

/// Served times of one value: one request time, or a run of whole
/// seconds each of which had a request. Busy scripts are requested every
/// second, so a day of them is one run; the revert search needs no more.
/// 24 bytes for a size (a `Timestamp` pair would be 40).
#[derive(Debug, Clone)]
struct Run<V> {
    /// The first time, as `Timestamp::new` takes it.
    second: i64,
    nanosecond: i32,
    /// Whole seconds after the first that had a request (0: one time).
    seconds: u32,
    value: V,
}

impl<V: PartialEq> Run<V> {
    fn new(t: Timestamp, value: V) -> Self {
        Run {
            second: t.as_second(),
            nanosecond: t.subsec_nanosecond(),
            seconds: 0,
            value,
        }
    }

    fn start(&self) -> Timestamp {
        Timestamp::new(self.second, self.nanosecond).unwrap_or(Timestamp::MIN)
    }

    fn end(&self) -> Timestamp {
        match self.seconds {
            0 => self.start(),
            n => Timestamp::from_second(self.second + i64::from(n)).unwrap_or(Timestamp::MAX),
        }
    }

    /// Extends the run by requests from `t` to `t` + `more` whole seconds
    /// of `value`, if it stays one: from its end, or from the whole second
    /// after a whole-second end.
    fn extend(&mut self, value: &V, t: Timestamp, more: u32) -> bool {
        if self.value != *value {
            return false;
        }
        let end = self.end();
        let add = if t == end {
            Some(more)
        } else if t.subsec_nanosecond() == 0
            && self.nanosecond == 0
            && t.as_second() == end.as_second() + 1
        {
            more.checked_add(1)
        } else {
            None
        };
        match add.and_then(|a| self.seconds.checked_add(a)) {
            Some(n) => {
                self.seconds = n;
                true
            }
            None => false,
        }
    }

    /// The earliest served time after `x` in this run.
    fn after(&self, x: Timestamp) -> Option<Timestamp> {
        let (start, end) = (self.start(), self.end());
        if start > x {
            Some(start)
        } else if end > x {
            // Every whole second of the run had a request (its first time
            // is whole when it has more): the next one after `x`.
            let floor = x.as_second() - i64::from(x.subsec_nanosecond() < 0);
            Timestamp::from_second(floor + 1).ok().map(|n| n.min(end))
        } else {
            None
        }
    }
}

/// A value of a series as runs on disk hold it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RunValue {
    Size(u64),
    /// Builds are kept masked (see [`DriftState::build`]'s caller).
    Build(String),
}

/// The values series track: response sizes and builds.
trait Value: Ord + Clone + ToString {
    /// The series kind in [`series_id`].
    const KIND: u8;
    fn to_run(&self) -> RunValue;
}

impl Value for u64 {
    const KIND: u8 = 0;
    fn to_run(&self) -> RunValue {
        RunValue::Size(*self)
    }
}

impl Value for String {
    const KIND: u8 = 1;
    fn to_run(&self) -> RunValue {
        RunValue::Build(self.clone())
    }
}

/// Keys of [`series_id`]: drawn once per process, so every state names a
/// series alike and no log can be written to make two series collide.
static SERIES_KEYS: std::sync::LazyLock<std::hash::RandomState> =
    std::sync::LazyLock::new(std::hash::RandomState::new);

/// How runs on disk name a series: its kind and a keyed hash of its asset
/// or script URL, which may hold card data and is not written. Two series
/// with one id are found at the analysis (all keys are in memory).
fn series_id(kind: u8, key: &str) -> (u8, u64) {
    (kind, SERIES_KEYS.hash_one(key))
}

/// The runs of one value of one series, on disk: the first run's start,
/// then every run (sorted by time) as varints: seconds since the previous
/// run's start, its nanosecond, its whole seconds. About 3 bytes a run, so
/// a run per request of a busy script costs little disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RunGroup {
    series: (u8, u64),
    value: RunValue,
    first: i64,
    count: u32,
    runs: Vec<u8>,
}

impl RunGroup {
    /// The group of `runs` (sorted by start, one value).
    fn new<V>(series: (u8, u64), value: RunValue, runs: &[&Run<V>]) -> RunGroup {
        let first = runs.first().map_or(0, |r| r.second);
        let mut bytes = Vec::with_capacity(runs.len() * 3);
        let mut prev = first;
        for r in runs {
            put_varint(&mut bytes, r.second.abs_diff(prev));
            put_varint(&mut bytes, u64::from(r.nanosecond as u32));
            put_varint(&mut bytes, u64::from(r.seconds));
            prev = r.second;
        }
        RunGroup {
            series,
            value,
            first,
            count: runs.len() as u32,
            runs: bytes,
        }
    }

    /// Its runs; an error if the bytes do not hold `count` of them.
    fn each(&self, mut f: impl FnMut(Run<()>)) -> io::Result<()> {
        let (mut at, mut second) = (0, self.first);
        let bad = || io::Error::other("damaged drift run");
        for _ in 0..self.count {
            let delta = get_varint(&self.runs, &mut at).ok_or_else(bad)?;
            second = i64::try_from(delta)
                .ok()
                .and_then(|d| second.checked_add(d))
                .ok_or_else(bad)?;
            let nanosecond = get_varint(&self.runs, &mut at).ok_or_else(bad)?;
            let seconds = get_varint(&self.runs, &mut at).ok_or_else(bad)?;
            f(Run {
                second,
                nanosecond: u32::try_from(nanosecond).map_err(|_| bad())? as i32,
                seconds: u32::try_from(seconds).map_err(|_| bad())?,
                value: (),
            });
        }
        if at == self.runs.len() {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

impl runs::Record for RunGroup {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(&[self.series.0])?;
        runs::put_u64(w, self.series.1)?;
        match &self.value {
            RunValue::Size(n) => {
                w.write_all(&[0])?;
                runs::put_u64(w, *n)?;
            }
            RunValue::Build(b) => {
                w.write_all(&[1])?;
                runs::put_str(w, b.as_bytes())?;
            }
        }
        runs::put_u64(w, self.first as u64)?;
        runs::put_u32(w, self.count)?;
        runs::put_str(w, &self.runs)
    }

    fn read_from(r: &mut dyn BufRead) -> io::Result<Option<Self>> {
        if runs::at_end(r)? {
            return Ok(None);
        }
        let mut byte = [0u8; 1];
        r.read_exact(&mut byte)?;
        let series = (byte[0], runs::get_u64(r)?);
        r.read_exact(&mut byte)?;
        let value = match byte[0] {
            0 => RunValue::Size(runs::get_u64(r)?),
            1 => RunValue::Build(
                String::from_utf8(runs::get_bytes(r)?)
                    .map_err(|_| io::Error::other("run holds invalid UTF-8"))?,
            ),
            _ => return Err(io::Error::other("damaged drift run")),
        };
        Ok(Some(RunGroup {
            series,
            value,
            first: runs::get_u64(r)? as i64,
            count: runs::get_u32(r)?,
            runs: runs::get_bytes(r)?,
        }))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.runs.len()
            + match &self.value {
                RunValue::Build(b) => b.len(),
                RunValue::Size(_) => 0,
            }
    }
}

/// The in-memory runs of every series in `map` as groups, by series id.
fn collect_runs<V: Value>(map: &FastMap<String, Series<V>>, out: &mut Vec<RunGroup>) {
    for (key, s) in map.iter().filter(|(_, s)| !s.runs.is_empty()) {
        let id = series_id(V::KIND, key);
        let mut runs: Vec<&Run<V>> = s.runs.iter().collect();
        runs.sort_unstable_by(|a, b| {
            (&a.value, a.second, a.nanosecond, a.seconds).cmp(&(
                &b.value,
                b.second,
                b.nanosecond,
                b.seconds,
            ))
        });
        for group in runs.chunk_by(|a, b| a.value == b.value) {
            out.push(RunGroup::new(id, group[0].value.to_run(), group));
        }
    }
}

/// Everything seen for one asset (sizes) or script URL (builds).
#[derive(Debug, Clone)]
struct Series<V: Ord> {
    before: BTreeMap<V, Split>,
    /// In-window requests by value.
    during: BTreeMap<V, Served>,
    /// In-window requests so far: the next one's place in file order.
    seq: u64,
    /// In-window served times, for the revert search; they count against
    /// [`MAX_EVENTS`]. Counts and first sightings above never do.
    runs: Vec<Run<V>>,
    /// First time each value was served after the window.
    after: BTreeMap<V, Timestamp>,
    /// Certainly unstable (see [`Series::settle`]): nothing else is kept
    /// but whether it was served in the window (only then is it listed).
    unstable: bool,
    unstable_in_window: bool,
}

/// Distinct in-window values past which a series is unstable whatever its
/// history: with at most [`UNSTABLE_VALUES`] baseline values, more than
/// that many of these are new.
const CERTAINLY_UNSTABLE: usize = 2 * UNSTABLE_VALUES;

impl<V: Ord> Series<V> {
    /// Marks the series unstable and drops what it kept once no analysis
    /// can use it: more than [`UNSTABLE_VALUES`] baseline values, or more
    /// than [`CERTAINLY_UNSTABLE`] in the window (an asset whose size varies
    /// per response would otherwise keep every request). Returns the
    /// in-window events dropped.
    fn settle(&mut self) -> usize {
        if self.before.len() > UNSTABLE_VALUES || self.during.len() > CERTAINLY_UNSTABLE {
            self.make_unstable()
        } else {
            0
        }
    }

    /// Drops everything but the verdict; returns the runs dropped.
    fn make_unstable(&mut self) -> usize {
        let dropped = self.runs.len();
        *self = Series {
            unstable: true,
            unstable_in_window: self.unstable_in_window || !self.during.is_empty(),
            ..Series::default()
        };
        dropped
    }

    /// The earliest in-window request of any value, and its value.
    fn first(&self) -> Option<(&V, &Served)> {
        self.during.iter().min_by_key(|(_, s)| s.first)
    }
}

impl<V: Ord> Default for Series<V> {
    fn default() -> Self {
        Series {
            before: BTreeMap::new(),
            during: BTreeMap::new(),
            seq: 0,
            runs: Vec::new(),
            after: BTreeMap::new(),
            unstable: false,
            unstable_in_window: false,
        }
    }
}

/// Where a record sits relative to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Before,
    During,
    After,
}

/// The context of one observation.
#[derive(Debug, Clone)]
pub struct Obs {
    pub phase: Phase,
    pub t: Timestamp,
    pub ua: UaClass,
    /// The referer (or, for widget loads, the page) is a payment page.
    pub payment: bool,
    pub loc: Loc,
}

/// In-window served-time runs kept in memory across all assets (see
/// `Run`) when they cannot be written to disk, bounding memory; past it
/// the report says the analysis is truncated: a revert may then be found
/// late or not at all. Requests, first sightings and splits are counted
/// whatever the volume.
pub const MAX_EVENTS: usize = 4_000_000;

/// In-window runs a state keeps in memory before it writes them to a run
/// on disk (3 MiB of them for sizes). A script requested every few seconds
/// starts a run per request, so a long window over a busy site gives
/// millions of them.
pub const SPILL_EVENTS: usize = 1 << 17;

/// Drift observations of one chunk, file or run.
#[derive(Debug)]
pub struct DriftState {
    sizes: FastMap<String, Series<u64>>,
    builds: FastMap<String, Series<String>>,
    /// Out-of-window records that fed a baseline (before) or a revert
    /// time (after).
    pub baseline_records: u64,
    pub after_records: u64,
    /// Runs kept in memory, against [`MAX_EVENTS`].
    events: usize,
    pub truncated: bool,
    /// Runs written to disk, by series (see [`DriftState::spill`]).
    spilled: Runs<RunGroup>,
    /// In-memory runs past which they are written to disk.
    spill_at: usize,
    /// Writing a run failed: runs stay in memory, up to [`MAX_EVENTS`].
    spill_failed: bool,
}

impl Default for DriftState {
    fn default() -> Self {
        DriftState::with_spill_at(SPILL_EVENTS)
    }
}

/// Keeps a served time in `runs`, in the last run when it extends it.
fn add_time<V: Clone + PartialEq>(
    runs: &mut Vec<Run<V>>,
    events: &mut usize,
    truncated: &mut bool,
    value: &V,
    t: Timestamp,
) {
    if runs.last_mut().is_some_and(|r| r.extend(value, t, 0)) {
        return;
    }
    if *events >= MAX_EVENTS {
        *truncated = true;
        return;
    }
    *events += 1;
    runs.push(Run::new(t, value.clone()));
}

fn record<V: Ord + Clone>(
    s: &mut Series<V>,
    (events, truncated): (&mut usize, &mut bool),
    value: V,
    o: &Obs,
) {
    if s.unstable {
        s.unstable_in_window |= o.phase == Phase::During;
        return;
    }
    match o.phase {
        Phase::Before => {
            let sp = s.before.entry(value).or_default();
            sp.ua[o.ua as usize] += 1;
            sp.referer[usize::from(o.payment)] += 1;
        }
        Phase::After => {
            let e = s.after.entry(value).or_insert(o.t);
            *e = (*e).min(o.t);
        }
        Phase::During => {
            let place = (o.t, s.seq);
            s.seq += 1;
            add_time(&mut s.runs, events, truncated, &value, o.t);
            let served = s.during.entry(value).or_insert_with(|| Served {
                first: place,
                loc: o.loc.clone(),
                last: o.t,
                ua: [0; 3],
                pay: 0,
            });
            if place < served.first {
                served.first = place;
                served.loc = o.loc.clone();
            }
            served.last = served.last.max(o.t);
            served.ua[o.ua as usize] += 1;
            served.pay += u64::from(o.payment);
        }
    }
    *events -= s.settle();
}

fn merge_series<V: Ord + Clone>(
    a: &mut Series<V>,
    b: Series<V>,
    events: &mut usize,
    truncated: &mut bool,
) {
    if a.unstable || b.unstable {
        let in_window = b.unstable_in_window || !b.during.is_empty();
        *events -= a.make_unstable();
        a.unstable_in_window |= in_window;
        return;
    }
    for (k, v) in b.before {
        a.before.entry(k).or_default().add(&v);
    }
    for (k, t) in b.after {
        let e = a.after.entry(k).or_insert(t);
        *e = (*e).min(t);
    }
    // `b` follows `a` in file order.
    for (k, mut v) in b.during {
        v.first.1 += a.seq;
        match a.during.get_mut(&k) {
            Some(x) => x.add(&v),
            None => {
                a.during.insert(k, v);
            }
        }
    }
    a.seq += b.seq;
    for r in b.runs {
        if a.runs
            .last_mut()
            .is_some_and(|l| l.extend(&r.value, r.start(), r.seconds))
        {
            continue;
        }
        if *events >= MAX_EVENTS {
            *truncated = true;
            break;
        }
        *events += 1;
        a.runs.push(r);
    }
    *events -= a.settle();
}

impl DriftState {
    /// One successful full GET of a script asset.
    pub fn size(&mut self, asset: &str, size: u64, o: &Obs) {
        self.count(o.phase);
        // Most requests are for an asset already seen: no key allocation.
        if !self.sizes.contains_key(asset) {
            self.sizes.insert(asset.to_string(), Series::default());
        }
        let s = self.sizes.get_mut(asset).expect("inserted above");
        record(s, (&mut self.events, &mut self.truncated), size, o);
        self.bound();
    }

    /// One load of a script URL with a version/hash (`build`).
    pub fn build(&mut self, script: &str, build: &str, o: &Obs) {
        self.count(o.phase);
        let s = self.builds.entry(script.to_string()).or_default();
        record(
            s,
            (&mut self.events, &mut self.truncated),
            build.to_string(),
            o,
        );
        self.bound();
    }

    fn count(&mut self, phase: Phase) {
        match phase {
            Phase::Before => self.baseline_records += 1,
            Phase::After => self.after_records += 1,
            Phase::During => {}
        }
    }

    /// Appends `o` (the observations of later lines or files).
    pub fn merge(&mut self, o: DriftState) {
        self.baseline_records += o.baseline_records;
        self.after_records += o.after_records;
        self.truncated |= o.truncated;
        let mut keys: Vec<_> = o.sizes.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in keys {
            let a = self.sizes.entry(k).or_default();
            merge_series(a, v, &mut self.events, &mut self.truncated);
        }
        let mut keys: Vec<_> = o.builds.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in keys {
            let a = self.builds.entry(k).or_default();
            merge_series(a, v, &mut self.events, &mut self.truncated);
        }
        self.spilled.append(o.spilled);
        self.bound();
    }

    /// A state that writes its runs to disk past `spill_at` of them.
    pub fn with_spill_at(spill_at: usize) -> Self {
        DriftState {
            sizes: FastMap::default(),
            builds: FastMap::default(),
            baseline_records: 0,
            after_records: 0,
            events: 0,
            truncated: false,
            spilled: Runs::default(),
            spill_at,
            spill_failed: false,
        }
    }

    /// Writes the runs to disk once there are more than `spill_at`.
    fn bound(&mut self) {
        if self.events > self.spill_at && !self.spill_failed {
            self.spill();
        }
    }

    /// Writes every in-memory run to one run on disk, sorted by series (a
    /// series is known there by its kind and [`series_id`], not by its
    /// path or URL; builds go as kept, masked), and frees them. On failure
    /// they stay in memory.
    fn spill(&mut self) {
        let mut groups = Vec::new();
        collect_runs(&self.sizes, &mut groups);
        collect_runs(&self.builds, &mut groups);
        groups.sort_unstable();
        let written = self.spilled.add(&groups);
        if written.is_err() {
            self.spill_failed = true;
            return;
        }
        for s in self.sizes.values_mut() {
            s.runs = Vec::new();
        }
        for s in self.builds.values_mut() {
            s.runs = Vec::new();
        }
        self.events = 0;
    }

    /// Adds `base` to every stored line number (chunk-relative → file).
    pub fn shift_lines(&mut self, base: u64) {
        if base == 0 {
            return;
        }
        for s in self.sizes.values_mut() {
            for v in s.during.values_mut() {
                v.loc.line += base;
            }
        }
        for s in self.builds.values_mut() {
            for v in s.during.values_mut() {
                v.loc.line += base;
            }
        }
    }

    pub fn assets_tracked(&self) -> usize {
        self.sizes.len() + self.builds.len()
    }
}

/// What kind of drift an item reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A new response size.
    Size,
    /// A new version or hash in widget-load events.
    Version,
    /// Different sizes to different client classes.
    Conditional,
}

/// One drift result, as listed in the report's `drift.items`.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: Kind,
    pub level: Level,
    /// The asset (`host/path` or `/path`) or script URL.
    pub asset: String,
    /// The new size (kind size).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The new version/hash (kind version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// `history` (learnt before the window) or `first-seen`.
    pub baseline: &'static str,
    /// The baseline sizes or builds.
    pub baseline_values: Vec<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub requests: u64,
    /// Share of those requests whose referer (or page) is a payment page.
    pub payment_referer_share: f64,
    /// First time a baseline value was served again after `last_seen`.
    pub reverted_at: Option<Timestamp>,
    /// Conditional serving: the dimension split (`user-agent`, `referer`)
    /// and the sizes each class got inside the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sizes_by_class: Option<BTreeMap<&'static str, Vec<u64>>>,
    /// Where the drift was first seen.
    pub path: String,
    pub line: u64,
    #[serde(skip)]
    pub byte_offset: u64,
    /// The path relative to the scan root (for fingerprints).
    #[serde(skip)]
    pub relative: String,
}

/// Requests a client class needs before its sizes count in a split.
const SPLIT_MIN: u64 = 2;

/// True when two classes with enough requests got disjoint size sets.
fn has_split(classes: &[(&'static str, BTreeMap<u64, u64>)]) -> bool {
    let live: Vec<&BTreeMap<u64, u64>> = classes
        .iter()
        .map(|(_, m)| m)
        .filter(|m| m.values().sum::<u64>() >= SPLIT_MIN)
        .collect();
    for (i, a) in live.iter().enumerate() {
        for b in &live[i + 1..] {
            if a.keys().all(|k| !b.contains_key(k)) {
                return true;
            }
        }
    }
    false
}

fn share(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        ((n as f64 / d as f64) * 1000.0).round() / 1000.0
    }
}

/// Distinct values above which an asset is "unstable" (dynamic content
/// behind a script path, or sizes that vary per response): its drift would
/// be noise, so it is listed in `drift.unstable` instead of alerting. A
/// baseline of several sizes each seen once is unstable too.
pub const UNSTABLE_VALUES: usize = 3;

/// Baseline requests below which the baseline is weak: drift against it is
/// reported at low.
pub const WEAK_BASELINE: u64 = 3;

/// Baseline values listed per item (the count is always given).
const LISTED_VALUES: usize = 8;

/// What the analysis makes of a series.
enum Judged<'a, V> {
    /// Nothing to report (never served in the window).
    Quiet,
    /// Too many values to judge: listed in `drift.unstable`.
    Unstable,
    /// Judged against these baseline values.
    Baseline(BTreeSet<&'a V>),
}

fn judge<V: Ord>(s: &Series<V>) -> Judged<'_, V> {
    if s.unstable {
        return if s.unstable_in_window {
            Judged::Unstable
        } else {
            Judged::Quiet
        };
    }
    let Some((first_value, _)) = s.first() else {
        return Judged::Quiet;
    };
    let new_values = s
        .during
        .keys()
        .filter(|v| !s.before.contains_key(v))
        .count();
    let all_once = s.before.len() >= 2 && s.before.values().all(|sp| sp.total() == 1);
    if s.before.len() > UNSTABLE_VALUES || new_values > UNSTABLE_VALUES || all_once {
        return Judged::Unstable;
    }
    Judged::Baseline(if s.before.is_empty() {
        [first_value].into_iter().collect()
    } else {
        s.before.keys().collect()
    })
}

/// Per series on disk, per value served in the window outside its
/// baseline: the first time a baseline value was served again after it,
/// as found in the runs on disk.
type DiskReverts = FastMap<(u8, u64), BTreeMap<RunValue, Timestamp>>;

/// The revert search of [`analyse_series`] over the runs on disk, one pass
/// for every series. False when the runs could not be read back, or two
/// series share an id (then their runs on disk are not used).
fn disk_reverts(state: &DriftState, out: &mut DiskReverts) -> bool {
    if state.spilled.is_empty() {
        return true;
    }
    // Per series id: its baseline and its drifted values' last times.
    type Query = (BTreeSet<RunValue>, Vec<(RunValue, Timestamp)>);
    fn queries<V: Value>(
        map: &FastMap<String, Series<V>>,
        ids: &mut FastMap<(u8, u64), Option<Query>>,
        clash: &mut bool,
    ) {
        for (key, s) in map {
            let id = series_id(V::KIND, key);
            let q = match judge(s) {
                Judged::Baseline(b) => Some((
                    b.iter().map(|v| v.to_run()).collect(),
                    s.during
                        .iter()
                        .filter(|(v, _)| !b.contains(v))
                        .map(|(v, g)| (v.to_run(), g.last))
                        .collect(),
                )),
                _ => None,
            };
            if ids.insert(id, q).is_some() {
                *clash = true;
                ids.insert(id, None);
            }
        }
    }
    let mut ids = FastMap::default();
    let mut clash = false;
    queries(&state.sizes, &mut ids, &mut clash);
    queries(&state.builds, &mut ids, &mut clash);
    // Most scans find no drift: then the runs need not be read.
    if ids
        .values()
        .flatten()
        .all(|(_, drifted)| drifted.is_empty())
    {
        return true;
    }
    let Ok(merged) = state.spilled.merged(std::iter::empty()) else {
        return false;
    };
    for g in merged {
        let Ok(g) = g else { return false };
        let Some(Some((baseline, drifted))) = ids.get(&g.series) else {
            continue;
        };
        if !baseline.contains(&g.value) {
            continue;
        }
        let reverts = out.entry(g.series).or_default();
        let each = g.each(|run| {
            for (v, last) in drifted {
                if let Some(t) = run.after(*last) {
                    let e = reverts.entry(v.clone()).or_insert(t);
                    *e = (*e).min(t);
                }
            }
        });
        if each.is_err() {
            return false;
        }
    }
    !clash
}

fn analyse_series<V: Value>(
    kind: Kind,
    (asset, s): (&str, &Series<V>),
    value_of: impl Fn(&V) -> (Option<u64>, Option<String>),
    disk: &DiskReverts,
    out: &mut Vec<Item>,
    unstable: &mut Vec<String>,
) {
    let baseline = match judge(s) {
        Judged::Quiet => return,
        Judged::Unstable => {
            unstable.push(asset.to_string());
            return;
        }
        Judged::Baseline(b) => b,
    };
    let history = !s.before.is_empty();
    let on_disk = disk.get(&series_id(V::KIND, asset));
    let baseline_requests: u64 = s.before.values().map(Split::total).sum();
    let back_after = s
        .after
        .iter()
        .filter(|(k, _)| baseline.contains(k))
        .map(|(_, t)| *t)
        .min();
    for (v, g) in s.during.iter().filter(|(v, _)| !baseline.contains(v)) {
        // The first baseline value served again, in the window or after it.
        let back_disk = on_disk.and_then(|m| m.get(&v.to_run())).copied();
        let back_in = s
            .runs
            .iter()
            .filter(|r| baseline.contains(&r.value))
            .filter_map(|r| r.after(g.last))
            .chain(back_disk)
            .min();
        let reverted_at = match (back_in, back_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let n = g.n();
        let level = if !history || baseline_requests < WEAK_BASELINE {
            Level::Low
        } else if n >= 2 || g.pay > 0 {
            Level::High
        } else {
            // One odd size can be an aborted transfer logged as 200.
            Level::Medium
        };
        let (size, build) = value_of(v);
        out.push(Item {
            kind,
            level,
            asset: asset.to_string(),
            size,
            build,
            baseline: if history { "history" } else { "first-seen" },
            baseline_values: baseline
                .iter()
                .take(LISTED_VALUES)
                .map(|v| v.to_string())
                .collect(),
            first_seen: g.first.0,
            last_seen: g.last,
            requests: n,
            payment_referer_share: share(g.pay, n),
            reverted_at,
            split_by: None,
            sizes_by_class: None,
            path: g.loc.path.to_string(),
            relative: g.loc.relative.to_string(),
            line: g.loc.line,
            byte_offset: g.loc.offset,
        });
    }
}

fn conditional(asset: &str, s: &Series<u64>, out: &mut Vec<Item>) {
    // Without a history there is nothing to compare a split against.
    let baseline_requests: u64 = s.before.values().map(Split::total).sum();
    if s.unstable
        || s.before.len() > UNSTABLE_VALUES
        || baseline_requests < WEAK_BASELINE
        || s.during.is_empty()
    {
        return;
    }
    type Classes = Vec<(&'static str, BTreeMap<u64, u64>)>;
    let dims: [(&'static str, usize); 2] = [("user-agent", 3), ("referer", 2)];
    for (dim, n) in dims {
        let name = |i: usize| -> &'static str {
            if dim == "user-agent" {
                UaClass::ALL[i].name()
            } else if i == 1 {
                "payment-page"
            } else {
                "other"
            }
        };
        let mut base: Classes = (0..n).map(|i| (name(i), BTreeMap::new())).collect();
        for (size, sp) in &s.before {
            let counts: &[u64] = if dim == "user-agent" {
                &sp.ua
            } else {
                &sp.referer
            };
            for (i, &c) in counts.iter().enumerate() {
                if c > 0 {
                    *base[i].1.entry(*size).or_default() += c;
                }
            }
        }
        let mut win: Classes = (0..n).map(|i| (name(i), BTreeMap::new())).collect();
        for (size, g) in &s.during {
            let n = g.n();
            let pay = [n - g.pay, g.pay];
            let counts: &[u64] = if dim == "user-agent" { &g.ua } else { &pay };
            for (i, &c) in counts.iter().enumerate() {
                if c > 0 {
                    *win[i].1.entry(*size).or_default() += c;
                }
            }
        }
        if !has_split(&win) || has_split(&base) {
            continue;
        }
        let Some((_, first)) = s.first() else {
            continue;
        };
        let last = s
            .during
            .values()
            .map(|g| g.last)
            .max()
            .unwrap_or(first.last);
        let requests: u64 = s.during.values().map(Served::n).sum();
        let pay: u64 = s.during.values().map(|g| g.pay).sum();
        out.push(Item {
            kind: Kind::Conditional,
            level: Level::Medium,
            asset: asset.to_string(),
            size: None,
            build: None,
            baseline: "history",
            baseline_values: s
                .before
                .keys()
                .take(LISTED_VALUES)
                .map(ToString::to_string)
                .collect(),
            first_seen: first.first.0,
            last_seen: last,
            requests,
            payment_referer_share: share(pay, requests),
            reverted_at: None,
            split_by: Some(dim),
            sizes_by_class: Some(
                win.iter()
                    .filter(|(_, m)| !m.is_empty())
                    .map(|(k, m)| (*k, m.keys().copied().collect()))
                    .collect(),
            ),
            path: first.loc.path.to_string(),
            relative: first.loc.relative.to_string(),
            line: first.loc.line,
            byte_offset: first.loc.offset,
        });
    }
}

/// The result of [`analyse`].
#[derive(Debug, Default)]
pub struct Analysis {
    /// Drift items, sorted by first seen, then asset.
    pub items: Vec<Item>,
    /// Assets with too many distinct sizes or builds to judge, sorted.
    pub unstable: Vec<String>,
    /// Reverts may be missing: runs were dropped at [`MAX_EVENTS`], or those
    /// on disk could not be read back.
    pub truncated: bool,
}

/// Finds every drift item in the merged state.
pub fn analyse(state: &DriftState) -> Analysis {
    let mut out = Vec::new();
    let mut unstable = Vec::new();
    let mut disk = DiskReverts::default();
    let complete = disk_reverts(state, &mut disk);
    let mut assets: Vec<_> = state.sizes.iter().collect();
    assets.sort_by(|a, b| a.0.cmp(b.0));
    for (asset, s) in assets {
        let u = &mut unstable;
        let sizes = |v: &u64| (Some(*v), None);
        analyse_series(Kind::Size, (asset, s), sizes, &disk, &mut out, u);
        conditional(asset, s, &mut out);
    }
    let mut scripts: Vec<_> = state.builds.iter().collect();
    scripts.sort_by(|a, b| a.0.cmp(b.0));
    for (script, s) in scripts {
        let value_of = |v: &String| (None, Some(v.clone()));
        let u = &mut unstable;
        analyse_series(Kind::Version, (script, s), value_of, &disk, &mut out, u);
    }
    out.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.asset.cmp(&b.asset))
            .then_with(|| a.size.cmp(&b.size))
            .then_with(|| a.build.cmp(&b.build))
    });
    Analysis {
        items: out,
        unstable,
        truncated: state.truncated || !complete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn loc(line: u64) -> Loc {
        Loc {
            path: Arc::from("access.log"),
            relative: Arc::from("access.log"),
            line,
            offset: line * 100,
        }
    }

    fn obs(phase: Phase, ts: &str, ua: UaClass, payment: bool, line: u64) -> Obs {
        Obs {
            phase,
            t: t(ts),
            ua,
            payment,
            loc: loc(line),
        }
    }

    fn feed(st: &mut DriftState, rows: &[(&str, Phase, u64, UaClass, bool)]) {
        for (i, (ts, ph, size, ua, pay)) in rows.iter().enumerate() {
            st.size("/w.js", *size, &obs(*ph, ts, *ua, *pay, i as u64 + 1));
        }
    }

    use Phase::*;
    use UaClass::*;

    #[test]
    fn size_change_in_window_with_revert() {
        let mut st = DriftState::default();
        feed(
            &mut st,
            &[
                ("2017-09-01T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-02T00:00:00Z", Before, 100, Mobile, true),
                ("2017-09-03T00:00:00Z", Before, 100, Mobile, false),
                ("2017-09-26T01:00:00Z", During, 180, Desktop, true),
                ("2017-09-27T01:00:00Z", During, 180, Mobile, false),
                ("2017-10-13T01:00:00Z", After, 100, Desktop, false),
            ],
        );
        assert_eq!(st.baseline_records, 3);
        let items = analyse(&st).items;
        assert_eq!(items.len(), 1);
        let i = &items[0];
        assert_eq!(
            (i.kind, i.size, i.baseline, i.level),
            (Kind::Size, Some(180), "history", Level::High)
        );
        assert_eq!(i.baseline_values, ["100"]);
        assert_eq!(
            (i.first_seen, i.last_seen, i.requests),
            (t("2017-09-26T01:00:00Z"), t("2017-09-27T01:00:00Z"), 2)
        );
        assert_eq!(i.payment_referer_share, 0.5);
        assert_eq!(i.reverted_at, Some(t("2017-10-13T01:00:00Z")));
        assert_eq!(i.line, 4);
    }

    #[test]
    fn weak_baseline_is_low() {
        let mut st = DriftState::default();
        feed(
            &mut st,
            &[
                ("2017-09-01T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-26T01:00:00Z", During, 180, Desktop, true),
                ("2017-09-27T01:00:00Z", During, 180, Desktop, true),
            ],
        );
        assert_eq!(analyse(&st).items[0].level, Level::Low);
    }

    #[test]
    fn two_legitimate_sizes_do_not_alert() {
        let mut st = DriftState::default();
        let mut rows = Vec::new();
        for d in 1..20 {
            let ts = format!("2017-09-{d:02}T00:00:00Z");
            rows.push((ts.clone(), Before, if d % 2 == 0 { 300 } else { 900 }));
        }
        for d in 26..30 {
            let ts = format!("2017-09-{d:02}T00:00:00Z");
            rows.push((ts, During, if d % 2 == 0 { 300 } else { 900 }));
        }
        for (i, (ts, ph, sz)) in rows.iter().enumerate() {
            let ua = if i % 3 == 0 { Mobile } else { Desktop };
            st.size("/v.js", *sz, &obs(*ph, ts, ua, false, i as u64));
        }
        assert!(analyse(&st).items.is_empty());
    }

    #[test]
    fn first_seen_baseline_is_low_and_one_size_is_silent() {
        let mut st = DriftState::default();
        feed(
            &mut st,
            &[
                ("2017-09-26T03:00:00Z", During, 50, Desktop, false),
                ("2017-09-26T01:00:00Z", During, 40, Desktop, false),
                ("2017-09-26T02:00:00Z", During, 40, Desktop, false),
            ],
        );
        let items = analyse(&st).items;
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].size, items[0].baseline, items[0].level),
            (Some(50), "first-seen", Level::Low)
        );
        assert_eq!(items[0].baseline_values, ["40"]);
        let mut one = DriftState::default();
        feed(
            &mut one,
            &[("2017-09-26T03:00:00Z", During, 50, Desktop, false); 5],
        );
        assert!(analyse(&one).items.is_empty());
    }

    #[test]
    fn single_odd_size_is_medium_and_reverts_inside_the_window() {
        let mut st = DriftState::default();
        feed(
            &mut st,
            &[
                ("2017-09-01T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-02T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-03T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-27T00:00:00Z", During, 37, Desktop, false),
                ("2017-09-28T00:00:00Z", During, 100, Desktop, false),
            ],
        );
        let items = analyse(&st).items;
        assert_eq!(items[0].level, Level::Medium);
        assert_eq!(items[0].reverted_at, Some(t("2017-09-28T00:00:00Z")));
    }

    #[test]
    fn conditional_serving_by_client_class() {
        let mut st = DriftState::default();
        let mut rows = Vec::new();
        for h in 0..6 {
            rows.push((
                format!("2017-09-0{}T00:00:00Z", h + 1),
                Before,
                500,
                if h % 2 == 0 { Mobile } else { Desktop },
                false,
            ));
        }
        for h in 0..6 {
            // In the window: mobile gets the old size, desktop a new one.
            let ua = if h % 2 == 0 { Mobile } else { Desktop };
            rows.push((
                format!("2017-09-2{}T00:00:00Z", h + 6 - 2),
                During,
                if ua == Mobile { 500 } else { 640 },
                ua,
                false,
            ));
        }
        for (i, (ts, ph, sz, ua, pay)) in rows.iter().enumerate() {
            st.size("/p.js", *sz, &obs(*ph, ts, *ua, *pay, i as u64));
        }
        let items = analyse(&st).items;
        let cond: Vec<_> = items
            .iter()
            .filter(|i| i.kind == Kind::Conditional)
            .collect();
        assert_eq!(cond.len(), 1, "{items:#?}");
        assert_eq!(cond[0].split_by, Some("user-agent"));
        let by = cond[0].sizes_by_class.as_ref().unwrap();
        assert_eq!(by["mobile"], [500]);
        assert_eq!(by["desktop"], [640]);
        // The new size itself is drift too.
        assert!(
            items
                .iter()
                .any(|i| i.kind == Kind::Size && i.size == Some(640))
        );
    }

    #[test]
    fn a_split_already_in_the_baseline_is_not_conditional() {
        let mut st = DriftState::default();
        for i in 0..8u64 {
            let ua = if i % 2 == 0 { Bot } else { Desktop };
            let size = if ua == Bot { 900 } else { 300 };
            let ph = if i < 4 { Before } else { During };
            let ts = format!(
                "2017-09-{:02}T00:00:00Z",
                if i < 4 { i + 1 } else { i + 22 }
            );
            st.size("/g.js", size, &obs(ph, &ts, ua, false, i));
        }
        assert!(analyse(&st).items.is_empty());
    }

    #[test]
    fn new_build_in_window_and_merge_order() {
        let mut a = DriftState::default();
        a.build(
            "https://cdn/chat.js",
            "version=1",
            &obs(Before, "2017-09-01T00:00:00Z", Desktop, false, 1),
        );
        let mut b = DriftState::default();
        b.build(
            "https://cdn/chat.js",
            "version=2",
            &obs(During, "2017-09-27T00:00:00Z", Desktop, true, 1),
        );
        b.build(
            "https://cdn/chat.js",
            "version=1",
            &obs(During, "2017-09-27T00:00:00Z", Desktop, true, 2),
        );
        b.shift_lines(10);
        a.merge(b);
        let items = analyse(&a).items;
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].kind, items[0].build.as_deref(), items[0].line),
            (Kind::Version, Some("version=2"), 11)
        );
        assert_eq!(a.baseline_records, 1);
    }

    /// Without a writable temporary directory runs stay in memory up to
    /// the cap.
    #[test]
    fn past_the_cap_drift_is_still_found_and_only_reverts_may_be_missed() {
        let mut st = DriftState {
            events: MAX_EVENTS,
            spill_failed: true,
            ..DriftState::default()
        };
        feed(
            &mut st,
            &[
                ("2017-09-01T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-02T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-03T00:00:00Z", Before, 100, Desktop, false),
                ("2017-09-26T01:00:00Z", During, 180, Desktop, true),
                ("2017-09-27T01:00:00Z", During, 180, Mobile, false),
                ("2017-09-28T01:00:00Z", During, 100, Mobile, false),
            ],
        );
        assert!(st.truncated);
        let items = analyse(&st).items;
        assert_eq!(items.len(), 1);
        let i = &items[0];
        assert_eq!(
            (i.size, i.level, i.requests, i.first_seen, i.line),
            (Some(180), Level::High, 2, t("2017-09-26T01:00:00Z"), 4)
        );
        // The revert inside the window was past the cap.
        assert_eq!(i.reverted_at, None);
    }

    #[test]
    fn runs_give_the_first_time_served_after() {
        let mut r = Run::new(t("2017-09-26T10:00:00Z"), 1u64);
        assert!(r.extend(&1, t("2017-09-26T10:00:00Z"), 0));
        assert!(r.extend(&1, t("2017-09-26T10:00:01Z"), 0));
        assert!(r.extend(&1, t("2017-09-26T10:00:02Z"), 0));
        assert!(!r.extend(&2, t("2017-09-26T10:00:03Z"), 0));
        assert!(!r.extend(&1, t("2017-09-26T10:00:04Z"), 0));
        assert!(!r.extend(&1, t("2017-09-26T10:00:02.5Z"), 0));
        assert_eq!(r.end(), t("2017-09-26T10:00:02Z"));
        assert_eq!(r.after(t("2017-09-26T09:00:00Z")), Some(r.start()));
        assert_eq!(
            r.after(t("2017-09-26T10:00:00Z")),
            Some(t("2017-09-26T10:00:01Z"))
        );
        assert_eq!(
            r.after(t("2017-09-26T10:00:01.25Z")),
            Some(t("2017-09-26T10:00:02Z"))
        );
        assert_eq!(r.after(t("2017-09-26T10:00:02Z")), None);
        // A run joined whole: from its end, or from the next second.
        assert!(r.extend(&1, t("2017-09-26T10:00:02Z"), 3));
        assert_eq!(r.end(), t("2017-09-26T10:00:05Z"));
        assert!(r.extend(&1, t("2017-09-26T10:00:06Z"), 4));
        assert_eq!(r.end(), t("2017-09-26T10:00:10Z"));
        assert!(!r.extend(&1, t("2017-09-26T10:00:12Z"), 1));
        assert!(!r.extend(&1, t("2017-09-26T10:00:11Z"), u32::MAX));
        assert_eq!(r.end(), t("2017-09-26T10:00:10Z"));
        // Sub-second times make runs of one time each.
        let mut s = Run::new(t("2017-09-26T10:00:00.5Z"), 1u64);
        assert!(s.extend(&1, t("2017-09-26T10:00:00.5Z"), 0));
        assert!(!s.extend(&1, t("2017-09-26T10:00:01.5Z"), 0));
        assert!(!s.extend(&1, t("2017-09-26T10:00:01Z"), 0));
        assert_eq!(s.after(t("2017-09-26T10:00:00.25Z")), Some(s.start()));
        assert_eq!(s.after(t("2017-09-26T10:00:00.5Z")), None);
        // Before 1970 a fraction counts down from the whole second.
        let mut neg = Run::new(t("1969-12-31T23:59:57Z"), 1u64);
        assert!(neg.extend(&1, t("1969-12-31T23:59:58Z"), 1));
        assert_eq!(
            neg.after(t("1969-12-31T23:59:57.5Z")),
            Some(t("1969-12-31T23:59:58Z"))
        );
        assert_eq!(std::mem::size_of::<Run<u64>>(), 24);
    }

    #[test]
    fn unstable_assets_are_listed_not_alerted() {
        let mut st = DriftState::default();
        for i in 0..20u64 {
            let ts = format!("2017-09-{:02}T00:00:00Z", i + 1);
            st.size("/dyn.js", 100 + i, &obs(Before, &ts, Desktop, false, i));
            // Two sizes, each seen once: no stable baseline either.
            if i < 2 {
                st.size("/once.js", 7 + i, &obs(Before, &ts, Desktop, false, i));
            }
        }
        st.size(
            "/once.js",
            70,
            &obs(During, "2017-09-27T00:00:00Z", Desktop, false, 31),
        );
        st.size(
            "/dyn.js",
            999,
            &obs(During, "2017-09-27T00:00:00Z", Desktop, false, 30),
        );
        for i in 0..6u64 {
            st.size(
                "/rnd.js",
                500 + i,
                &obs(During, "2017-09-27T00:00:00Z", Desktop, false, 40 + i),
            );
        }
        let a = analyse(&st);
        assert!(a.items.is_empty(), "{:#?}", a.items);
        assert_eq!(a.unstable, ["/dyn.js", "/once.js", "/rnd.js"]);
    }

    #[test]
    fn a_size_per_response_keeps_no_events() {
        // Two chunks of an asset whose size differs per response, and one
        // served only before the window: once certainly unstable, nothing is
        // kept, chunk or merged, and the listing is the same as before.
        let chunk = |from: u64| {
            let mut st = DriftState::default();
            for i in from..from + 1000 {
                let ts = format!("2017-09-27T00:{:02}:{:02}Z", i / 60 % 60, i % 60);
                st.size(
                    "/rnd.js",
                    500 + i,
                    &obs(During, &ts, Desktop, i % 2 == 0, i),
                );
                st.size("/w.js", 100, &obs(During, &ts, Mobile, false, i));
                st.size(
                    "/old.js",
                    i,
                    &obs(Before, "2017-09-01T00:00:00Z", Desktop, false, i),
                );
            }
            st
        };
        let mut st = chunk(0);
        assert!(st.sizes["/rnd.js"].during.is_empty() && st.sizes["/rnd.js"].unstable);
        assert!(st.sizes["/old.js"].before.is_empty() && st.sizes["/old.js"].unstable);
        // Only /w.js counts against the budget: one run, a request a second.
        assert_eq!(st.events, 1);
        st.merge(chunk(1000));
        st.merge(DriftState::default());
        assert_eq!(st.events, 1);
        assert_eq!(st.sizes["/w.js"].during[&100].n(), 2000);
        assert!(st.sizes["/rnd.js"].runs.is_empty() && st.sizes["/rnd.js"].during.is_empty());
        // A stable piece merged into an unstable series does not revive it.
        let mut few = DriftState::default();
        few.size(
            "/rnd.js",
            1,
            &obs(During, "2017-09-28T00:00:00Z", Desktop, false, 1),
        );
        st.merge(few);
        assert!(st.sizes["/rnd.js"].during.is_empty());
        let a = analyse(&st);
        assert!(a.items.is_empty(), "{:#?}", a.items);
        assert_eq!(a.unstable, ["/rnd.js"]);
    }

    /// The analysis of every in-window request kept as it came, as the
    /// drift detector once worked: the reference for the counted form.
    fn reference(rows: &[(Timestamp, Phase, u64, UaClass, bool)]) -> (Vec<String>, bool) {
        let mut before: BTreeMap<u64, Split> = BTreeMap::new();
        let mut after: BTreeMap<u64, Timestamp> = BTreeMap::new();
        let mut during: Vec<(Timestamp, usize, u64, UaClass, bool)> = Vec::new();
        for (i, &(at, ph, v, ua, pay)) in rows.iter().enumerate() {
            match ph {
                Before => {
                    let sp = before.entry(v).or_default();
                    sp.ua[ua as usize] += 1;
                    sp.referer[usize::from(pay)] += 1;
                }
                After => {
                    let e = after.entry(v).or_insert(at);
                    *e = (*e).min(at);
                }
                During => during.push((at, i + 1, v, ua, pay)),
            }
        }
        let distinct: BTreeSet<u64> = during.iter().map(|e| e.2).collect();
        if before.len() > UNSTABLE_VALUES || distinct.len() > CERTAINLY_UNSTABLE {
            return (Vec::new(), !during.is_empty());
        }
        during.sort_by_key(|e| e.0);
        let Some(first) = during.first() else {
            return (Vec::new(), false);
        };
        let history = !before.is_empty();
        let new_values = distinct.iter().filter(|v| !before.contains_key(v)).count();
        let all_once = before.len() >= 2 && before.values().all(|sp| sp.total() == 1);
        if before.len() > UNSTABLE_VALUES || new_values > UNSTABLE_VALUES || all_once {
            return (Vec::new(), true);
        }
        let baseline: BTreeSet<u64> = if history {
            before.keys().copied().collect()
        } else {
            [first.2].into()
        };
        let base_n: u64 = before.values().map(Split::total).sum();
        let mut out = Vec::new();
        for v in distinct.iter().filter(|v| !baseline.contains(v)) {
            let evs: Vec<_> = during.iter().filter(|e| e.2 == *v).collect();
            let last = evs.iter().map(|e| e.0).max().unwrap();
            let pay = evs.iter().filter(|e| e.4).count() as u64;
            let back_in = during
                .iter()
                .filter(|e| e.0 > last && baseline.contains(&e.2))
                .map(|e| e.0)
                .min();
            let back_after = after
                .iter()
                .filter(|(k, _)| baseline.contains(k))
                .map(|(_, t)| *t)
                .min();
            let reverted = [back_in, back_after].into_iter().flatten().min();
            let n = evs.len() as u64;
            let level = if !history || base_n < WEAK_BASELINE {
                Level::Low
            } else if n >= 2 || pay > 0 {
                Level::High
            } else {
                Level::Medium
            };
            out.push(format!(
                "size {v} {level:?} {baseline:?} {} {last} {n} {} {reverted:?} line {}",
                evs[0].0,
                share(pay, n),
                evs[0].1
            ));
        }
        if history && base_n >= WEAK_BASELINE {
            for dim in ["user-agent", "referer"] {
                let class = |ua: UaClass, pay: bool| {
                    if dim == "user-agent" {
                        ua as usize
                    } else {
                        usize::from(pay)
                    }
                };
                let mut win: Vec<(&'static str, BTreeMap<u64, u64>)> =
                    (0..3).map(|_| ("", BTreeMap::new())).collect();
                for e in &during {
                    *win[class(e.3, e.4)].1.entry(e.2).or_default() += 1;
                }
                let mut base: Vec<(&'static str, BTreeMap<u64, u64>)> =
                    (0..3).map(|_| ("", BTreeMap::new())).collect();
                for (v, sp) in &before {
                    let counts: &[u64] = if dim == "user-agent" {
                        &sp.ua
                    } else {
                        &sp.referer
                    };
                    for (i, &c) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                        *base[i].1.entry(*v).or_default() += c;
                    }
                }
                if !has_split(&win) || has_split(&base) {
                    continue;
                }
                let pay = during.iter().filter(|e| e.4).count() as u64;
                let n = during.len() as u64;
                let name = |i: usize| match dim {
                    "user-agent" => UaClass::ALL[i].name(),
                    _ => ["other", "payment-page", ""][i],
                };
                let sizes: BTreeMap<&str, Vec<u64>> = win
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, m))| !m.is_empty())
                    .map(|(i, (_, m))| (name(i), m.keys().copied().collect()))
                    .collect();
                out.push(format!(
                    "conditional {dim} {} {} {n} {} {sizes:?} line {}",
                    first.0,
                    during[during.len() - 1].0,
                    share(pay, n),
                    first.1
                ));
            }
        }
        out.sort();
        (out, false)
    }

    /// The same item list as [`reference`]'s lines.
    fn lines_of(a: &Analysis) -> (Vec<String>, bool) {
        let mut out: Vec<String> = a
            .items
            .iter()
            .map(|i| match i.kind {
                Kind::Conditional => format!(
                    "conditional {} {} {} {} {} {:?} line {}",
                    i.split_by.unwrap(),
                    i.first_seen,
                    i.last_seen,
                    i.requests,
                    i.payment_referer_share,
                    i.sizes_by_class.as_ref().unwrap(),
                    i.line
                ),
                _ => format!(
                    "size {} {:?} {:?} {} {} {} {} {:?} line {}",
                    i.size.unwrap(),
                    i.level,
                    i.baseline_values
                        .iter()
                        .map(|v| v.parse::<u64>().unwrap())
                        .collect::<BTreeSet<_>>(),
                    i.first_seen,
                    i.last_seen,
                    i.requests,
                    i.payment_referer_share,
                    i.reverted_at,
                    i.line
                ),
            })
            .collect();
        out.sort();
        (out, !a.unstable.is_empty())
    }

    /// Random requests of one asset (few sizes, whole and fractional
    /// times, repeats, out of order), fed whole and as merged chunks: the
    /// items equal the reference's, which kept every request.
    #[test]
    fn counted_requests_give_the_items_of_every_request_kept() {
        let mut rand = crate::test_util::rng(0x1319_8a2e_0370_7344);
        let base = t("2017-09-26T00:00:00Z").as_second();
        for round in 0..400 {
            let n = 1 + rand(120) as usize;
            let sizes = 1 + rand(if round % 5 == 0 { 9 } else { 4 });
            let mut rows = Vec::new();
            let mut clock = base + rand(100) as i64;
            for _ in 0..n {
                // Mostly forward by 0-1 s (runs); sometimes one request a
                // few seconds back (inside an earlier run), or anywhere.
                let sec = match rand(10) {
                    0 => {
                        clock = base + rand(300) as i64;
                        clock
                    }
                    1 => clock - rand(4) as i64,
                    _ => {
                        clock += rand(2) as i64;
                        clock
                    }
                };
                let frac = if rand(5) == 0 {
                    250_000_000 * rand(4) as i32
                } else {
                    0
                };
                let ph = match rand(5) {
                    0 => Before,
                    1 => After,
                    _ => During,
                };
                // The window's phases in time order.
                let shift = match ph {
                    Before => -100_000,
                    After => 100_000,
                    During => 0,
                };
                let at = Timestamp::new(sec + shift, frac).unwrap();
                let ua = UaClass::ALL[rand(3) as usize];
                // Mostly one size, as a script is served; its history
                // nearly always that size.
                let odd = if ph == During { 4 } else { 1 };
                let v = if rand(10) < odd {
                    100 + rand(sizes)
                } else {
                    100
                };
                rows.push((at, ph, v, ua, rand(3) == 0));
            }
            let feed_rows = |st: &mut DriftState,
                             part: &[(Timestamp, Phase, u64, UaClass, bool)],
                             from: usize| {
                for (i, &(at, ph, v, ua, pay)) in part.iter().enumerate() {
                    let o = Obs {
                        phase: ph,
                        t: at,
                        ua,
                        payment: pay,
                        loc: loc((from + i + 1) as u64),
                    };
                    st.size("/w.js", v, &o);
                }
            };
            let want = reference(&rows);
            let mut whole = DriftState::default();
            feed_rows(&mut whole, &rows, 0);
            assert_eq!(lines_of(&analyse(&whole)), want, "round {round}: {rows:?}");
            // Chunks of the same requests, numbered from each chunk's start.
            let cut = 1 + rand(n as u64) as usize;
            let (x, y) = rows.split_at(cut.min(n));
            let mut a = DriftState::default();
            feed_rows(&mut a, x, 0);
            let mut b = DriftState::default();
            feed_rows(&mut b, y, 0);
            b.shift_lines(x.len() as u64);
            a.merge(b);
            assert_eq!(
                lines_of(&analyse(&a)),
                want,
                "round {round} merged at {cut}"
            );
            // Runs on disk: pieces that write every run as it starts (so
            // past MAX_RUNS some are merged into one), or at their merges,
            // merged into a state that keeps its own in memory or writes
            // them at every merge.
            let spill_at = [0, 1, usize::MAX][round % 3];
            let mut acc = DriftState::with_spill_at(if round % 2 == 0 { 0 } else { SPILL_EVENTS });
            let mut from = 0;
            while from < n {
                let to = (from + 1 + rand(40) as usize).min(n);
                let mut piece = DriftState::with_spill_at(spill_at);
                feed_rows(&mut piece, &rows[from..to], 0);
                piece.shift_lines(from as u64);
                acc.merge(piece);
                from = to;
            }
            assert!(acc.spilled.len() <= runs::MAX_RUNS);
            let got = analyse(&acc);
            assert!(!got.truncated, "round {round}");
            assert_eq!(lines_of(&got), want, "round {round} with runs on disk");
        }
    }

    /// Several series (sizes and builds), their runs on disk or in memory:
    /// the same items, reverts included.
    #[test]
    fn runs_on_disk_give_the_items_of_runs_in_memory() {
        let rows: &[(&str, &str, Phase, u64)] = &[
            ("/a.js", "2017-09-01T00:00:00Z", Before, 100),
            ("/b.js", "2017-09-01T00:00:00Z", Before, 7),
            ("/b.js", "2017-09-02T00:00:00Z", Before, 7),
            ("/a.js", "2017-09-02T00:00:00Z", Before, 100),
            ("/a.js", "2017-09-26T01:00:00Z", During, 180),
            ("/b.js", "2017-09-26T02:00:00Z", During, 9),
            ("/a.js", "2017-09-26T03:00:00Z", During, 100),
            ("/b.js", "2017-09-27T02:00:00Z", During, 7),
            ("/a.js", "2017-09-28T01:00:00Z", During, 180),
            ("/a.js", "2017-09-29T05:00:00Z", During, 100),
            ("/b.js", "2017-09-30T02:00:00Z", During, 7),
        ];
        let feed_all = |st: &mut DriftState| {
            for (i, (asset, ts, ph, size)) in rows.iter().enumerate() {
                let o = obs(*ph, ts, Desktop, false, i as u64 + 1);
                st.size(asset, *size, &o);
                st.build("https://chat.example/w.js", &format!("v={size}"), &o);
            }
        };
        let mut memory = DriftState::default();
        feed_all(&mut memory);
        let mut disk = DriftState::with_spill_at(0);
        feed_all(&mut disk);
        assert!(disk.spilled.len() > 1 && disk.events == 0);
        let (m, d) = (analyse(&memory), analyse(&disk));
        assert!(!d.truncated);
        let show = |a: &Analysis| format!("{:?} {:?}", a.items, a.unstable);
        assert_eq!(show(&d), show(&m));
        let reverts: Vec<_> = m.items.iter().map(|i| i.reverted_at).collect();
        assert!(
            reverts.iter().filter(|r| r.is_some()).count() >= 2,
            "{reverts:?}"
        );
    }

    /// Runs on disk keep every time exactly: before 1970 (negative
    /// nanoseconds), gaps of centuries, runs of seconds, one or many.
    #[test]
    fn run_groups_read_back_every_run() {
        let times = [
            (-86_400 * 365 * 300, -250_000_000, 0),
            (-5, 0, 3),
            (0, 0, 0),
            (1, 999_999_999, 0),
            (1_000_000_000, 0, u32::MAX),
            (253_402_300_799, 500, 7),
        ];
        let runs: Vec<Run<()>> = times
            .iter()
            .map(|&(second, nanosecond, seconds)| Run {
                second,
                nanosecond,
                seconds,
                value: (),
            })
            .collect();
        for n in [0, 1, times.len()] {
            let refs: Vec<&Run<()>> = runs[..n].iter().collect();
            let g = RunGroup::new((1, 42), RunValue::Build("v=2".into()), &refs);
            let mut w = Vec::new();
            runs::Record::write_to(&g, &mut w).unwrap();
            let mut r: &[u8] = &w;
            let back = <RunGroup as runs::Record>::read_from(&mut r)
                .unwrap()
                .unwrap();
            assert_eq!(back, g);
            let mut got = Vec::new();
            back.each(|r| got.push((r.second, r.nanosecond, r.seconds)))
                .unwrap();
            assert_eq!(got, times[..n]);
            // Bytes cut or added are an error, not fewer or other runs.
            if n > 0 {
                let mut cut = back.clone();
                cut.runs.pop();
                assert!(cut.each(|_| {}).is_err());
                let mut more = back.clone();
                more.runs.push(0);
                assert!(more.each(|_| {}).is_err());
            }
        }
    }

    /// Runs on disk name a series by a keyed hash: no asset path (which may
    /// hold card data) is written.
    #[test]
    fn runs_on_disk_hold_no_asset_text() {
        use std::io::{Read, Seek};
        let mut st = DriftState::with_spill_at(0);
        let asset = "/js/4111111111111111/w.js";
        st.size(
            asset,
            10,
            &obs(During, "2017-09-26T01:00:00Z", Desktop, false, 1),
        );
        st.size(
            asset,
            11,
            &obs(During, "2017-09-26T02:00:00Z", Desktop, false, 2),
        );
        assert!(!st.spilled.is_empty());
        for mut f in &st.spilled.files {
            let mut bytes = Vec::new();
            f.rewind().unwrap();
            f.read_to_end(&mut bytes).unwrap();
            assert!(!bytes.is_empty());
            assert!(!bytes.windows(6).any(|w| w == b"411111"), "{bytes:?}");
        }
    }

    /// No temporary directory: runs stay in memory; a run on disk that
    /// cannot be read back makes the section truncated, not silently short.
    #[test]
    fn runs_that_cannot_be_written_or_read_back() {
        let rows = [
            ("2017-09-01T00:00:00Z", Before, 100, Desktop, false),
            ("2017-09-02T00:00:00Z", Before, 100, Desktop, false),
            ("2017-09-03T00:00:00Z", Before, 100, Desktop, false),
            ("2017-09-26T01:00:00Z", During, 180, Desktop, true),
            ("2017-09-28T01:00:00Z", During, 100, Mobile, false),
        ];
        let mut refused = DriftState::with_spill_at(0);
        refused.spilled.refuse = true;
        feed(&mut refused, &rows);
        assert!(refused.spill_failed && refused.spilled.is_empty() && refused.events == 2);
        let a = analyse(&refused);
        assert!(!a.truncated);
        assert_eq!(a.items[0].reverted_at, Some(t("2017-09-28T01:00:00Z")));

        let mut damaged = DriftState::with_spill_at(0);
        feed(&mut damaged, &rows);
        let f = &damaged.spilled.files[0];
        f.set_len(f.metadata().unwrap().len() - 3).unwrap();
        let a = analyse(&damaged);
        assert!(a.truncated);
        assert_eq!(a.items.len(), 1);
    }

    #[test]
    fn ua_classes() {
        assert_eq!(UaClass::of("Mozilla/5.0 (compatible; Googlebot/2.1)"), Bot);
        assert_eq!(
            UaClass::of("Mozilla/5.0 (iPhone; CPU iPhone OS 11_0)"),
            Mobile
        );
        assert_eq!(UaClass::of("Mozilla/5.0 (Windows NT 10.0)"), Desktop);
    }
}
