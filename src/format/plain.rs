//! Plain text lines: only a leading timestamp is understood (ISO 8601,
//! syslog RFC 5424/3164, bracketed CLF/Apache error-log times).

use jiff::Timestamp;

use super::ParseOptions;
use crate::record::{Family, Record};
use crate::time::parse_line_start;

/// The record's time from the start of the line.
pub(super) fn time(line: &[u8], opts: &ParseOptions) -> Option<Timestamp> {
    parse_line_start(line, &opts.tz, opts.year)
}

/// A bare plain record (no fields): rules match its raw text.
pub(super) fn record<'a>(line: &'a [u8], opts: &ParseOptions) -> Record<'a> {
    Record::bare(line, time(line, opts), Family::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{LineParser, LogFormat};
    use crate::test_util;
    use jiff::tz::TimeZone;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn plain_lines() {
        let opts = ParseOptions {
            tz: TimeZone::get("America/New_York").unwrap(),
            year: 2017,
        };
        let p = LineParser::new(LogFormat::Plain, opts);
        let cases: [(&[u8], Option<&str>); 7] = [
            (
                b"2017-09-26T13:55:36Z chat: card 4111",
                Some("2017-09-26T13:55:36Z"),
            ),
            (
                b"2017-09-26 09:55:36 local time",
                Some("2017-09-26T13:55:36Z"),
            ),
            (
                b"<34>1 2017-09-26T13:55:36.5+00:00 host app - - x",
                Some("2017-09-26T13:55:36.5Z"),
            ),
            (
                b"Sep 26 09:55:36 host app: x\r\n",
                Some("2017-09-26T13:55:36Z"),
            ),
            (b"no time here \xff", None),
            (b"", None),
            (b"2017-09-2", None),
        ];
        for (line, want) in cases {
            let r = p.record(line);
            assert_eq!(r.time, want.map(ts), "{}", String::from_utf8_lossy(line));
            assert_eq!(p.time(line), r.time);
            assert_eq!(r.family, Family::Plain);
            assert!(r.fields.is_empty());
            let eol = line.ends_with(b"\r\n");
            assert_eq!(
                r.raw,
                &line[..line.len() - if eol { 2 } else { 0 }],
                "raw has no line ending"
            );
        }
        let mut p2 = p.clone();
        assert!(p2.directive(b"   \r\n"));
        assert!(!p2.directive(b"# a comment is a record in plain text"));
        let big = vec![b'a'; 1 << 20];
        assert_eq!(p.record(&big).time, None);
    }

    #[test]
    fn garbage_never_panics() {
        let p = LineParser::new(LogFormat::Plain, ParseOptions::default());
        for g in test_util::garbage(5, 3000, b"<>0123456789-:TZ OctSep[]/+") {
            assert_eq!(p.time(&g), p.record(&g).time);
        }
    }
}
