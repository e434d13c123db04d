//! Integration tests: the binary on small fixtures written per test.

mod common;

use common::*;

const KEYWORD_RULE: &str = r#"
title: Test marker
id: 00000000-0000-4000-8000-000000000001
description: Matches the word INDICATOR anywhere.
references: [https://example.org/test]
tags: [attack.t1189]
level: high
detection:
  keywords:
    - INDICATOR
  condition: keywords
skimhunt:
  category: injected-script
"#;

fn rule_file(dir: &std::path::Path) -> String {
    write(dir, "rules/marker.yml", KEYWORD_RULE.as_bytes())
        .display()
        .to_string()
}

fn clf(ts: &str, target: &str) -> String {
    format!("203.0.113.5 - - [{ts}] \"GET {target} HTTP/1.1\" 200 100 \"-\" \"Mozilla/5.0\"\n")
}

#[test]
fn window_edges_follow_utc_not_local_dates() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let mut log = String::new();
    log += &clf("25/Sep/2017:21:30:00 -0400", "/a?INDICATOR"); // 2017-09-26T01:30Z: inside
    log += &clf("25/Sep/2017:19:59:59 -0400", "/b?INDICATOR"); // 2017-09-25T23:59:59Z: outside
    log += &clf("12/Oct/2017:21:00:00 -0400", "/c?INDICATOR"); // 2017-10-13T01:00Z: outside
    log += &clf("12/Oct/2017:19:59:59 -0400", "/d?INDICATOR"); // 2017-10-12T23:59:59Z: inside
    let logs = write(d.path(), "logs/access.log", log.as_bytes());
    let o = run(&[
        "scan",
        logs.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--since",
        "2017-09-26T00:00:00Z",
        "--until",
        "2017-10-12T23:59:59Z",
        "--quiet",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = stdout_json(&o);
    let got: Vec<(u64, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["timestamp"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "2017-09-26T01:30:00Z".to_string()),
            (4, "2017-10-12T23:59:59Z".to_string())
        ]
    );
    assert_eq!(r["summary"]["in_window"], 2);
    assert_eq!(r["summary"]["out_of_window"], 2);
    assert_eq!(r["window"]["since"], "2017-09-26T00:00:00Z");
}

#[test]
fn date_bounds_cover_whole_days_and_pad_widens() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let log = clf("13/Oct/2017:03:00:00 +0000", "/x?INDICATOR");
    let logs = write(d.path(), "a.log", log.as_bytes());
    let base = [
        "scan",
        logs.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
        "--since",
        "2017-09-26",
        "--until",
        "2017-10-12",
    ];
    let count = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let o = run(&args);
        stdout_json(&o)["summary"]["findings"].as_u64().unwrap()
    };
    assert_eq!(count(&[]), 0);
    // In New York the 12th ends at 2017-10-13T03:59:59Z.
    assert_eq!(count(&["--tz", "America/New_York"]), 1);
    assert_eq!(count(&["--pad", "1d"]), 1);
}

#[test]
fn broken_rule_file_is_refused_with_position() {
    let d = tempfile::tempdir().unwrap();
    let bad = write(
        d.path(),
        "bad.yml",
        b"title: broken\nid: 00000000-0000-4000-8000-000000000002\ndetection:\n  sel:\n    cs-uri|contans: x\n  condition: sel\n",
    );
    let logs = write(d.path(), "a.log", b"hello\n");
    let o = run(&[
        "scan",
        logs.to_str().unwrap(),
        "--rules",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:5:", bad.display())),
        "stderr should name file:line:column, got: {err}"
    );
    assert!(err.contains("contans"), "{err}");
}

#[test]
fn every_input_is_accounted_for() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let root = d.path().join("ev");
    write(&root, "empty.log", b"");
    write(&root, "binary.log", b"\x7fELF\0\0\0binary");
    write(
        &root,
        "plain.log",
        clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes(),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..5000 {
        gz.write_all(clf("27/Sep/2017:10:00:00 +0000", &format!("/p{i}?INDICATOR")).as_bytes())
            .unwrap();
    }
    let gz = gz.finish().unwrap();
    write(&root, "rotated.1", &gz);
    write(&root, "truncated.gz", &gz[..gz.len() / 2]);
    std::fs::create_dir_all(root.join("dir.gz")).unwrap();
    let o = run(&[
        "scan",
        root.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
        "--fail-on",
        "never",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = stdout_json(&o);
    let files = r["files"].as_array().unwrap();
    let by_name = |n: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(n))
            .unwrap_or_else(|| panic!("{n} missing from the report"))
            .clone()
    };
    assert_eq!(files.len(), 5, "{files:#?}");
    assert_eq!(by_name("empty.log")["status"], "scanned");
    assert_eq!(by_name("binary.log")["status"], "skipped");
    assert!(
        by_name("binary.log")["reason"]
            .as_str()
            .unwrap()
            .contains("binary")
    );
    assert_eq!(by_name("plain.log")["records"], 1);
    let rot = by_name("rotated.1");
    assert_eq!(rot["compression"], "gzip");
    assert_eq!(rot["records"], 5000);
    let tr = by_name("truncated.gz");
    assert_eq!(tr["status"], "error");
    assert!(
        tr["reason"].as_str().unwrap().starts_with("truncated gzip"),
        "{tr}"
    );
    // Findings read before the break are kept.
    let tr_findings = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("truncated.gz"))
        .count() as u64;
    // Every whole line read before the break is scanned; the last, cut
    // line is still a record but may have lost its marker.
    let read = tr["records"].as_u64().unwrap();
    assert!(read > 100 && read < 5000, "{tr}");
    assert!(
        tr_findings == read || tr_findings + 1 == read,
        "{tr_findings} of {read}"
    );
    assert_eq!(r["summary"]["files"]["errors"], 1);
    assert_eq!(r["summary"]["files"]["skipped"], 1);
}

#[test]
fn fail_on_sets_the_exit_code() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let logs = write(
        d.path(),
        "a.log",
        clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes(),
    );
    let code = |level: &str| {
        run(&[
            "scan",
            logs.to_str().unwrap(),
            "--no-default-rules",
            "--rules",
            &rules,
            "--quiet",
            "--fail-on",
            level,
        ])
        .status
        .code()
    };
    assert_eq!(code("high"), Some(1));
    assert_eq!(code("critical"), Some(0));
    assert_eq!(code("never"), Some(0));
    let clean = write(
        d.path(),
        "b.log",
        clf("27/Sep/2017:10:00:00 +0000", "/x").as_bytes(),
    );
    let o = run(&[
        "scan",
        clean.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["scan", clean.to_str().unwrap(), "--since", "not-a-date"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn jsonl_streams_findings_then_one_summary() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let mut log = String::new();
    for i in 0..3 {
        log += &clf("27/Sep/2017:10:00:00 +0000", &format!("/x{i}?INDICATOR"));
    }
    let logs = write(d.path(), "a.log", log.as_bytes());
    let o = run(&[
        "scan",
        logs.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
        "--format",
        "jsonl",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[..3].iter().all(|l| l["type"] == "finding"));
    assert_eq!(lines[3]["type"], "summary");
    assert_eq!(lines[3]["summary"]["findings"], 3);
    assert_eq!(lines[1]["line"], 2);
}

#[test]
fn output_file_is_atomic_and_never_scanned() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let root = d.path().join("tree");
    write(
        &root,
        "a.log",
        clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes(),
    );
    let out = root.join("report.json");
    std::fs::write(&out, "{\"stale\": \"INDICATOR\"}\n").unwrap();
    let o = run(&[
        "scan",
        root.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(r["summary"]["findings"], 1);
    let rep = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("report.json"))
        .unwrap()
        .clone();
    assert_eq!(rep["status"], "skipped");
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn output_to_a_device_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    write(
        d.path(),
        "a.log",
        clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes(),
    );
    let o = run(&[
        "scan",
        d.path().join("a.log").to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
        "-o",
        "/dev/null",
    ]);
    assert_eq!(o.status.code(), Some(1));
    // The atomic rename must never replace a device node with a file.
    let t = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(t.is_char_device(), "/dev/null is no longer a device");
}

#[test]
fn rules_test_command_reports_failures() {
    let d = tempfile::tempdir().unwrap();
    let rule = KEYWORD_RULE.to_string()
        + "  tests:\n    match:\n      - 'x INDICATOR y'\n    nomatch:\n      - 'also INDICATOR here'\n";
    let p = write(d.path(), "r.yml", rule.as_bytes());
    let o = run(&["rules", "test", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("1 sample failures"), "{out}");
}

#[test]
fn builtin_rules_pass_their_own_tests() {
    let o = run(&["rules", "test"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let o = run(&["rules", "list"]);
    let n = String::from_utf8_lossy(&o.stdout).lines().count() - 1;
    assert!(n >= 30, "only {n} built-in rules");
}

#[test]
fn no_card_number_leaves_in_the_clear() {
    let d = tempfile::tempdir().unwrap();
    let mut log = String::new();
    let pans = [
        "4111111111111111",
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "340000000000009",
        "4012888888881881",
        "6011000990139424",
        "4111%201111%201111%201111",
    ];
    for (i, p) in pans.iter().enumerate() {
        log += &clf(
            "27/Sep/2017:10:00:00 +0000",
            &format!("/checkout/pay?cc_number={p}&cvv=123&n={i}"),
        );
        log += &format!(
            "{{\"ts\":\"2017-09-27T10:00:0{i}Z\",\"service\":\"chat\",\"event\":\"message\",\"text\":\"my card is {p}\"}}\n"
        );
    }
    let a = write(
        d.path(),
        "web/access.log",
        log.lines()
            .filter(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    );
    let b = write(
        d.path(),
        "chat/export.jsonl",
        log.lines()
            .filter(|l| l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    );
    let _ = (a, b);
    for fmt in ["json", "jsonl"] {
        let o = run(&[
            "scan",
            d.path().to_str().unwrap(),
            "--format",
            fmt,
            "--pan-key",
            "k",
        ]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("411111"), "findings expected in {fmt}: {out}");
        assert_no_full_pan(&format!("{fmt} stdout"), &out);
        assert_no_full_pan("stderr", &String::from_utf8_lossy(&o.stderr));
    }
}

#[test]
fn stdin_is_scanned_and_decompressed() {
    use std::io::Write;
    use std::process::Stdio;
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes())
        .unwrap();
    let body = gz.finish().unwrap();
    let mut child = bin()
        .args([
            "scan",
            "-",
            "--no-default-rules",
            "--rules",
            &rules,
            "--quiet",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let o = child.wait_with_output().unwrap();
    let r = stdout_json(&o);
    assert_eq!(r["files"][0]["path"], "-");
    assert_eq!(r["files"][0]["compression"], "gzip");
    assert_eq!(r["files"][0]["format"], "combined");
    assert_eq!(r["summary"]["findings"], 1);
}

#[test]
fn undated_records_are_scanned_or_left_out() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let logs = write(
        d.path(),
        "app.log",
        b"2017-09-27T10:00:00Z dated INDICATOR\nno time here INDICATOR\n",
    );
    let count = |undated: &str| {
        let o = run(&[
            "scan",
            logs.to_str().unwrap(),
            "--no-default-rules",
            "--rules",
            &rules,
            "--quiet",
            "--since",
            "2017-09-26",
            "--undated",
            undated,
        ]);
        let r = stdout_json(&o);
        assert_eq!(r["summary"]["undated"], 1);
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["timestamp"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        count("include"),
        vec![
            serde_json::json!("2017-09-27T10:00:00Z"),
            serde_json::Value::Null
        ]
    );
    assert_eq!(
        count("exclude"),
        vec![serde_json::json!("2017-09-27T10:00:00Z")]
    );
}

#[test]
fn a_huge_line_is_scanned_whole_and_its_evidence_cut() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let mut line = String::from("2017-09-27T10:00:00Z ");
    line.push_str(&"a".repeat(30 << 20));
    line.push_str(" INDICATOR ");
    line.push_str(&"b".repeat(20 << 20));
    line.push('\n');
    let logs = write(d.path(), "huge.log", line.as_bytes());
    drop(line);
    let o = run(&[
        "scan",
        logs.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
    ]);
    let r = stdout_json(&o);
    assert_eq!(r["summary"]["findings"], 1);
    let ev = r["findings"][0]["evidence"].as_str().unwrap();
    assert!(ev.contains("INDICATOR"), "evidence shows the match");
    assert!(
        ev.len() < 2048,
        "evidence is a window, not the line: {} bytes",
        ev.len()
    );
    assert!(ev.starts_with('…') && ev.ends_with('…'));
}

#[test]
fn include_exclude_and_forced_format() {
    let d = tempfile::tempdir().unwrap();
    let rules = rule_file(d.path());
    let root = d.path().join("t");
    write(
        &root,
        "a.log",
        clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes(),
    );
    write(
        &root,
        "b.txt",
        clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes(),
    );
    write(
        &root,
        "old/c.log",
        clf("27/Sep/2017:10:00:00 +0000", "/x?INDICATOR").as_bytes(),
    );
    let o = run(&[
        "scan",
        root.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        &rules,
        "--quiet",
        "--include",
        "*.log",
        "--exclude",
        "old",
        "--log-format",
        "plain",
    ]);
    let r = stdout_json(&o);
    let scanned: Vec<_> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "scanned")
        .map(|f| {
            (
                f["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                f["format"].clone(),
            )
        })
        .collect();
    assert_eq!(
        scanned,
        vec![("a.log".to_string(), serde_json::json!("plain"))]
    );
    assert_eq!(r["summary"]["files"]["skipped"], 2);
}

/// Found by the `rules` fuzz target: nested counted repetitions made the
/// regex compiler work for seconds before its size limit refused them.
#[test]
fn nested_repetition_regex_is_refused_before_compiling() {
    let d = tempfile::tempdir().unwrap();
    let rule = write(
        d.path(),
        "huge.yml",
        b"title: Huge regex\nid: huge-regex\ndetection:\n    selection:\n        cs-uri-query|re: '(?:\\w{500}){500}'\n    condi=ion: selection\n",
    );
    let o = run(&[
        "rules",
        "list",
        "--no-default-rules",
        "--rules",
        rule.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:5:26: regex too large", rule.display())),
        "{err}"
    );
    // The message is printed once, not repeated by the error chain.
    assert_eq!(err.matches("regex too large").count(), 1, "{err}");
}

/// `--no-default-rules` drops the built-in detections with the pack: a
/// pattern-only scan reports only its patterns, says which detectors ran,
/// and refuses options that only the built-in detectors use.
#[test]
fn no_default_rules_turns_off_the_built_in_detectors() {
    let d = tempfile::tempdir().unwrap();
    let mut log = String::new();
    // A look-alike host and a script from a payment page: both would be
    // detector input with the built-in detectors on.
    log += "203.0.113.5 - - [27/Sep/2017:10:00:00 +0000] \"GET /checkout/ HTTP/1.1\" 200 100 \"https://www.goog1e-analytics.com/x\" \"Mozilla/5.0\"\n";
    log += &clf("27/Sep/2017:10:00:01 +0000", "/js/app.js?INDICATOR");
    let logs = write(d.path(), "logs/access.log", log.as_bytes());
    let pats = write(d.path(), "p.txt", b"INDICATOR\n");
    let iocs = write(d.path(), "iocs.txt", b"goog1e-analytics.com\n");
    let base = [
        "scan",
        logs.to_str().unwrap(),
        "--no-default-rules",
        "--quiet",
        "--fail-on",
        "never",
    ];

    // Exit 0 (--fail-on never) and the report.
    let report = |extra: &[&str]| {
        let o = run(&[&base[..], extra].concat());
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(0), "{err}");
        stdout_json(&o)
    };

    let r = report(&["--patterns", pats.to_str().unwrap()]);
    assert_eq!(r["scan"]["detectors"], serde_json::json!([]));
    assert!(r["drift"].is_null() && r["exposure"].is_null(), "{r}");
    let ids: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pattern:1"]);

    // An IOC list alone is something to scan for; it still applies.
    let r = report(&["--ioc", iocs.to_str().unwrap()]);
    assert_eq!(r["scan"]["detectors"], serde_json::json!(["ioc"]));
    let f = &r["findings"].as_array().unwrap()[..];
    assert_eq!(f.len(), 1, "{r}");
    assert_eq!(f[0]["rule_id"], "skimhunt.ioc");
    assert_eq!(f[0]["line"], 1);

    // With the built-in detectors on, the same log gives their output.
    let o = run(&[
        "scan",
        logs.to_str().unwrap(),
        "--quiet",
        "--fail-on",
        "never",
    ]);
    let r = stdout_json(&o);
    assert_eq!(
        r["scan"]["detectors"],
        serde_json::json!(["drift", "exposure", "lookalike"])
    );
    assert!(r["drift"].is_object() && r["exposure"].is_object());
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "skimhunt.lookalike"),
        "{r}"
    );

    // Options only the built-in detectors use are refused, not ignored.
    let csv = d.path().join("exposed.csv");
    let o = run(&[
        &base[..],
        &["--patterns", pats.to_str().unwrap()],
        &[
            "--exposure-csv",
            csv.to_str().unwrap(),
            "--own-domain",
            "x.example",
        ],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--own-domain, --exposure-csv") && err.contains("--no-default-rules"),
        "{err}"
    );
    assert!(!csv.exists());
}

/// A custom payment path is a regex over the request's path, anchors
/// included: `^/pay-now` and `/step2$` find the same pages as `/pay-now`,
/// whether the path is in a request line or an absolute URL.
#[test]
fn anchored_payment_paths_hold_for_the_request_path() {
    let d = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for i in 0..6 {
        let target = if i % 2 == 0 {
            "/pay-now/step2?x=1".to_string()
        } else {
            "https://shop.example/pay-now/step2".to_string()
        };
        log += &format!(
            "10.0.0.{i} - - [10/Oct/2017:13:5{i}:00 +0000] \"GET {target} HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n\
             10.0.0.{i} - - [10/Oct/2017:13:5{i}:01 +0000] \"GET /help/pay-now HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n"
        );
    }
    let path = write(d.path(), "access.log", log.as_bytes());
    let requests = |pattern: &str| {
        let o = run(&[
            "scan",
            path.to_str().unwrap(),
            "--quiet",
            "--fail-on",
            "never",
            "--payment-path",
            pattern,
        ]);
        assert_eq!(o.status.code(), Some(0), "{pattern}");
        stdout_json(&o)["exposure"]["requests"].as_u64().unwrap()
    };
    assert_eq!(requests("/pay-now/"), 6);
    assert_eq!(requests("^/pay-now"), 6);
    assert_eq!(requests("/step2$"), 6);
    assert_eq!(requests(r"\Apay-now"), 0);
    assert_eq!(requests("^/help"), 6);
    assert_eq!(requests("^/pay-now$"), 0);
}
