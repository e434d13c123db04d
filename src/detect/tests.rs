//! Detector tests over parsed records, independent of the scan loop.

use super::*;
use crate::format::{LineParser, LogFormat, ParseOptions};
use jiff::tz::TimeZone;

fn window() -> Window {
    Window::new(Some("2017-09-26"), Some("2017-10-12"), &TimeZone::UTC, None).unwrap()
}

fn det(o: &DetectOptions) -> Detectors {
    Detectors::new(window(), o).unwrap()
}

fn parser(f: LogFormat) -> LineParser {
    LineParser::new(
        f,
        ParseOptions {
            tz: TimeZone::UTC,
            year: 2017,
        },
    )
}

/// Feeds lines as the scan loop does; returns the immediate findings.
fn feed(d: &Detectors, st: &mut DetectState, f: LogFormat, lines: &[&str]) -> Vec<Finding> {
    let p = parser(f);
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let line = l.as_bytes();
        let time = p.time(line);
        let inside = time.is_some_and(|t| d.window.contains(t));
        let wanted = if inside {
            st.wants(d, line, &|l| p.request_part(l))
        } else {
            time.is_some() && d.wants_baseline(line)
        };
        if !wanted {
            continue;
        }
        let rec = p.record(line);
        let loc = Loc {
            path: "t.log".into(),
            relative: "t.log".into(),
            line: i as u64 + 1,
            offset: 0,
        };
        out.extend(st.observe(d, &rec, (time, inside, false), &loc));
    }
    out
}

fn web(day: &str, path: &str, status: u16, size: u64, referer: &str, ua: &str) -> String {
    format!(
        r#"192.0.2.{} - - [{day}:10:00:00 +0000] "GET {path} HTTP/1.1" {status} {size} "{referer}" "{ua}""#,
        size % 200 + 1
    )
}

const PAY: &str = "https://shop.example/checkout/payment";
const DESK: &str = "Mozilla/5.0 (Windows NT 10.0)";

#[test]
fn drift_end_to_end_with_exposure() {
    let d = det(&DetectOptions::default());
    let mut st = DetectState::default();
    let mut lines = Vec::new();
    for day in ["01/Sep/2017", "02/Sep/2017", "03/Sep/2017"] {
        lines.push(web(day, "/js/widget.js", 200, 1000, PAY, DESK));
        // Never baseline: partial, not-modified, empty.
        lines.push(web(day, "/js/widget.js", 206, 77, PAY, DESK));
        lines.push(web(day, "/js/widget.js", 304, 0, PAY, DESK));
    }
    for day in ["27/Sep/2017", "28/Sep/2017"] {
        lines.push(web(day, "/js/widget.js", 200, 1500, PAY, DESK));
        lines.push(web(day, "/checkout/payment", 200, 5000, "-", DESK));
    }
    lines.push(web("14/Oct/2017", "/js/widget.js", 200, 1000, "-", DESK));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert!(feed(&d, &mut st, LogFormat::Combined, &refs).is_empty());
    let rep = finish(&d, st);
    assert_eq!(rep.drift.as_ref().unwrap().baseline_records, 3);
    assert_eq!(rep.drift.as_ref().unwrap().after_window_records, 1);
    assert_eq!(
        rep.findings.len(),
        1,
        "{:#?}",
        rep.drift.as_ref().unwrap().items
    );
    let f = &rep.findings[0];
    assert_eq!((f.rule_id.as_str(), f.level), (DRIFT, Level::High));
    let i = &rep.drift.as_ref().unwrap().items[0];
    assert_eq!(
        (i.size, i.requests, i.payment_referer_share),
        (Some(1500), 2, 1.0)
    );
    assert_eq!(i.reverted_at, Some("2017-10-14T10:00:00Z".parse().unwrap()));
    let e = rep.exposure.as_ref().unwrap();
    assert_eq!(e.interval.basis, "drift");
    assert_eq!(
        e.interval.since,
        Some("2017-09-27T10:00:00Z".parse().unwrap())
    );
    // Payment pages and drifted-asset loads from payment pages, per day.
    assert_eq!(e.requests, 4);
    assert_eq!(e.by_day.len(), 2);
    assert!(e.by_day.contains_key("2017-09-27"));
}

#[test]
fn widget_versions_and_chat_sessions() {
    let d = det(&DetectOptions::default());
    let mut st = DetectState::default();
    let load = |ts: &str, sid: &str, ver: &str| {
        format!(
            r#"{{"ts":"{ts}","service":"chat","event":"widget.load","session_id":"{sid}","user_agent":"{DESK}","page_url":"https://shop.example/checkout","widget":{{"src":"https://cdn.vendor.example/w/chat.js?x=1","version":"{ver}","sha256":"ab"}}}}"#
        )
    };
    let lines = [
        load("2017-09-01T00:00:00Z", "s-0", "1.0"),
        load("2017-09-27T00:00:00Z", "s-1", "1.0"),
        load("2017-09-28T00:00:00Z", "s-2", "1.1"),
        load("2017-09-29T00:00:00Z", "s-2", "1.1"),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    feed(&d, &mut st, LogFormat::Jsonl, &refs);
    let rep = finish(&d, st);
    assert_eq!(
        rep.findings.len(),
        1,
        "{:#?}",
        rep.drift.as_ref().unwrap().items
    );
    assert_eq!(rep.findings[0].rule_id, DRIFT_VERSION);
    let i = &rep.drift.as_ref().unwrap().items[0];
    assert_eq!(i.asset, "cdn.vendor.example/w/chat.js");
    assert_eq!(i.build.as_deref(), Some("sha256=ab version=1.1"));
    assert_eq!((i.requests, i.line), (2, 3));
    // Exposure follows the drift interval (28th..29th): only s-2.
    assert_eq!(rep.exposure.as_ref().unwrap().interval.basis, "drift");
    assert_eq!(rep.exposure.as_ref().unwrap().chat_sessions, 1);
}

#[test]
fn ioc_and_lookalike_findings_in_window_only() {
    let o = DetectOptions {
        ioc_texts: vec![("list.txt".into(), "# drops\nskim.example\n".into())],
        ..DetectOptions::default()
    };
    let d = det(&o);
    let mut st = DetectState::default();
    let lines = [
        web("01/Sep/2017", "/a", 200, 10, "https://skim.example/x", DESK),
        web("27/Sep/2017", "/a", 200, 10, "https://skim.example/x", DESK),
        web(
            "27/Sep/2017",
            "/b",
            200,
            10,
            "https://www.google-anaiytics.com/",
            DESK,
        ),
        web(
            "27/Sep/2017",
            "/c",
            200,
            10,
            "https://www.google-analytics.com/",
            DESK,
        ),
        web(
            "27/Sep/2017",
            "/d",
            200,
            10,
            "https://notskim.example/",
            DESK,
        ),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let f = feed(&d, &mut st, LogFormat::Combined, &refs);
    let got: Vec<(&str, u64)> = f.iter().map(|f| (f.rule_id.as_str(), f.line)).collect();
    assert_eq!(got, [(IOC, 2), (LOOKALIKE, 3)]);
    assert_eq!(&f[0].fields["ioc.entry"], "skim.example");
    assert_eq!(&f[0].fields["ioc.field"], "cs-referer");
    assert_eq!(&f[1].fields["lookalike.imitates"], "google-analytics");
}

#[test]
fn asset_globs_and_payment_paths() {
    let o = DetectOptions {
        assets: vec!["/static/*.mjs".into()],
        payment_paths: vec!["^/pay-now".into()],
        ..DetectOptions::default()
    };
    let d = det(&o);
    assert!(d.is_asset("/static/app.mjs"));
    assert!(d.is_asset("/x/y.JS?v=1"));
    assert!(!d.is_asset("/x/y.json"));
    // Cut as bytes: a character across the last three bytes is no `.js`.
    assert!(!d.is_asset("/checkout/x\u{20ac}ab"));
    assert!(d.is_asset("/\u{20ac}/a.js#x"));
    assert!(d.wants_baseline(b"GET /static/app.mjs"));
    assert!(d.is_payment("/pay-now/step2"));
    assert!(!d.is_payment("/checkout"));
    let d = det(&DetectOptions::default());
    for p in [
        "/checkout",
        "/checkout/",
        "/booking/payment",
        "/billing.php",
        "/cart",
        "/basket/view",
        "/onepage-checkout",
    ] {
        assert!(d.is_payment(p), "{p}");
    }
    for p in [
        "/help/cvv-explained",
        "/cartoons",
        "/paymentsystems-blog",
        "/",
    ] {
        assert!(!d.is_payment(p), "{p}");
    }
    assert!(
        Detectors::new(
            window(),
            &DetectOptions {
                payment_paths: vec!["(".into()],
                ..Default::default()
            }
        )
        .is_err()
    );
    // A pattern that can match bytes that are not UTF-8 is taken, as the
    // `regex::bytes` payment set takes it, and a line holding its path is
    // wanted.
    let raw = det(&DetectOptions {
        payment_paths: vec![r"(?-u:/pay\xff)".into()],
        ..Default::default()
    });
    assert!(DetectState::default().wants(&raw, b"GET /pay\xff HTTP/1.1", &|l| l));
    assert!(
        Detectors::new(
            window(),
            &DetectOptions {
                assets: vec!["[".into()],
                ..Default::default()
            }
        )
        .is_err()
    );
}

/// Files a page loads are not payment pages, whatever their names: not as
/// requests (a shop's cart icon is on every page) and not as referers (a
/// font loaded by `checkout.css`); pages with an extension still are.
#[test]
fn static_files_named_like_payment_pages_are_not_payment_pages() {
    let d = det(&DetectOptions {
        assets: vec!["/widget/*".into()],
        ..DetectOptions::default()
    });
    for p in [
        "/checkout.php",
        "/checkout/cart/",
        "/billing.aspx?step=2",
        "/payment",
        "/cart.html#top",
    ] {
        assert!(d.is_payment(p), "{p}");
    }
    for p in [
        "/static/js/view/payment.js",
        "/static/js/view/PAYMENT.JS?v=3",
        "/static/css/checkout.css",
        "/media/cart-icon.png",
        "/media/cart.SVG#i",
        "/fonts/checkout.woff2",
        "/js/cart.js.map",
        // A tracked asset without an extension.
        "/widget/checkout",
    ] {
        assert!(!d.is_payment(p), "{p}");
    }
    // A script that drifts while loaded by a style sheet named `checkout.css`.
    let css = "https://shop.example/static/css/checkout.css";
    let mut lines = Vec::new();
    for day in ["01/Sep/2017", "02/Sep/2017", "03/Sep/2017"] {
        lines.push(web(day, "/js/fonts.js", 200, 1000, css, DESK));
    }
    let day = "27/Sep/2017";
    lines.extend([
        web(day, "/js/fonts.js", 200, 1500, css, DESK),
        web(day, "/static/js/view/payment.js", 200, 5000, "-", DESK),
        web(
            day,
            "/media/cart-icon.png",
            200,
            300,
            "https://shop.example/",
            DESK,
        ),
        // The one payment page (client 192.0.2.3).
        web(day, "/checkout/cart/", 200, 7002, "-", DESK),
    ]);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut st = DetectState::default();
    feed(&d, &mut st, LogFormat::Combined, &refs);
    let rep = finish(&d, st);
    let item = &rep.drift.as_ref().unwrap().items[0];
    assert_eq!(
        (item.size, item.payment_referer_share),
        (Some(1500), 0.0),
        "{item:#?}"
    );
    let e = rep.exposure.as_ref().unwrap();
    assert_eq!((e.requests, e.sessions), (1, 1), "{e:#?}");
    assert_eq!(e.sample[0].client_ip, "192.0.2.3");
}

#[test]
fn raw_host_extraction_is_bounded_and_decodes() {
    let mut h = Vec::new();
    raw_hosts(
        br#"a https://User@Evil.Example:8/x "https:\/\/b.example\/" u=http%3A%2F%2Fc.example%2F"#,
        &mut h,
    );
    assert_eq!(h, ["evil.example", "b.example", "c.example"]);
    // Each escaped spelling alone (the line tests look for `\` and `%`).
    for (line, want) in [
        (r#"x "https:\/\/b.example\/""#, "b.example"),
        ("u=http%3A%2F%2Fc.example", "c.example"),
    ] {
        h.clear();
        raw_hosts(line.as_bytes(), &mut h);
        assert_eq!(h, [want], "{line}");
    }
    let long = "http://a.b/ ".repeat(10_000);
    h.clear();
    raw_hosts(long.as_bytes(), &mut h);
    assert_eq!(h.len(), 1);
    h.clear();
    raw_hosts(&[0xff, b':', b'/', b'/', 0xfe, 0x80], &mut h);
    assert!(h.len() <= 1);
}

#[test]
fn merge_is_order_stable() {
    let d = det(&DetectOptions::default());
    let lines: Vec<String> = ["01/Sep/2017", "27/Sep/2017", "28/Sep/2017"]
        .iter()
        .zip([10u64, 20, 30])
        .map(|(day, s)| web(day, "/w.js", 200, s, "-", DESK))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut whole = DetectState::default();
    feed(&d, &mut whole, LogFormat::Combined, &refs);
    let mut a = DetectState::default();
    feed(&d, &mut a, LogFormat::Combined, &refs[..2]);
    let mut b = DetectState::default();
    feed(&d, &mut b, LogFormat::Combined, &refs[2..]);
    b.shift_lines(2);
    a.merge(b);
    let (x, y) = (finish(&d, whole), finish(&d, a));
    assert_eq!(
        serde_json::to_string(&x.drift).unwrap(),
        serde_json::to_string(&y.drift).unwrap()
    );
    assert_eq!(x.findings.len(), 2);
}

#[test]
fn payment_pages_are_wanted_as_requested_paths_not_as_referers() {
    let d = det(&DetectOptions::default());
    let p = parser(LogFormat::Combined);
    let mut st = DetectState::default();
    let day = "27/Sep/2017";
    let wants =
        |st: &mut DetectState, line: &str| st.wants(&d, line.as_bytes(), &|l| p.request_part(l));
    // A page after the payment page: nothing for the detectors.
    assert!(!wants(&mut st, &web(day, "/product/1", 200, 10, PAY, "UA")));
    // The payment page itself, and a script loaded from it.
    assert!(wants(
        &mut st,
        &web(day, "/checkout/cart", 200, 10, "-", "UA")
    ));
    assert!(wants(
        &mut st,
        &web(day, "/static/app.js", 200, 10, PAY, "UA")
    ));
    // Other formats keep the whole line.
    let json = format!(r#"{{"time":"2017-09-27T10:00:00Z","referer":"{PAY}"}}"#);
    let pj = parser(LogFormat::Jsonl);
    assert!(st.wants(&d, json.as_bytes(), &|l| pj.request_part(l)));
}

/// The buffer-wide payment search takes exactly the lines whose request
/// part holds a payment path, line after line through one cursor: case
/// variants, near misses, the path at the end of the request, a match
/// running past the request's end (only then is the part tested again), in
/// the referer only, several per line; the built-in pattern, custom ones, and
/// one with an assertion (which takes every line).
#[test]
fn buffer_wide_payment_search_takes_exactly_the_payment_requests() {
    let p = parser(LogFormat::Combined);
    let words = [
        "checkout",
        "CheckOut",
        "checkouts",
        "one-page-checkout",
        "onepagecheckout",
        "one-pagecheckout",
        "payment",
        "Payments",
        "paymentx",
        "billing",
        "BILLING",
        "cart",
        "cartoon",
        "basket",
        "shopping-cart",
        "shoppingcart",
        "kasse",
        "KASSE",
        "pay12",
        "pay",
        "c",
        "product",
    ];
    let mut rnd = crate::test_util::rng(11);
    let mut lines = Vec::new();
    for i in 0..3000u64 {
        let mut path = String::new();
        for _ in 0..=rnd(3) {
            path.push('/');
            path.push_str(words[rnd(words.len() as u64) as usize]);
            // A carriage return or Unicode white space after a word: the
            // built-in pattern's class takes either, and the line-wide
            // (CRLF-aware) search may also end its match at the `$` before
            // a `\r`; the part alone must give the same answer.
            path.push_str(
                [
                    "",
                    "/",
                    ".html",
                    "?a=1",
                    ";x",
                    "-",
                    "_y",
                    "\r",
                    "\u{a0}",
                    "\u{2028}x",
                ][rnd(10) as usize],
            );
        }
        let referer = match rnd(3) {
            0 => "-".to_string(),
            1 => PAY.to_string(),
            _ => format!(
                "https://shop.example/{}",
                words[rnd(words.len() as u64) as usize]
            ),
        };
        lines.push(web("27/Sep/2017", &path, 200, i, &referer, DESK));
    }
    let buf = lines.join("\n");
    for payment_paths in [
        vec![],
        vec!["/kasse/".to_string(), r"(?i)/pay[0-9]+".to_string()],
        vec![r"(?i)/KASSE\b".to_string()],
    ] {
        let d = det(&DetectOptions {
            payment_paths,
            ..DetectOptions::default()
        });
        let mut st = DetectState::default();
        let mut cur = Cursor::default();
        let rp = |l: &[u8]| -> usize { p.request_part(l).len() };
        let mut ls = 0;
        for line in &lines {
            let le = ls + line.len();
            let l = line.as_bytes();
            let expected = !d.payment_in_lines || d.payment.is_match(&l[..rp(l)]);
            assert_eq!(
                st.wants_at(&d, &mut cur, (buf.as_bytes(), ls, le), &|l| &l[..rp(l)]),
                expected,
                "{line}"
            );
            ls = le + 1;
        }
    }
}

/// The chunk-wide look-alike search answers each line as the per-line
/// host walk does: random lines of URLs in every spelling (plain, JSON
/// `:\/\/`, `%3A%2F%2F` in any case), userinfo, ports, look-alikes and real
/// hosts, separators cut by line ends, one cursor over the lines in order.
#[test]
fn chunk_wide_lookalike_search_answers_as_the_host_walk() {
    let d = det(&DetectOptions::default());
    let mut rand = crate::test_util::rng(0xa409_3822_299f_31d0);
    let hosts = [
        "www.google-anaiytics.com",
        "code.jquery-cdnapi.com",
        "www.google-analytics.com",
        "code.jquery.com",
        "shop.example",
        "WWW.GOOGLE-ANAIYTICS.COM",
        "user:pw@www.google-anaiytics.com",
        "www.google-analytics.com@www.google-anaiytics.com",
        "g\u{f6}ogle-analytics.com",
    ];
    let seps = [
        "://",
        ":\\/\\/",
        "%3a%2f%2f",
        "%3A%2F%2F",
        "%3A%2f%2F",
        ":/",
        "%3a%2f",
    ];
    let mut buf = String::new();
    let mut spans = Vec::new();
    for _ in 0..3000 {
        let start = buf.len();
        buf.push_str("203.0.113.9 - - [27/Sep/2017:10:00:00 +0000] \"GET /p?u=");
        for _ in 0..rand(4) {
            buf.push_str(["https", "http", "x", ""][rand(4) as usize]);
            buf.push_str(seps[rand(seps.len() as u64) as usize]);
            buf.push_str(hosts[rand(hosts.len() as u64) as usize]);
            buf.push_str([":443/a", "/", "\" ", "&b=", ""][rand(5) as usize]);
        }
        buf.push_str(" HTTP/1.1\" 200 1 \"-\" \"UA\"");
        // A separator cut by the line's end.
        if rand(5) == 0 {
            buf.push_str([":/", "%3a%2", "https:\\/"][rand(3) as usize]);
        }
        spans.push((start, buf.len()));
        buf.push(if rand(4) == 0 { '\r' } else { ' ' });
        buf.push('\n');
    }
    let bytes = buf.as_bytes();
    let (mut chunk, mut each) = (DetectState::default(), DetectState::default());
    let mut cur = Cursor::default();
    let mut taken = 0;
    for &(ls, le) in &spans {
        let line = &bytes[ls..le];
        let mut walk = false;
        each_raw_host(line, |h| {
            walk = each.cache.is_lookalike(&d.lookalikes, h);
            !walk
        });
        let wide = chunk.lookalike_at(&d, &mut cur, bytes, ls, le);
        assert_eq!(wide, walk, "{}", String::from_utf8_lossy(line));
        taken += usize::from(wide);
    }
    assert!(taken > 300 && taken < 2700, "{taken}");
}

/// [`host_span`] as it was written byte by byte, the reference for the
/// vector version.
fn host_span_bytewise(b: &[u8], from: usize) -> (usize, usize) {
    let (mut h0, mut j) = (from, from);
    while j < b.len() {
        if is_host_byte(b[j]) {
            j += 1;
        } else if b[j] == b'@' {
            j += 1;
            h0 = j;
        } else {
            break;
        }
    }
    (h0, j)
}

#[test]
fn host_spans_end_where_a_bytewise_walk_ends_them() {
    let mut rng = crate::test_util::rng(29);
    // Host bytes, the bytes next to each class edge, userinfo and ends.
    let alphabet: Vec<u8> = b"az09AZ.-_@/:?#%[]` {\r\n\x00\x7f\x80\xc3\xff"
        .iter()
        .copied()
        .chain(b'!'..=b'~')
        .collect();
    for len in 0..90 {
        for _ in 0..40 {
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    if rng(3) == 0 {
                        alphabet[rng(alphabet.len() as u64) as usize]
                    } else {
                        b"abcxyz0189.-"[rng(12) as usize]
                    }
                })
                .collect();
            for from in [0, 1, 7, 15, 16, 17, len / 2, len, len + 1] {
                assert_eq!(
                    host_span(&b, from),
                    host_span_bytewise(&b, from),
                    "{:?} from {from}",
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }
    for c in 0..=255u8 {
        let b = [c; 40];
        assert_eq!(host_span(&b, 0), host_span_bytewise(&b, 0), "byte {c:#x}");
    }
}
