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

/// Each distinct string once, by a dense id.
#[derive(Debug, Default)]
struct Strings {
    ids: super::FastMap<Arc<str>, u32>,
    list: Vec<Arc<str>>,
}

impl Strings {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        self.add(s.into())
    }

    fn add(&mut self, s: Arc<str>) -> u32 {
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(s.clone());
        self.ids.insert(s, i);
        i
    }

    fn get(&self, i: u32) -> &str {
        self.list.get(i as usize).map_or("", |s| s)
    }
}

/// In-window exposure candidates of one chunk, file or run.
#[derive(Debug, Default)]
pub struct ExposureState {
    events: Vec<Event>,
    pub truncated: bool,
    strings: Strings,
}

impl ExposureState {
    fn push(&mut self, e: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.truncated = true;
        } else {
            self.events.push(e);
        }
    }

    /// Ids are dense from 0, so a full table would overflow `What`.
    fn room(&self) -> bool {
        self.strings.list.len() < (u32::MAX - ASSET_BASE) as usize
    }

    pub fn payment_page(&mut self, t: Timestamp, ip: &str, ua: &str) {
        if !self.room() {
            self.truncated = true;
            return;
        }
        let (a, b) = (self.strings.id(ip), self.strings.id(ua));
        self.push(Event {
            t,
            a,
            b,
            what: PAYMENT_PAGE,
        });
    }

    pub fn asset_from_payment(&mut self, t: Timestamp, ip: &str, ua: &str, asset: &str) {
        if !self.room() {
            self.truncated = true;
            return;
        }
        let (a, b) = (self.strings.id(ip), self.strings.id(ua));
        let what = ASSET_BASE + self.strings.id(asset);
        self.push(Event { t, a, b, what });
    }

    pub fn chat_load(&mut self, t: Timestamp, session: &str) {
        if !self.room() {
            self.truncated = true;
            return;
        }
        let a = self.strings.id(session);
        self.push(Event {
            t,
            a,
            b: 0,
            what: CHAT_LOAD,
        });
    }

    pub fn merge(&mut self, o: ExposureState) {
        self.truncated |= o.truncated;
        // The other state's ids, renumbered into this one's table.
        let map: Vec<u32> = o
            .strings
            .list
            .into_iter()
            .map(|s| match self.strings.ids.get(&*s) {
                Some(&i) => i,
                None => self.strings.add(s),
            })
            .collect();
        let re = |i: u32| map.get(i as usize).copied().unwrap_or(u32::MAX);
        for e in o.events {
            let what = if e.what >= ASSET_BASE {
                ASSET_BASE.saturating_add(re(e.what - ASSET_BASE))
            } else {
                e.what
            };
            self.push(Event {
                t: e.t,
                a: re(e.a),
                b: if e.what == CHAT_LOAD { 0 } else { re(e.b) },
                what,
            });
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
    /// Every session, sorted like `sample`, with strings by id into
    /// `strings` (shared with the scan state, not copied per session).
    #[serde(skip)]
    all: Vec<SessionIds>,
    #[serde(skip)]
    chat: Vec<(u32, Timestamp, Timestamp)>,
    #[serde(skip)]
    strings: Vec<Arc<str>>,
}

/// A session of [`Exposure::all`]: client IP and user agent by string id.
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
/// payment-page loads count. Works on string ids: a scan can have millions
/// of sessions, so nothing is copied per event or per session.
pub fn analyse(state: &ExposureState, interval: Interval, drifted: &BTreeSet<String>) -> Exposure {
    use super::FastMap;
    let inside = |t: Timestamp| {
        interval.since.is_none_or(|s| t >= s) && interval.until.is_none_or(|u| t <= u)
    };
    let st = &state.strings;
    let mut sessions: FastMap<(u32, u32), SessionIds> = FastMap::default();
    let mut chat: FastMap<u32, (Timestamp, Timestamp)> = FastMap::default();
    let mut by_day: BTreeMap<i64, Day> = BTreeMap::new();
    let mut day_sessions: std::collections::HashSet<(i64, u32, u32), foldhash::fast::RandomState> =
        Default::default();
    let mut day_chats: std::collections::HashSet<(i64, u32), foldhash::fast::RandomState> =
        Default::default();
    let mut asset_counts: FastMap<u32, bool> = FastMap::default();
    let mut requests = 0u64;
    for e in &state.events {
        if !inside(e.t) {
            continue;
        }
        let d = day(e.t);
        if e.what == CHAT_LOAD {
            let c = chat.entry(e.a).or_insert((e.t, e.t));
            c.0 = c.0.min(e.t);
            c.1 = c.1.max(e.t);
            if day_chats.insert((d, e.a)) {
                by_day.entry(d).or_default().chat_sessions += 1;
            }
            continue;
        }
        if e.what >= ASSET_BASE {
            let id = e.what - ASSET_BASE;
            let counts = *asset_counts
                .entry(id)
                .or_insert_with(|| drifted.contains(st.get(id)));
            if !counts {
                continue;
            }
        }
        requests += 1;
        let s = sessions.entry((e.a, e.b)).or_insert(SessionIds {
            ip: e.a,
            ua: e.b,
            first_seen: e.t,
            last_seen: e.t,
            requests: 0,
        });
        s.first_seen = s.first_seen.min(e.t);
        s.last_seen = s.last_seen.max(e.t);
        s.requests += 1;
        let dd = by_day.entry(d).or_default();
        dd.requests += 1;
        if day_sessions.insert((d, e.a, e.b)) {
            dd.sessions += 1;
        }
    }
    drop(day_sessions);
    let ips: std::collections::HashSet<u32, foldhash::fast::RandomState> =
        sessions.keys().map(|(ip, _)| *ip).collect();
    let mut all: Vec<SessionIds> = sessions.into_values().collect();
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
    let mut chat: Vec<(u32, Timestamp, Timestamp)> =
        chat.into_iter().map(|(k, (a, b))| (k, a, b)).collect();
    chat.sort_by(|x, y| st.get(x.0).cmp(st.get(y.0)));
    Exposure {
        interval,
        client_ips: ips.len() as u64,
        sessions: all.len() as u64,
        chat_sessions: chat.len() as u64,
        requests,
        by_day: by_day.into_iter().map(|(d, c)| (day_name(d), c)).collect(),
        sample: all.iter().take(SAMPLE).map(session).collect(),
        truncated: state.truncated,
        all,
        chat,
        strings: st.list.clone(),
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
        let name = |i: u32| self.strings.get(i as usize).map_or("", |s| &**s);
        for s in &self.all {
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
        for (sid, a, b) in &self.chat {
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
        let e = analyse(&state(), iv, &drifted);
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
        let e = analyse(&state(), iv, &BTreeSet::new());
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
        let e = analyse(&st, all, &BTreeSet::new());
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
        let whole = analyse(&state(), iv(), &drifted);
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
        let split = analyse(&a, iv(), &drifted);
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
    }
}
