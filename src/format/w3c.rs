//! W3C extended log format (IIS, CloudFront). `#Fields:` directives define
//! the columns and may change mid-file; data lines are space-separated
//! (IIS) or tab-separated (CloudFront, detected per line).

use std::sync::Arc;

use jiff::Timestamp;

use super::{ParseOptions, push, push_uri};
use crate::record::{Family, Record};
use crate::time::{parse_line_start, parse_w3c};

/// At most this many columns are kept from a `#Fields:` line.
const MAX_COLUMNS: usize = 256;

/// Whether a `#` line is a W3C directive that identifies the format.
pub(super) fn is_directive(line: &[u8]) -> bool {
    [
        b"#Software:".as_slice(),
        b"#Version:",
        b"#Fields:",
        b"#Date:",
        b"#Start-Date:",
    ]
    .iter()
    .any(|d| line.len() >= d.len() && line[..d.len()].eq_ignore_ascii_case(d))
}

/// The column layout from the last `#Fields:` line.
#[derive(Debug, Default)]
struct Layout {
    /// Original field names, in column order.
    names: Vec<String>,
    /// The Sigma webserver name for each column, when there is one.
    sigma: Vec<Option<&'static str>>,
    date: Option<usize>,
    time: Option<usize>,
}

/// Per-file W3C state; clones share the layout.
#[derive(Clone, Debug, Default)]
pub(super) struct State {
    layout: Option<Arc<Layout>>,
    /// `#Date:` directive date (`YYYY-MM-DD`), for layouts without a date column.
    date: Option<[u8; 10]>,
}

/// W3C field name → Sigma webserver field name.
fn sigma_name(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "c-ip" => "c-ip",
        "cs-method" => "cs-method",
        "cs-uri-stem" => "cs-uri-stem",
        "cs-uri-query" => "cs-uri-query",
        "sc-status" => "sc-status",
        "sc-bytes" => "sc-bytes",
        "cs(user-agent)" => "cs-user-agent",
        "cs(referer)" | "cs(referrer)" => "cs-referer",
        "cs(host)" | "x-host-header" | "cs-host" => "cs-host",
        "cs-username" => "cs-username",
        "cs-version" | "cs-protocol-version" => "cs-version",
        _ => return None,
    })
}

/// Splits a data line into columns: tabs when the line has one, else spaces.
fn columns(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let sep = if memchr::memchr(b'\t', line).is_some() {
        b'\t'
    } else {
        b' '
    };
    line.split(move |&b| b == sep)
        .filter(move |c| sep == b'\t' || !c.is_empty())
}

impl State {
    /// Handles `#` lines: returns true when the line is a directive.
    pub(super) fn directive(&mut self, line: &[u8]) -> bool {
        if line.first() != Some(&b'#') {
            return false;
        }
        if let Some(rest) = strip_prefix_ci(line, b"#Fields:") {
            let names: Vec<String> = rest
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|n| !n.is_empty())
                .take(MAX_COLUMNS)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect();
            let sigma = names.iter().map(|n| sigma_name(n)).collect();
            let find = |want: &str| names.iter().position(|n| n.eq_ignore_ascii_case(want));
            let layout = Layout {
                date: find("date"),
                time: find("time"),
                sigma,
                names,
            };
            self.layout = Some(Arc::new(layout));
        } else if let Some(rest) = strip_prefix_ci(line, b"#Date:") {
            let d = rest.trim_ascii();
            self.date = d.get(..10).and_then(|d| <[u8; 10]>::try_from(d).ok());
        }
        true
    }

    /// The record's time: `date` + `time` columns (UTC). Without a layout,
    /// a leading `YYYY-MM-DD HH:MM:SS` is tried.
    pub(super) fn time(&self, line: &[u8], opts: &ParseOptions) -> Option<Timestamp> {
        let Some(layout) = &self.layout else {
            // W3C times are UTC whatever --tz says.
            return parse_line_start(line, &jiff::tz::TimeZone::UTC, opts.year);
        };
        let tcol = layout.time?;
        let (mut date, mut time) = (None, None);
        let last = tcol.max(layout.date.unwrap_or(0));
        for (i, c) in columns(line).enumerate().take(last + 1) {
            if Some(i) == layout.date {
                date = Some(c);
            }
            if i == tcol {
                time = Some(c);
            }
        }
        let date = match (date, &self.date) {
            (Some(d), _) => d,
            (None, Some(d)) => d.as_slice(),
            (None, None) => return None,
        };
        parse_w3c(date, time?)
    }

    /// Full parse: every column under its original name, plus Sigma names.
    pub(super) fn record<'a>(&self, line: &'a [u8], opts: &ParseOptions) -> Record<'a> {
        let time = self.time(line, opts);
        let Some(layout) = &self.layout else {
            return Record::bare(line, time, Family::Web);
        };
        let mut rec = Record::bare(line, time, Family::Web);
        let tabbed = memchr::memchr(b'\t', line).is_some();
        let (mut stem, mut query): (Option<&[u8]>, Option<&[u8]>) = (None, None);
        for (i, col) in columns(line).enumerate().take(layout.names.len()) {
            let Some(name) = layout.names.get(i) else {
                break;
            };
            push(&mut rec.fields, name.clone(), col);
            match layout.sigma.get(i).copied().flatten() {
                Some("cs-uri-stem") => stem = Some(col),
                Some("cs-uri-query") => query = Some(col),
                Some(s @ ("cs-user-agent" | "cs-referer")) if !tabbed => {
                    // IIS writes spaces in these two fields as '+'.
                    let decoded: Vec<u8> = col
                        .iter()
                        .map(|&b| if b == b'+' { b' ' } else { b })
                        .collect();
                    super::push_owned(&mut rec.fields, s, &decoded);
                }
                Some(s) if s != name.as_str() => push(&mut rec.fields, s, col),
                _ => {}
            }
        }
        if let Some(stem) = stem {
            let stem_has = rec.has("cs-uri-stem");
            let query_has = rec.has("cs-uri-query");
            // The stem/query already exist under their own names; only the
            // combined `cs-uri` is added (push_uri would duplicate them).
            let mut tmp = Vec::new();
            let q = query.filter(|q| !q.is_empty() && *q != b"-");
            let mut full = stem.to_vec();
            if let Some(q) = q {
                full.push(b'?');
                full.extend_from_slice(q);
            }
            push_uri(&mut tmp, &full, false);
            for (k, v) in tmp {
                let dup = (k == "cs-uri-stem" && stem_has) || (k == "cs-uri-query" && query_has);
                if !dup {
                    rec.fields.push(super::owned((k, v)));
                }
            }
        }
        rec
    }
}

/// Case-insensitive prefix strip.
fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &line[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{LineParser, LogFormat};
    use crate::test_util;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn parser() -> LineParser {
        LineParser::new(LogFormat::W3c, ParseOptions::default())
    }
    fn check<'a>(p: &LineParser, line: &'a [u8]) -> Record<'a> {
        assert!(!p.clone().directive(line));
        let r = p.record(line);
        assert_eq!(p.time(line), r.time, "time() == record().time");
        assert_eq!(r.family, Family::Web);
        r
    }

    const IIS_HEAD: &[&[u8]] = &[
        b"#Software: Microsoft Internet Information Services 10.0",
        b"#Version: 1.0",
        b"#Date: 2017-09-27 13:55:36",
        b"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
    ];

    #[test]
    fn iis_lines_and_header_change() {
        let mut p = parser();
        for h in IIS_HEAD {
            assert!(p.directive(h));
        }
        assert!(p.directive(b""));
        let r = check(&p, b"2017-09-27 13:55:36 10.0.0.5 GET /checkout/payment.aspx order=42&x=1 443 - 203.0.113.9 Mozilla/5.0+(Windows+NT+10.0) https://shop.example.com/cart 200 0 0 15");
        assert_eq!(r.time, Some(ts("2017-09-27T13:55:36Z")));
        assert_eq!(r.get("cs-method"), Some("GET"));
        assert_eq!(r.get("cs-uri-stem"), Some("/checkout/payment.aspx"));
        assert_eq!(r.get("cs-uri-query"), Some("order=42&x=1"));
        assert_eq!(r.get("cs-uri"), Some("/checkout/payment.aspx?order=42&x=1"));
        assert_eq!(r.get("c-ip"), Some("203.0.113.9"));
        assert_eq!(
            r.get("cs-user-agent"),
            Some("Mozilla/5.0 (Windows NT 10.0)")
        );
        assert_eq!(
            r.get("cs(User-Agent)"),
            Some("Mozilla/5.0+(Windows+NT+10.0)")
        );
        assert_eq!(r.get("cs-referer"), Some("https://shop.example.com/cart"));
        assert_eq!(r.get("sc-status"), Some("200"));
        assert_eq!(r.get("time-taken"), Some("15"));
        assert!(!r.has("cs-username"));
        assert_eq!(r.get_all("cs-uri-stem").count(), 1);

        // The header changes mid-file: columns reorder, date comes from #Date.
        assert!(p.directive(b"#Date: 2017-09-28 00:00:00"));
        assert!(p.directive(b"#Fields: time c-ip cs-method cs-uri-stem sc-status"));
        let r = check(&p, b"01:02:03.5 198.51.100.7 POST /api/pay 500");
        assert_eq!(r.time, Some(ts("2017-09-28T01:02:03.5Z")));
        assert_eq!(r.get("c-ip"), Some("198.51.100.7"));
        assert_eq!(r.get("cs-method"), Some("POST"));
        assert_eq!(r.get("cs-uri"), Some("/api/pay"));
        assert_eq!(r.get("sc-status"), Some("500"));
        assert!(!r.has("cs-uri-query"));
    }

    #[test]
    fn cloudfront_tabs() {
        let mut p = parser();
        assert!(p.directive(b"#Version: 1.0"));
        assert!(p.directive(b"#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol sc-bytes"));
        let line = b"2017-09-27\t21:02:08\tIAD79-C1\t2390\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/js/chat-widget.js\t200\thttps://shop.example.com/\tMozilla/5.0%20(X11;%20Linux)\tv=3\t-\tHit\tSOX4xwn4XV6Q==\tcdn.example.com\thttps\t2390";
        let r = check(&p, line);
        assert_eq!(r.time, Some(ts("2017-09-27T21:02:08Z")));
        assert_eq!(r.get("cs-host"), Some("d111111abcdef8.cloudfront.net"));
        assert_eq!(r.get_all("cs-host").nth(1), Some("cdn.example.com"));
        assert_eq!(r.get("cs-uri"), Some("/js/chat-widget.js?v=3"));
        assert_eq!(r.get("cs-user-agent"), Some("Mozilla/5.0%20(X11;%20Linux)"));
        assert_eq!(r.get("x-edge-location"), Some("IAD79-C1"));
        assert!(!r.has("cs(Cookie)"));
        // Empty tab columns stay in place (no shifting).
        let r = check(
            &p,
            b"2017-09-27\t21:02:08\t\t10\t192.0.2.1\tGET\th\t/\t404\t-\t-\t-\t-\tError",
        );
        assert_eq!(r.get("sc-status"), Some("404"));
        assert!(!r.has("x-edge-location"));
    }

    #[test]
    fn no_header_truncated_and_invalid_utf8() {
        // Without a header a leading date/time is still read, as UTC even
        // when --tz says otherwise.
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let p = LineParser::new(LogFormat::W3c, ParseOptions { tz: ny, year: 2017 });
        let r = check(&p, b"2017-09-27 13:55:36 GET /x 200");
        assert_eq!(r.time, Some(ts("2017-09-27T13:55:36Z")));
        assert!(r.fields.is_empty());
        let mut p = parser();
        p.directive(IIS_HEAD[3]);
        let r = check(&p, b"2017-09-27 13:55:36 10.0.0.5 GET");
        assert_eq!(r.get("cs-method"), Some("GET"));
        assert!(!r.has("sc-status"));
        let r = check(&p, b"2017-09-27");
        assert_eq!(r.time, None);
        let r = check(
            &p,
            b"2017-09-27 13:55:36 10.0.0.5 GET /\xff\xfe - 443 - 1.2.3.4 UA\xc3 - 200 0 0 1",
        );
        assert_eq!(r.get("cs-uri-stem"), Some("/\u{fffd}\u{fffd}"));
        assert_eq!(r.get("sc-status"), Some("200"));
        let mut line = b"2017-09-27 13:55:36 ".to_vec();
        line.extend(std::iter::repeat_n(b"a ".as_slice(), 500_000).flatten());
        let r = check(&p, &line);
        assert_eq!(r.get("sc-status"), Some("a"));
        assert_eq!(r.time, Some(ts("2017-09-27T13:55:36Z")));
        // A header with no time column gives no time, never a panic.
        p.directive(b"#Fields: c-ip");
        assert_eq!(check(&p, b"1.2.3.4").time, None);
        p.directive(b"#Fields:");
        assert_eq!(check(&p, b"1.2.3.4").time, None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut p = parser();
        for g in test_util::garbage(9, 3000, b"#Fields: date time c-ip \t-2017-09-27 13:55:36\n") {
            if !p.directive(&g) {
                let r = p.record(&g);
                assert_eq!(p.time(&g), r.time);
            }
        }
    }
}
