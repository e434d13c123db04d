//! Output for CI and for people (issue 5): SARIF against the official schema,
//! stable fingerprints, baselines and ignore files with --fail-on, CSV, text,
//! HTML, `rules list/check`, completions and the man page.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

use common::*;

const WINDOW: [&str; 4] = ["--since", "2017-09-26", "--until", "2017-10-12"];

fn scan_incident(extra: &[&str]) -> Output {
    let mut args = vec!["scan", "testdata/incident", "--pan-key", "snapshot-key"];
    args.extend_from_slice(&WINDOW);
    args.extend_from_slice(extra);
    run(&args)
}

fn sarif_validator() -> jsonschema::Validator {
    let mut schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("testdata/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    // The official schema's `language` patterns (run, toolComponent) have a
    // stray `]`, a literal in ECMAScript regexes (the schema's dialect) but
    // an error for strict engines, so the schema fails its own meta-schema
    // here. Escape it: the same language; everything else stays as published.
    fn fix(v: &mut serde_json::Value, n: &mut usize) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "pattern" && x == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *x = r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$".into();
                        *n += 1;
                    } else {
                        fix(x, n);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| fix(x, n)),
            _ => {}
        }
    }
    let mut fixed = 0;
    fix(&mut schema, &mut fixed);
    assert_eq!(fixed, 2, "the vendored schema changed");
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

fn fingerprints(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sarif_validates_against_the_official_schema_and_matches_snapshot() {
    let o = scan_incident(&["--quiet", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_no_full_pan("sarif", &text);
    let sarif: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator does reject what GitHub would.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));

    // What GitHub code scanning reads.
    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "skimhunt");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    let rule_ids: BTreeSet<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for r in rules {
        let tags = r["properties"]["tags"].as_array().unwrap();
        assert!(tags.iter().any(|t| t == "security"));
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev));
        assert!(r["help"]["text"].is_string() && r["fullDescription"]["text"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 81);
    for r in results {
        assert!(rule_ids.contains(r["ruleId"].as_str().unwrap()));
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with("testdata"), "{uri} is not root-relative");
        assert!(
            uri.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)),
            "{uri} is not a plain URI reference"
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert_eq!(
            r["partialFingerprints"]["primaryLocationLineHash"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
    }
    assert_eq!(run["artifacts"].as_array().unwrap().len(), 6);
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    for k in ["startTimeUtc", "endTimeUtc"] {
        let t = inv[k].as_str().unwrap();
        assert!(
            t.parse::<jiff::Timestamp>().is_ok() && t.ends_with('Z'),
            "{k} {t}"
        );
    }

    let mut redacted = sarif.clone();
    let inv = &mut redacted["runs"][0]["invocations"][0];
    inv["startTimeUtc"] = "[start]".into();
    inv["endTimeUtc"] = "[end]".into();
    inv["commandLine"] = "[command line]".into();
    inv["arguments"] = "[arguments]".into();
    let driver = &mut redacted["runs"][0]["tool"]["driver"];
    driver["semanticVersion"] = "[version]".into();
    driver["version"] = "[version]".into();
    insta::assert_json_snapshot!("incident_sarif", redacted);
}

#[test]
fn fingerprints_ignore_threads_and_the_absolute_scan_path() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("elsewhere").join("incident");
    copy_dir(&root().join("testdata/incident"), &copy);
    let a = run(&[
        "scan",
        "testdata/incident",
        "--quiet",
        "-j1",
        "--pan-key",
        "k1",
    ]);
    let b = run(&[
        "scan",
        copy.to_str().unwrap(),
        "--quiet",
        "-j4",
        "--pan-key",
        "another-key",
    ]);
    let (fa, fb) = (
        fingerprints(&stdout_json(&a)),
        fingerprints(&stdout_json(&b)),
    );
    assert!(fa.len() > 50);
    assert_eq!(fa, fb);
    // Distinct findings have distinct fingerprints, except the same rule
    // on identical evidence in one file.
    let distinct: BTreeSet<&String> = fa.iter().collect();
    assert!(distinct.len() * 10 >= fa.len() * 9, "{}", distinct.len());

    // A log that grows (lines shift) keeps its findings' fingerprints.
    let log = copy.join("apache/ssl_access.log");
    let mut body = b"www.skyways-air.example:443 10.0.0.1 - - [01/Oct/2017:00:00:00 -0400] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\"\n".to_vec();
    body.extend(std::fs::read(&log).unwrap());
    std::fs::write(&log, body).unwrap();
    let c = run(&["scan", copy.to_str().unwrap(), "--quiet", "--pan-key", "k"]);
    let rc = stdout_json(&c);
    assert_eq!(fingerprints(&rc), fb);
    let lines_b: Vec<u64> = stdout_json(&b)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("ssl_access.log"))
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    let lines_c: Vec<u64> = rc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("ssl_access.log"))
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(
        lines_c,
        lines_b.iter().map(|l| l + 1).collect::<Vec<_>>(),
        "lines shifted"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A small scan root: one high finding and one medium finding.
fn small_root(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("logs");
    write(
        &root,
        "web/access.log",
        b"10.0.0.5 - - [27/Sep/2017:10:00:00 +0000] \"GET /search?q=%3Cscript%20src%3D%2F%2Fevil.example%2Fx.js%3E%3C%2Fscript%3E HTTP/1.1\" 200 10 \"-\" \"UA\"\n\
          10.0.0.6 - - [27/Sep/2017:11:00:00 +0000] \"GET /checkout?x=1 HTTP/1.1\" 200 10 \"https://shop.example/pay?cc_number=1&cvv=2\" \"UA\"\n",
    );
    root
}

fn levels(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["level"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn baseline_suppresses_and_fail_on_follows_what_remains() {
    let tmp = tempfile::tempdir().unwrap();
    let root = small_root(tmp.path());
    let r = root.to_str().unwrap();
    let first = run(&["scan", r, "--quiet", "--fail-on", "high"]);
    assert_eq!(first.status.code(), Some(1));
    let report = stdout_json(&first);
    let found = levels(&report);
    assert!(found.iter().any(|(_, l, _)| l == "high"), "{found:?}");
    assert!(
        found.iter().any(|(_, l, _)| l != "high" && l != "critical"),
        "{found:?}"
    );

    // Baseline holding only the high/critical findings.
    let mut baseline = report.clone();
    baseline["findings"] = serde_json::Value::Array(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["level"] == "high" || f["level"] == "critical")
            .cloned()
            .collect(),
    );
    let n_high = baseline["findings"].as_array().unwrap().len() as u64;
    let bpath = tmp.path().join("baseline.json");
    std::fs::write(&bpath, baseline.to_string()).unwrap();
    let b = bpath.to_str().unwrap();

    let second = run(&["scan", r, "--quiet", "--fail-on", "high", "--baseline", b]);
    assert_eq!(second.status.code(), Some(0), "only lower findings remain");
    let rep2 = stdout_json(&second);
    assert_eq!(rep2["summary"]["baselined"].as_u64(), Some(n_high));
    assert_eq!(rep2["summary"]["ignored"].as_u64(), Some(0));
    assert_eq!(
        rep2["findings"].as_array().unwrap().len() as u64,
        found.len() as u64 - n_high
    );
    assert!(levels(&rep2).iter().all(|(_, l, _)| l != "high"));
    // The remaining findings still fail a lower threshold.
    let third = run(&["scan", r, "--quiet", "--fail-on", "low", "--baseline", b]);
    assert_eq!(third.status.code(), Some(1));

    // The whole first report as baseline: nothing left, exit 0 at any level.
    let all = tmp.path().join("all.json");
    std::fs::write(&all, &first.stdout).unwrap();
    let fourth = run(&[
        "scan",
        r,
        "--fail-on",
        "informational",
        "--baseline",
        all.to_str().unwrap(),
    ]);
    assert_eq!(fourth.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&fourth.stderr);
    assert!(stderr.contains("baselined"), "{stderr}");

    // A baseline that is not a report: exit 2.
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "[1,2]").unwrap();
    let bad = run(&["scan", r, "--baseline", junk.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn ignore_files_suppress_and_fail_on_follows_what_remains() {
    let tmp = tempfile::tempdir().unwrap();
    let root = small_root(tmp.path());
    let r = root.to_str().unwrap();
    let report = stdout_json(&run(&["scan", r, "--quiet"]));
    let found = levels(&report);
    let high: Vec<&(String, String, String)> =
        found.iter().filter(|(_, l, _)| l == "high").collect();
    assert!(!high.is_empty());

    // .skimhuntignore in the root, by rule id and glob: the high findings go.
    let mut text = String::from("# accepted risk, ticket 123\n\n");
    for (rule, _, _) in &high {
        text.push_str(&format!("{rule}:web/*.log\n"));
    }
    write(&root, ".skimhuntignore", text.as_bytes());
    let o = run(&["scan", r, "--quiet", "--fail-on", "high"]);
    assert_eq!(o.status.code(), Some(0));
    let rep = stdout_json(&o);
    assert_eq!(rep["summary"]["ignored"].as_u64(), Some(high.len() as u64));
    assert!(levels(&rep).iter().all(|(_, l, _)| l != "high"));
    // The ignore file itself is not scanned as a log.
    let files = rep["files"].as_array().unwrap();
    let ign = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(".skimhuntignore"))
        .unwrap();
    assert_eq!(ign["status"], "skipped");
    std::fs::remove_file(root.join(".skimhuntignore")).unwrap();

    // --ignore-file with fingerprints: every finding goes.
    let list: String = found.iter().map(|(_, _, fp)| format!("{fp}\n")).collect();
    let ign = write(tmp.path(), "ignore.txt", list.as_bytes());
    let o = run(&[
        "scan",
        r,
        "--quiet",
        "--fail-on",
        "informational",
        "--ignore-file",
        ign.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let rep = stdout_json(&o);
    assert_eq!(rep["summary"]["ignored"].as_u64(), Some(found.len() as u64));
    assert_eq!(rep["summary"]["findings"].as_u64(), Some(0));

    // A malformed line: exit 2 naming file and line.
    let bad = write(tmp.path(), "bad.txt", b"# fine\nnot-a-fingerprint\n");
    let o = run(&["scan", r, "--ignore-file", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("bad.txt:2:"), "{stderr}");
}

#[test]
fn csv_is_rfc4180_with_formula_cells_defused() {
    let tmp = tempfile::tempdir().unwrap();
    let log = write(
        tmp.path(),
        "a.log",
        b"=cmd|' /C calc'!A0 - - [27/Sep/2017:10:00:00 +0000] \"GET /x?q=%3Cscript%3Ealert(1)%3C/script%3E,\"\"q HTTP/1.1\" 200 1 \"-\" \"UA\"\n",
    );
    let o = run(&["scan", log.to_str().unwrap(), "--quiet", "--format", "csv"]);
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(text.contains("\r\n"));
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, skimhunt::report::csv::COLUMNS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(row.len(), skimhunt::report::csv::COLUMNS.len());
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "live formula cell {cell:?}"
            );
        }
    }

    let o = scan_incident(&["--quiet", "--format", "csv"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_no_full_pan("csv", &text);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(rdr.records().count(), 81);
}

#[test]
fn text_output_is_plain_when_piped_and_masked() {
    let o = scan_incident(&["--format", "text"]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(!text.contains('\x1b'), "colour on a pipe");
    assert_no_full_pan("text", &text);
    assert!(text.contains("81 findings"), "{text}");
    assert!(text.lines().count() > 81 * 3);
}

#[test]
fn text_output_neutralises_escape_sequences_from_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let log = write(
        tmp.path(),
        "e.log",
        b"10.0.0.1 - - [27/Sep/2017:10:00:00 +0000] \"GET /x?q=<script>\x1b]0;owned\x07\x1b[2J</script> HTTP/1.1\" 200 1 \"-\" \"UA\"\n",
    );
    let o = run(&["scan", log.to_str().unwrap(), "--format", "text"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("<script>"), "{out}");
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains('\x1b'), "{err:?}");
}

#[test]
fn html_report_is_self_contained_and_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report.html");
    let o = scan_incident(&["--quiet", "--format", "html", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let html = std::fs::read_to_string(&out).unwrap();
    assert_no_full_pan("html", &html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in [
        "<svg id=\"timeline-svg\"",
        "class=\"window\"",
        "id=\"filter-category\"",
        "id=\"filter-level\"",
        "id=\"top-rules-table\"",
        "Content-Security-Policy",
        "2017-09-26T00:00:00Z",
        "id=\"drift-table\"",
        "/js/chat-widget.js",
        "id=\"exposure-table\"",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert_eq!(html.matches("<tr data-category=").count(), 81);
    // Nothing is loaded from anywhere.
    for bad in ["src=\"http", "href=\"http", "@import", "url(http", "<link"] {
        assert!(!html.contains(bad), "external reference {bad}");
    }
    // The only script elements are the two of the page itself.
    assert_eq!(html.matches("<script").count(), 2);

    // Markup from the logs is shown, never live.
    let log = write(
        tmp.path(),
        "x.log",
        b"10.0.0.1 - - [27/Sep/2017:10:00:00 +0000] \"GET /x?q=<script>alert(1)</script><img/src=x onerror=alert(2)> HTTP/1.1\" 200 1 \"-\" \"</script><b>UA\"\n",
    );
    let out2 = tmp.path().join("x.html");
    run(&[
        "scan",
        log.to_str().unwrap(),
        "--quiet",
        "--format",
        "html",
        "-o",
        out2.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out2).unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert_eq!(html.matches("<script").count(), 2);
    assert!(!html.contains("<img") && !html.contains("<b>UA"));
}

#[test]
fn no_window_prints_a_hint_first_unless_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let log = write(tmp.path(), "a.log", b"hello\n");
    let o = run(&["scan", log.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    let first = err.lines().next().unwrap();
    assert!(first.contains("--since/--until"), "{err}");
    assert_eq!(err.matches("--since/--until").count(), 1);
    let o = run(&["scan", log.to_str().unwrap(), "--quiet"]);
    assert!(o.stderr.is_empty());
    let o = run(&["scan", log.to_str().unwrap(), "--since", "2017-01-01"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("--since/--until"));
}

#[test]
fn rules_list_json_and_text() {
    let o = run(&["rules", "list", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let list = stdout_json(&o);
    let arr = list.as_array().unwrap();
    assert!(arr.len() >= 30);
    for r in arr {
        assert!(r["id"].is_string() && r["level"].is_string() && r["category"].is_string());
    }
    let o = run(&["rules", "list"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("id\tlevel\tcategory\ttitle\tsource\n"));
    assert_eq!(text.lines().count(), arr.len() + 1);
}

#[test]
fn rules_check_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(
        tmp.path(),
        "good.yml",
        b"title: Script tag\nid: t-1\nlevel: high\nreferences: [https://example.org/a]\nlogsource: {category: webserver}\n\
          detection:\n  sel:\n    cs-uri-query|contains: '<script'\n  condition: sel\n\
          skimhunt:\n  category: injected-script\n  tests:\n    match:\n      - '1.2.3.4 - - [27/Sep/2017:10:00:00 +0000] \"GET /?q=<script> HTTP/1.1\" 200 1 \"-\" \"UA\"'\n",
    );
    let o = run(&["rules", "check", good.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("1 rules checked, 0 problems"), "{out}");

    let lint = write(
        tmp.path(),
        "lint/a.yml",
        b"title: No level\nid: dup\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-uri|contains: x\n  condition: sel\n",
    );
    write(
        tmp.path(),
        "lint/b.yml",
        b"title: Dup\nid: dup\nlevel: low\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-uri|contains: y\n  condition: sel\n",
    );
    let o = run(&["rules", "check", lint.parent().unwrap().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    for p in [
        "missing level",
        "no references",
        "no test samples",
        "duplicate id",
    ] {
        assert!(out.contains(p), "{p} not reported: {out}");
    }

    let o = run(&["rules", "check", "testdata/rules-bad/bad_yaml.yml"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["rules", "check", "testdata/no-such-rules"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Every long flag of `scan`, from the clap definitions.
fn scan_long_flags() -> Vec<String> {
    let cmd = <skimhunt::cli::Cli as clap::CommandFactory>::command();
    let scan = cmd.find_subcommand("scan").unwrap();
    let mut flags: Vec<String> = scan
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect();
    flags.push("--help".into());
    flags
}

#[test]
fn completions_parse_and_cover_every_scan_flag() {
    let o = run(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    let script = String::from_utf8(o.stdout).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "skimhunt.bash", script.as_bytes());
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for f in scan_long_flags() {
        assert!(script.contains(&f), "bash completion lacks {f}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let s = String::from_utf8(o.stdout).unwrap();
        assert!(s.contains("baseline"), "{shell}");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_page_is_roff_and_documents_every_scan_flag() {
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(
        page.lines().any(|l| l.starts_with(".TH skimhunt 1")),
        "no .TH"
    );
    assert!(page.contains(".SH NAME") && page.contains(".SH SYNOPSIS"));
    // Every line is a roff request, or text; no stray NUL or escape bytes.
    assert!(!page.contains('\0') && !page.contains('\x1b'));
    // In roff source a `-` in a flag is written `\-`.
    for f in scan_long_flags() {
        let roff = f.replace('-', "\\-");
        assert!(page.contains(&roff), "man page lacks {f}");
    }
    for sub in [
        "SKIMHUNT SCAN",
        "SKIMHUNT RULES CHECK",
        "SKIMHUNT COMPLETIONS",
    ] {
        assert!(page.contains(sub), "man page lacks {sub}");
    }
    // groff, when installed, renders it without warnings.
    if let Ok(g) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        let mut g = g;
        g.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
        let out = g.wait_with_output().unwrap();
        assert!(out.status.success());
    }
}
