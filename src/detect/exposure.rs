//! Exposure: the customer sessions a skimmer could have seen, for the
//! merchant's notification duty. Only client address, user agent, chat
//! session id and times are kept; never card data.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

/// Kept exposure events (bounds memory); past it the section says
/// `truncated`.
pub const MAX_EVENTS: usize = 4_000_000;

/// What made a record count, as stored: [`PAYMENT_PAGE`], [`CHAT_LOAD`],
/// or [`ASSET_BASE`] + the string id of the script asset requested from a
/// payment page (counts only when that asset drifted).
type What = u32;
const PAYMENT_PAGE: What = 0;
/// A chat-service event that loaded the widget; `a` is the chat session id.
const CHAT_LOAD: What = 1;
const ASSET_BASE: What = 2;

/// One event: 32 bytes, strings by id. Millions of requests from a few
/// thousand clients must not each hold their strings.
#[derive(Debug, Clone, Copy)]
struct Event {
    t: Timestamp,
    /// Client IP (web) or chat session id (chat), by id.
    a: u32,
    /// User agent (web), by id.
    b: u32,
    what: What,
}

/// Each distinct string once, by a dense id: the bytes in one arena, the
/// table holding only ids. A scan has about one distinct client address per
/// payment-page request (over 600,000 on the 2 GB benchmark corpus), so a
/// string costs its bytes and about 14 more (its end, its table slot), not
/// an allocation of its own, a map entry and a list entry (about 80 more).
#[derive(Default)]
struct Strings {
    text: String,
    /// End of each string in `text`; a string starts where the previous ends.
    ends: Vec<usize>,
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for Strings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Strings")
            .field("len", &self.ends.len())
            .field("bytes", &self.text.len())
            .finish()
    }
}

impl Strings {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: u32) -> &str {
        str_at(&self.text, &self.ends, i)
    }

    fn id(&mut self, s: &str) -> u32 {
        use std::hash::BuildHasher;
        let Strings {
            text,
            ends,
            table,
            hasher,
        } = self;
        let hash = hasher.hash_one(s);
        let entry = table.entry(
            hash,
            |&j| str_at(text, ends, j) == s,
            |&j| hasher.hash_one(str_at(text, ends, j)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(o) => *o.get(),
            hashbrown::hash_table::Entry::Vacant(v) => {
                let i = u32::try_from(ends.len()).unwrap_or(u32::MAX);
                text.push_str(s);
                ends.push(text.len());
                v.insert(i);
                i
            }
        }
    }
}

/// String `i` of an arena; empty for an unknown id.
fn str_at<'a>(text: &'a str, ends: &[usize], i: u32) -> &'a str {
    let i = i as usize;
    let Some(&end) = ends.get(i) else {
        return "";
    };
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &text[start..end]
}

/// In-window exposure candidates of one chunk, file or run.
#[derive(Debug, Default)]
pub struct ExposureState {
    events: Vec<Event>,
    pub truncated: bool,
    strings: Strings,
}

impl ExposureState {
    /// Whether another event can be kept: under the cap, and ids (dense
    /// from 0) that cannot overflow `What`. Checked before an event's
    /// strings are added, so a truncated state stops growing.
    fn room(&mut self) -> bool {
        let room =
            self.events.len() < MAX_EVENTS && self.strings.len() < (u32::MAX - ASSET_BASE) as usize;
        self.truncated |= !room;
        room
    }

    pub fn payment_page(&mut self, t: Timestamp, ip: &str, ua: &str) {
        if !self.room() {
            return;
        }
        let (a, b) = (self.strings.id(ip), self.strings.id(ua));
        self.events.push(Event {
            t,
            a,
            b,
            what: PAYMENT_PAGE,
        });
    }

    pub fn asset_from_payment(&mut self, t: Timestamp, ip: &str, ua: &str, asset: &str) {
        if !self.room() {
            return;
        }
        let (a, b) = (self.strings.id(ip), self.strings.id(ua));
        let what = ASSET_BASE + self.strings.id(asset);
        self.events.push(Event { t, a, b, what });
    }

    pub fn chat_load(&mut self, t: Timestamp, session: &str) {
        if !self.room() {
            return;
        }
        let a = self.strings.id(session);
        self.events.push(Event {
            t,
            a,
            b: 0,
            what: CHAT_LOAD,
        });
    }

    pub fn merge(&mut self, o: ExposureState) {
        self.truncated |= o.truncated;
        // The other state's ids, renumbered into this one's table as its
        // events are taken: past the cap none is, and no string is added.
        const UNMAPPED: u32 = u32::MAX;
        let mut map = vec![UNMAPPED; o.strings.len()];
        let mut re = |strings: &mut Strings, i: u32| match map.get_mut(i as usize) {
            Some(m) => {
                if *m == UNMAPPED {
                    *m = strings.id(o.strings.get(i));
                }
                *m
            }
            None => UNMAPPED,
        };
        for e in o.events {
            if !self.room() {
                break;
            }
            let what = if e.what >= ASSET_BASE {
                ASSET_BASE.saturating_add(re(&mut self.strings, e.what - ASSET_BASE))
            } else {
                e.what
            };
            let a = re(&mut self.strings, e.a);
            let b = if e.what == CHAT_LOAD {
                0
            } else {
                re(&mut self.strings, e.b)
            };
            self.events.push(Event { t: e.t, a, b, what });
        }
    }
}

/// The interval exposure is counted over.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Interval {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// `drift` (the span of the drift found) or `window`.
    pub basis: &'static str,
}

/// One exposed session: a distinct (client IP, user agent).
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub client_ip: String,
    pub user_agent: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub requests: u64,
}

/// Counts for one UTC day.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Day {
    pub requests: u64,
    pub sessions: u64,
    pub chat_sessions: u64,
}

/// The report's `exposure` section.
#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    pub interval: Interval,
    pub client_ips: u64,
    pub sessions: u64,
    pub chat_sessions: u64,
    pub requests: u64,
    /// Keyed by UTC date (`YYYY-MM-DD`).
    pub by_day: BTreeMap<String, Day>,
    /// The first sessions by first-seen time (all of them go to
    /// `--exposure-csv`).
    pub sample: Vec<Session>,
    pub truncated: bool,
    /// Every session, for `--exposure-csv`; shared, not copied, by the
    /// report's copies of this section.
    #[serde(skip)]
    list: Arc<SessionList>,
}

/// Every exposed session, with strings by id into `strings`.
#[derive(Debug)]
struct SessionList {
    /// Web sessions, sorted like [`Exposure::sample`].
    all: Vec<SessionIds>,
    /// Chat sessions (id, first seen, last seen), sorted by id.
    chat: Vec<(u32, Timestamp, Timestamp)>,
    strings: Strings,
}

/// A session of [`SessionList::all`]: client IP and user agent by string id.
#[derive(Debug, Clone, Copy)]
struct SessionIds {
    ip: u32,
    ua: u32,
    first_seen: Timestamp,
    last_seen: Timestamp,
    requests: u64,
}

/// Sessions listed in the report itself.
pub const SAMPLE: usize = 20;

/// The UTC day number of a time (days since 1970-01-01).
fn day(t: Timestamp) -> i64 {
    t.as_second().div_euclid(86_400)
}

pub(crate) fn day_name(d: i64) -> String {
    Timestamp::from_second(d.saturating_mul(86_400)).map_or_else(
        |_| d.to_string(),
        |t| t.to_zoned_datetime(TimeZone::UTC).date().to_string(),
    )
}

/// Counts exposure inside `interval`; `drifted` are the assets whose
/// payment-page loads count. Works on string ids, and on the events in
/// place: sorted by session and time, each session's events are
/// consecutive, so sessions, addresses and per-day counts come from one
/// pass with no map per session or per (day, session): a scan can have
/// millions of each, and those maps were most of a default-pack scan's
/// peak memory.
pub fn analyse(state: ExposureState, interval: Interval, drifted: &BTreeSet<String>) -> Exposure {
    let inside = |t: Timestamp| {
        interval.since.is_none_or(|s| t >= s) && interval.until.is_none_or(|u| t <= u)
    };
    let ExposureState {
        mut events,
        truncated,
        strings: st,
    } = state;
    // Whether each asset's loads count, by id: a drifted asset.
    let mut asset_counts: super::FastMap<u32, bool> = super::FastMap::default();
    events.retain(|e| {
        inside(e.t)
            && (e.what < ASSET_BASE
                || *asset_counts
                    .entry(e.what - ASSET_BASE)
                    .or_insert_with(|| drifted.contains(st.get(e.what - ASSET_BASE))))
    });
    events.shrink_to_fit();
    // Web events first, then chat loads; each by session, then time.
    events.sort_unstable_by_key(|e| (e.what == CHAT_LOAD, e.a, e.b, e.t));
    let same_session = |x: &Event, y: &Event| {
        let chat = x.what == CHAT_LOAD;
        (y.what == CHAT_LOAD) == chat && x.a == y.a && (chat || x.b == y.b)
    };
    // Sessions counted first, so the lists are allocated once at their
    // size (growing one held its old and new copies at the scan's peak).
    let web = events.partition_point(|e| e.what != CHAT_LOAD);
    let count = |part: &[Event]| match part {
        [] => 0,
        _ => {
            1 + part
                .windows(2)
                .filter(|w| !same_session(&w[0], &w[1]))
                .count()
        }
    };
    let mut all: Vec<SessionIds> = Vec::with_capacity(count(&events[..web]));
    let mut chat: Vec<(u32, Timestamp, Timestamp)> = Vec::with_capacity(count(&events[web..]));
    let mut by_day: BTreeMap<i64, Day> = BTreeMap::new();
    let (mut requests, mut client_ips) = (0u64, 0u64);
    let mut rest = &events[..];
    while let Some(first) = rest.first() {
        let is_chat = first.what == CHAT_LOAD;
        let n = rest.iter().take_while(|e| same_session(first, e)).count();
        let (group, tail) = rest.split_at(n);
        let last = group[n - 1].t;
        // Days in order: a new day is a new (day, session).
        let mut prev_day = None;
        for e in group {
            let d = day(e.t);
            let dd = by_day.entry(d).or_default();
            let new_day = prev_day != Some(d);
            prev_day = Some(d);
            if is_chat {
                dd.chat_sessions += u64::from(new_day);
            } else {
                dd.requests += 1;
                dd.sessions += u64::from(new_day);
            }
        }
        if is_chat {
            chat.push((first.a, first.t, last));
        } else {
            requests += n as u64;
            client_ips += u64::from(all.last().is_none_or(|s| s.ip != first.a));
            all.push(SessionIds {
                ip: first.a,
                ua: first.b,
                first_seen: first.t,
                last_seen: last,
                requests: n as u64,
            });
        }
        rest = tail;
    }
    drop(events);
    all.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| st.get(a.ip).cmp(st.get(b.ip)))
            .then_with(|| st.get(a.ua).cmp(st.get(b.ua)))
    });
    // Masked like the CSV: agents (and anything in the address column)
    // come from the logs.
    let session = |s: &SessionIds| Session {
        client_ip: crate::card::mask_text(st.get(s.ip)).into_owned(),
        user_agent: crate::card::mask_text(st.get(s.ua)).into_owned(),
        first_seen: s.first_seen,
        last_seen: s.last_seen,
        requests: s.requests,
    };
    chat.sort_by(|x, y| st.get(x.0).cmp(st.get(y.0)));
    Exposure {
        interval,
        client_ips,
        sessions: all.len() as u64,
        chat_sessions: chat.len() as u64,
        requests,
        by_day: by_day.into_iter().map(|(d, c)| (day_name(d), c)).collect(),
        sample: all.iter().take(SAMPLE).map(session).collect(),
        truncated,
        list: Arc::new(SessionList {
            all,
            chat,
            strings: st,
        }),
    }
}

/// A CSV cell of log text: masked, then as every report's CSV cell
/// (control characters escaped, formulas defused; quoting is the writer's).
fn cell(s: &str) -> String {
    crate::report::csv::cell(&crate::card::mask_text(s))
}

impl Exposure {
    /// Writes every exposed session, one row each: web sessions, then chat
    /// sessions. No card data: only addresses, agents, ids and times.
    pub fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = crate::report::csv::writer(out);
        w.write_record([
            "kind",
            "client_ip",
            "user_agent",
            "chat_session",
            "first_seen",
            "last_seen",
            "requests",
        ])?;
        let list = &*self.list;
        let name = |i: u32| list.strings.get(i);
        for s in &list.all {
            w.write_record([
                "web",
                &cell(name(s.ip)),
                &cell(name(s.ua)),
                "",
                &s.first_seen.to_string(),
                &s.last_seen.to_string(),
                &s.requests.to_string(),
            ])?;
        }
        for (sid, a, b) in &list.chat {
            w.write_record([
                "chat",
                "",
                "",
                &cell(name(*sid)),
                &a.to_string(),
                &b.to_string(),
                "",
            ])?;
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn state() -> ExposureState {
        let mut st = ExposureState::default();
        st.payment_page(t("2017-09-26T10:00:00Z"), "192.0.2.1", "UA-A");
        st.payment_page(t("2017-09-26T11:00:00Z"), "192.0.2.1", "UA-A");
        st.payment_page(t("2017-09-27T10:00:00Z"), "192.0.2.1", "UA-B");
        st.asset_from_payment(t("2017-09-27T12:00:00Z"), "192.0.2.9", "UA-C", "/w.js");
        st.asset_from_payment(t("2017-09-27T12:00:00Z"), "192.0.2.8", "UA-D", "/other.js");
        st.payment_page(t("2017-10-20T10:00:00Z"), "192.0.2.7", "UA-E");
        st.chat_load(t("2017-09-26T10:00:00Z"), "s-1");
        st.chat_load(t("2017-09-28T10:00:00Z"), "s-1");
        st.chat_load(t("2017-09-28T10:00:00Z"), "s-2");
        st
    }

    #[test]
    fn counts_sessions_ips_days_and_chats() {
        let iv = Interval {
            since: Some(t("2017-09-26T00:00:00Z")),
            until: Some(t("2017-10-12T23:59:59Z")),
            basis: "window",
        };
        let drifted: BTreeSet<String> = ["/w.js".to_string()].into();
        let e = analyse(state(), iv, &drifted);
        assert_eq!(
            (e.client_ips, e.sessions, e.chat_sessions, e.requests),
            (2, 3, 2, 4)
        );
        assert_eq!(
            e.by_day["2017-09-26"],
            Day {
                requests: 2,
                sessions: 1,
                chat_sessions: 1
            }
        );
        assert_eq!(
            e.by_day["2017-09-27"],
            Day {
                requests: 2,
                sessions: 2,
                chat_sessions: 0
            }
        );
        assert_eq!(e.by_day["2017-09-28"].chat_sessions, 2);
        assert_eq!(e.sample[0].requests, 2);
        assert_eq!(e.sample[0].user_agent, "UA-A");
        let mut buf = Vec::new();
        e.write_csv(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().count(), 1 + 3 + 2);
        assert!(text.contains("web,192.0.2.9,UA-C,,2017-09-27T12:00:00Z"));
        assert!(text.contains("chat,,,s-2,"));
    }

    #[test]
    fn interval_narrows_and_csv_is_safe() {
        let iv = Interval {
            since: Some(t("2017-09-27T00:00:00Z")),
            until: Some(t("2017-09-27T23:00:00Z")),
            basis: "drift",
        };
        let e = analyse(state(), iv, &BTreeSet::new());
        assert_eq!((e.sessions, e.chat_sessions), (1, 0));
        assert_eq!(cell("=cmd|x"), "'=cmd|x");
        assert_eq!(cell("card 4111111111111111"), "card 411111******1111");
        assert_eq!(cell("ua\u{1b}[2J"), "ua\\u{1b}[2J");
        // Quoting is the writer's.
        let mut st = ExposureState::default();
        st.chat_load(t("2017-09-27T10:00:00Z"), "a,\"b\"");
        st.chat_load(t("2017-09-27T11:00:00Z"), "a,\"b\"");
        let all = Interval {
            since: None,
            until: None,
            basis: "window",
        };
        let e = analyse(st, all, &BTreeSet::new());
        let mut buf = Vec::new();
        e.write_csv(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(
            text.ends_with(
                "\r\nchat,,,\"a,\"\"b\"\"\",2017-09-27T10:00:00Z,2017-09-27T11:00:00Z,\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn merged_chunk_states_count_like_one_state() {
        let iv = || Interval {
            since: None,
            until: None,
            basis: "window",
        };
        let drifted: BTreeSet<String> = ["/w.js".to_string()].into();
        let whole = analyse(state(), iv(), &drifted);
        // The same events split over three states whose string tables
        // number the strings differently.
        let mut a = ExposureState::default();
        a.chat_load(t("2017-09-26T10:00:00Z"), "s-1");
        a.payment_page(t("2017-09-26T10:00:00Z"), "192.0.2.1", "UA-A");
        let mut b = ExposureState::default();
        b.asset_from_payment(t("2017-09-27T12:00:00Z"), "192.0.2.8", "UA-D", "/other.js");
        b.payment_page(t("2017-09-26T11:00:00Z"), "192.0.2.1", "UA-A");
        b.payment_page(t("2017-09-27T10:00:00Z"), "192.0.2.1", "UA-B");
        b.asset_from_payment(t("2017-09-27T12:00:00Z"), "192.0.2.9", "UA-C", "/w.js");
        let mut c = ExposureState::default();
        c.chat_load(t("2017-09-28T10:00:00Z"), "s-2");
        c.payment_page(t("2017-10-20T10:00:00Z"), "192.0.2.7", "UA-E");
        c.chat_load(t("2017-09-28T10:00:00Z"), "s-1");
        a.merge(b);
        a.merge(c);
        let split = analyse(a, iv(), &drifted);
        assert_eq!(
            (
                split.client_ips,
                split.sessions,
                split.chat_sessions,
                split.requests
            ),
            (
                whole.client_ips,
                whole.sessions,
                whole.chat_sessions,
                whole.requests
            )
        );
        assert_eq!(split.by_day, whole.by_day);
        let mut x = Vec::new();
        let mut y = Vec::new();
        split.write_csv(&mut x).unwrap();
        whole.write_csv(&mut y).unwrap();
        assert_eq!(String::from_utf8(x).unwrap(), String::from_utf8(y).unwrap());
    }

    #[test]
    fn events_are_capped() {
        let mut st = ExposureState::default();
        st.events.resize(
            MAX_EVENTS,
            Event {
                t: t("2017-09-26T10:00:00Z"),
                a: 0,
                b: 0,
                what: PAYMENT_PAGE,
            },
        );
        st.payment_page(t("2017-09-26T10:00:00Z"), "a", "b");
        assert!(st.truncated);
        assert_eq!(st.events.len(), MAX_EVENTS);
        // A full state keeps no more strings, from its own events or from
        // a merged state's.
        assert_eq!(st.strings.len(), 0);
        let mut other = ExposureState::default();
        other.payment_page(t("2017-09-26T10:00:00Z"), "c", "d");
        other.chat_load(t("2017-09-26T10:00:00Z"), "s-9");
        st.merge(other);
        assert_eq!((st.events.len(), st.strings.len()), (MAX_EVENTS, 0));
    }

    #[test]
    fn strings_are_dense_ids_of_distinct_text() {
        let mut s = Strings::default();
        let words: Vec<String> = (0..5000)
            .map(|i| format!("192.0.{}.{}", i / 256, i % 256))
            .collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(s.id(w) as usize, i);
        }
        for (i, w) in words.iter().enumerate().rev() {
            assert_eq!(s.id(w) as usize, i);
            assert_eq!(s.get(i as u32), w);
        }
        assert_eq!(s.id(""), 5000);
        assert_eq!(s.get(5000), "");
        assert_eq!(s.get(5001), "");
        assert_eq!(s.len(), 5001);
    }

    /// On random events split over merged states, the counts, days and
    /// session rows equal those of a plain reference: a map per session,
    /// per (day, session) and per chat.
    #[test]
    fn analysis_equals_a_map_per_session_reference() {
        let mut rand = crate::test_util::rng(0x243f_6a88_85a3_08d3);
        let base = t("2017-09-25T20:00:00Z").as_second();
        for round in 0..40 {
            let ips: Vec<String> = (0..1 + rand(12))
                .map(|i| format!("198.51.100.{i}"))
                .collect();
            let uas: Vec<String> = (0..1 + rand(4)).map(|i| format!("UA-{i}")).collect();
            let assets = ["/w.js", "/other.js"];
            let n = rand(300);
            let mut events = Vec::new();
            for _ in 0..n {
                let at = Timestamp::from_second(base + rand(5 * 86_400) as i64).unwrap();
                let ip = &ips[rand(ips.len() as u64) as usize];
                let ua = &uas[rand(uas.len() as u64) as usize];
                events.push((
                    rand(3),
                    at,
                    ip.clone(),
                    ua.clone(),
                    assets[rand(2) as usize],
                ));
            }
            // The same events in one state, and over three merged ones.
            let add = |st: &mut ExposureState, (kind, at, ip, ua, asset): &(u64, Timestamp, String, String, &str)| match kind {
                0 => st.payment_page(*at, ip, ua),
                1 => st.asset_from_payment(*at, ip, ua, asset),
                _ => st.chat_load(*at, ip),
            };
            let mut merged = ExposureState::default();
            for part in events.chunks(1 + events.len() / 3) {
                let mut st = ExposureState::default();
                part.iter().for_each(|e| add(&mut st, e));
                merged.merge(st);
            }
            let interval = Interval {
                since: (round % 2 == 0).then(|| t("2017-09-26T12:00:00Z")),
                until: (round % 3 == 0).then(|| t("2017-09-28T23:59:59Z")),
                basis: "window",
            };
            let inside = |at: &Timestamp| {
                interval.since.is_none_or(|s| *at >= s) && interval.until.is_none_or(|u| *at <= u)
            };
            let drifted: BTreeSet<String> = ["/w.js".to_string()].into();
            let e = analyse(merged, interval.clone(), &drifted);

            let mut sessions: BTreeMap<(&str, &str), (Timestamp, Timestamp, u64)> = BTreeMap::new();
            let mut chats: BTreeMap<&str, (Timestamp, Timestamp)> = BTreeMap::new();
            let mut days: BTreeMap<String, Day> = BTreeMap::new();
            let mut day_sessions = BTreeSet::new();
            let mut day_chats = BTreeSet::new();
            for (kind, at, ip, ua, asset) in &events {
                if !inside(at) || (*kind == 1 && *asset != "/w.js") {
                    continue;
                }
                let d = day_name(day(*at));
                if *kind == 2 {
                    let c = chats.entry(ip).or_insert((*at, *at));
                    (c.0, c.1) = (c.0.min(*at), c.1.max(*at));
                    if day_chats.insert((d.clone(), ip)) {
                        days.entry(d).or_default().chat_sessions += 1;
                    }
                    continue;
                }
                let s = sessions.entry((ip, ua)).or_insert((*at, *at, 0));
                (s.0, s.1, s.2) = (s.0.min(*at), s.1.max(*at), s.2 + 1);
                let day = days.entry(d.clone()).or_default();
                day.requests += 1;
                if day_sessions.insert((d, ip, ua)) {
                    day.sessions += 1;
                }
            }
            let ips_seen: BTreeSet<&str> = sessions.keys().map(|k| k.0).collect();
            assert_eq!(e.sessions, sessions.len() as u64, "round {round}");
            assert_eq!(e.client_ips, ips_seen.len() as u64, "round {round}");
            assert_eq!(e.chat_sessions, chats.len() as u64, "round {round}");
            assert_eq!(
                e.requests,
                sessions.values().map(|s| s.2).sum::<u64>(),
                "round {round}"
            );
            assert_eq!(e.by_day, days, "round {round}");
            // The CSV: web rows by first seen, address, agent; chat rows by id.
            let mut rows: Vec<String> = Vec::new();
            let mut web: Vec<_> = sessions.iter().collect();
            web.sort_by_key(|((ip, ua), s)| (s.0, *ip, *ua));
            for ((ip, ua), (a, b, n)) in web {
                rows.push(format!("web,{ip},{ua},,{a},{b},{n}"));
            }
            for (id, (a, b)) in &chats {
                rows.push(format!("chat,,,{id},{a},{b},"));
            }
            let mut buf = Vec::new();
            e.write_csv(&mut buf).unwrap();
            let text = String::from_utf8(buf).unwrap();
            let got: Vec<&str> = text.lines().skip(1).collect();
            assert_eq!(got, rows, "round {round}");
        }
    }
}
