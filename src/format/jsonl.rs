//! JSON lines: one object per line (nginx JSON, Cloudflare Logpush, CSP
//! reports in both the `csp-report` and Reporting API shapes, chat exports,
//! anything else).
//!
//! The time comes from a small allocation-free scan over the top-level
//! keys (it runs on every line); full parsing with serde_json only happens
//! for candidate lines. Both paths use the same scan for the time, so
//! `time()` and `record().time` always agree.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{ParseOptions, push_request, push_uri};
use crate::record::{Family, Field, Record};
use crate::time::{parse_epoch, parse_epoch_f64, parse_time_text};

/// Time keys, most preferred first.
const TIME_KEYS: [&[u8]; 14] = [
    b"@timestamp",
    b"timestamp",
    b"time",
    b"ts",
    b"date",
    b"datetime",
    b"received_at",
    b"EdgeStartTimestamp",
    b"eventTime",
    b"event_time",
    b"created_at",
    b"timeLocal",
    b"time_local",
    b"time_iso8601",
];

/// Deepest nesting flattened into fields.
const MAX_DEPTH: usize = 64;
/// Most fields produced from one line.
const MAX_FIELDS: usize = 4096;
/// Extra bytes (beyond the line's own length) that field paths may add,
/// so deep nesting with long keys cannot multiply memory.
const PATH_BUDGET: usize = 64 * 1024;
/// Longest time string that is unescaped into the stack buffer.
const MAX_TIME_TEXT: usize = 64;

/// Allocation-free scanner over a JSON object's top level.
struct Scan<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    /// A string starting at the current `"`: returns its raw body.
    fn string(&mut self) -> Option<&'a [u8]> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        loop {
            let k = j + memchr::memchr2(b'"', b'\\', self.s.get(j..)?)?;
            if self.s[k] == b'\\' {
                j = k + 2;
            } else {
                self.i = k + 1;
                return self.s.get(start..k);
            }
        }
    }
    /// Skips any value; returns its raw span.
    fn value(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        match *self.s.get(self.i)? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' => {
                // Depth counting with string skipping; no recursion.
                let mut depth = 0usize;
                loop {
                    match *self.s.get(self.i)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|&b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
            }
        }
        self.s.get(start..self.i)
    }
}

/// The raw value of the most preferred time key at the top level.
fn find_time_value(line: &[u8]) -> Option<&[u8]> {
    let mut sc = Scan { s: line, i: 0 };
    sc.ws();
    if sc.s.get(sc.i) != Some(&b'{') {
        return None;
    }
    sc.i += 1;
    let mut best: Option<(usize, &[u8])> = None;
    loop {
        sc.ws();
        match sc.s.get(sc.i) {
            Some(b'}') | None => break,
            Some(b',') => {
                sc.i += 1;
                continue;
            }
            _ => {}
        }
        let Some(key) = sc.string() else { break };
        sc.ws();
        if sc.s.get(sc.i) != Some(&b':') {
            break;
        }
        sc.i += 1;
        sc.ws();
        let Some(val) = sc.value() else { break };
        if let Some(rank) = TIME_KEYS.iter().position(|k| *k == key)
            && best.is_none_or(|(r, _)| rank < r)
        {
            best = Some((rank, val));
            if rank == 0 {
                break;
            }
        }
    }
    best.map(|(_, v)| v)
}

/// Parses a raw JSON time value (string or number).
fn time_from_raw(raw: &[u8], opts: &ParseOptions) -> Option<Timestamp> {
    if let Some(body) = raw.strip_prefix(b"\"") {
        let body = body.strip_suffix(b"\"")?;
        if memchr::memchr(b'\\', body).is_none() {
            return parse_time_text(body, &opts.tz);
        }
        // Escaped strings ("10\/Oct\/2017…") are unescaped into a small
        // stack buffer; time strings are short, longer ones are not times.
        if body.len() > MAX_TIME_TEXT {
            return None;
        }
        let mut buf = [0u8; MAX_TIME_TEXT];
        let mut n = 0;
        let mut esc = false;
        for &b in body {
            if esc || b != b'\\' {
                esc = false;
                *buf.get_mut(n)? = b;
                n += 1;
            } else {
                esc = true;
            }
        }
        return parse_time_text(buf.get(..n)?, &opts.tz);
    }
    let text = std::str::from_utf8(raw).ok()?;
    parse_epoch(text).or_else(|| parse_epoch_f64(text.parse::<f64>().ok()?))
}

/// The record's time from the first present time key.
pub(super) fn time(line: &[u8], opts: &ParseOptions) -> Option<Timestamp> {
    time_from_raw(find_time_value(line)?, opts)
}

/// Full parse: dotted-path fields, family, and normalised aliases.
pub(super) fn record<'a>(line: &'a [u8], opts: &ParseOptions) -> Record<'a> {
    let t = time(line, opts);
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(line) else {
        return Record::bare(line, t, Family::Json);
    };
    let mut rec = Record::bare(line, t, Family::Json);
    let mut flat = Flattener {
        out: &mut rec.fields,
        budget: line.len().saturating_add(PATH_BUDGET),
    };
    let mut path = String::new();
    flat.object(&obj, &mut path, 0);

    rec.family = if is_csp(&obj) {
        add_csp_aliases(&obj, &mut rec.fields);
        Family::Csp
    } else if is_chat(&obj) {
        Family::Chat
    } else if add_web_fields(&obj, &mut rec.fields) {
        Family::Web
    } else {
        Family::Json
    };
    rec
}

/// Flattens values into `(dotted.path, text)` within fixed bounds.
struct Flattener<'o, 'a> {
    out: &'o mut Vec<Field<'a>>,
    /// Bytes of path + value text still allowed.
    budget: usize,
}

impl Flattener<'_, '_> {
    fn object(&mut self, obj: &Map<String, Value>, path: &mut String, depth: usize) {
        for (k, v) in obj {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            self.value(v, path, depth + 1);
            path.truncate(len);
        }
    }

    fn value(&mut self, v: &Value, path: &mut String, depth: usize) {
        if depth > MAX_DEPTH || self.out.len() >= MAX_FIELDS {
            return;
        }
        let text = match v {
            Value::Null => return,
            Value::Object(o) => return self.object(o, path, depth),
            Value::Array(a) => {
                for e in a {
                    self.value(e, path, depth + 1);
                }
                return;
            }
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
        };
        let cost = path.len() + text.len();
        if cost > self.budget {
            self.budget = 0;
            return;
        }
        self.budget -= cost;
        self.out.push((path.clone().into(), text.into()));
    }
}

/// A top-level scalar as text (strings as-is, numbers/bools as text);
/// empty and `-` are absent.
fn scalar(obj: &Map<String, Value>, key: &str) -> Option<String> {
    let s = match obj.get(key)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s != "-").then_some(s)
}

fn is_csp(obj: &Map<String, Value>) -> bool {
    obj.contains_key("csp-report")
        || obj
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("csp-violation"))
}

fn is_chat(obj: &Map<String, Value>) -> bool {
    let chatty = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case("chat"))
    };
    chatty("service")
        || chatty("source")
        || ["chat_id", "chat_session_id", "conversation_id"]
            .iter()
            .any(|k| obj.contains_key(*k))
}

/// Adds `csp.*` aliases for both report shapes.
fn add_csp_aliases(obj: &Map<String, Value>, fields: &mut Vec<Field<'_>>) {
    let (body, names): (&Map<String, Value>, [&[&str]; 7]) =
        match obj.get("csp-report").and_then(Value::as_object) {
            Some(r) => (
                r,
                [
                    &["blocked-uri"],
                    &["document-uri"],
                    &["violated-directive", "effective-directive"],
                    &["effective-directive"],
                    &["script-sample"],
                    &["referrer"],
                    &["source-file"],
                ],
            ),
            None => match obj.get("body").and_then(Value::as_object) {
                Some(b) => (
                    b,
                    [
                        &["blockedURL"],
                        &["documentURL"],
                        &["effectiveDirective"],
                        &["effectiveDirective"],
                        &["sample"],
                        &["referrer"],
                        &["sourceFile"],
                    ],
                ),
                None => return,
            },
        };
    let aliases = [
        "csp.blocked-uri",
        "csp.document-uri",
        "csp.violated-directive",
        "csp.effective-directive",
        "csp.script-sample",
        "csp.referrer",
        "csp.source-file",
    ];
    for (alias, keys) in aliases.iter().zip(names) {
        if let Some(v) = keys.iter().find_map(|k| scalar(body, k)) {
            fields.push((alias.to_string().into(), v.into()));
        }
    }
}

/// Adds Sigma webserver names for nginx JSON and Cloudflare objects;
/// returns whether the object is an HTTP request record.
fn add_web_fields(obj: &Map<String, Value>, fields: &mut Vec<Field<'_>>) -> bool {
    const NGINX: [&str; 11] = [
        "remote_addr",
        "request",
        "request_method",
        "request_uri",
        "uri",
        "args",
        "status",
        "body_bytes_sent",
        "http_referer",
        "http_user_agent",
        "host",
    ];
    const CLOUDFLARE: [&str; 8] = [
        "ClientIP",
        "ClientRequestMethod",
        "ClientRequestURI",
        "ClientRequestHost",
        "ClientRequestReferer",
        "ClientRequestUserAgent",
        "EdgeResponseStatus",
        "EdgeResponseBytes",
    ];
    let nginx = NGINX.iter().any(|k| obj.contains_key(*k));
    let cf = CLOUDFLARE.iter().any(|k| obj.contains_key(*k));
    if !nginx && !cf {
        return false;
    }
    let mut add = |name: &str, keys: &[&str]| {
        if let Some(v) = keys.iter().find_map(|k| scalar(obj, k)) {
            fields.push((name.to_string().into(), v.into()));
        }
    };
    add("c-ip", &["remote_addr", "ClientIP"]);
    add("cs-method", &["request_method", "ClientRequestMethod"]);
    add("sc-status", &["status", "EdgeResponseStatus"]);
    add(
        "sc-bytes",
        &["body_bytes_sent", "bytes_sent", "EdgeResponseBytes"],
    );
    add("cs-referer", &["http_referer", "ClientRequestReferer"]);
    add(
        "cs-user-agent",
        &["http_user_agent", "ClientRequestUserAgent"],
    );
    add(
        "cs-host",
        &["host", "http_host", "server_name", "ClientRequestHost"],
    );
    add("cs-username", &["remote_user"]);
    add("cs-version", &["server_protocol", "ClientRequestProtocol"]);
    // The URI: a full request URI, else uri + args, else the request line.
    let mut uri_fields = Vec::new();
    let target;
    if let Some(u) = scalar(obj, "request_uri").or_else(|| scalar(obj, "ClientRequestURI")) {
        target = u;
        push_uri(&mut uri_fields, target.as_bytes(), false);
    } else if let Some(u) = scalar(obj, "uri") {
        let mut full = u;
        if let Some(a) = scalar(obj, "args") {
            full.push('?');
            full.push_str(&a);
        }
        target = full;
        push_uri(&mut uri_fields, target.as_bytes(), false);
    } else if let Some(r) = scalar(obj, "request") {
        target = r;
        push_request(&mut uri_fields, target.as_bytes(), false);
    }
    // The request line may repeat method/version already taken from keys.
    for (k, v) in uri_fields {
        if (k == "cs-method" || k == "cs-version") && fields.iter().any(|(n, _)| *n == k) {
            continue;
        }
        fields.push(super::owned((k, v)));
    }
    true
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
    fn parser_tz(tz: TimeZone) -> LineParser {
        LineParser::new(LogFormat::Jsonl, ParseOptions { tz, year: 2017 })
    }
    fn check(line: &[u8]) -> Record<'_> {
        let p = parser_tz(TimeZone::UTC);
        let r = p.record(line);
        assert_eq!(p.time(line), r.time, "time() == record().time");
        r
    }

    #[test]
    fn nginx_json() {
        let r = check(br#"{"time_local":"26\/Sep\/2017:21:30:00 -0400","remote_addr":"203.0.113.9","remote_user":"-","request":"GET /checkout?step=pay HTTP/1.1","status":200,"body_bytes_sent":512,"http_referer":"https://shop.example.com/","http_user_agent":"Mozilla/5.0","host":"shop.example.com"}"#);
        assert_eq!(r.family, Family::Web);
        assert_eq!(r.time, Some(ts("2017-09-27T01:30:00Z")));
        assert_eq!(r.get("c-ip"), Some("203.0.113.9"));
        assert_eq!(r.get("cs-method"), Some("GET"));
        assert_eq!(r.get("cs-uri-stem"), Some("/checkout"));
        assert_eq!(r.get("cs-uri-query"), Some("step=pay"));
        assert_eq!(r.get("cs-uri"), Some("/checkout?step=pay"));
        assert_eq!(r.get("cs-version"), Some("HTTP/1.1"));
        assert_eq!(r.get("sc-status"), Some("200"));
        assert_eq!(r.get("sc-bytes"), Some("512"));
        assert_eq!(r.get("cs-host"), Some("shop.example.com"));
        assert_eq!(r.get("cs-referer"), Some("https://shop.example.com/"));
        assert!(!r.has("cs-username"));
        // Original keys stay too.
        assert_eq!(r.get("status"), Some("200"));
    }

    #[test]
    fn cloudflare_json() {
        let r = check(br#"{"ClientIP":"198.51.100.7","ClientRequestHost":"shop.example.com","ClientRequestMethod":"POST","ClientRequestURI":"/api/pay?x=1","ClientRequestUserAgent":"curl/7.1","ClientRequestReferer":"","EdgeResponseBytes":1234,"EdgeResponseStatus":403,"EdgeStartTimestamp":1506560556000000000,"RayID":"3a2b"}"#);
        assert_eq!(r.family, Family::Web);
        assert_eq!(r.time, Some(ts("2017-09-28T01:02:36Z")));
        assert_eq!(r.get("c-ip"), Some("198.51.100.7"));
        assert_eq!(r.get("cs-method"), Some("POST"));
        assert_eq!(r.get("cs-uri"), Some("/api/pay?x=1"));
        assert_eq!(r.get("sc-status"), Some("403"));
        assert_eq!(r.get("sc-bytes"), Some("1234"));
        assert!(!r.has("cs-referer"));
        let r = check(br#"{"ClientIP":"1.2.3.4","EdgeStartTimestamp":"2017-09-28T01:02:36Z"}"#);
        assert_eq!(r.time, Some(ts("2017-09-28T01:02:36Z")));
    }

    #[test]
    fn csp_report_shape_from_corpus() {
        // First line of /work/shared/corpora/csp_reports_nico3333fr_CSP-useful.jsonl (shortened).
        let r = check(br#"{"csp-report": {"blocked-uri": "https://addonfiles.com/mozilla/copy-all-links", "document-uri": "https://www.nicolas-hoffmann.net/source/terragen.php", "referrer": "https://www.nicolas-hoffmann.net/source/", "violated-directive": "script-src"}, "_source": "nico3333fr/CSP-useful:csp-wtf/explained.md"}"#);
        assert_eq!(r.family, Family::Csp);
        assert_eq!(r.time, None);
        assert_eq!(
            r.get("csp-report.blocked-uri"),
            Some("https://addonfiles.com/mozilla/copy-all-links")
        );
        assert_eq!(
            r.get("csp.blocked-uri"),
            Some("https://addonfiles.com/mozilla/copy-all-links")
        );
        assert_eq!(r.get("csp.violated-directive"), Some("script-src"));
        assert_eq!(
            r.get("csp.referrer"),
            Some("https://www.nicolas-hoffmann.net/source/")
        );
        assert!(!r.has("csp.effective-directive"));
        // Fallback from effective-directive.
        let r = check(br#"{"csp-report":{"effective-directive":"media-src","script-sample":"alert(1)","source-file":"https://x/y.js"}}"#);
        assert_eq!(r.get("csp.violated-directive"), Some("media-src"));
        assert_eq!(r.get("csp.effective-directive"), Some("media-src"));
        assert_eq!(r.get("csp.script-sample"), Some("alert(1)"));
        assert_eq!(r.get("csp.source-file"), Some("https://x/y.js"));
    }

    #[cfg(feature = "shared-corpora")]
    #[test]
    fn shared_csp_corpus_parses() {
        let data = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/corpora/csp_reports_nico3333fr_CSP-useful.jsonl"),
        )
        .expect("../shared/corpora is readable");
        let p = parser_tz(TimeZone::UTC);
        let mut n = 0;
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let r = p.record(line);
            assert_eq!(p.time(line), r.time);
            if r.family == Family::Csp {
                n += 1;
            }
        }
        assert!(n > 10);
    }

    #[test]
    fn reporting_api_shape() {
        let r = check(br#"{"type":"csp-violation","age":10,"url":"https://shop.example.com/checkout","user_agent":"Mozilla","timestamp":"2017-09-27T10:00:00+0000","body":{"blockedURL":"https://evil.example/skim.js","documentURL":"https://shop.example.com/checkout","effectiveDirective":"script-src-elem","sample":"","sourceFile":"https://shop.example.com/app.js","disposition":"enforce"}}"#);
        assert_eq!(r.family, Family::Csp);
        assert_eq!(r.time, Some(ts("2017-09-27T10:00:00Z")));
        assert_eq!(
            r.get("body.blockedURL"),
            Some("https://evil.example/skim.js")
        );
        assert_eq!(
            r.get("csp.blocked-uri"),
            Some("https://evil.example/skim.js")
        );
        assert_eq!(
            r.get("csp.document-uri"),
            Some("https://shop.example.com/checkout")
        );
        assert_eq!(r.get("csp.violated-directive"), Some("script-src-elem"));
        assert_eq!(r.get("csp.effective-directive"), Some("script-src-elem"));
        assert_eq!(
            r.get("csp.source-file"),
            Some("https://shop.example.com/app.js")
        );
        assert!(!r.has("csp.script-sample"));
        assert_eq!(r.get("age"), Some("10"));
    }

    #[test]
    fn chat_and_generic_json() {
        let r = check(br#"{"ts":1506434136123,"service":"Chat","msg":"my card is on file","widget":{"src":["https://a/x.js","https://b/y.js"],"ok":true,"n":null}}"#);
        assert_eq!(r.family, Family::Chat);
        assert_eq!(r.time, Some(ts("2017-09-26T13:55:36.123Z")));
        assert_eq!(
            r.get_all("widget.src").collect::<Vec<_>>(),
            ["https://a/x.js", "https://b/y.js"]
        );
        assert_eq!(r.get("widget.ok"), Some("true"));
        assert!(!r.has("widget.n"));
        let r = check(br#"{"conversation_id":"c1","text":"hi"}"#);
        assert_eq!(r.family, Family::Chat);
        let r = check(br#"{"event":"login","level":"info"}"#);
        assert_eq!(r.family, Family::Json);
        assert_eq!(r.get("event"), Some("login"));
    }

    #[test]
    fn time_keys_and_zones() {
        // Zone-less JSON time is read in the parser's zone.
        let p = parser_tz(TimeZone::get("America/New_York").unwrap());
        let line = br#"{"msg":"x","time":"2017-09-26 21:30:00"}"#;
        assert_eq!(p.time(line), Some(ts("2017-09-27T01:30:00Z")));
        assert_eq!(p.record(line).time, p.time(line));
        // Priority: @timestamp over time, whatever the order; nested keys ignored.
        let r = check(br#"{"x":{"@timestamp":"2000-01-01T00:00:00Z"},"time":"2017-09-26T00:00:00+0000","@timestamp":"2017-09-27T00:00:00Z"}"#);
        assert_eq!(r.time, Some(ts("2017-09-27T00:00:00Z")));
        let r = check(br#"{"s":"\"time\": 1","date":"1506434136"}"#);
        assert_eq!(r.time, Some(ts("2017-09-26T13:55:36Z")));
        let r = check(br#"{"created_at":1.506434136e9}"#);
        assert_eq!(r.time, Some(ts("2017-09-26T13:55:36Z")));
        let r = check(br#"{"event_time":"not a time"}"#);
        assert_eq!(r.time, None);
    }

    #[test]
    fn invalid_truncated_and_hostile() {
        let r = check(b"{\"time\":\"2017-09-26T00:00:00Z\",\"msg\":\"\xff\xfe\"}");
        assert_eq!(r.family, Family::Json);
        assert!(
            r.fields.is_empty(),
            "invalid UTF-8 is not JSON: bare record"
        );
        assert_eq!(r.time, Some(ts("2017-09-26T00:00:00Z")));
        let r = check(br#"{"time":"2017-09-26T00:00:00Z","msg":"trunc"#);
        assert_eq!(r.family, Family::Json);
        assert_eq!(r.time, Some(ts("2017-09-26T00:00:00Z")));
        let r = check(b"not json at all");
        assert_eq!(r.time, None);
        let r = check(b"[1,2,3]");
        assert!(r.fields.is_empty());
        // Deep nesting: serde_json's own recursion limit or ours, no panic.
        let deep = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        let r = check(deep.as_bytes());
        assert!(r.fields.is_empty());
        let deep = format!("{}1{}", "{\"k\":".repeat(100), "}".repeat(100));
        let _ = check(deep.as_bytes());
        // Many fields are capped.
        let mut big = String::from("{\"a\":[");
        for i in 0..200_000 {
            big.push_str(&format!("{i},"));
        }
        big.push_str("0]}");
        let r = check(big.as_bytes());
        assert_eq!(r.fields.len(), MAX_FIELDS);
        // A 1 MB string value.
        let huge = format!(
            "{{\"time\":\"2017-09-26T00:00:00Z\",\"v\":\"{}\"}}",
            "x".repeat(1 << 20)
        );
        let r = check(huge.as_bytes());
        assert_eq!(r.get("v").map(str::len), Some(1 << 20));
    }

    #[test]
    fn garbage_never_panics() {
        let p = parser_tz(TimeZone::UTC);
        for g in test_util::garbage(11, 3000, b"{}[]\",:\\ timeTs@0123456789.e-") {
            let r = p.record(&g);
            assert_eq!(p.time(&g), r.time);
        }
    }
}
