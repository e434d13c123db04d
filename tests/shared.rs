//! Tests over ../shared/: the real false-positive corpora and the SigmaHQ
//! webserver rules. Run with `cargo test --features shared-corpora --test shared`
//! (`.ci/run` does).

mod common;

use common::*;
use skimhunt::Level;

#[test]
fn all_86_sigmahq_webserver_rules_load() {
    let dir = shared().join("sigma-webserver");
    let files = skimhunt::pack::read_rule_files(&dir).expect("read SigmaHQ rules");
    let mut n = 0;
    for (path, text) in &files {
        let rules = skimhunt::rules::load_str(text, path)
            .unwrap_or_else(|e| panic!("SigmaHQ rule failed to load: {e}"));
        n += rules.len();
    }
    assert_eq!(files.len(), 86);
    assert_eq!(n, 86);
}

#[test]
fn sigmahq_rules_load_through_the_cli() {
    let o = run(&[
        "rules",
        "list",
        "--no-default-rules",
        "--rules",
        "../shared/sigma-webserver",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listed = String::from_utf8_lossy(&o.stdout).lines().count() - 1;
    assert_eq!(listed, 86);
}

#[test]
fn real_corpora_give_no_card_finding_and_nothing_medium_or_above() {
    let o = run(&["scan", "../shared/corpora", "--fail-on", "never", "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = stdout_json(&o);
    let findings = report["findings"].as_array().unwrap();
    for f in findings {
        let level: Level = f["level"].as_str().unwrap().parse().unwrap();
        assert!(
            level < Level::Medium,
            "finding at {level} on ordinary traffic: {} {}:{}",
            f["rule_title"],
            f["path"],
            f["line"]
        );
        assert!(f["pan"].is_null(), "card finding on ordinary traffic: {f}");
        assert_ne!(f["category"], "card-exposure");
    }
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert!(files.iter().all(|f| f["status"] == "scanned"));
    assert_eq!(report["summary"]["records"], 10_000 + 3_456 + 141);
    assert_no_full_pan("report", &String::from_utf8_lossy(&o.stdout));
}

/// The Apache corpus serves each of its 72 `.js` paths with one size: no
/// drift, with a first-seen baseline (no window) or a learnt one (a window
/// starting mid-file), and no detector finding at all on ordinary traffic.
#[test]
fn apache_corpus_scripts_give_no_drift() {
    let file = "../shared/corpora/elastic_examples_apache_logs.log";
    for window in [&[][..], &["--since", "2015-05-19"][..]] {
        let mut args = vec!["scan", file, "--fail-on", "never", "--quiet"];
        args.extend_from_slice(window);
        let o = run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = stdout_json(&o);
        assert_eq!(r["drift"]["assets_tracked"], 72, "{window:?}");
        assert_eq!(r["drift"]["items"], serde_json::json!([]), "{window:?}");
        if !window.is_empty() {
            assert!(r["drift"]["baseline_records"].as_u64().unwrap() > 0);
        }
        for f in r["findings"].as_array().unwrap() {
            assert!(
                !f["rule_id"].as_str().unwrap().starts_with("skimhunt."),
                "detector finding on ordinary traffic: {f}"
            );
        }
    }
}

#[test]
fn sigmahq_rules_scan_the_corpora_without_error() {
    let o = run(&[
        "scan",
        "../shared/corpora",
        "--no-default-rules",
        "--rules",
        "../shared/sigma-webserver",
        "--fail-on",
        "never",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = stdout_json(&o);
    assert_eq!(report["scan"]["rules"]["count"], 86);
}

/// Loads one SigmaHQ rule by file name.
fn sigma_rule(name: &str) -> skimhunt::rules::Rule {
    let dir = shared().join("sigma-webserver");
    let files = skimhunt::pack::read_rule_files(&dir).unwrap();
    let (path, text) = files
        .iter()
        .find(|(p, _)| p.ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in ../shared/sigma-webserver"));
    let mut rules = skimhunt::rules::load_str(text, path).unwrap();
    assert_eq!(rules.len(), 1);
    rules.remove(0)
}

fn matches(rule: &skimhunt::rules::Rule, line: &str) -> bool {
    let rec = skimhunt::app::sample_record(line.as_bytes(), Some("combined"));
    rule.applies_to(rec.family) && rule.eval(&rec).is_some()
}

fn clf(method: &str, target: &str, status: u16, ua: &str) -> String {
    format!(
        "198.51.100.7 - - [27/Sep/2017:10:00:00 +0000] \"{method} {target} HTTP/1.1\" {status} 512 \"-\" \"{ua}\""
    )
}

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64)";

#[test]
fn sigma_keywords_with_field_selection_and_not_filter() {
    // select_method and keywords and not filter (sc-status: 404).
    let r = sigma_rule("web_xss_in_access_logs.yml");
    assert!(matches(
        &r,
        &clf("GET", "/search?q=<script>alert(1)</script>", 200, UA)
    ));
    // The rule lists the URL-encoded form as its own keyword.
    assert!(matches(
        &r,
        &clf("GET", "/search?q=%3Cscript%3Ealert(1)", 200, UA)
    ));
    // Keyword anywhere, case-insensitive.
    assert!(matches(&r, &clf("GET", "/p?x=1&DOCUMENT.COOKIE", 200, UA)));
    // The not-filter: same request answered 404.
    assert!(!matches(
        &r,
        &clf("GET", "/search?q=<script>alert(1)</script>", 404, UA)
    ));
    // The method selection is field-specific: POST does not match.
    assert!(!matches(
        &r,
        &clf("POST", "/search?q=<script>alert(1)</script>", 200, UA)
    ));
    // No keyword at all.
    assert!(!matches(&r, &clf("GET", "/search?q=shoes", 200, UA)));
}

#[test]
fn sigma_contains_all_and_one_of_selection_star() {
    let r = sigma_rule("web_cve_2019_19781_citrix_exploit.yml");
    // selection_csall: both substrings in cs-uri-query.
    assert!(matches(
        &r,
        &clf("GET", "/x?p=/vpns/portal/scripts/newbm.pl", 200, UA)
    ));
    // Only one of the two: contains|all fails, and no other selection holds.
    assert!(!matches(
        &r,
        &clf("GET", "/x?p=/vpns/portal/scripts/newbm.php5", 200, UA)
    ));
    assert!(!matches(
        &r,
        &clf("GET", "/x?p=/vpns/portal/scripts/", 200, UA)
    ));
    // selection_cs, endswith.
    assert!(matches(&r, &clf("GET", "/x?f=/vpns/cfg/smb.conf", 200, UA)));
    assert!(!matches(
        &r,
        &clf("GET", "/x?f=/vpns/cfg/smb.conf.bak", 200, UA)
    ));
    // The same text in the path, not the query: field-specific, no match.
    assert!(!matches(&r, &clf("GET", "/vpns/cfg/smb.conf", 200, UA)));
}
