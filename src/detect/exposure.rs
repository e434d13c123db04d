//! Exposure: the customer sessions a skimmer could have seen, for the
//! merchant's notification duty. Only client address, user agent, chat
//! session id and times are kept; never card data.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::runs::{self, Record, Runs, Sorter};

/// Events kept in memory if they cannot be written to disk (no temporary
/// directory, disk full); past it the section says `truncated`.
pub const MAX_EVENTS: usize = 4_000_000;

/// Bytes of events and strings a state holds before it writes them, sorted
/// by session, to a run on disk; also the budget of each session list the
/// analysis builds. Exposure's memory is then the same for a day of logs
/// and for a year of them.
pub const SPILL_BYTES: usize = 4 << 20;

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
    text: Vec<u8>,
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

    fn get(&self, i: u32) -> &[u8] {
        str_at(&self.text, &self.ends, i)
    }

    /// Forgets every string, keeping the buffers.
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.table.clear();
    }

    /// The id of log text, kept with card numbers masked: the text may be
    /// written to a run on disk. A text with one has a new id each time
    /// (its masked copy never equals it); the analysis joins sessions by
    /// text, so they count once.
    fn id_logged(&mut self, s: &str) -> u32 {
        self.intern(s.as_bytes(), |b| match crate::card::mask_text(s) {
            Cow::Borrowed(_) => Cow::Borrowed(b),
            Cow::Owned(m) => Cow::Owned(m.into_bytes()),
        })
    }

    /// The id of text already kept by a state.
    fn id(&mut self, s: &[u8]) -> u32 {
        self.intern(s, Cow::Borrowed)
    }

    fn intern<'a>(&mut self, s: &'a [u8], keep: impl FnOnce(&'a [u8]) -> Cow<'a, [u8]>) -> u32 {
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
                let kept = keep(s);
                text.extend_from_slice(&kept);
                ends.push(text.len());
                match kept {
                    Cow::Borrowed(_) => {
                        v.insert(i);
                    }
                    Cow::Owned(k) => {
                        // Filed under the kept text's hash, as a rehash
                        // would file it, not in `v` (the logged text's).
                        table.insert_unique(hasher.hash_one(&k[..]), i, |&j| {
                            hasher.hash_one(str_at(text, ends, j))
                        });
                    }
                }
                i
            }
        }
    }
}

/// String `i` of an arena; empty for an unknown id.
fn str_at<'a>(text: &'a [u8], ends: &[usize], i: u32) -> &'a [u8] {
    let i = i as usize;
    let Some(&end) = ends.get(i) else {
        return b"";
    };
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &text[start..end]
}

/// In-window exposure candidates of one chunk, file or run: the latest in
/// memory, the rest in runs on disk.
#[derive(Debug)]
pub struct ExposureState {
    events: Vec<Event>,
    pub truncated: bool,
    strings: Strings,
    /// Events written to disk, sorted by session.
    runs: Runs<Group>,
    /// In-memory bytes past which the events go to a run.
    budget: usize,
    /// Set when a run could not be written: the events stay in memory, up
    /// to [`MAX_EVENTS`].
    spill_failed: bool,
}

impl Default for ExposureState {
    fn default() -> Self {
        ExposureState::with_budget(SPILL_BYTES)
    }
}

impl ExposureState {
    /// A state that writes its events to disk past `budget` bytes.
    pub fn with_budget(budget: usize) -> Self {
        ExposureState {
            events: Vec::new(),
            truncated: false,
            strings: Strings::default(),
            runs: Runs::default(),
            budget,
            spill_failed: false,
        }
    }

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
        let (a, b) = (self.strings.id_logged(ip), self.strings.id_logged(ua));
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
        let (a, b) = (self.strings.id_logged(ip), self.strings.id_logged(ua));
        let what = ASSET_BASE + self.strings.id_logged(asset);
        self.events.push(Event { t, a, b, what });
    }

    pub fn chat_load(&mut self, t: Timestamp, session: &str) {
        if !self.room() {
            return;
        }
        let a = self.strings.id_logged(session);
        self.events.push(Event {
            t,
            a,
            b: 0,
            what: CHAT_LOAD,
        });
    }

    pub fn merge(&mut self, o: ExposureState) {
        self.truncated |= o.truncated;
        self.runs.append(o.runs);
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
        if !self.spill_failed && self.memory() > self.budget {
            self.spill();
        }
    }

    /// Bytes of in-memory events and strings (their buffers, kept from
    /// run to run, hold up to twice as much), and of the sessions array
    /// sorting them for a run takes.
    fn memory(&self) -> usize {
        let s = &self.strings;
        self.events.len() * (std::mem::size_of::<Event>() + std::mem::size_of::<Span>())
            + s.text.len()
            + s.ends.len() * std::mem::size_of::<usize>()
            + s.table.len() * (std::mem::size_of::<u32>() + 1)
    }

    /// Writes the in-memory events to a new run, sorted by session; if
    /// that fails they stay, and no run is tried again.
    fn spill(&mut self) {
        let sessions = by_session(&mut self.events, &self.strings);
        let (events, st) = (&self.events, &self.strings);
        let written = self.runs.add_with(|w| {
            each_group(events, &sessions, st, |k, a, b, ev| {
                put_group(w, k, a, b, ev)
            })
        });
        if written.is_ok() {
            // Kept for the next events: allocating them anew at every
            // run left the allocator's arenas ever more fragmented.
            self.events.clear();
            self.strings.clear();
        } else {
            self.spill_failed = true;
        }
    }
}

/// One session's events in a state's sorted events, with the keys it
/// sorts by in runs (see [`Group`]).
struct Span {
    k0: u64,
    k1: u64,
    /// The address's and agent's ids (the agent's is 0 for chat), so the
    /// sort need not look up the events.
    a: u32,
    b: u32,
    start: u32,
    len: u32,
}

/// The hash sessions sort by: fixed, so every run of a scan agrees.
fn text_hash(s: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    const HASH: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5c1d);
    HASH.hash_one(s)
}

/// Sorts events by session (by id, in place) and returns the sessions in
/// the order runs are merged in (that of [`Group`]). Per session, not per
/// event, so that sorting a full state adds little to its memory (the
/// budget counts a session per event).
fn by_session(events: &mut [Event], st: &Strings) -> Vec<Span> {
    events.sort_unstable_by_key(|e| (e.what == CHAT_LOAD, e.a, e.b));
    let mut spans = Vec::new();
    let mut start = 0;
    while let Some(first) = events.get(start) {
        let len = events[start..]
            .iter()
            .take_while(|e| same_session(first, e))
            .count();
        let chat = first.what == CHAT_LOAD;
        spans.push(Span {
            k0: (u64::from(chat) << 63) | (text_hash(st.get(first.a)) >> 1),
            k1: if chat { 0 } else { text_hash(st.get(first.b)) },
            a: first.a,
            b: if chat { 0 } else { first.b },
            // A state holds at most MAX_EVENTS events.
            start: start as u32,
            len: len as u32,
        });
        start += len;
    }
    // Within one state a string has one id: text is compared only where
    // the hashes tie and the ids differ.
    let text = |x: u32, y: u32| {
        if x == y {
            std::cmp::Ordering::Equal
        } else {
            st.get(x).cmp(st.get(y))
        }
    };
    spans.sort_unstable_by(|x, y| {
        x.k0.cmp(&y.k0)
            .then_with(|| text(x.a, y.a))
            .then(x.k1.cmp(&y.k1))
            .then_with(|| text(x.b, y.b))
    });
    spans
}

fn same_session(x: &Event, y: &Event) -> bool {
    let chat = x.what == CHAT_LOAD;
    (y.what == CHAT_LOAD) == chat && x.a == y.a && (chat || x.b == y.b)
}

/// One session's events of one run, its strings inline: what exposure's
/// runs hold. Runs are sorted by session, and a session may have a group
/// in several runs. The order: web before chat, a hash of the address, the
/// address (one address's sessions stay together, for counting addresses),
/// a hash of the agent, the agent. Hashes first: sessions are mostly
/// distinct and their text shares long prefixes (`Mozilla/5.0 (`), so
/// sorting by text alone was 3 % of a scan's time.
#[derive(Debug, Clone)]
struct Group {
    /// Chat in the top bit, then the address's hash.
    k0: u64,
    /// The agent's hash (0 for chat).
    k1: u64,
    chat: bool,
    /// The address (or chat session id) and the agent (empty for chat),
    /// then the events: one allocation for all three.
    buf: Vec<u8>,
    a_len: u32,
    b_len: u32,
}

impl Group {
    fn a(&self) -> &[u8] {
        &self.buf[..self.a_len as usize]
    }

    fn b(&self) -> &[u8] {
        &self.buf[self.a_len as usize..][..self.b_len as usize]
    }

    /// Each event: time as seconds (i64) and nanoseconds (i32), then the
    /// requested asset as a length (u32) and bytes, or `NO_ASSET`.
    fn events(&self) -> &[u8] {
        &self.buf[self.a_len as usize + self.b_len as usize..]
    }

    fn same_session(&self, o: &Group) -> bool {
        self.k0 == o.k0 && self.k1 == o.k1 && self.a() == o.a() && self.b() == o.b()
    }
}

impl PartialEq for Group {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o).is_eq()
    }
}

impl Eq for Group {}

impl PartialOrd for Group {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Group {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.k0, self.a(), self.k1, self.b(), self.events()).cmp(&(
            o.k0,
            o.a(),
            o.k1,
            o.b(),
            o.events(),
        ))
    }
}

const NO_ASSET: u32 = u32::MAX;

/// Writes a group: keys, lengths, then the text and events.
fn put_group(
    w: &mut dyn Write,
    k: (u64, u64, bool),
    a: &[u8],
    b: &[u8],
    ev: &[u8],
) -> io::Result<()> {
    let len = |s: &[u8]| u32::try_from(s.len()).map_err(|_| io::Error::other("group too long"));
    let mut head = [0u8; 29];
    head[..8].copy_from_slice(&k.0.to_le_bytes());
    head[8..16].copy_from_slice(&k.1.to_le_bytes());
    head[16] = u8::from(k.2);
    head[17..21].copy_from_slice(&len(a)?.to_le_bytes());
    head[21..25].copy_from_slice(&len(b)?.to_le_bytes());
    head[25..].copy_from_slice(&len(ev)?.to_le_bytes());
    w.write_all(&head)?;
    w.write_all(a)?;
    w.write_all(b)?;
    w.write_all(ev)
}

impl Record for Group {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        put_group(
            w,
            (self.k0, self.k1, self.chat),
            self.a(),
            self.b(),
            self.events(),
        )
    }

    fn read_from(r: &mut dyn BufRead) -> io::Result<Option<Self>> {
        if runs::at_end(r)? {
            return Ok(None);
        }
        let mut head = [0u8; 29];
        r.read_exact(&mut head)?;
        let u32_at = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
        let (a_len, b_len) = (u32_at(17), u32_at(21));
        let total = a_len as usize + b_len as usize + u32_at(25) as usize;
        Ok(Some(Group {
            k0: u64::from_le_bytes(head[..8].try_into().expect("8 bytes")),
            k1: u64::from_le_bytes(head[8..16].try_into().expect("8 bytes")),
            chat: head[16] != 0,
            buf: runs::get_exact(r, total)?,
            a_len,
            b_len,
        }))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.buf.capacity()
    }
}

/// A time as stored in runs: seconds (i64), then nanoseconds (i32).
fn time_bytes(t: Timestamp) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..8].copy_from_slice(&t.as_second().to_le_bytes());
    b[8..].copy_from_slice(&t.subsec_nanosecond().to_le_bytes());
    b
}

fn time_from(b: &[u8; 12]) -> io::Result<Timestamp> {
    let sec = i64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let nano = i32::from_le_bytes(b[8..].try_into().expect("4 bytes"));
    Timestamp::new(sec, nano).map_err(|_| io::Error::other("exposure run holds a bad time"))
}

fn put_event(out: &mut Vec<u8>, t: Timestamp, asset: Option<&[u8]>) {
    out.extend_from_slice(&time_bytes(t));
    match asset {
        Some(a) => {
            // Asset paths are cut to u32 lengths long before this: a
            // field of a log line.
            let len = u32::try_from(a.len()).unwrap_or(NO_ASSET - 1);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&a[..len as usize]);
        }
        None => out.extend_from_slice(&NO_ASSET.to_le_bytes()),
    }
}

/// Calls `f` with each event of a group's bytes; an error if they are cut.
fn each_event(mut b: &[u8], mut f: impl FnMut(Timestamp, Option<&[u8]>)) -> io::Result<()> {
    let cut = || io::Error::other("exposure run holds a cut event");
    while !b.is_empty() {
        let (head, rest) = b.split_at_checked(16).ok_or_else(cut)?;
        let t = time_from(head[..12].try_into().expect("12 bytes"))?;
        let len = u32::from_le_bytes(head[12..].try_into().expect("4 bytes"));
        if len == NO_ASSET {
            f(t, None);
            b = rest;
        } else {
            let (asset, rest) = rest.split_at_checked(len as usize).ok_or_else(cut)?;
            f(t, Some(asset));
            b = rest;
        }
    }
    Ok(())
}

/// Calls `f` with each session of [`by_session`], in order: its keys,
/// address, agent and events' bytes (in a reused buffer).
fn each_group(
    events: &[Event],
    sessions: &[Span],
    st: &Strings,
    mut f: impl FnMut((u64, u64, bool), &[u8], &[u8], &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = Vec::new();
    for s in sessions {
        let group = &events[s.start as usize..(s.start + s.len) as usize];
        out.clear();
        for e in group {
            let asset = (e.what >= ASSET_BASE).then(|| st.get(e.what - ASSET_BASE));
            put_event(&mut out, e.t, asset);
        }
        let first = group[0];
        let chat = first.what == CHAT_LOAD;
        let b = if chat { b"" } else { st.get(first.b) };
        f((s.k0, s.k1, chat), st.get(first.a), b, &out)?;
    }
    Ok(())
}

/// The groups of a state's events, in order, as records.
fn groups(events: &mut [Event], st: &Strings) -> io::Result<Vec<Group>> {
    let sessions = by_session(events, st);
    let mut v = Vec::with_capacity(sessions.len());
    each_group(events, &sessions, st, |(k0, k1, chat), a, b, ev| {
        let too_long = |_| io::Error::other("group too long");
        let (a_len, b_len) = (
            u32::try_from(a.len()).map_err(too_long)?,
            u32::try_from(b.len()).map_err(too_long)?,
        );
        let mut buf = Vec::with_capacity(a.len() + b.len() + ev.len());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b);
        buf.extend_from_slice(ev);
        v.push(Group {
            k0,
            k1,
            chat,
            buf,
            a_len,
            b_len,
        });
        Ok(())
    })?;
    Ok(v)
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
    /// Counts and list are incomplete: no run could be written and the
    /// requests in memory reached [`MAX_EVENTS`], or a run could not be
    /// read back.
    pub truncated: bool,
    /// Every session, for `--exposure-csv`; shared, not copied, by the
    /// report's copies of this section.
    #[serde(skip)]
    list: Arc<Mutex<Option<SessionList>>>,
}

/// Every exposed session, in memory up to a budget and on disk past it;
/// `None` when only the counts and the sample were asked for.
#[derive(Debug)]
struct SessionList {
    web: Sorter<WebRow>,
    chat: Sorter<ChatRow>,
}

/// A web session; ordered like [`Exposure::sample`]: first seen, then
/// address and agent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WebRow {
    first_seen: Timestamp,
    last_seen: Timestamp,
    requests: u64,
    /// The address, then the agent (UTF-8): one allocation for both.
    text: Box<[u8]>,
    ip_len: u32,
}

impl WebRow {
    fn ip(&self) -> &[u8] {
        self.text.get(..self.ip_len as usize).unwrap_or_default()
    }

    fn ua(&self) -> &[u8] {
        self.text.get(self.ip_len as usize..).unwrap_or_default()
    }
}

impl PartialOrd for WebRow {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for WebRow {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (
            self.first_seen,
            self.ip(),
            self.ua(),
            self.last_seen,
            self.requests,
        )
            .cmp(&(o.first_seen, o.ip(), o.ua(), o.last_seen, o.requests))
    }
}

/// A chat session; ordered by its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ChatRow {
    /// UTF-8.
    id: Box<[u8]>,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

fn put_time(w: &mut dyn Write, t: Timestamp) -> io::Result<()> {
    w.write_all(&time_bytes(t))
}

fn get_time(r: &mut dyn BufRead) -> io::Result<Timestamp> {
    let mut b = [0u8; 12];
    r.read_exact(&mut b)?;
    time_from(&b)
}

impl Record for WebRow {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        put_time(w, self.first_seen)?;
        put_time(w, self.last_seen)?;
        runs::put_u64(w, self.requests)?;
        runs::put_u32(w, self.ip_len)?;
        runs::put_str(w, &self.text)
    }

    fn read_from(r: &mut dyn BufRead) -> io::Result<Option<Self>> {
        if runs::at_end(r)? {
            return Ok(None);
        }
        Ok(Some(WebRow {
            first_seen: get_time(r)?,
            last_seen: get_time(r)?,
            requests: runs::get_u64(r)?,
            ip_len: runs::get_u32(r)?,
            text: runs::get_bytes(r)?.into_boxed_slice(),
        }))
    }

    fn size(&self) -> usize {
        // With the allocator's own overhead.
        std::mem::size_of::<Self>() + self.text.len() + 16
    }
}

impl Record for ChatRow {
    fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        runs::put_str(w, &self.id)?;
        put_time(w, self.first_seen)?;
        put_time(w, self.last_seen)
    }

    fn read_from(r: &mut dyn BufRead) -> io::Result<Option<Self>> {
        if runs::at_end(r)? {
            return Ok(None);
        }
        Ok(Some(ChatRow {
            id: runs::get_bytes(r)?.into_boxed_slice(),
            first_seen: get_time(r)?,
            last_seen: get_time(r)?,
        }))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.id.len() + 16
    }
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

/// The counts of [`analyse`], taken one session at a time.
struct Count {
    by_day: BTreeMap<i64, Day>,
    requests: u64,
    client_ips: u64,
    sessions: u64,
    chat_sessions: u64,
    last_ip: Option<Vec<u8>>,
    /// The first [`SAMPLE`] web sessions (a max-heap: the last on top).
    sample: std::collections::BinaryHeap<WebRow>,
    list: Option<SessionList>,
}

impl Count {
    /// Counts one session from the times of its counted events.
    fn session(&mut self, g: &Group, times: &mut [Timestamp]) {
        times.sort_unstable();
        let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
            return;
        };
        // Days in order: a new day is a new (day, session).
        let mut prev_day = None;
        for &t in times.iter() {
            let d = day(t);
            let dd = self.by_day.entry(d).or_default();
            let new_day = prev_day != Some(d);
            prev_day = Some(d);
            if g.chat {
                dd.chat_sessions += u64::from(new_day);
            } else {
                dd.requests += 1;
                dd.sessions += u64::from(new_day);
            }
        }
        if g.chat {
            self.chat_sessions += 1;
            if let Some(list) = &mut self.list {
                list.chat.push(ChatRow {
                    id: g.a().into(),
                    first_seen: first,
                    last_seen: last,
                });
            }
            return;
        }
        let n = times.len() as u64;
        self.requests += n;
        self.sessions += 1;
        if self.last_ip.as_deref() != Some(g.a()) {
            self.client_ips += 1;
            let ip = self.last_ip.get_or_insert_default();
            ip.clear();
            ip.extend_from_slice(g.a());
        }
        let row = || WebRow {
            first_seen: first,
            last_seen: last,
            requests: n,
            text: [g.a(), g.b()].concat().into_boxed_slice(),
            ip_len: g.a_len,
        };
        // A row is made for the sample only if it would be in it.
        let sampled = self.sample.len() < SAMPLE
            || self
                .sample
                .peek()
                .is_some_and(|top| (first, g.a(), g.b()) < (top.first_seen, top.ip(), top.ua()));
        if sampled {
            self.sample.push(row());
            if self.sample.len() > SAMPLE {
                self.sample.pop();
            }
        }
        if let Some(list) = &mut self.list {
            list.web.push(row());
        }
    }
}

/// Counts exposure inside `interval`; `drifted` are the assets whose
/// payment-page loads count. The state's runs and its in-memory events
/// (sorted the same way) are merged by session, so each session's events
/// meet in one place; per-day counts come from each session's sorted
/// times. With `list`, every session is kept for [`Exposure::write_csv`],
/// on disk past the state's budget: a scan can have millions of them.
pub fn analyse(
    state: ExposureState,
    interval: Interval,
    drifted: &BTreeSet<String>,
    list: bool,
) -> Exposure {
    let inside = |t: Timestamp| {
        interval.since.is_none_or(|s| t >= s) && interval.until.is_none_or(|u| t <= u)
    };
    let ExposureState {
        mut events,
        mut truncated,
        strings: st,
        runs,
        budget,
        spill_failed: _,
    } = state;
    // Assets are kept masked, as every text of the state.
    let drifted: BTreeSet<Cow<str>> = drifted.iter().map(|a| crate::card::mask_text(a)).collect();
    let in_memory = groups(&mut events, &st).unwrap_or_else(|_| {
        truncated = true;
        Vec::new()
    });
    drop((events, st));
    let mut count = Count {
        by_day: BTreeMap::new(),
        requests: 0,
        client_ips: 0,
        sessions: 0,
        chat_sessions: 0,
        last_ip: None,
        sample: std::collections::BinaryHeap::with_capacity(SAMPLE + 1),
        list: list.then(|| SessionList {
            web: Sorter::new(budget),
            chat: Sorter::new(budget),
        }),
    };
    let drifted: Vec<&[u8]> = drifted.iter().map(|a| a.as_bytes()).collect();
    let counts = |t: Timestamp, asset: Option<&[u8]>| {
        inside(t) && asset.is_none_or(|a| drifted.contains(&a))
    };
    let mut session: Option<Group> = None;
    let mut times: Vec<Timestamp> = Vec::new();
    match runs.merged(in_memory) {
        Ok(merge) => {
            for g in merge {
                let Ok(g) = g else {
                    truncated = true;
                    break;
                };
                let same = session.as_ref().is_some_and(|s| s.same_session(&g));
                if !same {
                    if let Some(s) = session.take() {
                        count.session(&s, &mut times);
                    }
                    times.clear();
                }
                let read = each_event(g.events(), |t, asset| {
                    if counts(t, asset) {
                        times.push(t);
                    }
                });
                truncated |= read.is_err();
                if !same {
                    session = Some(g);
                }
            }
        }
        Err(_) => truncated = true,
    }
    if let Some(s) = session.take() {
        count.session(&s, &mut times);
    }
    drop(runs);
    // Masked like the CSV: agents (and anything in the address column)
    // come from the logs.
    let session = |s: WebRow| Session {
        client_ip: crate::card::mask_text(&text(s.ip())).into_owned(),
        user_agent: crate::card::mask_text(&text(s.ua())).into_owned(),
        first_seen: s.first_seen,
        last_seen: s.last_seen,
        requests: s.requests,
    };
    Exposure {
        interval,
        client_ips: count.client_ips,
        sessions: count.sessions,
        chat_sessions: count.chat_sessions,
        requests: count.requests,
        by_day: count
            .by_day
            .into_iter()
            .map(|(d, c)| (day_name(d), c))
            .collect(),
        sample: count
            .sample
            .into_sorted_vec()
            .into_iter()
            .map(session)
            .collect(),
        truncated,
        list: Arc::new(Mutex::new(count.list)),
    }
}

/// A CSV cell of log text: masked, then as every report's CSV cell
/// (control characters escaped, formulas defused; quoting is the writer's).
fn cell(s: &str) -> String {
    crate::report::csv::cell(&crate::card::mask_text(s))
}

/// Log text kept as bytes; always UTF-8 (it was a `&str`), read
/// without trusting that.
fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
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
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = list.as_mut() else {
            return Err(io::Error::other(
                "exposure: the session list was not kept (analysed for the sample only)",
            ));
        };
        for s in list.web.sorted()? {
            let s = s?;
            w.write_record([
                "web",
                &cell(&text(s.ip())),
                &cell(&text(s.ua())),
                "",
                &s.first_seen.to_string(),
                &s.last_seen.to_string(),
                &s.requests.to_string(),
            ])?;
        }
        for c in list.chat.sorted()? {
            let c = c?;
            w.write_record([
                "chat",
                "",
                "",
                &cell(&text(&c.id)),
                &c.first_seen.to_string(),
                &c.last_seen.to_string(),
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

    /// No interval: every event counts.
    fn all() -> Interval {
        Interval {
            since: None,
            until: None,
            basis: "window",
        }
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
        let e = analyse(state(), iv, &drifted, true);
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
        let e = analyse(state(), iv, &BTreeSet::new(), true);
        assert_eq!((e.sessions, e.chat_sessions), (1, 0));
        assert_eq!(cell("=cmd|x"), "'=cmd|x");
        assert_eq!(cell("card 4111111111111111"), "card 411111******1111");
        assert_eq!(cell("ua\u{1b}[2J"), "ua\\u{1b}[2J");
        // Quoting is the writer's.
        let mut st = ExposureState::default();
        st.chat_load(t("2017-09-27T10:00:00Z"), "a,\"b\"");
        st.chat_load(t("2017-09-27T11:00:00Z"), "a,\"b\"");
        let e = analyse(st, all(), &BTreeSet::new(), true);
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
        let drifted: BTreeSet<String> = ["/w.js".to_string()].into();
        let whole = analyse(state(), all(), &drifted, true);
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
        let split = analyse(a, all(), &drifted, true);
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
        // As when no run can be written.
        let mut st = ExposureState::with_budget(usize::MAX);
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

    /// No temporary directory: every event stays in memory (up to the cap)
    /// and the answer is the same.
    #[test]
    fn a_state_whose_runs_fail_keeps_its_events() {
        let drifted: BTreeSet<String> = ["/w.js".to_string()].into();
        let csv = |e: &Exposure| {
            let mut buf = Vec::new();
            e.write_csv(&mut buf).unwrap();
            String::from_utf8(buf).unwrap()
        };
        let one = analyse(state(), all(), &drifted, true);
        let want = csv(&one);
        let mut st = ExposureState::with_budget(0);
        st.runs.refuse = true;
        st.merge(state());
        st.merge(state());
        assert!(st.spill_failed && st.runs.is_empty() && !st.truncated);
        let e = analyse(st, all(), &drifted, true);
        assert_eq!(e.requests, 2 * one.requests);
        assert_eq!(e.sessions, one.sessions);
        let got = csv(&e);
        assert_eq!(got.lines().count(), want.lines().count());
        // The same sessions, each with its requests twice over.
        assert!(got.contains("web,192.0.2.1,UA-A,,2017-09-26T10:00:00Z,2017-09-26T11:00:00Z,4"));
    }

    /// Card numbers in log text are masked before the text is kept, so
    /// none reaches a run on disk; sessions whose text holds one still
    /// count once.
    #[test]
    fn kept_text_and_runs_hold_no_card_number() {
        use std::io::{Read, Seek};
        let pan = "4111111111111111";
        let ua = format!("Mozilla/5.0 card={pan}");
        let mut one = ExposureState::default();
        one.payment_page(t("2017-09-26T10:00:00Z"), "192.0.2.1", &ua);
        one.payment_page(t("2017-09-26T11:00:00Z"), "192.0.2.1", &ua);
        one.chat_load(t("2017-09-26T10:00:00Z"), &format!("chat-{pan}"));
        assert!(!String::from_utf8_lossy(&one.strings.text).contains(pan));
        let mut st = ExposureState::with_budget(0);
        st.merge(one);
        let mut on_disk = Vec::new();
        for f in &mut st.runs.files {
            f.rewind().unwrap();
            f.read_to_end(&mut on_disk).unwrap();
        }
        assert!(!on_disk.is_empty());
        assert!(!String::from_utf8_lossy(&on_disk).contains(pan));
        let e = analyse(st, all(), &BTreeSet::new(), true);
        assert_eq!((e.sessions, e.requests, e.chat_sessions), (1, 2, 1));
        assert_eq!(e.sample[0].user_agent, "Mozilla/5.0 card=411111******1111");
    }

    /// A run damaged on disk gives a truncated section, not a panic or a
    /// silently short one.
    #[test]
    fn a_damaged_run_marks_the_section_truncated() {
        let mut st = ExposureState::with_budget(0);
        st.merge(state());
        st.merge(state());
        assert_eq!(st.runs.len(), 2);
        st.runs.files[1].set_len(40).unwrap();
        let e = analyse(st, all(), &BTreeSet::new(), true);
        assert!(e.truncated);
    }

    #[test]
    fn strings_are_dense_ids_of_distinct_text() {
        let mut s = Strings::default();
        let words: Vec<String> = (0..5000)
            .map(|i| format!("192.0.{}.{}", i / 256, i % 256))
            .collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(s.id(w.as_bytes()) as usize, i);
        }
        for (i, w) in words.iter().enumerate().rev() {
            assert_eq!(s.id(w.as_bytes()) as usize, i);
            assert_eq!(s.get(i as u32), w.as_bytes());
        }
        assert_eq!(s.id(b""), 5000);
        assert_eq!(s.get(5000), b"");
        assert_eq!(s.get(5001), b"");
        assert_eq!(s.len(), 5001);
    }

    /// On random events split over merged states, the counts, days and
    /// session rows equal those of a plain reference: a map per session,
    /// per (day, session) and per chat.
    #[test]
    fn analysis_equals_a_map_per_session_reference() {
        let mut rand = crate::test_util::rng(0x243f_6a88_85a3_08d3);
        let base = t("2017-09-25T20:00:00Z").as_second();
        for round in 0..60 {
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
            // Kept in memory; or every merge writing a run, over few parts
            // or over enough for the runs to be merged into one, with
            // states that hold runs merged into another.
            let (budget, parts) = [(SPILL_BYTES, 3), (0, 3), (0, 80)][round % 3];
            let mut merged = ExposureState::with_budget(budget);
            let mut halves = [
                ExposureState::with_budget(budget),
                ExposureState::with_budget(budget),
            ];
            for (i, part) in events.chunks(1 + events.len() / parts).enumerate() {
                let mut st = ExposureState::default();
                part.iter().for_each(|e| add(&mut st, e));
                halves[i % 2].merge(st);
            }
            if budget == 0 && events.len() > 3 * parts {
                assert!(!halves[0].runs.is_empty() && halves[0].events.is_empty());
            }
            let [x, y] = halves;
            merged.merge(x);
            merged.merge(y);
            if parts > 3 && events.len() > 200 {
                assert!(merged.runs.len() <= super::runs::MAX_RUNS);
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
            // Every fourth round without the list: counts and sample only.
            let listed = round % 4 != 3;
            let e = analyse(merged, interval.clone(), &drifted, listed);

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
            // The sample: the first web rows.
            let sample: Vec<String> = e
                .sample
                .iter()
                .map(|s| {
                    let (ip, ua, a, b, n) = (
                        &s.client_ip,
                        &s.user_agent,
                        s.first_seen,
                        s.last_seen,
                        s.requests,
                    );
                    format!("web,{ip},{ua},,{a},{b},{n}")
                })
                .collect();
            assert_eq!(sample[..], rows[..rows.len().min(SAMPLE)], "round {round}");
            for (id, (a, b)) in &chats {
                rows.push(format!("chat,,,{id},{a},{b},"));
            }
            let mut buf = Vec::new();
            let written = e.write_csv(&mut buf);
            if !listed {
                assert!(written.is_err(), "round {round}");
                continue;
            }
            written.unwrap();
            let text = String::from_utf8(buf).unwrap();
            let got: Vec<&str> = text.lines().skip(1).collect();
            assert_eq!(got, rows, "round {round}");
        }
    }
}
