//! Apache/nginx common and combined log format, with or without a leading
//! vhost: `[vhost[:port]] ip ident user [time] "request" status bytes
//! ["referer" "user-agent" …]`.
//!
//! Attack traffic puts raw spaces and quotes in the request, referer and
//! user agent, so the quoted fields are located structurally (the status
//! pattern after the request) rather than by naive quote pairing.

use jiff::Timestamp;

use super::{push, push_request};
use crate::record::{Family, Record};
use crate::time::parse_clf_prefix;

/// `" "`, between two quoted fields: searched on every parsed line, so
/// its searcher is built once.
static QUOTE_SPACE_QUOTE: std::sync::LazyLock<memchr::memmem::Finder> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\" \""));

/// At most this many `[` are tried when looking for the time, so a line of
/// brackets costs little.
const MAX_BRACKETS: usize = 8;

/// Finds the `[dd/Mon/yyyy:HH:MM:SS ±zzzz]` time: (time, index of '[',
/// index just past ']').
fn find_time(line: &[u8]) -> Option<(Timestamp, usize, usize)> {
    let mut from = 0;
    for _ in 0..MAX_BRACKETS {
        let open = from + memchr::memchr(b'[', line.get(from..)?)?;
        let inner = line.get(open + 1..)?;
        if let Some((t, used)) = parse_clf_prefix(inner)
            && inner.get(used) == Some(&b']')
        {
            return Some((t, open, open + used + 2));
        }
        from = open + 1;
    }
    None
}

/// The record's time, from the bracketed CLF field.
pub(super) fn time(line: &[u8]) -> Option<Timestamp> {
    find_time(line).map(|(t, _, _)| t)
}

/// The date, hour and offset of the last CLF times: consecutive lines
/// mostly share them, so only minutes and seconds need reading (the full parse
/// and the civil-to-UTC conversion were a tenth of a scan's time).
#[derive(Debug, Clone, Default)]
pub struct ClfMemo {
    /// The hours of earlier lines, most recent first: the key (`dd/Mon/
    /// yyyy:HH` and ` ±zzzz` of the fixed-width form) and the UTC seconds of
    /// its minute 0, second 0. Logs merged from servers in different zones
    /// alternate between keys: with one hour remembered, two interleaved
    /// zones nearly doubled the dating time.
    hours: [Option<(ClfKey, i64)>; 4],
}

impl ClfMemo {
    /// [`memo_seconds`] for the hours after the first; a hit becomes the
    /// first.
    #[inline(never)]
    fn recall(&mut self, inner: &[u8]) -> Option<i64> {
        let f = inner.first_chunk::<27>()?;
        let key = clf_key(f);
        let i = 1 + self.hours[1..]
            .iter()
            .position(|h| h.is_some_and(|(k, _)| k == key))?;
        let ms = clf_min_sec(f)?;
        self.hours[..=i].rotate_right(1);
        Some(self.hours[0].expect("found").1 + ms)
    }

    /// Makes `key` (UTC seconds `base` at its minute 0) the first hour; the
    /// least recent is forgotten.
    fn remember(&mut self, key: ClfKey, base: i64) {
        self.hours.rotate_right(1);
        self.hours[0] = Some((key, base));
    }
}

/// `dd/Mon/yyyy:HH` (two overlapping words) and ` ±zzzz]` (a word without
/// its first byte, a seconds digit), read straight from the line: a key
/// assembled in a byte array and compared whole stalled on store
/// forwarding, a third of the time of dating a line.
type ClfKey = (u64, u64, u64);

/// Fixed-width `dd/Mon/yyyy:HH:MM:SS ±zzzz]`: its memo key and MM*60+SS.
fn clf_fixed(inner: &[u8]) -> Option<(ClfKey, i64)> {
    let f = inner.first_chunk::<27>()?;
    if f[2] != b'/' || f[6] != b'/' || f[11] != b':' {
        return None;
    }
    if f[20] != b' ' || f[26] != b']' {
        return None;
    }
    Some((clf_key(f), clf_min_sec(f)?))
}

/// The memo key of a fixed-width timestamp.
#[inline]
fn clf_key(f: &[u8; 27]) -> ClfKey {
    let word = |i: usize| u64::from_le_bytes(f[i..i + 8].try_into().expect("8 bytes"));
    (word(0), word(6), word(19) & !0xff)
}

/// `:MM:SS` of a fixed-width timestamp as MM*60+SS; None for a leap second
/// or a bad minute, which take the full parse.
#[inline]
fn clf_min_sec(f: &[u8; 27]) -> Option<i64> {
    if f[14] != b':' || f[17] != b':' {
        return None;
    }
    let two = |a: u8, b: u8| -> Option<i64> {
        (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from((a - b'0') * 10 + (b - b'0')))
    };
    let (mm, ss) = (two(f[15], f[16])?, two(f[18], f[19])?);
    (mm <= 59 && ss <= 59).then_some(mm * 60 + ss)
}

/// [`time`] with a memo of the date, hour and offset. Same result: the
/// memo is only used when the first `[` holds the fixed-width form with
/// the key of an earlier successful parse.
#[inline(always)]
pub(super) fn time_memo(line: &[u8], memo: &mut ClfMemo) -> Option<Timestamp> {
    find_time_memo(line, memo).map(|(t, _, _)| t)
}

/// The memo's answer for a bracket's contents `inner` (after the line's
/// first `[`): its UTC seconds, when it holds the memo's first key. The
/// key holds every separator but the two around the minutes, and the memo
/// keeps only hours whose parse took this bracket and closed it 27 bytes
/// on, so a hit is also the bracket `find_time` takes, its `]` 27 bytes on.
fn memo_seconds(inner: &[u8], memo: &ClfMemo) -> Option<i64> {
    let f = inner.first_chunk::<27>()?;
    let (key, base) = memo.hours[0]?;
    (clf_key(f) == key).then_some(())?;
    Some(base + clf_min_sec(f)?)
}

/// [`find_time`] with the memo of [`time_memo`].
#[inline(always)]
fn find_time_memo(line: &[u8], memo: &mut ClfMemo) -> Option<(Timestamp, usize, usize)> {
    let open = crate::lines::find_near(line, b'[')?;
    let inner = &line[open + 1..];
    if let Some(secs) = memo_seconds(inner, memo)
        && let Ok(t) = Timestamp::from_second(secs)
    {
        return Some((t, open, open + 28));
    }
    if let Some(secs) = memo.recall(inner)
        && let Ok(t) = Timestamp::from_second(secs)
    {
        return Some((t, open, open + 28));
    }
    let fixed = clf_fixed(inner);
    let found = find_time(line)?;
    match fixed {
        // The parse used this bracket, no fraction, and the `]` 27 bytes on
        // (not so for `+00]0]`, whose key bytes look fixed-width): remember
        // its hour.
        Some((key, ms))
            if found.1 == open && found.2 == open + 28 && found.0.subsec_nanosecond() == 0 =>
        {
            memo.remember(key, found.0.as_second() - ms);
        }
        _ => {}
    }
    Some(found)
}

/// Whether a line has the CLF shape `[dd/Mon/yyyy:HH:MM:SS ±zzzz] "`.
pub(super) fn looks_like(line: &[u8]) -> bool {
    matches!(find_time(line), Some((_, _, end)) if line.get(end..).is_some_and(|r| r.starts_with(b" \"")))
}

/// Full parse; falls back to a bare web record when the shape is wrong.
pub(super) fn record(line: &[u8]) -> Record<'_> {
    record_from(line, find_time(line))
}

/// [`record`] with the time found through the memo of [`time_memo`]: a
/// line the detectors parse was just dated, and reading its time again
/// in full was a tenth of the parse.
pub(super) fn record_memo<'a>(line: &'a [u8], memo: &mut ClfMemo) -> Record<'a> {
    record_from(line, find_time_memo(line, memo))
}

fn record_from(line: &[u8], found: Option<(Timestamp, usize, usize)>) -> Record<'_> {
    let Some((t, open, close)) = found else {
        return Record::bare(line, None, Family::Web);
    };
    let mut rec = Record::bare(line, Some(t), Family::Web);
    let fields = &mut rec.fields;
    // Up to ten fields (with a query): one allocation per record.
    fields.reserve(10);

    // Prefix: [vhost] ip ident user. The first four tokens tell the shapes
    // apart (no allocation); with a vhost, the user is every token after
    // the ident.
    let prefix = line.get(..open).unwrap_or_default().trim_ascii();
    let mut toks = prefix.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let first: [Option<&[u8]>; 4] = std::array::from_fn(|_| toks.next());
    match first {
        [None, ..] => {}
        [Some(ip), None, ..] | [Some(ip), Some(_), None, _] => push(fields, "c-ip", ip),
        [Some(ip), Some(_), Some(user), None] => {
            push(fields, "c-ip", ip);
            push(fields, "cs-username", user);
        }
        [Some(vhost), Some(ip), Some(_), Some(user)] => {
            push(fields, "cs-host", super::strip_port(vhost));
            push(fields, "c-ip", ip);
            match toks.next() {
                None => push(fields, "cs-username", user),
                Some(more) => {
                    let all: Vec<&[u8]> = [user, more].into_iter().chain(toks).collect();
                    super::push_owned(fields, "cs-username", &all.join(&b' '));
                }
            }
        }
    }

    let Some(rest) = line.get(close..).and_then(|r| r.strip_prefix(b" \"")) else {
        return rec;
    };
    let Some(split) = find_status(rest) else {
        // The request never closes in a recognisable way: keep what we have,
        // plus the request text so rules can still match it.
        push_request(fields, rest.strip_suffix(b"\"").unwrap_or(rest), false);
        return rec;
    };
    push_request(fields, &rest[..split.req_end], false);
    push(fields, "sc-status", &rest[split.status.0..split.status.1]);
    push(fields, "sc-bytes", &rest[split.bytes.0..split.bytes.1]);
    let tail = &rest[split.bytes.1..];
    if let Some((referer, ua)) = referer_and_ua(tail) {
        push(fields, "cs-referer", referer);
        if let Some(ua) = ua {
            push(fields, "cs-user-agent", ua);
        }
    }
    rec
}

/// Where the request text `record` takes from the line ends (its closing
/// quote): the request path lies before it, the referer and user agent
/// after. The line's length when `record` finds no such split.
pub(super) fn request_end(line: &[u8]) -> usize {
    find_time(line).map_or(line.len(), |(_, _, close)| request_end_close(line, close))
}

/// [`request_end`] of a line just dated through `memo` (see
/// [`time_memo`]): its time's brackets from the memo, not a full parse.
pub(super) fn request_end_memo(line: &[u8], memo: &ClfMemo) -> usize {
    match crate::lines::find_near(line, b'[') {
        Some(open) if memo_seconds(&line[open + 1..], memo).is_some() => {
            request_end_close(line, open + 28)
        }
        _ => request_end(line),
    }
}

/// [`request_end`] given the index just past the time's `]`.
fn request_end_close(line: &[u8], close: usize) -> usize {
    let Some(rest) = line.get(close..).and_then(|r| r.strip_prefix(b" \"")) else {
        return line.len();
    };
    find_status(rest).map_or(line.len(), |s| close + 2 + s.req_end)
}

/// Where the request ends and status/bytes sit, as byte ranges in `rest`.
struct StatusSplit {
    req_end: usize,
    status: (usize, usize),
    bytes: (usize, usize),
}

/// Finds `" NNN BYTES` after the request. Candidates are tried from the
/// right; one counts when what follows the bytes is nothing (common format)
/// or starts with ` "` and holds at least two quoted fields (referer and UA),
/// so a user agent that itself contains `" 200 1 "` does not win.
fn find_status(rest: &[u8]) -> Option<StatusSplit> {
    let mut best_fallback: Option<StatusSplit> = None;
    let mut end = rest.len();
    // Bound the work per line: at most this many candidates are examined.
    for _ in 0..64 {
        let q = memchr::memrchr(b'"', rest.get(..end)?)?;
        end = q;
        let Some(split) = status_at(rest, q) else {
            continue;
        };
        let tail = &rest[split.bytes.1..];
        let two_quoted = tail.starts_with(b" \"") && QUOTE_SPACE_QUOTE.find(&tail[2..]).is_some();
        if tail.is_empty() || two_quoted {
            return Some(split);
        }
        if best_fallback.is_none() {
            best_fallback = Some(split);
        }
    }
    best_fallback
}

/// Checks for `" NNN BYTES` at quote index `q` (BYTES is digits or `-`,
/// then end of line or a space).
fn status_at(rest: &[u8], q: usize) -> Option<StatusSplit> {
    let s0 = q + 2;
    if rest.get(q + 1) != Some(&b' ') {
        return None;
    }
    let status = rest.get(s0..s0 + 3)?;
    if !status.iter().all(u8::is_ascii_digit) || rest.get(s0 + 3) != Some(&b' ') {
        return None;
    }
    let b0 = s0 + 4;
    let after = rest.get(b0..)?;
    let blen = after.iter().position(|&b| b == b' ').unwrap_or(after.len());
    let bytes = &after[..blen];
    // A byte count has at most 20 digits; longer runs are not a count.
    if bytes.is_empty()
        || bytes.len() > 20
        || !(bytes == b"-" || bytes.iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    Some(StatusSplit {
        req_end: q,
        status: (s0, s0 + 3),
        bytes: (b0, b0 + blen),
    })
}

/// ` "referer" "user-agent" [extra…]` → (referer, user agent). The referer
/// ends at the first `" "`; the user agent ends at the first `"` followed
/// by end of line or by another field (` "…`, or ` ` + digit/`-`),
/// else at the last quote.
fn referer_and_ua(tail: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let body = tail.strip_prefix(b" \"")?;
    let Some(sep) = QUOTE_SPACE_QUOTE.find(body) else {
        let referer = body.strip_suffix(b"\"").unwrap_or(body);
        return Some((referer, None));
    };
    let referer = &body[..sep];
    let ua_all = &body[sep + 3..];
    let mut ua_end = None;
    for q in memchr::memchr_iter(b'"', ua_all) {
        let next = ua_all.get(q + 1..).unwrap_or_default();
        let ends_field = next.is_empty()
            || next.starts_with(b" \"")
            || (next.first() == Some(&b' ')
                && next
                    .get(1)
                    .is_some_and(|b| b.is_ascii_digit() || *b == b'-'));
        if ends_field {
            ua_end = Some(q);
            break;
        }
    }
    let ua_end = ua_end
        .or_else(|| memchr::memrchr(b'"', ua_all))
        .unwrap_or(ua_all.len());
    Some((referer, Some(&ua_all[..ua_end])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{LineParser, LogFormat, ParseOptions};
    use crate::test_util;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn parser() -> LineParser {
        LineParser::new(LogFormat::Combined, ParseOptions::default())
    }
    fn check<'a>(line: &'a [u8]) -> Record<'a> {
        let p = parser();
        let r = p.record(line);
        assert_eq!(p.time(line), r.time, "time() == record().time");
        assert_eq!(r.family, Family::Web);
        r
    }

    // From /work/shared/corpora/elastic_examples_apache_logs.log.
    const ELASTIC: &[u8] = b"83.149.9.216 - - [17/May/2015:10:05:03 +0000] \"GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1\" 200 203023 \"http://semicomplete.com/presentations/logstash-monitorama-2013/\" \"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36\"";
    // From /work/shared/corpora/nielsbasjes_logparser_hackers-access.log.
    const BASJES: &[u8] = b"23.95.237.180 - - [25/Oct/2015:04:11:27 +0100] \"POST /join_form HTTP/1.1\" 302 9093 \"http://howto.basjes.nl/join_form\" \"Mozilla/5.0 (Windows NT 5.1; rv:35.0) Gecko/20100101 Firefox/35.0\"";

    #[test]
    fn real_combined_lines() {
        let r = check(ELASTIC);
        assert_eq!(r.time, Some(ts("2015-05-17T10:05:03Z")));
        assert_eq!(r.get("c-ip"), Some("83.149.9.216"));
        assert_eq!(r.get("cs-method"), Some("GET"));
        assert_eq!(
            r.get("cs-uri-stem"),
            Some("/presentations/logstash-monitorama-2013/images/kibana-search.png")
        );
        assert_eq!(r.get("cs-uri-query"), None);
        assert_eq!(r.get("cs-version"), Some("HTTP/1.1"));
        assert_eq!(r.get("sc-status"), Some("200"));
        assert_eq!(r.get("sc-bytes"), Some("203023"));
        assert_eq!(
            r.get("cs-referer"),
            Some("http://semicomplete.com/presentations/logstash-monitorama-2013/")
        );
        assert!(r.get("cs-user-agent").unwrap().ends_with("Safari/537.36"));
        assert!(!r.has("cs-username"));

        let r = check(BASJES);
        assert_eq!(r.time, Some(ts("2015-10-25T03:11:27Z")));
        assert_eq!(r.get("cs-method"), Some("POST"));
        assert_eq!(r.get("sc-status"), Some("302"));
    }

    #[cfg(feature = "shared-corpora")]
    #[test]
    fn shared_corpora_parse_whole() {
        for name in [
            "elastic_examples_apache_logs.log",
            "nielsbasjes_logparser_hackers-access.log",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/corpora")
                .join(name);
            let data = std::fs::read(&path).expect("../shared/corpora is readable");
            let p = parser();
            let mut n = 0;
            let mut memo = crate::format::TimeMemo::default();
            for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let r = p.record(line);
                assert_eq!(p.time(line), r.time);
                assert_eq!(p.time_memo(line, &mut memo), r.time);
                assert!(r.time.is_some(), "{}", String::from_utf8_lossy(line));
                assert!(r.has("sc-status"), "{}", String::from_utf8_lossy(line));
                n += 1;
            }
            assert!(n > 100);
        }
    }

    /// The request path of every record lies in the part of its line
    /// `request_part` gives: on lines whose request holds quotes and status
    /// look-alikes, whose referer or user agent does, and on garbage.
    #[test]
    fn request_paths_lie_in_the_request_part() {
        let p = parser();
        let mut lines: Vec<Vec<u8>> = [
            r#"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "GET /checkout/cart HTTP/1.1" 200 1 "https://s.example/cart" "UA""#,
            r#"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "GET /a" 200 1 "b" HTTP/1.1" 200 1 "https://s.example/cart" "UA""#,
            r#"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "GET /a?q=" 404 5 " HTTP/1.1" 200 1 "-" "UA" 200 1 "x""#,
            r#"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "GET /p/checkout HTTP/1.1" 200 1 "-" "UA "" 302 1 "x" "y""#,
            r#"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "GET /basket HTTP/1.1" 200 1"#,
            r#"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "GET /basket HTTP/1.1"#,
            r#"shop.example 1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "POST http://x.example/pay HTTP/1.1" 200 -"#,
            r#"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] "" 400 0 "-" "-""#,
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
        // Requests, statuses, referers and user agents cut and shuffled.
        let pieces: [&[u8]; 13] = [
            b"\" 200 1 ",
            b"\" 404 - ",
            b"\" 20x 1 ",
            b" HTTP/1.1",
            b"/cart",
            b"?q=",
            b" ",
            b"\"",
            b"x",
            b"\"-\" \"UA\"",
            b"\"https://s.example/checkout\"",
            b"\xff\xfe",
            b"[25/Sep/2017:21:30:00 -0400]",
        ];
        let mut rand = test_util::rng(0x5eed_f00d);
        for _ in 0..3000 {
            let mut l = b"1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] \"GET /".to_vec();
            for _ in 0..rand(12) {
                l.extend_from_slice(pieces[rand(pieces.len() as u64) as usize]);
            }
            lines.push(l);
        }
        lines.extend(test_util::garbage(11, 500, b"\" 200 1 HTTP/1.1 /cart?-"));
        let mut split = 0;
        let mut memo = crate::format::TimeMemo::default();
        for l in &lines {
            let part = p.request_part(l);
            p.time_memo(l, &mut memo);
            assert_eq!(p.request_part_memo(l, &memo), part);
            split += usize::from(part.len() < l.len());
            let rec = p.record(l);
            for name in ["cs-uri-stem", "cs-uri", "cs-uri-query", "cs-method"] {
                let Some(v) = rec.get(name) else { continue };
                let (start, end) = (v.as_ptr() as usize, v.as_ptr() as usize + v.len());
                let base = l.as_ptr() as usize;
                // Values with invalid UTF-8 are lossy copies: found by text.
                let inside = if start >= base && start <= base + l.len() {
                    end <= base + part.len()
                } else {
                    String::from_utf8_lossy(part).contains(v)
                };
                assert!(
                    inside,
                    "{name} outside the request part: {}",
                    String::from_utf8_lossy(l)
                );
            }
        }
        assert!(split > 200, "only {split} lines split");
    }

    /// The same with more hours than the memo holds, in a random order
    /// (two zones mostly, as in two servers' merged logs), with minutes and
    /// seconds that take the full parse now and then.
    #[test]
    fn time_memo_equals_the_full_parse_on_interleaved_hours_and_zones() {
        let p = parser();
        let hours = [
            "25/Sep/2017:21:",
            "25/Sep/2017:22:",
            "26/Sep/2017:01:",
            "31/Dec/2016:23:",
            "01/Jan/2017:00:",
        ];
        let zones = ["+0000", "-0400", "+0530", "+0900"];
        let mut rand = test_util::rng(0x1e7e_a5ed_0000_0001);
        let mut memo = crate::format::TimeMemo::default();
        for _ in 0..20_000 {
            let h = hours[rand(hours.len() as u64) as usize];
            let z = zones[if rand(10) == 0 { rand(4) } else { rand(2) } as usize];
            let (m, sec) = (rand(62), rand(62));
            let line = format!("1.2.3.4 - - [{h}{m:02}:{sec:02} {z}] \"GET / HTTP/1.1\" 200 1");
            let l = line.as_bytes();
            assert_eq!(p.time_memo(l, &mut memo), p.time(l), "{line}");
        }
    }

    /// The memo gives exactly the full parse's answer, line after line,
    /// whatever came before: same hour, other offsets, one-digit days,
    /// fractions, leap seconds, a bad first bracket, garbage.
    #[test]
    fn time_memo_equals_the_full_parse() {
        let p = parser();
        let lines: Vec<Vec<u8>> = [
            "1.2.3.4 - - [25/Sep/2017:21:30:00 -0400] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:59:59 -0400] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:59:59 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:59:60 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:61:00 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:07:08.250 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:07:09 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [5/Sep/2017:21:07:09 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:aa:09 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - [x] [25/Sep/2017:21:07:10 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:07:11 +0000 \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Xyz/2017:21:07:11 +0000] [25/Sep/2017:21:07:12 +0000]",
            "1.2.3.4 - - [25/Sep/2017:21:07:13 +0000] \"GET / HTTP/1.1\" 200 1",
            // Same key as the line before, a separator the key does not hold
            // broken.
            "1.2.3.4 - - [25/Sep/2017:21-07:13 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:07-13 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [25/Sep/2017:21:0x:13 +0000] \"GET / HTTP/1.1\" 200 1",
            "[25/Sep/2017:22:00:00 +0530]",
            "[25/Sep/2017:22:00:01 +0530]",
            // A short offset whose key bytes look fixed-width: the `]` is
            // not 27 bytes on (the memo once said it was).
            "1.2.3.4 - - [01/Sep/2017:01:08:56 +00]0] \"GET /f?a HTTP/1.1\" 200 1 \"-\" \"UA\"",
            "1.2.3.4 - - [01/Sep/2017:01:08:57 +00]0] \"GET /f?a HTTP/1.1\" 200 1 \"-\" \"UA\"",
            "no time here",
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .chain(test_util::garbage(7, 300, b"[]/0123456789: +-Sep2017"))
        .collect();
        for start in 0..lines.len() {
            let mut memo = crate::format::TimeMemo::default();
            for l in lines[start..].iter().chain(&lines[..start]) {
                assert_eq!(
                    p.time_memo(l, &mut memo),
                    p.time(l),
                    "{}",
                    String::from_utf8_lossy(l)
                );
            }
        }
        // The record parsed through the memo (after dating, as the scan
        // does, or on its own) is the full parse's.
        for start in 0..lines.len() {
            let mut memo = crate::format::TimeMemo::default();
            for (i, l) in lines[start..].iter().chain(&lines[..start]).enumerate() {
                if i % 3 != 0 {
                    p.time_memo(l, &mut memo);
                }
                assert_eq!(p.request_part_memo(l, &memo), p.request_part(l));
                let (a, b) = (p.record_memo(l, &mut memo), p.record(l));
                assert_eq!(
                    (a.time, &a.fields),
                    (b.time, &b.fields),
                    "{}",
                    String::from_utf8_lossy(l)
                );
            }
        }
        let mut memo = crate::format::TimeMemo::default();
        assert_eq!(
            p.time_memo(&lines[0], &mut memo),
            Some(ts("2017-09-26T01:30:00Z"))
        );
    }

    #[test]
    fn common_format_query_and_user() {
        let r = check(b"10.0.0.1 - frank [10/Oct/2017:13:55:36 -0700] \"GET /checkout/pay.php?step=2&x=%3Cscript%3E HTTP/1.0\" 200 2326");
        assert_eq!(r.time, Some(ts("2017-10-10T20:55:36Z")));
        assert_eq!(r.get("cs-username"), Some("frank"));
        assert_eq!(r.get("cs-uri-stem"), Some("/checkout/pay.php"));
        assert_eq!(r.get("cs-uri-query"), Some("step=2&x=%3Cscript%3E"));
        assert_eq!(
            r.get("cs-uri"),
            Some("/checkout/pay.php?step=2&x=%3Cscript%3E")
        );
        assert!(!r.has("cs-referer"));
    }

    #[test]
    fn vhost_prefix_with_a_spaced_user_and_an_absolute_uri() {
        let r = check(b"shop.example:80  10.0.0.9 -  john   q  doe [10/Oct/2017:13:55:36 -0700] \"GET https://shop.example/cart?x=1 HTTP/1.1\" 200 5 \"-\" \"UA\"");
        assert_eq!(r.get("cs-host"), Some("shop.example"));
        assert_eq!(r.get("c-ip"), Some("10.0.0.9"));
        assert_eq!(r.get("cs-username"), Some("john q doe"));
        assert_eq!(r.get("cs-uri-stem"), Some("/cart"));
        assert_eq!(r.get("cs-uri"), Some("/cart?x=1"));
        let r = check(b"1.2.3.4 - [10/Oct/2017:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5");
        assert_eq!(r.get("c-ip"), Some("1.2.3.4"));
        assert!(!r.has("cs-username"));
    }

    #[test]
    fn vhost_prefix_and_dash_fields() {
        let r = check(b"www.example.com:443 1.2.3.4 - - [10/Oct/2017:13:55:36 -0700] \"GET / HTTP/1.1\" 304 - \"-\" \"-\"");
        assert_eq!(r.get("cs-host"), Some("www.example.com"));
        assert_eq!(r.get("c-ip"), Some("1.2.3.4"));
        assert_eq!(r.get("sc-status"), Some("304"));
        assert!(!r.has("sc-bytes"));
        assert!(!r.has("cs-referer"));
        assert!(!r.has("cs-user-agent"));
        assert!(!r.has("cs-username"));
    }

    #[test]
    fn raw_spaces_and_quotes_in_request() {
        let r = check(b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"GET /a\" b\" HTTP/1.1\" 404 12 \"-\" \"sqlmap/1.0\"");
        assert_eq!(r.get("cs-method"), Some("GET"));
        assert_eq!(r.get("cs-uri-stem"), Some("/a\" b\""));
        assert_eq!(r.get("cs-version"), Some("HTTP/1.1"));
        assert_eq!(r.get("sc-status"), Some("404"));
        assert_eq!(r.get("cs-user-agent"), Some("sqlmap/1.0"));

        let r = check(b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"GET /x?q=<script src=\"//evil.example/s.js\"></script> HTTP/1.1\" 200 5 \"-\" \"Mozilla\" 200 1 \"x\"");
        assert_eq!(
            r.get("cs-uri-query"),
            Some("q=<script src=\"//evil.example/s.js\"></script>")
        );
        assert_eq!(r.get("sc-status"), Some("200"));

        // A user agent that contains a fake status pattern.
        let r = check(b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"GET /ok HTTP/1.1\" 200 5 \"-\" \"evil\" 500 1 \"z\"");
        assert_eq!(r.get("cs-uri-stem"), Some("/ok"));
        assert_eq!(r.get("sc-status"), Some("200"));
        assert_eq!(r.get("cs-user-agent"), Some("evil"));
    }

    #[test]
    fn malformed_and_truncated_lines_stay_records() {
        let r = check(b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"GET /trunc");
        assert_eq!(r.time, Some(ts("2017-09-26T10:00:00Z")));
        assert_eq!(r.get("cs-uri-stem"), Some("/trunc"));
        let r = check(b"1.2.3.4 - - [26/Sep/2017:10:0");
        assert_eq!(r.time, None);
        assert!(r.fields.is_empty());
        let r = check(
            b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"\\x16\\x03\\x01\" 400 0 \"-\" \"-\"",
        );
        assert_eq!(r.get("sc-status"), Some("400"));
        let r = check(b"");
        assert_eq!(r.time, None);
        let r = check(b"[[[[[[[[[[[[[[[[[[[[[[[[[[26/Sep/2017:10:00:00 +0000]");
        assert_eq!(r.time, None, "bounded bracket search");
    }

    #[test]
    fn invalid_utf8_does_not_stop_parsing() {
        let r = check(b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"GET /\xff\xfe?a=\xc3 HTTP/1.1\" 200 5 \"-\" \"UA\xff\"");
        assert_eq!(r.get("cs-uri-stem"), Some("/\u{fffd}\u{fffd}"));
        assert_eq!(r.get("sc-status"), Some("200"));
        assert_eq!(r.get("cs-user-agent"), Some("UA\u{fffd}"));
    }

    #[test]
    fn huge_line() {
        let mut line = b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"GET /".to_vec();
        line.extend(std::iter::repeat_n(b'"', 1 << 20));
        line.extend_from_slice(b" HTTP/1.1\" 200 5 \"-\" \"UA\"");
        let r = check(&line);
        assert_eq!(r.get("sc-status"), Some("200"));
        let mut line = b"1.2.3.4 - - [26/Sep/2017:10:00:00 +0000] \"".to_vec();
        line.extend(std::iter::repeat_n(b"\" 200 x".as_slice(), 150_000).flatten());
        let r = check(&line);
        assert_eq!(r.time, Some(ts("2017-09-26T10:00:00Z")));
    }

    #[test]
    fn garbage_never_panics() {
        let p = parser();
        for g in test_util::garbage(42, 3000, b"[]\" -/:0123456789OctSep+HTTP") {
            let r = p.record(&g);
            assert_eq!(p.time(&g), r.time);
        }
    }
}
