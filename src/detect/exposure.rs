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

/// What made a record count.
#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    /// A request for a payment page.
    PaymentPage,
    /// A request for a script asset whose referer is a payment page;
    /// counts only when that asset drifted.
    AssetFromPayment(Arc<str>),
    /// A chat-service event that loaded the widget.
    ChatLoad(Arc<str>),
}

/// Strings are shared: a few thousand clients and user agents make
/// millions of events.
#[derive(Debug, Clone)]
struct Event {
    t: Timestamp,
    ip: Arc<str>,
    ua: Arc<str>,
    what: What,
}

/// In-window exposure candidates of one chunk, file or run.
#[derive(Debug, Default)]
pub struct ExposureState {
    events: Vec<Event>,
    pub truncated: bool,
    names: std::collections::HashSet<Arc<str>, foldhash::fast::RandomState>,
}

/// Distinct strings an interner keeps before it starts again.
const NAMES_MAX: usize = 1 << 16;

impl ExposureState {
    fn name(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.names.get(s) {
            return a.clone();
        }
        if self.names.len() >= NAMES_MAX {
            self.names.clear();
        }
        let a: Arc<str> = s.into();
        self.names.insert(a.clone());
        a
    }

    fn push(&mut self, e: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.truncated = true;
        } else {
            self.events.push(e);
        }
    }

    pub fn payment_page(&mut self, t: Timestamp, ip: &str, ua: &str) {
        let (ip, ua) = (self.name(ip), self.name(ua));
        self.push(Event {
            t,
            ip,
            ua,
            what: What::PaymentPage,
        });
    }

    pub fn asset_from_payment(&mut self, t: Timestamp, ip: &str, ua: &str, asset: &str) {
        let (ip, ua, asset) = (self.name(ip), self.name(ua), self.name(asset));
        self.push(Event {
            t,
            ip,
            ua,
            what: What::AssetFromPayment(asset),
        });
    }

    pub fn chat_load(&mut self, t: Timestamp, session: &str) {
        let none = self.name("");
        self.push(Event {
            t,
            ip: none.clone(),
            ua: none,
            what: What::ChatLoad(session.into()),
        });
    }

    pub fn merge(&mut self, o: ExposureState) {
        self.truncated |= o.truncated;
        for e in o.events {
            self.push(e);
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
    #[serde(skip)]
    all: Vec<Session>,
    #[serde(skip)]
    chat: Vec<(String, Timestamp, Timestamp)>,
}

/// Sessions listed in the report itself.
pub const SAMPLE: usize = 20;

fn day(t: Timestamp) -> String {
    t.to_zoned_datetime(TimeZone::UTC).date().to_string()
}

/// Counts exposure inside `interval`; `drifted` are the assets whose
/// payment-page loads count.
pub fn analyse(state: &ExposureState, interval: Interval, drifted: &BTreeSet<String>) -> Exposure {
    let inside = |t: Timestamp| {
        interval.since.is_none_or(|s| t >= s) && interval.until.is_none_or(|u| t <= u)
    };
    let mut sessions: BTreeMap<(&str, &str), Session> = BTreeMap::new();
    let mut chat: BTreeMap<&str, (Timestamp, Timestamp)> = BTreeMap::new();
    let mut by_day: BTreeMap<String, Day> = BTreeMap::new();
    let mut day_sessions: BTreeSet<(String, &str, &str)> = BTreeSet::new();
    let mut day_chats: BTreeSet<(String, &str)> = BTreeSet::new();
    let mut requests = 0u64;
    for e in &state.events {
        if !inside(e.t) {
            continue;
        }
        let d = day(e.t);
        match &e.what {
            What::ChatLoad(sid) => {
                let c = chat.entry(sid).or_insert((e.t, e.t));
                c.0 = c.0.min(e.t);
                c.1 = c.1.max(e.t);
                if day_chats.insert((d.clone(), sid)) {
                    by_day.entry(d).or_default().chat_sessions += 1;
                }
                continue;
            }
            What::AssetFromPayment(a) if !drifted.contains(&**a) => continue,
            _ => {}
        }
        requests += 1;
        let s = sessions.entry((&e.ip, &e.ua)).or_insert_with(|| Session {
            client_ip: e.ip.to_string(),
            user_agent: e.ua.to_string(),
            first_seen: e.t,
            last_seen: e.t,
            requests: 0,
        });
        s.first_seen = s.first_seen.min(e.t);
        s.last_seen = s.last_seen.max(e.t);
        s.requests += 1;
        let dd = by_day.entry(d.clone()).or_default();
        dd.requests += 1;
        if day_sessions.insert((d, &e.ip, &e.ua)) {
            dd.sessions += 1;
        }
    }
    let ips: BTreeSet<&str> = sessions.keys().map(|(ip, _)| *ip).collect();
    let mut all: Vec<Session> = sessions.into_values().collect();
    all.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.client_ip.cmp(&b.client_ip))
            .then_with(|| a.user_agent.cmp(&b.user_agent))
    });
    Exposure {
        interval,
        client_ips: ips.len() as u64,
        sessions: all.len() as u64,
        chat_sessions: chat.len() as u64,
        requests,
        by_day,
        sample: all.iter().take(SAMPLE).cloned().collect(),
        truncated: state.truncated,
        all,
        chat: chat
            .into_iter()
            .map(|(k, (a, b))| (k.to_string(), a, b))
            .collect(),
    }
}

/// A CSV field: quoted when needed, masked, control characters dropped.
fn csv(s: &str) -> String {
    let clean: String = crate::card::mask_text(s)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    // A leading formula character would run in a spreadsheet.
    let clean = if clean.starts_with(['=', '+', '-', '@']) {
        format!("'{clean}")
    } else {
        clean
    };
    if clean.contains([',', '"']) {
        format!("\"{}\"", clean.replace('"', "\"\""))
    } else {
        clean
    }
}

impl Exposure {
    /// Writes every exposed session, one row each: web sessions, then chat
    /// sessions. No card data: only addresses, agents, ids and times.
    pub fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "kind,client_ip,user_agent,chat_session,first_seen,last_seen,requests"
        )?;
        for s in &self.all {
            writeln!(
                out,
                "web,{},{},,{},{},{}",
                csv(&s.client_ip),
                csv(&s.user_agent),
                s.first_seen,
                s.last_seen,
                s.requests
            )?;
        }
        for (sid, a, b) in &self.chat {
            writeln!(out, "chat,,,{},{a},{b},", csv(sid))?;
        }
        Ok(())
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
        assert_eq!(csv("=cmd|x"), "'=cmd|x");
        assert_eq!(csv("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv("card 4111111111111111"), "card 411111******1111");
    }

    #[test]
    fn events_are_capped() {
        let mut st = ExposureState::default();
        st.events.resize(
            MAX_EVENTS,
            Event {
                t: t("2017-09-26T10:00:00Z"),
                ip: "".into(),
                ua: "".into(),
                what: What::PaymentPage,
            },
        );
        st.payment_page(t("2017-09-26T10:00:00Z"), "a", "b");
        assert!(st.truncated);
        assert_eq!(st.events.len(), MAX_EVENTS);
    }
}
