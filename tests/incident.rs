//! The bundled incident (testdata/incident, answer key in
//! testdata/incident.expected.json): every planted indicator inside the
//! window is found by exactly the listed rules, nothing outside the window,
//! nothing on decoys, and the report matches the committed snapshot.

mod common;

use std::collections::BTreeSet;

use common::*;

type Key = (String, u64, String);

fn expected(in_window_only: bool) -> BTreeSet<Key> {
    let e: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("testdata/incident.expected.json")).unwrap(),
    )
    .unwrap();
    let mut out = BTreeSet::new();
    for p in e["plants"].as_array().unwrap() {
        if p["kind"] != "indicator" || (in_window_only && p["in_window"] != true) {
            continue;
        }
        for r in p["rules"].as_array().unwrap() {
            out.insert((
                p["file"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
                r["id"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

fn found(report: &serde_json::Value) -> BTreeSet<Key> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("testdata/incident/")
                    .to_string(),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const WINDOW: [&str; 4] = ["--since", "2017-09-26", "--until", "2017-10-12"];

fn scan(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["scan", "testdata/incident", "--pan-key", "snapshot-key"];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn windowed_scan_finds_exactly_the_planted_indicators() {
    let o = scan(&WINDOW);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = stdout_json(&o);
    let exp = expected(true);
    let got = found(&report);
    assert!(exp.len() >= 40, "answer key too small: {}", exp.len());
    let missing: Vec<_> = exp.difference(&got).collect();
    let extra: Vec<_> = got.difference(&exp).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert_no_full_pan("report", &String::from_utf8_lossy(&o.stdout));
    assert_no_full_pan("stderr", &String::from_utf8_lossy(&o.stderr));
}

#[test]
fn unwindowed_scan_also_finds_the_out_of_window_twins() {
    let o = scan(&["--quiet"]);
    let got = found(&stdout_json(&o));
    let exp = expected(false);
    assert!(exp.len() > expected(true).len());
    assert_eq!(got, exp);
}

#[test]
fn thread_count_does_not_change_the_report() {
    let strip = |o: &std::process::Output| {
        let mut r = stdout_json(o);
        r["scan"]["started"] = serde_json::Value::Null;
        r["scan"]["finished"] = serde_json::Value::Null;
        r["scan"]["command_line"] = serde_json::Value::Null;
        r
    };
    let mut a = WINDOW.to_vec();
    a.extend(["-j1", "--quiet"]);
    let mut b = WINDOW.to_vec();
    b.extend(["-j4", "--quiet"]);
    let (ra, rb) = (strip(&scan(&a)), strip(&scan(&b)));
    assert_eq!(ra, rb);
    let mut c = WINDOW.to_vec();
    c.extend(["-j1", "--quiet", "--format", "jsonl"]);
    let mut d = WINDOW.to_vec();
    d.extend(["-j4", "--quiet", "--format", "jsonl"]);
    let lines = |o: std::process::Output| {
        let t = String::from_utf8(o.stdout).unwrap();
        t.lines()
            .filter(|l| l.starts_with("{\"type\":\"finding\""))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let (lc, ld) = (lines(scan(&c)), lines(scan(&d)));
    assert!(!lc.is_empty());
    assert_eq!(lc, ld);
}

fn redact(mut r: serde_json::Value) -> serde_json::Value {
    r["scan"]["started"] = "[started]".into();
    r["scan"]["finished"] = "[finished]".into();
    r["scan"]["command_line"] = "[command line]".into();
    r["scan"]["host_time_zone"] = "[host time zone]".into();
    r["tool"]["version"] = "[version]".into();
    r
}

#[test]
fn json_report_snapshot() {
    let mut args = WINDOW.to_vec();
    args.push("--quiet");
    let o = scan(&args);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_no_full_pan("json report", &text);
    insta::assert_json_snapshot!("incident_json", redact(stdout_json(&o)));
}

#[test]
fn jsonl_report_snapshot() {
    let mut args = WINDOW.to_vec();
    args.extend(["--quiet", "--format", "jsonl"]);
    let o = scan(&args);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_no_full_pan("jsonl report", &text);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["type"] == "summary" { redact(v) } else { v }
        })
        .collect();
    insta::assert_json_snapshot!("incident_jsonl", lines);
}
