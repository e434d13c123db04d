//! Script drift: the same script URL suddenly served with another size (or,
//! in chat-service logs, another version or hash) inside the window, and
//! conditional serving (different sizes to different client classes).
//!
//! Observations are kept per chunk and merged in file order; the analysis
//! runs once, in [`analyse`], on the merged state.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

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

/// One in-window observation. Its location is kept only when it may be
/// reported (see `Series::locs`): millions of script requests would
/// otherwise each hold one.
#[derive(Debug, Clone)]
struct Event<V> {
    t: Timestamp,
    value: V,
    ua: UaClass,
    payment: bool,
}

/// Everything seen for one asset (sizes) or script URL (builds).
#[derive(Debug, Clone)]
struct Series<V: Ord> {
    before: BTreeMap<V, Split>,
    during: Vec<Event<V>>,
    /// Locations of the events (by index in `during`) that were the
    /// earliest of their value when added. The earliest event of a value
    /// overall (ties: the first in file order), the one a finding names, is
    /// always among them.
    locs: Vec<(usize, Loc)>,
    /// Earliest time of each value in `during`.
    earliest: BTreeMap<V, Timestamp>,
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
        if self.before.len() > UNSTABLE_VALUES || self.earliest.len() > CERTAINLY_UNSTABLE {
            self.make_unstable()
        } else {
            0
        }
    }

    fn make_unstable(&mut self) -> usize {
        let dropped = self.during.len();
        *self = Series {
            unstable: true,
            unstable_in_window: self.unstable_in_window || dropped > 0,
            ..Series::default()
        };
        dropped
    }

    fn loc(&self, i: usize) -> Loc {
        match self.locs.binary_search_by_key(&i, |(j, _)| *j) {
            Ok(k) => self.locs[k].1.clone(),
            // Not reached (see `locs`); a finding without a line beats a panic.
            Err(_) => Loc {
                path: "".into(),
                relative: "".into(),
                line: 0,
                offset: 0,
            },
        }
    }
}

impl<V: Ord> Default for Series<V> {
    fn default() -> Self {
        Series {
            before: BTreeMap::new(),
            during: Vec::new(),
            locs: Vec::new(),
            earliest: BTreeMap::new(),
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

impl Obs {
    fn event<V>(&self, value: V) -> Event<V> {
        Event {
            t: self.t,
            value,
            ua: self.ua,
            payment: self.payment,
        }
    }
}

/// Kept in-window observations across all assets, bounding memory; past it
/// the report says the analysis is truncated.
pub const MAX_EVENTS: usize = 4_000_000;

/// Drift observations of one chunk, file or run.
#[derive(Debug, Default)]
pub struct DriftState {
    sizes: FastMap<String, Series<u64>>,
    builds: FastMap<String, Series<String>>,
    /// Out-of-window records that fed a baseline (before) or a revert
    /// time (after).
    pub baseline_records: u64,
    pub after_records: u64,
    events: usize,
    pub truncated: bool,
}

fn record<V: Ord + Clone>(
    s: &mut Series<V>,
    events: &mut usize,
    truncated: &mut bool,
    phase: Phase,
    ev: Event<V>,
    loc: &Loc,
) {
    if s.unstable {
        s.unstable_in_window |= phase == Phase::During;
        return;
    }
    match phase {
        Phase::Before => {
            let sp = s.before.entry(ev.value).or_default();
            sp.ua[ev.ua as usize] += 1;
            sp.referer[usize::from(ev.payment)] += 1;
        }
        Phase::After => {
            let e = s.after.entry(ev.value).or_insert(ev.t);
            *e = (*e).min(ev.t);
        }
        Phase::During => {
            if *events >= MAX_EVENTS {
                *truncated = true;
            } else {
                *events += 1;
                let new_min = match s.earliest.get_mut(&ev.value) {
                    Some(t) if *t <= ev.t => false,
                    Some(t) => {
                        *t = ev.t;
                        true
                    }
                    None => {
                        s.earliest.insert(ev.value.clone(), ev.t);
                        true
                    }
                };
                if new_min {
                    s.locs.push((s.during.len(), loc.clone()));
                }
                s.during.push(ev);
            }
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
        *events -= a.make_unstable();
        a.unstable_in_window |= b.unstable_in_window || !b.during.is_empty();
        return;
    }
    for (k, v) in b.before {
        a.before.entry(k).or_default().add(&v);
    }
    for (k, t) in b.after {
        let e = a.after.entry(k).or_insert(t);
        *e = (*e).min(t);
    }
    let base = a.during.len();
    for (k, t) in b.earliest {
        let e = a.earliest.entry(k).or_insert(t);
        *e = (*e).min(t);
    }
    a.locs
        .extend(b.locs.into_iter().map(|(i, l)| (base + i, l)));
    for ev in b.during {
        if *events >= MAX_EVENTS {
            *truncated = true;
            break;
        }
        *events += 1;
        a.during.push(ev);
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
        record(
            s,
            &mut self.events,
            &mut self.truncated,
            o.phase,
            o.event(size),
            &o.loc,
        );
    }

    /// One load of a script URL with a version/hash (`build`).
    pub fn build(&mut self, script: &str, build: &str, o: &Obs) {
        self.count(o.phase);
        let s = self.builds.entry(script.to_string()).or_default();
        record(
            s,
            &mut self.events,
            &mut self.truncated,
            o.phase,
            o.event(build.to_string()),
            &o.loc,
        );
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
    }

    /// Adds `base` to every stored line number (chunk-relative → file).
    pub fn shift_lines(&mut self, base: u64) {
        if base == 0 {
            return;
        }
        for s in self.sizes.values_mut() {
            for (_, l) in &mut s.locs {
                l.line += base;
            }
        }
        for s in self.builds.values_mut() {
            for (_, l) in &mut s.locs {
                l.line += base;
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

fn analyse_series<V: Ord + Clone + ToString>(
    kind: Kind,
    asset: &str,
    s: &Series<V>,
    value_of: impl Fn(&V) -> (Option<u64>, Option<String>),
    out: &mut Vec<Item>,
    unstable: &mut Vec<String>,
) {
    if s.unstable {
        if s.unstable_in_window {
            unstable.push(asset.to_string());
        }
        return;
    }
    let mut during: Vec<(usize, &Event<V>)> = s.during.iter().enumerate().collect();
    // Stable: equal times keep file order.
    during.sort_by_key(|(_, e)| e.t);
    let Some(&(_, first)) = during.first() else {
        return;
    };
    let history = !s.before.is_empty();
    let new_values: BTreeSet<&V> = during
        .iter()
        .map(|(_, e)| &e.value)
        .filter(|v| !s.before.contains_key(v))
        .collect();
    let all_once = s.before.len() >= 2 && s.before.values().all(|sp| sp.total() == 1);
    if s.before.len() > UNSTABLE_VALUES || new_values.len() > UNSTABLE_VALUES || all_once {
        unstable.push(asset.to_string());
        return;
    }
    let baseline: BTreeSet<V> = if history {
        s.before.keys().cloned().collect()
    } else {
        [first.value.clone()].into_iter().collect()
    };
    struct Agg<'a, V> {
        first: &'a Event<V>,
        first_at: usize,
        last: Timestamp,
        n: u64,
        pay: u64,
    }
    let mut groups: BTreeMap<&V, Agg<V>> = BTreeMap::new();
    for &(i, e) in &during {
        if baseline.contains(&e.value) {
            continue;
        }
        let g = groups.entry(&e.value).or_insert(Agg {
            first: e,
            first_at: i,
            last: e.t,
            n: 0,
            pay: 0,
        });
        g.last = g.last.max(e.t);
        g.n += 1;
        g.pay += u64::from(e.payment);
    }
    for (v, g) in groups {
        let back_in = during
            .iter()
            .filter(|(_, e)| e.t > g.last && baseline.contains(&e.value))
            .map(|(_, e)| e.t)
            .next();
        let back_after = s
            .after
            .iter()
            .filter(|(k, _)| baseline.contains(k))
            .map(|(_, t)| *t)
            .min();
        let reverted_at = match (back_in, back_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let baseline_requests: u64 = s.before.values().map(Split::total).sum();
        let level = if !history || baseline_requests < WEAK_BASELINE {
            Level::Low
        } else if g.n >= 2 || g.pay > 0 {
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
                .map(ToString::to_string)
                .collect(),
            first_seen: g.first.t,
            last_seen: g.last,
            requests: g.n,
            payment_referer_share: share(g.pay, g.n),
            reverted_at,
            split_by: None,
            sizes_by_class: None,
            path: s.loc(g.first_at).path.to_string(),
            relative: s.loc(g.first_at).relative.to_string(),
            line: s.loc(g.first_at).line,
            byte_offset: s.loc(g.first_at).offset,
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
        let mut during: Vec<(usize, &Event<u64>)> = s.during.iter().enumerate().collect();
        during.sort_by_key(|(_, e)| e.t);
        for (_, e) in &during {
            let i = if dim == "user-agent" {
                e.ua as usize
            } else {
                usize::from(e.payment)
            };
            *win[i].1.entry(e.value).or_default() += 1;
        }
        if !has_split(&win) || has_split(&base) {
            continue;
        }
        let ((first_at, first), (_, last)) = (during[0], during[during.len() - 1]);
        let first_loc = s.loc(first_at);
        let pay = during.iter().filter(|(_, e)| e.payment).count() as u64;
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
            first_seen: first.t,
            last_seen: last.t,
            requests: during.len() as u64,
            payment_referer_share: share(pay, during.len() as u64),
            reverted_at: None,
            split_by: Some(dim),
            sizes_by_class: Some(
                win.iter()
                    .filter(|(_, m)| !m.is_empty())
                    .map(|(k, m)| (*k, m.keys().copied().collect()))
                    .collect(),
            ),
            path: first_loc.path.to_string(),
            relative: first_loc.relative.to_string(),
            line: first_loc.line,
            byte_offset: first_loc.offset,
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
}

/// Finds every drift item in the merged state.
pub fn analyse(state: &DriftState) -> Analysis {
    let mut out = Vec::new();
    let mut unstable = Vec::new();
    let mut assets: Vec<_> = state.sizes.iter().collect();
    assets.sort_by(|a, b| a.0.cmp(b.0));
    for (asset, s) in assets {
        let u = &mut unstable;
        analyse_series(Kind::Size, asset, s, |v| (Some(*v), None), &mut out, u);
        conditional(asset, s, &mut out);
    }
    let mut scripts: Vec<_> = state.builds.iter().collect();
    scripts.sort_by(|a, b| a.0.cmp(b.0));
    for (script, s) in scripts {
        let value_of = |v: &String| (None, Some(v.clone()));
        analyse_series(Kind::Version, script, s, value_of, &mut out, &mut unstable);
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

    #[test]
    fn events_are_capped() {
        let mut st = DriftState {
            events: MAX_EVENTS,
            ..DriftState::default()
        };
        st.size(
            "/x.js",
            1,
            &obs(During, "2017-09-27T00:00:00Z", Desktop, false, 1),
        );
        assert!(st.truncated);
        assert!(analyse(&st).items.is_empty());
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
        assert_eq!(st.events, 1000, "only /w.js counts against the budget");
        st.merge(chunk(1000));
        st.merge(DriftState::default());
        assert_eq!(st.events, 2000);
        assert!(st.sizes["/rnd.js"].locs.is_empty() && st.sizes["/rnd.js"].earliest.is_empty());
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
