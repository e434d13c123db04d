//! Timestamp parsing for log lines: hand-rolled byte parsers for the fixed
//! formats (CLF, RFC 3339/ISO 8601, W3C, syslog) and epoch numbers.
//!
//! Everything returns a UTC [`Timestamp`]. Parsers never allocate and never
//! panic: every byte access is checked, so hostile input just yields `None`.
//! Values with an explicit offset are converted with plain arithmetic (the
//! hot path); zone-less values go through jiff's time zone rules.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Earliest instant accepted from an epoch number: 1990-01-01T00:00:00Z.
const EPOCH_MIN_SECS: i64 = 631_152_000;
/// Latest instant (exclusive) accepted from an epoch number: 2100-01-01T00:00:00Z.
const EPOCH_MAX_SECS: i64 = 4_102_444_800;

/// A broken-down civil time as read from the bytes, not yet validated.
#[derive(Clone, Copy, Debug, Default)]
struct Civil {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nano: u32,
}

/// Where the zone of a parsed value comes from.
#[derive(Clone, Copy, Debug)]
enum Zone {
    /// No zone given: read in the caller's time zone.
    Local,
    /// A fixed offset east of UTC, in seconds.
    Offset(i32),
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Civil {
    /// Range checks; a leap second (`:60`) is folded into `:59` because jiff
    /// (like most log tooling) has no leap seconds.
    fn validate(mut self) -> Option<Civil> {
        if !(1..=9999).contains(&self.year)
            || !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
            || self.nano > 999_999_999
        {
            return None;
        }
        if self.second == 60 {
            self.second = 59;
        }
        Some(self)
    }

    /// Days since 1970-01-01 of the (validated) date, proleptic Gregorian.
    fn days_from_epoch(&self) -> i64 {
        // Shift the year so it starts in March: the leap day is then the last
        // day of the year and month lengths follow a fixed 153-day pattern.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Converts with a fixed offset (seconds east of UTC).
    fn to_timestamp_offset(self, offset: i32) -> Option<Timestamp> {
        let c = self.validate()?;
        let secs = c.days_from_epoch() * 86_400
            + i64::from(c.hour) * 3600
            + i64::from(c.minute) * 60
            + i64::from(c.second)
            - i64::from(offset);
        Timestamp::new(secs, c.nano as i32).ok()
    }

    /// Converts a zone-less value read in `tz` (DST gaps/folds resolved the
    /// "compatible" way: a gap moves forward, a fold takes the earlier one).
    fn to_timestamp_tz(self, tz: &TimeZone) -> Option<Timestamp> {
        let c = self.validate()?;
        if let Some(off) = fixed_offset_seconds(tz) {
            return c.to_timestamp_offset(off);
        }
        let dt = DateTime::new(
            i16::try_from(c.year).ok()?,
            c.month as i8,
            c.day as i8,
            c.hour as i8,
            c.minute as i8,
            c.second as i8,
            c.nano as i32,
        )
        .ok()?;
        tz.to_timestamp(dt).ok()
    }

    fn resolve(self, zone: Zone, tz: &TimeZone) -> Option<Timestamp> {
        match zone {
            Zone::Offset(off) => self.to_timestamp_offset(off),
            Zone::Local => self.to_timestamp_tz(tz),
        }
    }
}

/// The offset of a time zone that never changes (UTC or a fixed offset),
/// so zone-less values in the common UTC case skip the tz rules entirely.
fn fixed_offset_seconds(tz: &TimeZone) -> Option<i32> {
    // Named zones are checked by name first: asking jiff for the fixed
    // offset of a named zone builds an error value on every call.
    match tz.iana_name() {
        Some("UTC" | "Etc/UTC" | "Etc/UCT" | "UCT" | "Zulu" | "Etc/Zulu") => Some(0),
        Some(_) => None,
        None => tz.to_fixed_offset().ok().map(|o| o.seconds()),
    }
}

/// A tiny checked cursor over untrusted bytes.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cur { s, i: 0 }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i.checked_add(k)?).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let mut v: u32 = 0;
        for k in 0..n {
            let d = self.peek_at(k)?;
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(d - b'0');
        }
        self.i += n;
        Some(v)
    }
    /// One or two digits (space-padded days, single-digit days).
    fn digits_1_2(&mut self) -> Option<u32> {
        let a = self.peek().filter(u8::is_ascii_digit)?;
        self.i += 1;
        match self.peek() {
            Some(b) if b.is_ascii_digit() => {
                self.i += 1;
                Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
            }
            _ => Some(u32::from(a - b'0')),
        }
    }
    /// A fraction after '.' or ',' (already consumed): any number of digits,
    /// the first nine kept as nanoseconds. At least one digit is required.
    fn fraction(&mut self) -> Option<u32> {
        let mut nano: u32 = 0;
        let mut n = 0usize;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            if n < 9 {
                nano = nano * 10 + u32::from(d - b'0');
            }
            n += 1;
            self.i += 1;
        }
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nano *= 10;
        }
        Some(nano)
    }
}

/// Month abbreviation (case-insensitive) → 1..=12.
fn month_abbr(b: &[u8]) -> Option<u32> {
    let [a, b, c] = *b else { return None };
    let m = [
        a.to_ascii_lowercase(),
        b.to_ascii_lowercase(),
        c.to_ascii_lowercase(),
    ];
    Some(match &m {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// `±HHMM` / `±HH:MM` / `±HH` → seconds east of UTC; the cursor is on the sign.
fn parse_offset(c: &mut Cur<'_>) -> Option<i32> {
    let sign: i32 = match c.peek()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let start = c.i;
    c.i += 1;
    let Some(h) = c.digits(2) else {
        c.i = start;
        return None;
    };
    let m = if c.peek() == Some(b':') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.i += 1;
        c.digits(2)
    } else if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        c.digits(2)
    } else {
        Some(0)
    };
    match m {
        Some(m) if h <= 23 && m <= 59 => Some(sign * (h as i32 * 3600 + m as i32 * 60)),
        _ => {
            c.i = start;
            None
        }
    }
}

/// Parses a Common Log Format time, `10/Oct/2017:13:55:36 -0700` (the part
/// between the brackets). A fraction after the seconds is tolerated.
pub fn parse_clf(s: &[u8]) -> Option<Timestamp> {
    let (t, used) = parse_clf_prefix(s)?;
    (used == s.len()).then_some(t)
}

/// Like [`parse_clf`] but stops after the offset and returns the bytes used.
pub fn parse_clf_prefix(s: &[u8]) -> Option<(Timestamp, usize)> {
    let mut c = Cur::new(s);
    let day = c.digits_1_2()?;
    if !c.eat(b'/') {
        return None;
    }
    let month = month_abbr(s.get(c.i..c.i + 3)?)?;
    c.i += 3;
    if !c.eat(b'/') {
        return None;
    }
    let year = c.digits(4)? as i32;
    if !c.eat(b':') {
        return None;
    }
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let second = c.digits(2)?;
    let nano = if c.eat(b'.') { c.fraction()? } else { 0 };
    if !c.eat(b' ') {
        return None;
    }
    let off = parse_offset(&mut c)?;
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nano,
    };
    Some((civil.to_timestamp_offset(off)?, c.i))
}

/// The date and optional time-of-day of an ISO 8601 value, plus its zone.
fn parse_iso_civil(s: &[u8]) -> Option<(Civil, Zone, usize)> {
    let mut c = Cur::new(s);
    let year = c.digits(4)? as i32;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    let mut civil = Civil {
        year,
        month,
        day,
        ..Civil::default()
    };
    let date_end = c.i;
    // A time part only counts when the separator is followed by HH:MM;
    // otherwise the value is date-only and the rest is trailing text.
    let sep = matches!(c.peek(), Some(b'T' | b't' | b' '));
    let has_time = sep
        && c.peek_at(1).is_some_and(|b| b.is_ascii_digit())
        && c.peek_at(2).is_some_and(|b| b.is_ascii_digit())
        && c.peek_at(3) == Some(b':');
    if !has_time {
        return Some((civil, Zone::Local, date_end));
    }
    c.i += 1;
    civil.hour = c.digits(2)?;
    c.eat(b':');
    civil.minute = c.digits(2)?;
    if c.peek() == Some(b':') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.i += 1;
        civil.second = c.digits(2)?;
        if matches!(c.peek(), Some(b'.' | b',')) && c.peek_at(1).is_some_and(|b| b.is_ascii_digit())
        {
            c.i += 1;
            civil.nano = c.fraction()?;
        }
    }
    let zone = match c.peek() {
        Some(b'Z' | b'z') => {
            c.i += 1;
            Zone::Offset(0)
        }
        Some(b'+' | b'-') => match parse_offset(&mut c) {
            Some(off) => Zone::Offset(off),
            None => Zone::Local,
        },
        // "2017-09-26 13:55:36 +0000": a space then a numeric offset.
        Some(b' ') if matches!(c.peek_at(1), Some(b'+' | b'-')) => {
            let save = c.i;
            c.i += 1;
            match parse_offset(&mut c) {
                Some(off) => Zone::Offset(off),
                None => {
                    c.i = save;
                    Zone::Local
                }
            }
        }
        _ => Zone::Local,
    };
    Some((civil, zone, c.i))
}

/// Parses an RFC 3339 / ISO 8601 value: `T`, `t` or space separator,
/// optional seconds and fraction (any digits; `.` or `,`), `Z`, `±HH:MM`,
/// `±HHMM` or `±HH`. Zone-less values (and date-only values, which mean the
/// start of that day) are read in `tz`. The whole input must be used.
pub fn parse_iso(s: &[u8], tz: &TimeZone) -> Option<Timestamp> {
    let (t, used) = parse_iso_prefix(s, tz)?;
    (used == s.len()).then_some(t)
}

/// Like [`parse_iso`] but accepts trailing bytes and returns how many bytes
/// the timestamp used.
pub fn parse_iso_prefix(s: &[u8], tz: &TimeZone) -> Option<(Timestamp, usize)> {
    let (civil, zone, used) = parse_iso_civil(s)?;
    Some((civil.resolve(zone, tz)?, used))
}

/// Parses epoch seconds, milliseconds, microseconds or nanoseconds (chosen
/// by magnitude), integer or decimal. Only instants in 1990..2100 are
/// accepted so that ordinary numbers are not mistaken for times.
pub fn parse_epoch(s: &str) -> Option<Timestamp> {
    let b = s.trim().as_bytes();
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (b.get(..p)?, b.get(p + 1..)?),
        None => (b, &b[b.len()..]),
    };
    if int.is_empty() || int.len() > 19 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !frac.iter().all(u8::is_ascii_digit) || (frac.is_empty() && b.len() != int.len()) {
        return None;
    }
    let mut v: i64 = 0;
    for &d in int {
        v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    // Nanoseconds per unit for the magnitude the integer part falls in.
    let unit: i128 = epoch_unit(v as f64)?;
    let mut frac_ns: i128 = 0;
    let mut scale = unit;
    for &d in frac.iter().take(18) {
        scale /= 10;
        if scale == 0 {
            break;
        }
        frac_ns += i128::from(d - b'0') * scale;
    }
    Timestamp::from_nanosecond(i128::from(v) * unit + frac_ns).ok()
}

/// Nanoseconds per unit when `v` is an epoch value in seconds, ms, µs or ns.
fn epoch_unit(v: f64) -> Option<i128> {
    let (lo, hi) = (EPOCH_MIN_SECS as f64, EPOCH_MAX_SECS as f64);
    [1_000_000_000i128, 1_000_000, 1_000, 1]
        .into_iter()
        .zip([1.0, 1e3, 1e6, 1e9])
        .find(|&(_, m)| v >= lo * m && v < hi * m)
        .map(|(u, _)| u)
}

/// Epoch value carried as a JSON float (possibly in exponent form).
pub(crate) fn parse_epoch_f64(v: f64) -> Option<Timestamp> {
    if !v.is_finite() {
        return None;
    }
    let unit = epoch_unit(v)?;
    // Precision beyond what an f64 carries is lost anyway.
    let ns = v * (unit as f64);
    Timestamp::from_nanosecond(ns as i128).ok()
}

/// A JSON time value: an ISO string, a CLF string, a numeric-string epoch,
/// or a number epoch.
pub fn parse_json_value(v: &serde_json::Value, tz: &TimeZone) -> Option<Timestamp> {
    match v {
        serde_json::Value::String(s) => parse_time_text(s.as_bytes(), tz),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                parse_epoch(itoa_buf(u, &mut [0u8; 20]))
            } else {
                parse_epoch_f64(n.as_f64()?)
            }
        }
        _ => None,
    }
}

/// Formats an integer into a stack buffer (no allocation on the hot path).
fn itoa_buf(mut u: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 || i == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}

/// A standalone time text of unknown shape: ISO 8601, CLF, or epoch digits.
pub fn parse_time_text(s: &[u8], tz: &TimeZone) -> Option<Timestamp> {
    let s = s.trim_ascii();
    let first = *s.first()?;
    if first.is_ascii_digit() {
        if let Some(t) = parse_iso(s, tz) {
            return Some(t);
        }
        if let Some(t) = parse_clf(s) {
            return Some(t);
        }
        return parse_epoch(std::str::from_utf8(s).ok()?);
    }
    None
}

/// Finds a time at the start of a plain text line: ISO 8601 / RFC 3339,
/// RFC 5424 syslog (`<34>1 2003-10-11T22:14:15.003Z host …`), RFC 3164 syslog
/// (`Oct 11 22:14:15 host …`, optionally after `<PRI>`; no year, so `year`
/// is used and the value is read in `tz`), and bracketed CLF / Apache
/// error-log times (`[10/Oct/2017:13:55:36 -0700]`,
/// `[Wed Oct 11 14:32:52.123 2017]`).
pub fn parse_line_start(line: &[u8], tz: &TimeZone, year: i16) -> Option<Timestamp> {
    let mut c = Cur::new(line);
    // Skip a UTF-8 byte-order mark and a little leading space.
    if line.starts_with(b"\xEF\xBB\xBF") {
        c.i = 3;
    }
    while c.peek() == Some(b' ') && c.i < 16 {
        c.i += 1;
    }
    let rest = line.get(c.i..)?;
    match rest.first()? {
        b'<' => parse_syslog(rest, tz, year),
        b'[' => {
            let inner = rest.get(1..)?;
            if let Some((t, _)) = parse_clf_prefix(inner) {
                return Some(t);
            }
            parse_ctime(inner, tz).or_else(|| parse_iso_prefix(inner, tz).map(|(t, _)| t))
        }
        b'0'..=b'9' => parse_iso_prefix(rest, tz).map(|(t, _)| t),
        _ => parse_rfc3164(rest, tz, year),
    }
}

/// `<PRI>` then either RFC 5424 (`1 ` + ISO time) or RFC 3164.
fn parse_syslog(s: &[u8], tz: &TimeZone, year: i16) -> Option<Timestamp> {
    let close = s.iter().take(5).position(|&b| b == b'>')?;
    let pri = s.get(1..close)?;
    if pri.is_empty() || !pri.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let rest = s.get(close + 1..)?;
    // RFC 5424: VERSION (1-2 digits) SP TIMESTAMP.
    let mut c = Cur::new(rest);
    if c.digits_1_2().is_some() && c.eat(b' ') {
        return parse_iso_prefix(rest.get(c.i..)?, tz).map(|(t, _)| t);
    }
    // Some relays put an ISO time directly after the PRI.
    if rest.first().is_some_and(u8::is_ascii_digit) {
        return parse_iso_prefix(rest, tz).map(|(t, _)| t);
    }
    parse_rfc3164(rest, tz, year)
}

/// `Mmm dd HH:MM:SS` (day space-padded or not), read in `tz` in `year`.
fn parse_rfc3164(s: &[u8], tz: &TimeZone, year: i16) -> Option<Timestamp> {
    let month = month_abbr(s.get(..3)?)?;
    let mut c = Cur::new(s);
    c.i = 3;
    if !c.eat(b' ') {
        return None;
    }
    c.eat(b' ');
    let day = c.digits_1_2()?;
    if !c.eat(b' ') {
        return None;
    }
    let (hour, minute, second, nano) = hms(&mut c)?;
    Civil {
        year: i32::from(year),
        month,
        day,
        hour,
        minute,
        second,
        nano,
    }
    .to_timestamp_tz(tz)
}

/// `HH:MM:SS[.frac]`.
fn hms(c: &mut Cur<'_>) -> Option<(u32, u32, u32, u32)> {
    let h = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let m = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let s = c.digits(2)?;
    let nano = if c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.i += 1;
        c.fraction()?
    } else {
        0
    };
    Some((h, m, s, nano))
}

/// Apache error-log time `Www Mmm dd HH:MM:SS[.frac] yyyy`, read in `tz`.
fn parse_ctime(s: &[u8], tz: &TimeZone) -> Option<Timestamp> {
    let mut c = Cur::new(s);
    let wd = s.get(..3)?;
    if !wd.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    c.i = 3;
    if !c.eat(b' ') {
        return None;
    }
    let month = month_abbr(s.get(c.i..c.i + 3)?)?;
    c.i += 3;
    if !c.eat(b' ') {
        return None;
    }
    c.eat(b' ');
    let day = c.digits_1_2()?;
    if !c.eat(b' ') {
        return None;
    }
    let (hour, minute, second, nano) = hms(&mut c)?;
    if !c.eat(b' ') {
        return None;
    }
    let year = c.digits(4)? as i32;
    Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nano,
    }
    .to_timestamp_tz(tz)
}

/// W3C extended log `date` (`2017-09-27`) and `time` (`13:55:36[.fff]`), UTC.
pub fn parse_w3c(date: &[u8], time: &[u8]) -> Option<Timestamp> {
    let mut c = Cur::new(date);
    let year = c.digits(4)? as i32;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if c.i != date.len() {
        return None;
    }
    let mut t = Cur::new(time);
    let (hour, minute, second, nano) = hms(&mut t)?;
    if t.i != time.len() {
        return None;
    }
    Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nano,
    }
    .to_timestamp_offset(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    #[test]
    fn clf_basic_and_offsets() {
        assert_eq!(
            parse_clf(b"10/Oct/2017:13:55:36 -0700"),
            Some(ts("2017-10-10T20:55:36Z"))
        );
        assert_eq!(
            parse_clf(b"17/May/2015:10:05:03 +0000"),
            Some(ts("2015-05-17T10:05:03Z"))
        );
        assert_eq!(
            parse_clf(b"25/Oct/2015:04:11:25 +0100"),
            Some(ts("2015-10-25T03:11:25Z"))
        );
        assert_eq!(
            parse_clf(b"29/Feb/2016:23:59:59 +0530"),
            Some(ts("2016-02-29T18:29:59Z"))
        );
        assert_eq!(parse_clf(b"29/Feb/2017:00:00:00 +0000"), None);
        assert_eq!(parse_clf(b"10/Oct/2017:13:55:36"), None);
        assert_eq!(parse_clf(b"10/Foo/2017:13:55:36 +0000"), None);
        assert_eq!(parse_clf(b"32/Oct/2017:13:55:36 +0000"), None);
        assert_eq!(parse_clf(b"10/Oct/2017:24:00:00 +0000"), None);
        assert_eq!(parse_clf(b""), None);
        assert_eq!(
            parse_clf_prefix(b"10/oct/2017:13:55:36 +0000] \"GET"),
            Some((ts("2017-10-10T13:55:36Z"), 26))
        );
    }

    #[test]
    fn iso_forms() {
        let utc = TimeZone::UTC;
        let want = ts("2017-09-26T13:55:36Z");
        for s in [
            "2017-09-26T13:55:36Z",
            "2017-09-26t13:55:36z",
            "2017-09-26 13:55:36Z",
            "2017-09-26T13:55:36+00:00",
            "2017-09-26T13:55:36+0000",
            "2017-09-26T13:55:36+00",
            "2017-09-26T09:55:36-04:00",
            "2017-09-26T09:55:36-0400",
            "2017-09-26T09:55:36-04",
            "2017-09-26 13:55:36 +0000",
            "2017-09-26T13:55:36",
        ] {
            assert_eq!(parse_iso(s.as_bytes(), &utc), Some(want), "{s}");
        }
        assert_eq!(
            parse_iso(b"2017-09-26T13:55:36.123456789123Z", &utc),
            Some(ts("2017-09-26T13:55:36.123456789Z"))
        );
        assert_eq!(
            parse_iso(b"2017-09-26 13:55:36,5", &utc),
            Some(ts("2017-09-26T13:55:36.5Z"))
        );
        assert_eq!(
            parse_iso(b"2017-09-26T13:55", &utc),
            Some(ts("2017-09-26T13:55:00Z"))
        );
        // Zone-less and date-only values are read in the given zone.
        assert_eq!(parse_iso(b"2017-09-26T09:55:36", &ny()), Some(want));
        assert_eq!(
            parse_iso(b"2017-09-26", &ny()),
            Some(ts("2017-09-26T04:00:00Z"))
        );
        // Leap day, leap second folded.
        assert_eq!(
            parse_iso(b"2016-02-29T12:00:00Z", &utc),
            Some(ts("2016-02-29T12:00:00Z"))
        );
        assert_eq!(parse_iso(b"2017-02-29T12:00:00Z", &utc), None);
        assert_eq!(
            parse_iso(b"2016-12-31T23:59:60Z", &utc),
            Some(ts("2016-12-31T23:59:59Z"))
        );
        // Trailing garbage is rejected by parse_iso, accepted by the prefix form.
        assert_eq!(parse_iso(b"2017-09-26T13:55:36Z trailing", &utc), None);
        assert_eq!(
            parse_iso_prefix(b"2017-09-26T13:55:36Z trailing", &utc),
            Some((want, 20))
        );
        assert_eq!(parse_iso(b"2017-13-01", &utc), None);
        assert_eq!(parse_iso(b"17-09-26", &utc), None);
        assert_eq!(parse_iso(b"", &utc), None);
    }

    #[test]
    fn iso_dst_gap_and_fold() {
        // 2017-03-12 02:30 does not exist in New York: moves forward.
        assert_eq!(
            parse_iso(b"2017-03-12T02:30:00", &ny()),
            Some(ts("2017-03-12T07:30:00Z"))
        );
        // 2017-11-05 01:30 happens twice: the earlier (EDT) one is taken.
        assert_eq!(
            parse_iso(b"2017-11-05T01:30:00", &ny()),
            Some(ts("2017-11-05T05:30:00Z"))
        );
    }

    #[test]
    fn fixed_offset_zone_fast_path() {
        let tz = TimeZone::fixed(jiff::tz::Offset::from_seconds(19_800).unwrap());
        assert_eq!(fixed_offset_seconds(&tz), Some(19_800));
        assert_eq!(fixed_offset_seconds(&TimeZone::UTC), Some(0));
        assert_eq!(fixed_offset_seconds(&ny()), None);
        assert_eq!(
            parse_iso(b"2017-09-26T19:25:36", &tz),
            Some(ts("2017-09-26T13:55:36Z"))
        );
    }

    #[test]
    fn epoch_units() {
        let want = ts("2017-09-26T13:55:36Z");
        assert_eq!(parse_epoch("1506434136"), Some(want));
        assert_eq!(parse_epoch("1506434136000"), Some(want));
        assert_eq!(parse_epoch("1506434136000000"), Some(want));
        assert_eq!(parse_epoch("1506434136000000000"), Some(want));
        assert_eq!(
            parse_epoch("1506434136.25"),
            Some(ts("2017-09-26T13:55:36.25Z"))
        );
        assert_eq!(
            parse_epoch("1506434136123.5"),
            Some(ts("2017-09-26T13:55:36.1235Z"))
        );
        assert_eq!(parse_epoch(" 1506434136 "), Some(want));
        for bad in [
            "",
            "12",
            "-1506434136",
            "1506434136.",
            ".5",
            "abc",
            "1e9",
            "99999999999999999999",
            "4102444800",
            "631151999",
        ] {
            assert_eq!(parse_epoch(bad), None, "{bad}");
        }
        assert_eq!(parse_epoch("631152000"), Some(ts("1990-01-01T00:00:00Z")));
    }

    #[test]
    fn json_values() {
        let utc = TimeZone::UTC;
        let want = ts("2017-09-26T13:55:36Z");
        let cases = [
            serde_json::json!("2017-09-26T13:55:36Z"),
            serde_json::json!("2017-09-26T13:55:36+0000"),
            serde_json::json!("2017-09-26 13:55:36"),
            serde_json::json!("26/Sep/2017:13:55:36 +0000"),
            serde_json::json!("1506434136"),
            serde_json::json!(1506434136),
            serde_json::json!(1506434136000u64),
            serde_json::json!(1506434136.0),
            serde_json::json!(1.506434136e18),
        ];
        for v in &cases {
            assert_eq!(parse_json_value(v, &utc), Some(want), "{v}");
        }
        assert_eq!(parse_json_value(&serde_json::json!(null), &utc), None);
        assert_eq!(parse_json_value(&serde_json::json!(-5), &utc), None);
        assert_eq!(parse_json_value(&serde_json::json!("nope"), &utc), None);
        assert_eq!(parse_json_value(&serde_json::json!(true), &utc), None);
    }

    #[test]
    fn line_start_forms() {
        let utc = TimeZone::UTC;
        assert_eq!(
            parse_line_start(b"2017-09-26T13:55:36Z INFO chat started", &utc, 2017),
            Some(ts("2017-09-26T13:55:36Z"))
        );
        assert_eq!(
            parse_line_start(
                b"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47",
                &utc,
                2017
            ),
            Some(ts("2003-10-11T22:14:15.003Z"))
        );
        assert_eq!(
            parse_line_start(b"<34>1 - host app - - msg", &utc, 2017),
            None
        );
        assert_eq!(
            parse_line_start(b"Oct 11 22:14:15 mymachine su: failed", &ny(), 2017),
            Some(ts("2017-10-12T02:14:15Z"))
        );
        assert_eq!(
            parse_line_start(b"<34>Oct  1 22:14:15 mymachine su: failed", &utc, 2017),
            Some(ts("2017-10-01T22:14:15Z"))
        );
        assert_eq!(
            parse_line_start(b"Feb 29 00:00:00 host x", &utc, 2017),
            None
        );
        assert_eq!(
            parse_line_start(b"Feb 29 00:00:00 host x", &utc, 2016),
            Some(ts("2016-02-29T00:00:00Z"))
        );
        assert_eq!(
            parse_line_start(b"[10/Oct/2017:13:55:36 -0700] x", &utc, 2017),
            Some(ts("2017-10-10T20:55:36Z"))
        );
        assert_eq!(
            parse_line_start(b"[Wed Oct 11 14:32:52.123 2017] [core:error]", &utc, 2000),
            Some(ts("2017-10-11T14:32:52.123Z"))
        );
        assert_eq!(parse_line_start(b"hello world", &utc, 2017), None);
        assert_eq!(parse_line_start(b"", &utc, 2017), None);
        assert_eq!(parse_line_start(b"<", &utc, 2017), None);
        assert_eq!(parse_line_start(b"<999999>", &utc, 2017), None);
    }

    #[test]
    fn w3c_date_time() {
        assert_eq!(
            parse_w3c(b"2017-09-27", b"13:55:36"),
            Some(ts("2017-09-27T13:55:36Z"))
        );
        assert_eq!(
            parse_w3c(b"2017-09-27", b"13:55:36.250"),
            Some(ts("2017-09-27T13:55:36.25Z"))
        );
        assert_eq!(parse_w3c(b"2017-09-27", b"13:55"), None);
        assert_eq!(parse_w3c(b"2017-9-27", b"13:55:36"), None);
        assert_eq!(parse_w3c(b"2017-09-27x", b"13:55:36"), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let utc = TimeZone::UTC;
        let tz = ny();
        let alphabet = b"0123456789-:T Z+./<>[]OctFebWed,\xff";
        for _ in 0..20_000 {
            crate::test_util::xorshift(&mut x);
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let r = x.rotate_left(i as u32 * 5);
                    if r & 1 == 0 {
                        alphabet[(r as usize >> 1) % alphabet.len()]
                    } else {
                        (r >> 8) as u8
                    }
                })
                .collect();
            let _ = parse_clf(&bytes);
            let _ = parse_iso(&bytes, &tz);
            let _ = parse_line_start(&bytes, &utc, 2017);
            let _ = parse_line_start(&bytes, &tz, 2017);
            let _ = parse_w3c(&bytes, &bytes);
            let _ = parse_epoch(&String::from_utf8_lossy(&bytes));
            let _ = parse_time_text(&bytes, &tz);
        }
    }
}
