//! The bundled incident (testdata/incident, answer key in
//! testdata/incident.expected.json): every planted indicator inside the
//! window is found by exactly the listed rules, nothing outside the window,
//! nothing on decoys, and the report matches the committed snapshot. The
//! detectors (drift, exposure, IOC list, look-alikes) are checked against
//! the answer key's `detectors` block.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

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
    let mut args = vec![
        "scan",
        "testdata/incident",
        "--pan-key",
        "snapshot-key",
        "--ioc",
        "testdata/iocs.txt",
    ];
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
    let report = stdout_json(&o);
    // Without a window there is no history before it: drift falls back to
    // first-seen baselines (low), and the two-size asset shows up there too.
    for f in report["findings"].as_array().unwrap() {
        if f["rule_id"].as_str().unwrap().starts_with("skimhunt.drift") {
            assert_eq!(f["level"], "low", "{f}");
        }
    }
    let not_drift = |s: BTreeSet<Key>| -> BTreeSet<Key> {
        s.into_iter()
            .filter(|k| !k.2.starts_with("skimhunt.drift"))
            .collect()
    };
    let got = not_drift(found(&report));
    let exp = not_drift(expected(false));
    assert!(exp.len() > not_drift(expected(true)).len());
    assert_eq!(got, exp);
}

fn answer_key() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(root().join("testdata/incident.expected.json")).unwrap())
        .unwrap()
}

#[test]
fn drift_exposure_and_timeline_sections() {
    let o = scan(&WINDOW);
    let r = stdout_json(&o);
    let key = &answer_key()["detectors"];
    let items = r["drift"]["items"].as_array().unwrap();
    // Exactly the tampered widget (size) and the new chat-widget build.
    assert_eq!(items.len(), 2, "{items:#?}");
    let size = items.iter().find(|i| i["kind"] == "size").unwrap();
    let d = &key["drift"];
    assert_eq!(size["asset"], d["asset"]);
    assert_eq!(size["size"], d["size"]);
    assert_eq!(size["baseline"], "history");
    assert_eq!(
        size["baseline_values"],
        serde_json::json!([d["baseline"][0].to_string()])
    );
    assert_eq!(size["first_seen"], d["first_seen"]);
    assert_eq!(size["reverted_at"], d["reverted_at"]);
    assert_eq!(size["level"], "high");
    let share = size["payment_referer_share"].as_f64().unwrap();
    assert!(share > 0.2 && share < 0.9, "{share}");
    let v = items.iter().find(|i| i["kind"] == "version").unwrap();
    assert_eq!(v["asset"], key["version"]["script"]);
    assert_eq!(v["build"], key["version"]["new"]);
    assert_eq!(
        v["baseline_values"],
        serde_json::json!([key["version"]["baseline"]])
    );
    // The two-size asset is tracked but silent.
    assert!(!items.iter().any(|i| {
        i["asset"]
            .as_str()
            .unwrap()
            .ends_with(key["two_sizes"].as_str().unwrap())
    }));
    assert!(r["drift"]["baseline_records"].as_u64().unwrap() > 100);
    assert!(r["drift"]["after_window_records"].as_u64().unwrap() > 10);

    let e = &r["exposure"];
    assert_eq!(e["interval"]["basis"], "drift");
    assert_eq!(e["interval"]["since"], d["first_seen"]);
    let (ips, sessions, chats) = (
        e["client_ips"].as_u64().unwrap(),
        e["sessions"].as_u64().unwrap(),
        e["chat_sessions"].as_u64().unwrap(),
    );
    assert!(ips >= 20 && sessions >= ips && chats >= 10, "{e}");
    let days = e["by_day"].as_object().unwrap();
    assert!(
        days.keys()
            .all(|k| ("2017-09-26".."2017-10-13").contains(&k.as_str()))
    );
    let total: u64 = days.values().map(|d| d["requests"].as_u64().unwrap()).sum();
    assert_eq!(total, e["requests"].as_u64().unwrap());
    assert_eq!(e["sample"].as_array().unwrap().len(), 20);

    let tl = &r["timeline"];
    let lk = &tl["rules"]["skimhunt.lookalike"];
    assert_eq!(lk["count"], 2);
    for (_, span) in tl["categories"].as_object().unwrap() {
        let first = span["first_seen"].as_str().unwrap();
        assert!(("2017-09-26".."2017-10-13").contains(&first), "{first}");
    }
    let jsonl = scan(&[
        "--since",
        "2017-09-26",
        "--until",
        "2017-10-12",
        "--format",
        "jsonl",
        "--quiet",
    ]);
    let text = String::from_utf8(jsonl.stdout).unwrap();
    let tail: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(tail["exposure"]["sessions"], e["sessions"]);
    assert_eq!(tail["drift"]["items"], r["drift"]["items"]);
}

#[test]
fn exposure_csv_lists_every_session_without_card_data() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("exposed.csv");
    let mut args = WINDOW.to_vec();
    args.extend(["--quiet", "--exposure-csv", csv.to_str().unwrap()]);
    let r = stdout_json(&scan(&args));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_no_full_pan("exposure csv", &text);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "kind,client_ip,user_agent,chat_session,first_seen,last_seen,requests"
    );
    let web = rows.iter().filter(|l| l.starts_with("web,")).count() as u64;
    let chat = rows.iter().filter(|l| l.starts_with("chat,")).count() as u64;
    assert_eq!(web, r["exposure"]["sessions"].as_u64().unwrap());
    assert_eq!(chat, r["exposure"]["chat_sessions"].as_u64().unwrap());
}

#[test]
fn bad_ioc_list_is_a_usage_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("bad.txt");
    std::fs::write(
        &list,
        "good.example
# fine
not a domain
",
    )
    .unwrap();
    let o = run(&[
        "scan",
        "testdata/incident",
        "--quiet",
        "--ioc",
        list.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.txt:3"), "{err}");
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

#[test]
fn rule_files_can_reference_an_ioc_list() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/drops.txt"), "skim-metrics.example\n").unwrap();
    let rule = dir.path().join("drops.yml");
    std::fs::write(
        &rule,
        "title: Drop hosts from the shared list\nid: 6a0f3c2e-5b1d-4c8e-9f00-1d2e3f4a5b6c\nlevel: low\n\
         logsource:\n  category: csp\ndetection:\n  selection:\n    csp.blocked-uri|contains: never.invalid\n  \
         condition: selection\nskimhunt:\n  category: card-skimming\n  ioc: lists/drops.txt\n",
    )
    .unwrap();
    let mut args = vec![
        "scan",
        "testdata/incident/csp",
        "--quiet",
        "--rules",
        rule.to_str().unwrap(),
    ];
    args.extend_from_slice(&WINDOW);
    let r = stdout_json(&run(&args));
    let hits: Vec<&serde_json::Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "skimhunt.ioc")
        .collect();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["fields"]["ioc.entry"], "skim-metrics.example");
    assert!(
        hits[0]["fields"]["ioc.list"]
            .as_str()
            .unwrap()
            .ends_with("drops.txt")
    );
    // A missing list is an error at start, not a silent miss.
    std::fs::remove_file(dir.path().join("lists/drops.txt")).unwrap();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
}

/// Past exposure's 4 MiB memory budget (about 23,000 payment-page requests
/// of distinct visitors here), requests go to runs on disk, per file and
/// across files, and are merged back: every session is still listed once,
/// with its requests from both files, in the same order for any thread
/// count, and the report's sample is the list's head. Checked against
/// counts made here from the generated lines.
#[test]
fn exposure_past_its_memory_budget_lists_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/61.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 11_0 like Mac OS X) Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:56.0) Gecko/20100101 Firefox/56.0",
    ];
    // 2 files × 30,000 requests, each visitor with an agent of its own;
    // visitors 0, 3, 6 … 29,997 come back in the second file, so their
    // sessions have requests in both.
    let mut sessions = std::collections::BTreeMap::new();
    for f in 0..2u32 {
        let mut log = String::with_capacity(30_000 * 200);
        for n in 0..30_000u32 {
            let i = if f == 0 { n } else { n * 3 };
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            let ua = format!("{} build/{i}", agents[i as usize % 3]);
            let (min, sec) = ((n / 60) % 60, n % 60);
            let hour = n / 3600 + 8 * f;
            log += &format!(
                "{ip} - - [27/Sep/2017:{hour:02}:{min:02}:{sec:02} +0000] \"GET /checkout/payment HTTP/1.1\" 200 900 \"-\" \"{ua}\"\n"
            );
            *sessions.entry((ip, ua)).or_insert(0u64) += 1;
        }
        write(dir.path(), &format!("access-{f}.log"), log.as_bytes());
    }
    let csv_of = |threads: &str| {
        let csv = dir.path().join(format!("exposed-{threads}.csv"));
        let o = run(&[
            "scan",
            dir.path().to_str().unwrap(),
            "--quiet",
            "--fail-on",
            "never",
            "-j",
            threads,
            "--exposure-csv",
            csv.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        (stdout_json(&o), std::fs::read_to_string(&csv).unwrap())
    };
    let (r, text) = csv_of("1");
    let e = &r["exposure"];
    assert_eq!(e["truncated"], false);
    assert_eq!(e["sessions"].as_u64().unwrap(), sessions.len() as u64);
    assert_eq!(e["requests"].as_u64().unwrap(), 60_000);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), sessions.len());
    // Each session once, with its requests; rows by first seen.
    let mut listed = std::collections::BTreeMap::new();
    for row in &rows {
        let key = (row[1].to_string(), row[2].to_string());
        let requests: u64 = row[6].parse().unwrap();
        assert!(
            listed.insert(key, requests).is_none(),
            "{row:?} listed twice"
        );
    }
    for ((ip, ua), n) in &sessions {
        assert_eq!(listed.get(&(ip.clone(), ua.clone())), Some(n), "{ip} {ua}");
    }
    assert!(rows.windows(2).all(|w| w[0][4] <= w[1][4]));
    // The sample is the list's head.
    let sample = e["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 20);
    for (s, row) in sample.iter().zip(&rows) {
        assert_eq!(s["client_ip"], row[1]);
        assert_eq!(s["first_seen"], row[4]);
    }
    let (_, again) = csv_of("3");
    assert!(again == text, "the list differs with -j3");
}

/// Past drift's in-memory budget (`SPILL_EVENTS` served-time runs), a
/// script requested every 2 s, each request a run of its own, has its runs
/// written to disk and read back when it drifts: the drifted size and the
/// time its usual size came back are those of the generated lines, for one
/// file and for two (the runs then meet in the merge across files), at any
/// thread count, and the same as with no writable temporary directory
/// (runs kept in memory).
#[test]
fn drift_past_its_memory_budget_finds_the_revert() {
    const REQUESTS: u32 = 140_000;
    const DRIFT: std::ops::Range<u32> = 69_500..70_000;
    let budget = skimhunt::detect::drift::SPILL_EVENTS as u32;
    // Every in-window request of the usual size is a run of its own.
    assert!(REQUESTS - DRIFT.len() as u32 > budget);
    let dir = tempfile::tempdir().unwrap();
    let start: jiff::Timestamp = "2017-09-26T00:00:00Z".parse().unwrap();
    let at = |secs: u32| start + jiff::SignedDuration::from_secs(i64::from(secs));
    let line = |t: jiff::Timestamp, size: u32, i: u32| {
        format!(
            "10.1.{}.{} - - [{}] \"GET /widget/chat.js HTTP/1.1\" 200 {size} \
             \"https://shop.example/product/1\" \"Mozilla/5.0 (Windows NT 10.0)\"\n",
            (i >> 8) & 255,
            i & 255,
            t.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        )
    };
    // A history of 200 requests of the usual size on 1 September, then
    // the window's requests; the split falls where the usual size returns.
    let mut head = String::new();
    for i in 0..200u32 {
        let t = at(60 * i) - jiff::SignedDuration::from_hours(25 * 24);
        head += &line(t, 5120, i);
    }
    let mut parts = [head, String::new()];
    for i in 0..REQUESTS {
        let size = if DRIFT.contains(&i) { 7777 } else { 5120 };
        parts[usize::from(i >= DRIFT.end)] += &line(at(2 * i), size, i);
    }
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    write(&one, "access.log", parts.concat().as_bytes());
    write(&two, "access.log.1", parts[0].as_bytes());
    write(&two, "access.log.2", parts[1].as_bytes());
    let drift_of = |input: &Path, threads: &str, tmp: &Path| {
        let o = bin()
            .env("TMPDIR", tmp)
            .args([
                "scan",
                input.to_str().unwrap(),
                "--quiet",
                "--fail-on",
                "never",
                "-j",
                threads,
                "--since",
                "2017-09-26",
                "--until",
                "2017-10-12",
            ])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut d = stdout_json(&o)["drift"].clone();
        // Where the first drifted request is: the same line of another file.
        for i in d["items"].as_array_mut().unwrap() {
            let path = i.as_object_mut().unwrap().remove("path").unwrap();
            assert!(path.as_str().unwrap().starts_with(input.to_str().unwrap()));
        }
        d
    };
    let tmp = std::env::temp_dir();
    let d = drift_of(&one, "1", &tmp);
    assert_eq!(d["truncated"], false, "{d}");
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{d}");
    let i = &items[0];
    assert_eq!(i["asset"], "/widget/chat.js");
    assert_eq!(i["size"], 7777);
    assert_eq!(i["requests"], DRIFT.len() as u64);
    assert_eq!(i["first_seen"], at(2 * DRIFT.start).to_string());
    assert_eq!(i["last_seen"], at(2 * (DRIFT.end - 1)).to_string());
    assert_eq!(i["reverted_at"], at(2 * DRIFT.end).to_string());
    assert_eq!(i["line"], 200 + DRIFT.start + 1);
    assert_eq!(drift_of(&two, "3", &tmp), d, "two files, -j3");
    let nowhere = dir.path().join("no-such-dir");
    assert_eq!(drift_of(&one, "2", &nowhere), d, "runs kept in memory");
}
