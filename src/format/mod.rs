//! Record formats: detection from a file's first bytes, a cheap per-line
//! time extractor, and full parsing into a [`Record`] for candidate lines.
//!
//! Web formats produce Sigma webserver field names (`c-ip`, `cs-method`,
//! `cs-uri-stem`, `cs-uri-query`, `cs-uri`, `sc-status`, `sc-bytes`,
//! `cs-referer`, `cs-user-agent`, `cs-host`, `cs-version`, `cs-username`);
//! JSON lines produce dotted paths. Nothing here panics on hostile bytes, and
//! a line that does not parse still becomes a (bare) record.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::record::{Field, Record};

mod alb;
mod combined;
mod jsonl;
mod plain;
mod w3c;

/// A log record format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Apache/nginx common or combined log format, optionally vhost-prefixed.
    Combined,
    /// W3C extended log format (IIS, CloudFront), driven by `#Fields:`.
    W3c,
    /// AWS Application / classic Elastic Load Balancer access logs.
    Alb,
    /// One JSON object per line (nginx JSON, Cloudflare, CSP reports, chat).
    Jsonl,
    /// Any other text; only a leading timestamp is understood.
    Plain,
}

impl LogFormat {
    /// Every format, in detection-preference order.
    pub const ALL: [LogFormat; 5] = [
        LogFormat::Combined,
        LogFormat::W3c,
        LogFormat::Alb,
        LogFormat::Jsonl,
        LogFormat::Plain,
    ];

    /// The lowercase name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Combined => "combined",
            LogFormat::W3c => "w3c",
            LogFormat::Alb => "alb",
            LogFormat::Jsonl => "jsonl",
            LogFormat::Plain => "plain",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.trim().to_ascii_lowercase();
        Ok(match l.as_str() {
            "combined" | "common" | "clf" | "apache" | "nginx" => LogFormat::Combined,
            "w3c" | "iis" | "cloudfront" => LogFormat::W3c,
            "alb" | "elb" => LogFormat::Alb,
            "jsonl" | "json" | "ndjson" => LogFormat::Jsonl,
            "plain" | "text" => LogFormat::Plain,
            _ => {
                return Err(format!(
                    "unknown log format '{s}' (expected combined, w3c, alb, jsonl or plain)"
                ));
            }
        })
    }
}

/// How many bytes of a file's head detection looks at.
const DETECT_HEAD: usize = 8 * 1024;

/// Guesses the format of a file from its first bytes (up to ~8 KiB). Lines
/// vote; a W3C directive decides at once. A head that fills the whole 8 KiB
/// probably ends mid-line, so its last partial line is ignored.
pub fn detect(head: &[u8]) -> LogFormat {
    let mut head = head.get(..DETECT_HEAD).unwrap_or(head);
    if head.len() == DETECT_HEAD
        && let Some(p) = memchr::memrchr(b'\n', head)
    {
        head = &head[..p];
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut votes = [0usize; 5];
    let mut lines = 0usize;
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii();
        if line.is_empty() {
            continue;
        }
        if line.first() == Some(&b'#') {
            if w3c::is_directive(line) {
                return LogFormat::W3c;
            }
            continue;
        }
        lines += 1;
        let f = if line.first() == Some(&b'{') {
            LogFormat::Jsonl
        } else if alb::looks_like(line) {
            LogFormat::Alb
        } else if combined::looks_like(line) {
            LogFormat::Combined
        } else {
            LogFormat::Plain
        };
        votes[f as usize] += 1;
        if lines >= 64 {
            break;
        }
    }
    if lines == 0 {
        return LogFormat::Plain;
    }
    let combined = votes[LogFormat::Combined as usize];
    // A single CLF-looking line among several is not enough (plain logs can
    // quote one); a one-line file is judged on that line.
    if combined < 2 && lines > 1 {
        votes[LogFormat::Combined as usize] = 0;
    }
    let mut best = LogFormat::Plain;
    let mut best_votes = 0;
    for f in LogFormat::ALL {
        let v = votes[f as usize];
        if v > best_votes {
            best = f;
            best_votes = v;
        }
    }
    best
}

/// Options that affect how times are read.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// Zone for zone-less times (syslog, zone-less ISO, JSON).
    pub tz: TimeZone,
    /// Year for year-less times (RFC 3164 syslog).
    pub year: i16,
}

/// UTC and the year 1970: callers reading year-less syslog should set
/// `year` (e.g. from the file's modification time or the window).
impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            tz: TimeZone::UTC,
            year: 1970,
        }
    }
}

/// Per-thread memo for [`LineParser::time_memo`].
#[derive(Debug, Clone, Default)]
pub struct TimeMemo {
    clf: combined::ClfMemo,
}

/// Per-file line parser. Holds the format's state (W3C `#Fields:` layout);
/// cheap to clone (the layout is shared).
#[derive(Clone, Debug)]
pub struct LineParser {
    format: LogFormat,
    opts: ParseOptions,
    w3c: w3c::State,
}

impl LineParser {
    /// A parser for one file in `format`.
    pub fn new(format: LogFormat, opts: ParseOptions) -> Self {
        LineParser {
            format,
            opts,
            w3c: w3c::State::default(),
        }
    }

    /// The format this parser reads.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Directive lines (W3C "#…"; blank lines for all): update state;
    /// returns true when the line is NOT a record.
    #[inline]
    pub fn directive(&mut self, line: &[u8]) -> bool {
        // Called on every line: a line that starts with a visible character
        // other than `#` is a record in every format.
        if line.first().is_some_and(|&b| b > b' ' && b != b'#') {
            return false;
        }
        self.directive_slow(line)
    }

    /// Whether `line` may change how later lines parse (a W3C directive):
    /// every line before it must be parsed before [`LineParser::directive`]
    /// takes it.
    #[inline]
    pub fn changes_layout(&self, line: &[u8]) -> bool {
        line.first() == Some(&b'#') && self.format == LogFormat::W3c
    }

    #[inline(never)]
    fn directive_slow(&mut self, line: &[u8]) -> bool {
        let line = trim_eol(line);
        if line.trim_ascii().is_empty() {
            return true;
        }
        match self.format {
            LogFormat::W3c => self.w3c.directive(line),
            _ => false,
        }
    }

    /// Cheap: the record's UTC time only. Called on every line, so the
    /// common path does not allocate.
    pub fn time(&self, line: &[u8]) -> Option<Timestamp> {
        let line = trim_eol(line);
        match self.format {
            LogFormat::Combined => combined::time(line),
            LogFormat::W3c => self.w3c.time(line, &self.opts),
            LogFormat::Alb => alb::time(line, &self.opts),
            LogFormat::Jsonl => jsonl::time(line, &self.opts),
            LogFormat::Plain => plain::time(line, &self.opts),
        }
    }

    /// [`LineParser::time`] with a per-thread memo for the formats that
    /// have one (combined: the date, hour and offset of the last line).
    #[inline(always)]
    pub fn time_memo(&self, line: &[u8], memo: &mut TimeMemo) -> Option<Timestamp> {
        match self.format {
            LogFormat::Combined => combined::time_memo(trim_eol(line), &mut memo.clf),
            _ => self.time(line),
        }
    }

    /// The part of `line` (without its ending) that holds the record's
    /// request path, if it has one: in the combined format the line up to
    /// the end of the request, since the referer and user agent follow it;
    /// the whole line in the other formats.
    pub fn request_part<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        match self.format {
            LogFormat::Combined => &line[..combined::request_end(line)],
            _ => line,
        }
    }

    /// [`LineParser::request_part`] of a line just dated with
    /// [`LineParser::time_memo`] (same part).
    pub fn request_part_memo<'a>(&self, line: &'a [u8], memo: &TimeMemo) -> &'a [u8] {
        match self.format {
            LogFormat::Combined => &line[..combined::request_end_memo(line, &memo.clf)],
            _ => line,
        }
    }

    /// [`LineParser::record`] reusing the dating memo of
    /// [`LineParser::time_memo`] (same record).
    pub fn record_memo<'a>(&self, line: &'a [u8], memo: &mut TimeMemo) -> Record<'a> {
        match self.format {
            LogFormat::Combined => combined::record_memo(trim_eol(line), &mut memo.clf),
            _ => self.record(line),
        }
    }

    /// Full parse into a Record (family, fields, time). Never fails: a line
    /// that does not parse in this format becomes `Record::bare(raw,
    /// time-if-any, family)` so it is still scanned, never dropped.
    pub fn record<'a>(&self, line: &'a [u8]) -> Record<'a> {
        // Record::raw is documented as the line without its ending.
        let body = trim_eol(line);
        match self.format {
            LogFormat::Combined => combined::record(body),
            LogFormat::W3c => self.w3c.record(body, &self.opts),
            LogFormat::Alb => alb::record(body, &self.opts),
            LogFormat::Jsonl => jsonl::record(body, &self.opts),
            LogFormat::Plain => plain::record(body, &self.opts),
        }
    }
}

/// Strips a trailing `\n`/`\r\n` the framer may have left.
fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A field value as text; `-` and empty mean absent.
fn value(b: &[u8]) -> Option<Cow<'_, str>> {
    if b.is_empty() || b == b"-" {
        None
    } else {
        Some(crate::text::lossy(b))
    }
}

/// Pushes `name` = `b` unless the value is absent.
fn push<'a>(fields: &mut Vec<Field<'a>>, name: impl Into<Cow<'a, str>>, b: &'a [u8]) {
    if let Some(v) = value(b) {
        fields.push((name.into(), v));
    }
}

/// Pushes `name` = an owned copy of `b` (a value built in a temporary).
fn push_owned<'a>(fields: &mut Vec<Field<'a>>, name: impl Into<Cow<'a, str>>, b: &[u8]) {
    if let Some(v) = value(b) {
        fields.push((name.into(), Cow::Owned(v.into_owned())));
    }
}

/// A field that owns its text (to outlive the buffer it was built in).
fn owned(f: Field<'_>) -> Field<'static> {
    (Cow::Owned(f.0.into_owned()), Cow::Owned(f.1.into_owned()))
}

/// Splits a request target into `cs-uri-stem`, `cs-uri-query` (without '?')
/// and `cs-uri`. Absolute URLs (`https://host:443/p?q`) also give `cs-host`
/// when `host_from_url` is set.
fn push_uri<'a>(fields: &mut Vec<Field<'a>>, uri: &'a [u8], host_from_url: bool) {
    if uri.is_empty() || uri == b"-" {
        return;
    }
    let mut target = uri;
    // A scheme is the leading run of its characters, right before `://`
    // (looked at in place, not searched for in the whole target).
    let p = uri
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        .count();
    if p > 0 && uri[p..].starts_with(b"://") {
        let after = &uri[p + 3..];
        let end = after
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(after.len());
        let authority = &after[..end];
        if host_from_url {
            push(fields, "cs-host", strip_port(authority));
        }
        target = &after[end..];
        if target.is_empty() {
            target = b"/";
        }
    }
    let (stem, query) = match memchr::memchr(b'?', target) {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    };
    push(fields, "cs-uri-stem", stem);
    match query.filter(|q| !q.is_empty()) {
        Some(q) => {
            push(fields, "cs-uri-query", q);
            // stem `?` query is contiguous in the line: borrow it.
            push(fields, "cs-uri", target);
        }
        None => push(fields, "cs-uri", stem),
    }
}

/// `host:port` → `host` (bracketed IPv6 keeps its brackets off).
fn strip_port(authority: &[u8]) -> &[u8] {
    let authority = match memchr::memrchr(b'@', authority) {
        Some(p) => &authority[p + 1..],
        None => authority,
    };
    if let Some(rest) = authority.strip_prefix(b"[") {
        return match memchr::memchr(b']', rest) {
            Some(p) => &rest[..p],
            None => rest,
        };
    }
    match memchr::memrchr(b':', authority) {
        Some(p) if authority[p + 1..].iter().all(u8::is_ascii_digit) => &authority[..p],
        _ => authority,
    }
}

/// Splits an HTTP request line `METHOD target VERSION` (the target may
/// contain raw spaces) into `cs-method`, the URI fields and `cs-version`.
fn push_request<'a>(fields: &mut Vec<Field<'a>>, req: &'a [u8], host_from_url: bool) {
    let req = req.trim_ascii();
    if req.is_empty() || req == b"-" {
        return;
    }
    let Some(sp) = memchr::memchr(b' ', req) else {
        // Not a request line (TLS bytes sent to a plain port, junk): keep it
        // as the URI so rules still see it.
        push_uri(fields, req, host_from_url);
        return;
    };
    push(fields, "cs-method", &req[..sp]);
    let mut target = req[sp + 1..].trim_ascii();
    if let Some(v) = memchr::memrchr(b' ', target) {
        let version = &target[v + 1..];
        if version.len() <= 16 && version.starts_with(b"HTTP/") {
            push(fields, "cs-version", version);
            target = target[..v].trim_ascii_end();
        }
    }
    push_uri(fields, target, host_from_url);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util;

    #[test]
    fn names_round_trip() {
        for f in LogFormat::ALL {
            assert_eq!(f.as_str().parse::<LogFormat>().unwrap(), f);
            assert_eq!(f.to_string(), f.as_str());
        }
        assert_eq!("IIS".parse::<LogFormat>().unwrap(), LogFormat::W3c);
        let e = "xml".parse::<LogFormat>().unwrap_err();
        assert!(e.contains("'xml'"));
    }

    #[test]
    fn detect_formats() {
        let combined = b"83.149.9.216 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 203023 \"-\" \"UA\"\n\
            83.149.9.216 - - [17/May/2015:10:05:43 +0000] \"GET /b HTTP/1.1\" 200 171717 \"-\" \"UA\"\n";
        assert_eq!(detect(combined), LogFormat::Combined);
        let vhost = b"www.example.com:443 1.2.3.4 - - [10/Oct/2017:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n\
            www.example.com:443 1.2.3.4 - - [10/Oct/2017:13:55:37 -0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n";
        assert_eq!(detect(vhost), LogFormat::Combined);
        assert_eq!(
            detect(
                b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time\n"
            ),
            LogFormat::W3c
        );
        assert_eq!(detect(b"#Version: 1.0\n"), LogFormat::W3c);
        assert_eq!(
            detect(b"{\"a\":1}\n{\"b\":2}\nnot json\n"),
            LogFormat::Jsonl
        );
        let alb = b"https 2017-09-27T13:55:36.123456Z app/my-lb/50dc6c495c0c9188 1.2.3.4:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \"GET https://shop.example.com:443/ HTTP/1.1\" \"curl/7.46.0\" - -\n";
        assert_eq!(detect(alb), LogFormat::Alb);
        let elb = b"2017-09-27T13:55:36.123456Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.38.0\" - -\n";
        assert_eq!(detect(elb), LogFormat::Alb);
        assert_eq!(detect(b""), LogFormat::Plain);
        assert_eq!(detect(b"\n\n  \n"), LogFormat::Plain);
        assert_eq!(detect(b"Oct 11 22:14:15 host su: x\n"), LogFormat::Plain);
        // One CLF-looking line among plain lines does not make it combined.
        let mixed = b"hello\nworld\n1.2.3.4 - - [10/Oct/2017:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1\nmore\n";
        assert_eq!(detect(mixed), LogFormat::Plain);
        // A single complete combined line (a tiny file) is combined.
        assert_eq!(
            detect(b"1.2.3.4 - - [10/Oct/2017:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1"),
            LogFormat::Combined
        );
    }

    #[test]
    fn detect_ignores_partial_last_line_of_full_head() {
        let line = b"{\"time\":\"2017-09-26T00:00:00Z\",\"msg\":\"x\"}\n";
        let mut head = Vec::new();
        while head.len() < DETECT_HEAD + 100 {
            head.extend_from_slice(line);
        }
        head.truncate(DETECT_HEAD - 3);
        head.extend_from_slice(b"abc");
        assert_eq!(detect(&head), LogFormat::Jsonl);
    }

    #[cfg(feature = "shared-corpora")]
    #[test]
    fn shared_corpora_detect() {
        for (name, want) in [
            ("elastic_examples_apache_logs.log", LogFormat::Combined),
            (
                "nielsbasjes_logparser_hackers-access.log",
                LogFormat::Combined,
            ),
            ("csp_reports_nico3333fr_CSP-useful.jsonl", LogFormat::Jsonl),
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/corpora")
                .join(name);
            let data = std::fs::read(&path).expect("../shared/corpora is readable");
            let head = data.get(..DETECT_HEAD).unwrap_or(&data);
            assert_eq!(detect(head), want, "{name}");
        }
    }

    #[test]
    fn detect_never_panics() {
        for g in test_util::garbage(7, 2000, b"{}[]#\"\n :/0123456789-TZ+FieldsSoftware") {
            let _ = detect(&g);
        }
    }

    #[test]
    fn uri_splitting() {
        let mut f = Vec::new();
        push_request(
            &mut f,
            b"GET https://shop.example.com:443/p/a?q=1 HTTP/1.1",
            true,
        );
        let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| &**v);
        assert_eq!(get("cs-method"), Some("GET"));
        assert_eq!(get("cs-host"), Some("shop.example.com"));
        assert_eq!(get("cs-uri-stem"), Some("/p/a"));
        assert_eq!(get("cs-uri-query"), Some("q=1"));
        assert_eq!(get("cs-uri"), Some("/p/a?q=1"));
        assert_eq!(get("cs-version"), Some("HTTP/1.1"));
        let mut f = Vec::new();
        push_request(&mut f, b"\x16\x03\x01", false);
        assert_eq!(f[0].0, "cs-uri-stem");
        assert_eq!(strip_port(b"[::1]:443"), b"::1");
        assert_eq!(strip_port(b"user@h:8080"), b"h");
        assert_eq!(strip_port(b"h"), b"h");
    }
}
