//! AWS load balancer access logs: Application Load Balancer
//! (`type time elb client:port target:port … "request" "user_agent" …`) and
//! classic ELB (`time elb client:port backend:port … "request" "user_agent"
//! ssl_cipher ssl_protocol`). The classic layout is the ALB one without the
//! leading type, so both share one field table with an index shift.

use jiff::Timestamp;

use super::{ParseOptions, push, push_request};
use crate::record::{Family, Record};
use crate::time::parse_iso_prefix;

/// ALB request types that start a line.
const TYPES: [&[u8]; 6] = [b"http", b"https", b"h2", b"ws", b"wss", b"grpcs"];

/// At most this many tokens are read from a line.
const MAX_TOKENS: usize = 64;

/// Field names after the type, in order (ALB names; classic ELB's
/// `backend:port`/`backend_status_code` take the target names).
const NAMES: [&str; 19] = [
    "time",
    "elb",
    "client:port",
    "target:port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
];

fn is_type(tok: &[u8]) -> bool {
    TYPES.contains(&tok)
}

/// The next token: a quoted string (ends at a `"` followed by end of line
/// or by a space and a plausible next field, so embedded quotes survive) or a run of non-spaces.
/// Returns (token, rest).
fn next_token(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let s = s.trim_ascii_start();
    if s.is_empty() {
        return None;
    }
    if let Some(body) = s.strip_prefix(b"\"") {
        for q in memchr::memchr_iter(b'"', body) {
            let after = body.get(q + 1..).unwrap_or_default();
            if after.is_empty() {
                return Some((&body[..q], after));
            }
            if let Some(next) = after.strip_prefix(b" ") {
                // The field ends here only when what follows is a plausible
                // next field: quoted, or a bare token with no stray quote.
                let tok = next.split(|&b| b == b' ').next().unwrap_or_default();
                if tok.first() == Some(&b'"') || memchr::memchr(b'"', tok).is_none() {
                    return Some((&body[..q], after));
                }
            }
        }
        return Some((body, &[]));
    }
    let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// The first token (no quote handling: the leading fields are never quoted).
fn first_two(line: &[u8]) -> (&[u8], &[u8]) {
    let line = line.trim_ascii_start();
    let mut it = line.splitn(3, |&b| b == b' ');
    (it.next().unwrap_or_default(), it.next().unwrap_or_default())
}

/// The record's time: the RFC 3339 field (second token for ALB, first for ELB).
pub(super) fn time(line: &[u8], opts: &ParseOptions) -> Option<Timestamp> {
    let (a, b) = first_two(line);
    let t = if is_type(a) { b } else { a };
    let (ts, used) = parse_iso_prefix(t, &opts.tz)?;
    (used == t.len()).then_some(ts)
}

/// Whether a line looks like ALB/ELB: type + RFC 3339 time, or RFC 3339
/// time + a token + `ip:port`.
pub(super) fn looks_like(line: &[u8]) -> bool {
    let utc = jiff::tz::TimeZone::UTC;
    let is_time = |t: &[u8]| {
        t.contains(&b'T') && parse_iso_prefix(t, &utc).is_some_and(|(_, used)| used == t.len())
    };
    let (a, b) = first_two(line);
    if is_type(a) {
        return is_time(b);
    }
    if !is_time(a) {
        return false;
    }
    let mut toks = line.trim_ascii_start().split(|&b| b == b' ').skip(2);
    toks.next().is_some_and(|c| {
        memchr::memrchr(b':', c)
            .is_some_and(|p| p > 0 && p + 1 < c.len() && c[p + 1..].iter().all(u8::is_ascii_digit))
    })
}

/// Full parse; a line with too few fields keeps what it has.
pub(super) fn record<'a>(line: &'a [u8], opts: &ParseOptions) -> Record<'a> {
    let t = time(line, opts);
    let mut rec = Record::bare(line, t, Family::Web);
    let mut toks: Vec<&[u8]> = Vec::with_capacity(24);
    let mut rest = line;
    while toks.len() < MAX_TOKENS {
        let Some((tok, r)) = next_token(rest) else {
            break;
        };
        toks.push(tok);
        rest = r;
    }
    let fields = &mut rec.fields;
    let base = match toks.first() {
        Some(ty) if is_type(ty) => {
            push(fields, "type", ty);
            1
        }
        _ => 0,
    };
    let get = |i: usize| toks.get(base + i).copied();
    for (i, name) in NAMES.iter().enumerate() {
        if let Some(v) = get(i) {
            push(fields, *name, v);
        }
    }
    if let Some(client) = get(2) {
        let ip = match memchr::memrchr(b':', client) {
            Some(p) if client[p + 1..].iter().all(u8::is_ascii_digit) => &client[..p],
            _ => client,
        };
        push(fields, "c-ip", ip);
    }
    if let Some(req) = get(11) {
        push_request(fields, req, true);
    }
    if let Some(s) = get(7) {
        push(fields, "sc-status", s);
    }
    if let Some(b) = get(10) {
        push(fields, "sc-bytes", b);
    }
    if let Some(ua) = get(12) {
        push(fields, "cs-user-agent", ua);
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{LineParser, LogFormat};
    use crate::test_util;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn check(line: &[u8]) -> Record<'_> {
        let p = LineParser::new(LogFormat::Alb, ParseOptions::default());
        let r = p.record(line);
        assert_eq!(p.time(line), r.time, "time() == record().time");
        assert_eq!(r.family, Family::Web);
        r
    }

    #[test]
    fn alb_line() {
        let r = check(b"https 2017-09-27T13:55:36.123456Z app/my-lb/50dc6c495c0c9188 203.0.113.9:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 \"GET https://shop.example.com:443/checkout/pay?card=1&x=%22 HTTP/1.1\" \"Mozilla/5.0 \"quoted\" UA\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337262-36d228ad5d99923122bbe354\" \"shop.example.com\" \"arn:aws:acm:us-east-2:123456789012:certificate/12345678\"");
        assert_eq!(r.time, Some(ts("2017-09-27T13:55:36.123456Z")));
        assert_eq!(r.get("type"), Some("https"));
        assert_eq!(r.get("c-ip"), Some("203.0.113.9"));
        assert_eq!(r.get("cs-method"), Some("GET"));
        assert_eq!(r.get("cs-host"), Some("shop.example.com"));
        assert_eq!(r.get("cs-uri-stem"), Some("/checkout/pay"));
        assert_eq!(r.get("cs-uri-query"), Some("card=1&x=%22"));
        assert_eq!(r.get("cs-uri"), Some("/checkout/pay?card=1&x=%22"));
        assert_eq!(r.get("cs-version"), Some("HTTP/1.1"));
        assert_eq!(r.get("sc-status"), Some("200"));
        assert_eq!(r.get("sc-bytes"), Some("57"));
        assert_eq!(r.get("cs-user-agent"), Some("Mozilla/5.0 \"quoted\" UA"));
        assert_eq!(r.get("domain_name"), Some("shop.example.com"));
        assert_eq!(r.get("ssl_protocol"), Some("TLSv1.2"));
    }

    #[test]
    fn classic_elb_line() {
        let r = check(b"2017-09-27T13:55:36.123456Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 404 404 0 29 \"GET http://www.example.com:80/widget.js HTTP/1.1\" \"curl/7.38.0\" - -");
        assert_eq!(r.time, Some(ts("2017-09-27T13:55:36.123456Z")));
        assert!(!r.has("type"));
        assert_eq!(r.get("elb"), Some("my-loadbalancer"));
        assert_eq!(r.get("c-ip"), Some("192.168.131.39"));
        assert_eq!(r.get("cs-host"), Some("www.example.com"));
        assert_eq!(r.get("cs-uri"), Some("/widget.js"));
        assert_eq!(r.get("sc-status"), Some("404"));
        assert_eq!(r.get("sc-bytes"), Some("29"));
        assert_eq!(r.get("cs-user-agent"), Some("curl/7.38.0"));
        assert!(!r.has("ssl_cipher"));
    }

    #[test]
    fn truncated_invalid_and_huge() {
        let r = check(b"h2 2017-09-27T13:55:36Z app/lb/1 1.2.3.4:5");
        assert_eq!(r.time, Some(ts("2017-09-27T13:55:36Z")));
        assert_eq!(r.get("c-ip"), Some("1.2.3.4"));
        assert!(!r.has("sc-status"));
        let r = check(b"h2 notatime x");
        assert_eq!(r.time, None);
        let r = check(b"");
        assert!(r.fields.is_empty());
        let r = check(b"http 2017-09-27T13:55:36Z lb 1.2.3.4:5 - 0 0 0 200 200 0 1 \"GET http://h/\xff\xfe HTTP/1.1\" \"\xc3UA\" - -");
        assert_eq!(r.get("cs-uri-stem"), Some("/\u{fffd}\u{fffd}"));
        assert_eq!(r.get("cs-user-agent"), Some("\u{fffd}UA"));
        let r = check(b"http 2017-09-27T13:55:36Z lb 1.2.3.4:5 - 0 0 0 200 200 0 1 \"GET http://h");
        assert_eq!(r.get("cs-host"), Some("h"));
        assert_eq!(r.get("cs-uri-stem"), Some("/"));
        let mut line = b"http 2017-09-27T13:55:36Z ".to_vec();
        line.extend(std::iter::repeat_n(b"x\" ".as_slice(), 400_000).flatten());
        assert_eq!(check(&line).time, Some(ts("2017-09-27T13:55:36Z")));
    }

    #[test]
    fn garbage_never_panics() {
        let p = LineParser::new(LogFormat::Alb, ParseOptions::default());
        for g in test_util::garbage(3, 3000, b"https 2017-09-27T13:55:36Z\":/.? 1") {
            let r = p.record(&g);
            assert_eq!(p.time(&g), r.time);
            let _ = looks_like(&g);
        }
    }
}
