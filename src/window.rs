//! The incident time window (`--since`, `--until`, `--pad`, `--tz`) and
//! the parsing of its command-line values.

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::time;

/// Errors from parsing window bounds, spans and time zones. Messages say
/// what was given and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// A `--since`/`--until` value that is not a recognised date/time.
    #[error(
        "invalid {which} time '{given}': expected RFC 3339 (2017-09-26T13:55:36Z, \
         2017-09-26T09:55:36-04:00), a date (2017-09-26) or a local time \
         (2017-09-26 13:55[:36[.fff]]) read in the --tz zone"
    )]
    Bound {
        /// "since" or "until".
        which: &'static str,
        /// The text as given.
        given: String,
    },
    /// `since` is later than `until`.
    #[error("the window is empty: since {since} is after until {until}")]
    Reversed {
        /// The (padded) start, in UTC.
        since: Timestamp,
        /// The (padded) end, in UTC.
        until: Timestamp,
    },
    /// A span (`--pad`) that is not a sequence of number+unit pairs.
    #[error(
        "invalid span '{given}': expected a positive amount with units w, d, h, m or s \
         (e.g. 1d, 12h, 30m, 90s, 1w, 1d12h)"
    )]
    Span {
        /// The text as given.
        given: String,
    },
    /// A time zone name or offset that is not known.
    #[error(
        "unknown time zone '{given}': expected UTC, Z, an IANA name (America/New_York) \
         or an offset (+05:30, -0400, +02)"
    )]
    Zone {
        /// The text as given.
        given: String,
    },
    /// Padding pushed a bound outside the representable time range.
    #[error("padding {pad} moves the window outside the supported time range")]
    PadOverflow {
        /// The padding, as a duration.
        pad: SignedDuration,
    },
}

/// An inclusive UTC time window; an absent end is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// The earliest instant inside the window.
    pub since: Option<Timestamp>,
    /// The latest instant inside the window.
    pub until: Option<Timestamp>,
}

impl Window {
    /// Builds a window from command-line values. `pad` widens both ends
    /// (since − pad, until + pad). Fails when a value does not parse or
    /// when since > until.
    pub fn new(
        since: Option<&str>,
        until: Option<&str>,
        tz: &TimeZone,
        pad: Option<SignedDuration>,
    ) -> Result<Window, TimeError> {
        let mut since = since.map(|s| parse_bound(s, tz, false)).transpose()?;
        let mut until = until.map(|s| parse_bound(s, tz, true)).transpose()?;
        if let Some(pad) = pad.filter(|p| !p.is_zero()) {
            let overflow = || TimeError::PadOverflow { pad };
            if let Some(s) = since {
                since = Some(s.checked_sub(pad).map_err(|_| overflow())?);
            }
            if let Some(u) = until {
                until = Some(u.checked_add(pad).map_err(|_| overflow())?);
            }
        }
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(TimeError::Reversed { since: s, until: u });
        }
        Ok(Window { since, until })
    }

    /// Whether `t` is inside the window (both ends inclusive).
    pub fn contains(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// Whether neither end is set (every record is inside).
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }
}

/// Parses one window bound. RFC 3339 values with `Z` or an offset are
/// exact. A date alone (`2017-09-26`) means the start of that day in `tz`
/// for `since`, and the last nanosecond of that day in `tz` for `until`.
/// `YYYY-MM-DD[T ]HH:MM[:SS[.fff]]` without a zone is the exact instant in `tz`.
pub fn parse_bound(s: &str, tz: &TimeZone, is_until: bool) -> Result<Timestamp, TimeError> {
    let which = if is_until { "until" } else { "since" };
    let err = || TimeError::Bound {
        which,
        given: s.to_string(),
    };
    let b = s.trim().as_bytes();
    let t = time::parse_iso(b, tz).ok_or_else(err)?;
    if is_until && b.len() == 10 {
        // Date only: the end is the instant before the next day starts
        // (computed that way so a 23- or 25-hour DST day is right).
        let date: jiff::civil::Date = s.trim().parse().map_err(|_| err())?;
        let next = date.tomorrow().map_err(|_| err())?;
        let start_next = tz
            .to_timestamp(next.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|_| err())?;
        return start_next
            .checked_sub(SignedDuration::from_nanos(1))
            .map_err(|_| err());
    }
    Ok(t)
}

/// Parses a non-negative span: one or more `<number><unit>` pairs with
/// units `w`, `d`, `h`, `m`, `s` (e.g. `1d12h`). Unit letters are
/// case-insensitive; a bare `0` is allowed.
pub fn parse_span(s: &str) -> Result<SignedDuration, TimeError> {
    let err = || TimeError::Span {
        given: s.to_string(),
    };
    let b = s.trim().as_bytes();
    if b == b"0" {
        return Ok(SignedDuration::ZERO);
    }
    if b.is_empty() {
        return Err(err());
    }
    let mut total: i64 = 0;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let mut n: i64 = 0;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(i64::from(d - b'0')))
                .ok_or_else(err)?;
            i += 1;
        }
        if i == start {
            return Err(err());
        }
        let unit: i64 = match b.get(i).map(u8::to_ascii_lowercase) {
            Some(b'w') => 7 * 86_400,
            Some(b'd') => 86_400,
            Some(b'h') => 3600,
            Some(b'm') => 60,
            Some(b's') => 1,
            _ => return Err(err()),
        };
        i += 1;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
    }
    // Keep spans within what a Timestamp can be shifted by without silliness
    // (about 10,000 years).
    if total > 315_576_000_000 {
        return Err(err());
    }
    Ok(SignedDuration::from_secs(total))
}

/// Parses a time zone: `UTC`/`Z`, an IANA name, or a fixed offset
/// (`+05:30`, `-0400`, `+02`, optionally prefixed by `UTC`/`GMT`).
pub fn parse_tz(s: &str) -> Result<TimeZone, TimeError> {
    let err = || TimeError::Zone {
        given: s.to_string(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err());
    }
    if ["utc", "z", "gmt", "zulu"]
        .iter()
        .any(|n| t.eq_ignore_ascii_case(n))
    {
        return Ok(TimeZone::UTC);
    }
    let off = t
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("utc") || p.eq_ignore_ascii_case("gmt"))
        .and_then(|_| t.get(3..))
        .unwrap_or(t);
    if off.starts_with(['+', '-']) {
        return parse_offset_text(off.as_bytes())
            .map(TimeZone::fixed)
            .ok_or_else(err);
    }
    TimeZone::get(t).map_err(|_| err())
}

/// `±HH`, `±HHMM`, `±HH:MM` → an offset.
fn parse_offset_text(b: &[u8]) -> Option<Offset> {
    let (&sign, rest) = b.split_first()?;
    let sign: i32 = if sign == b'-' { -1 } else { 1 };
    let digits: [u8; 4] = match *rest {
        [h1, h2] => [h1, h2, b'0', b'0'],
        [h1, h2, m1, m2] => [h1, h2, m1, m2],
        [h1, h2, b':', m1, m2] => [h1, h2, m1, m2],
        _ => return None,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |a: u8, b: u8| i32::from(a - b'0') * 10 + i32::from(b - b'0');
    let (h, m) = (num(digits[0], digits[1]), num(digits[2], digits[3]));
    if h > 23 || m > 59 {
        return None;
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_clf;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn ny() -> TimeZone {
        parse_tz("America/New_York").unwrap()
    }

    #[test]
    fn incident_window_edges() {
        let utc = TimeZone::UTC;
        let w = Window::new(Some("2017-09-26T00:00:00Z"), None, &utc, None).unwrap();
        // 21:30 EDT on the 25th is 01:30Z on the 26th: inside.
        assert!(w.contains(parse_clf(b"25/Sep/2017:21:30:00 -0400").unwrap()));
        assert!(!w.contains(parse_clf(b"25/Sep/2017:19:59:59 -0400").unwrap()));
        assert!(w.contains(ts("2017-09-26T00:00:00Z")), "since is inclusive");

        let w = Window::new(None, Some("2017-10-12T23:59:59Z"), &utc, None).unwrap();
        // 21:00 EDT on the 12th is 01:00Z on the 13th: outside.
        assert!(!w.contains(parse_clf(b"12/Oct/2017:21:00:00 -0400").unwrap()));
        assert!(w.contains(ts("2017-10-12T23:59:59Z")), "until is inclusive");
        assert!(!w.contains(ts("2017-10-13T00:00:00Z")));
    }

    #[test]
    fn date_only_until_in_zone_covers_whole_local_day() {
        let w = Window::new(Some("2017-09-26"), Some("2017-10-12"), &ny(), None).unwrap();
        assert_eq!(w.since, Some(ts("2017-09-26T04:00:00Z")));
        assert_eq!(w.until, Some(ts("2017-10-13T03:59:59.999999999Z")));
        assert!(w.contains(ts("2017-10-13T03:59:59Z")));
        assert!(!w.contains(ts("2017-10-13T04:00:00Z")));
        assert!(!w.contains(ts("2017-09-26T03:59:59Z")));
    }

    #[test]
    fn dst_days_and_gaps() {
        let tz = ny();
        // 2017-03-12 is a 23-hour day in New York.
        let w = Window::new(Some("2017-03-12"), Some("2017-03-12"), &tz, None).unwrap();
        let len = w.until.unwrap().duration_since(w.since.unwrap());
        assert_eq!(
            len,
            SignedDuration::from_hours(23) - SignedDuration::from_nanos(1)
        );
        // 2017-11-05 is a 25-hour day.
        let w = Window::new(Some("2017-11-05"), Some("2017-11-05"), &tz, None).unwrap();
        let len = w.until.unwrap().duration_since(w.since.unwrap());
        assert_eq!(
            len,
            SignedDuration::from_hours(25) - SignedDuration::from_nanos(1)
        );
        // A local time inside the spring-forward gap moves forward.
        assert_eq!(
            parse_bound("2017-03-12 02:30", &tz, false).unwrap(),
            ts("2017-03-12T07:30:00Z")
        );
    }

    #[test]
    fn bounds_forms() {
        let utc = TimeZone::UTC;
        assert_eq!(
            parse_bound("2016-02-29", &utc, true).unwrap(),
            ts("2016-02-29T23:59:59.999999999Z")
        );
        assert!(parse_bound("2017-02-29", &utc, true).is_err());
        assert_eq!(
            parse_bound("2017-09-26T09:55:36-04:00", &utc, false).unwrap(),
            ts("2017-09-26T13:55:36Z")
        );
        assert_eq!(
            parse_bound("2017-09-26T13:55:36+0000", &ny(), false).unwrap(),
            ts("2017-09-26T13:55:36Z")
        );
        assert_eq!(
            parse_bound("2017-09-26 09:55", &ny(), true).unwrap(),
            ts("2017-09-26T13:55:00Z")
        );
        assert_eq!(
            parse_bound("2017-09-26T09:55:36.5", &ny(), false).unwrap(),
            ts("2017-09-26T13:55:36.5Z")
        );
        let e = parse_bound("yesterday", &utc, false).unwrap_err();
        assert!(e.to_string().contains("'yesterday'"), "{e}");
        assert!(e.to_string().contains("since"), "{e}");
    }

    #[test]
    fn reversed_and_padding() {
        let utc = TimeZone::UTC;
        let e = Window::new(Some("2017-10-12"), Some("2017-09-26"), &utc, None).unwrap_err();
        assert!(matches!(e, TimeError::Reversed { .. }));
        let pad = parse_span("1d").unwrap();
        let w = Window::new(Some("2017-09-26"), Some("2017-10-12"), &utc, Some(pad)).unwrap();
        assert_eq!(w.since, Some(ts("2017-09-25T00:00:00Z")));
        assert_eq!(w.until, Some(ts("2017-10-13T23:59:59.999999999Z")));
        let w = Window::new(None, None, &utc, Some(pad)).unwrap();
        assert!(w.is_unbounded());
        assert!(w.contains(ts("1970-01-01T00:00:00Z")));
        assert!(
            !Window::new(Some("2017-09-26"), None, &utc, None)
                .unwrap()
                .is_unbounded()
        );
        // Equal ends are a valid one-instant window.
        let w = Window::new(
            Some("2017-09-26T00:00:00Z"),
            Some("2017-09-26T00:00:00Z"),
            &utc,
            None,
        )
        .unwrap();
        assert!(w.contains(ts("2017-09-26T00:00:00Z")));
    }

    #[test]
    fn spans() {
        assert_eq!(parse_span("1d").unwrap(), SignedDuration::from_hours(24));
        assert_eq!(parse_span("12h").unwrap(), SignedDuration::from_hours(12));
        assert_eq!(parse_span("30m").unwrap(), SignedDuration::from_mins(30));
        assert_eq!(parse_span("90s").unwrap(), SignedDuration::from_secs(90));
        assert_eq!(parse_span("1w").unwrap(), SignedDuration::from_hours(168));
        assert_eq!(parse_span("1d12h").unwrap(), SignedDuration::from_hours(36));
        assert_eq!(parse_span("0").unwrap(), SignedDuration::ZERO);
        for bad in [
            "",
            "-1d",
            "1",
            "d",
            "1x",
            "1d-2h",
            "99999999999999999999s",
            "1.5h",
        ] {
            let e = parse_span(bad).unwrap_err();
            assert!(matches!(e, TimeError::Span { .. }), "{bad}");
        }
    }

    #[test]
    fn zones() {
        let t = ts("2017-09-26T13:55:36Z");
        for (s, off) in [
            ("UTC", 0),
            ("z", 0),
            ("+05:30", 19_800),
            ("-0400", -14_400),
            ("+02", 7200),
            ("UTC+01:00", 3600),
        ] {
            assert_eq!(parse_tz(s).unwrap().to_offset(t).seconds(), off, "{s}");
        }
        assert_eq!(ny().to_offset(t).seconds(), -14_400);
        for bad in ["", "Mars/Olympus", "+5", "+25:00", "+05:75", "+0a00"] {
            assert!(
                matches!(parse_tz(bad), Err(TimeError::Zone { .. })),
                "{bad}"
            );
        }
    }
}
