//! Damaged and hostile input: every case of issue 6's list, each with the
//! report entry it must produce. No case may crash, hang or vanish from the
//! report.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use jiff::tz::TimeZone;
use skimhunt::card::Fingerprinter;
use skimhunt::discover::{DiscoverOptions, discover};
use skimhunt::matcher::Engine;
use skimhunt::progress::Progress;
use skimhunt::scan::{ScanConfig, scan_entry};
use skimhunt::window::Window;

const RULE: &str = r#"
title: Marker
id: 00000000-0000-4000-8000-0000000000b1
level: high
detection:
  keywords: [MARK]
  condition: keywords
"#;

/// Runs the binary with the marker rule, killing it (and failing) if it
/// runs past `limit`: a hang is a failure, not a stuck test suite.
fn scan_with_limit(dir: &Path, paths: &[&Path], extra: &[&str], limit: Duration) -> Output {
    let rules = dir.join("marker-rule.yml");
    std::fs::write(&rules, RULE).unwrap();
    let mut cmd = bin();
    cmd.arg("scan");
    for p in paths {
        cmd.arg(p);
    }
    cmd.args(["--no-default-rules", "--rules"])
        .arg(&rules)
        .args(["--fail-on", "never", "--no-progress"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let id = child.id();
    let start = Instant::now();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if start.elapsed() > limit {
            // SAFETY: killing the child this test started, by its pid.
            unsafe { libc::kill(id as i32, libc::SIGKILL) };
            panic!("skimhunt hung for {limit:?} on {paths:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = waiter.join().unwrap();
    assert!(
        o.status.code().is_some(),
        "skimhunt died of a signal: {:?}; stderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn scan(dir: &Path, paths: &[&Path], extra: &[&str]) -> serde_json::Value {
    let o = scan_with_limit(dir, paths, extra, Duration::from_secs(120));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout_json(&o)
}

fn entry<'a>(r: &'a serde_json::Value, suffix: &str) -> &'a serde_json::Value {
    r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("{suffix} missing from the report: {:#}", r["files"]))
}

fn findings_in(r: &serde_json::Value, suffix: &str) -> Vec<serde_json::Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .cloned()
        .collect()
}

fn marks(n: usize) -> String {
    (0..n)
        .map(|i| format!("2017-09-27T10:00:00Z line {i} MARK\n"))
        .collect()
}

#[test]
fn empty_binary_nul_and_encoding_cases() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("ev");
    write(&root, "empty.log", b"");
    write(&root, "binary.bin", b"\x7fELF\x02\x01\x01\0\0\0\0MARK");
    // A tar member header (name, then `ustar` at 257) and the log after it.
    let mut tar = vec![0u8; 512];
    tar[..10].copy_from_slice(b"access.log");
    tar[257..263].copy_from_slice(b"ustar\0");
    tar.extend_from_slice(marks(3).as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    write(&root, "logs.tar.gz", &gz.finish().unwrap());
    write(
        &root,
        "logs.zip",
        b"PK\x03\x04\x14\0\0\0\x08\0access.log MARK",
    );
    // NUL bytes past the binary probe, in the middle of a text log.
    let mut nul = marks(400).into_bytes();
    nul.extend_from_slice(b"garbage \0\0\0 in the middle MARK\n");
    nul.extend_from_slice(marks(2).as_bytes());
    write(&root, "nul.log", &nul);
    // Invalid UTF-8 and mixed line endings.
    write(
        &root,
        "mixed.log",
        b"2017-09-27T10:00:00Z \xff\xfe MARK \xc3\x28\r\n2017-09-27T10:00:01Z lf MARK\n\r\n2017-09-27T10:00:02Z cr\rMARK\n",
    );
    let r = scan(d.path(), &[&root], &[]);

    let e = entry(&r, "empty.log");
    assert_eq!(
        (e["status"].as_str(), e["records"].as_u64()),
        (Some("scanned"), Some(0))
    );
    let b = entry(&r, "binary.bin");
    assert_eq!(b["status"], "skipped");
    assert_eq!(b["reason"], "binary file (NUL byte in the first 8 KiB)");
    assert!(findings_in(&r, "binary.bin").is_empty());
    // Archives are named, so the analyst knows to extract them: a tar
    // compressed with gzip (decoded, then recognised) and a zip.
    let t = entry(&r, "logs.tar.gz");
    assert_eq!(
        (t["status"].as_str(), t["compression"].as_str()),
        (Some("skipped"), Some("gzip"))
    );
    assert!(
        t["reason"]
            .as_str()
            .unwrap()
            .starts_with("tar archive: its members are not scanned"),
        "{t}"
    );
    let z = entry(&r, "logs.zip");
    assert!(
        z["reason"].as_str().unwrap().starts_with("zip archive"),
        "{z}"
    );

    let n = entry(&r, "nul.log");
    assert_eq!(n["status"], "scanned");
    assert_eq!(n["records"], 403);
    assert_eq!(findings_in(&r, "nul.log").len(), 403);

    let m = entry(&r, "mixed.log");
    assert_eq!(m["status"], "scanned");
    let f = findings_in(&r, "mixed.log");
    assert_eq!(
        f.iter()
            .map(|f| f["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 4]
    );
    assert!(f[0]["evidence"].as_str().unwrap().contains('\u{fffd}'));
}

/// Scans a whole and a half copy of `packed` (20,000 marked lines,
/// compressed as `comp`): the whole one is scanned in full; the cut one is
/// an `error` entry named as truncation that keeps the findings read
/// before the break.
fn whole_and_truncated(comp: &str, packed: &[u8]) {
    let d = tempfile::tempdir().unwrap();
    let whole = write(d.path(), &format!("whole.log.{comp}"), packed);
    let cut = write(
        d.path(),
        &format!("cut.log.{comp}"),
        &packed[..packed.len() / 2],
    );
    let r = scan(d.path(), &[&whole, &cut], &[]);
    let w = entry(&r, &format!("whole.log.{comp}"));
    assert_eq!(
        (
            w["status"].as_str(),
            w["compression"].as_str(),
            w["records"].as_u64()
        ),
        (Some("scanned"), Some(comp), Some(20_000))
    );
    assert_eq!(findings_in(&r, &format!("whole.log.{comp}")).len(), 20_000);
    let e = entry(&r, &format!("cut.log.{comp}"));
    assert_eq!(e["status"], "error");
    let records = e["records"].as_u64().unwrap();
    assert!(records > 1000 && records < 20_000, "{e}");
    assert_eq!(
        e["reason"],
        format!("truncated {comp} after {records} records").as_str()
    );
    let found = findings_in(&r, &format!("cut.log.{comp}")).len() as u64;
    assert!(
        found + 1 >= records && found <= records,
        "{found} of {records}"
    );
}

#[test]
fn truncated_gzip_keeps_findings_and_says_so() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(marks(20_000).as_bytes()).unwrap();
    whole_and_truncated("gzip", &gz.finish().unwrap());
}

/// xz is decoded like gzip.
#[test]
fn truncated_xz_keeps_findings_and_says_so() {
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(marks(20_000).as_bytes()).unwrap();
    whole_and_truncated("xz", &xz.finish().unwrap());
}

fn lib_scan(path: &Path, tune: impl FnOnce(&mut ScanConfig)) -> skimhunt::scan::FileOutcome {
    let engine = Engine::new(skimhunt::rules::load_str(RULE, "m.yml").unwrap());
    let mut cfg = ScanConfig::new(Window::default(), TimeZone::UTC, Fingerprinter::new(b"k"));
    tune(&mut cfg);
    let entries = discover(&[path.to_path_buf()], &DiscoverOptions::default());
    assert_eq!(entries.len(), 1);
    scan_entry(&entries[0], &engine, &cfg, &Progress::hidden())
}

#[test]
fn gzip_bomb_stops_at_the_caps_and_is_reported() {
    let d = tempfile::tempdir().unwrap();
    // 16 MiB of one repeated line compresses about 500:1.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let line = b"2017-09-27T10:00:00Z aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa MARK\n";
    let block = line.repeat(1 << 14);
    for _ in 0..(16 << 20) / block.len() {
        gz.write_all(&block).unwrap();
    }
    let p = write(d.path(), "bomb.gz", &gz.finish().unwrap());
    let stored = std::fs::metadata(&p).unwrap().len();

    // The ratio cap (the floor lowered so the test stays small).
    let o = lib_scan(&p, |c| {
        c.ratio_floor = 256 << 10;
        c.max_ratio = 20;
    });
    assert_eq!(o.file.status, skimhunt::report::FileStatus::Error);
    let reason = o.file.reason.clone().unwrap();
    assert!(
        reason.starts_with("decompressed size exceeds 20 times the stored size"),
        "{reason}"
    );
    assert!(o.file.decoded_bytes > 20 * stored);
    assert!(o.file.decoded_bytes < 16 << 20);
    // Every record read before the cap is scanned (the last may be cut).
    assert!(o.findings.len() + 1 >= o.file.records && o.findings.len() <= o.file.records);

    // The absolute cap.
    let o = lib_scan(&p, |c| c.max_decoded_bytes = 2 << 20);
    let reason = o.file.reason.clone().unwrap();
    assert!(
        reason.starts_with("decompressed size exceeds the cap of 2097152 bytes"),
        "{reason}"
    );
    assert!(o.file.records > 20_000);

    // The defaults are sane: both caps are on.
    let c = ScanConfig::new(Window::default(), TimeZone::UTC, Fingerprinter::new(b"k"));
    assert!(c.max_decoded_bytes <= 1 << 40 && c.max_ratio <= 1000);
}

#[test]
fn a_200_mb_single_line() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("one-line.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        f.write_all(b"2017-09-27T10:00:00Z ").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for i in 0..200 {
            if i == 100 {
                f.write_all(b" MARK ").unwrap();
            }
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
    }
    let r = scan(d.path(), &[&p], &[]);
    let e = entry(&r, "one-line.log");
    assert_eq!(e["status"], "scanned");
    assert_eq!(e["records"], 1);
    let f = findings_in(&r, "one-line.log");
    assert_eq!(f.len(), 1);
    // The evidence is an excerpt around the match, not 200 MB.
    let ev = f[0]["evidence"].as_str().unwrap();
    assert!(ev.contains("MARK") && ev.len() < 4096, "{}", ev.len());
}

#[cfg(unix)]
#[test]
fn special_files_are_skipped_without_blocking() {
    use std::os::unix::net::UnixListener;
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("tree");
    write(&root, "real.log", marks(1).as_bytes());
    // A FIFO with no writer: opening it for reading would block forever.
    let fifo = root.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let _sock = UnixListener::bind(root.join("sock")).unwrap();
    // A device: a link to /dev/zero (endless if ever read), followed with
    // --follow.
    std::os::unix::fs::symlink("/dev/zero", root.join("null-device")).unwrap();
    std::fs::create_dir_all(root.join("x.gz")).unwrap();
    write(&root, "x.gz/inner.log", marks(2).as_bytes());
    let o = scan_with_limit(d.path(), &[&root], &["--follow"], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0));
    let r = stdout_json(&o);
    assert_eq!(
        entry(&r, "pipe")["reason"],
        "not a regular file (named pipe)"
    );
    assert_eq!(entry(&r, "sock")["reason"], "not a regular file (socket)");
    assert_eq!(
        entry(&r, "null-device")["reason"],
        "not a regular file (character device)"
    );
    // A directory named x.gz is walked, not decompressed.
    assert_eq!(entry(&r, "x.gz/inner.log")["records"], 2);
    assert!(
        !r["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"].as_str().unwrap().ends_with("x.gz"))
    );
    assert_eq!(r["files"].as_array().unwrap().len(), 5);
}

#[cfg(unix)]
#[test]
fn symlink_loop_and_dangling_link_with_follow() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("tree");
    write(&root, "sub/a.log", marks(1).as_bytes());
    std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling.log")).unwrap();
    let r = scan(d.path(), &[&root], &["--follow"]);
    let l = entry(&r, "sub/loop");
    assert_eq!(l["status"], "error");
    assert!(
        l["reason"]
            .as_str()
            .unwrap()
            .starts_with("symlink loop back to")
    );
    let g = entry(&r, "dangling.log");
    assert_eq!(g["status"], "error");
    assert_eq!(g["reason"], "not found");
    assert_eq!(entry(&r, "sub/a.log")["status"], "scanned");
}

/// An unreadable file that stays unreadable for root: /proc/self/mem opens
/// but reading its first page fails (EIO), as a failing disk would.
#[cfg(target_os = "linux")]
#[test]
fn unreadable_file_is_an_error_entry() {
    let d = tempfile::tempdir().unwrap();
    let mem = Path::new("/proc/self/mem");
    let r = scan(d.path(), &[mem], &[]);
    let e = entry(&r, "/proc/self/mem");
    assert_eq!(e["status"], "error", "{e}");
    assert!(!e["reason"].as_str().unwrap().is_empty());
    assert_eq!(r["summary"]["files"]["errors"], 1);
}

/// A file truncated while mapped and scanned: the process survives, keeps
/// what it read before the cut and reports the change. Racy by nature (the
/// scan may finish first), so both outcomes are accepted, but never a
/// crash; the guard itself is tested deterministically in src/input.rs.
#[test]
fn file_shrinking_while_scanned_is_survived() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("shrinking.log");
    let body = marks(2_000_000);
    std::fs::write(&p, &body).unwrap();
    let rules = d.path().join("marker-rule.yml");
    std::fs::write(&rules, RULE).unwrap();
    let child = bin()
        .args(["scan", p.to_str().unwrap(), "--no-default-rules", "--rules"])
        .arg(&rules)
        .args(["--fail-on", "never", "--format", "jsonl", "-o"])
        .arg(d.path().join("out.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(1000)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "died: {:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let out = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let f = &summary["files"][0];
    match f["status"].as_str().unwrap() {
        "error" => assert!(
            f["reason"]
                .as_str()
                .unwrap()
                .starts_with("file changed (shrank) while being scanned"),
            "{f}"
        ),
        // Either the scan finished before the cut, or it opened the file
        // after it.
        "scanned" => {}
        s => panic!("unexpected status {s}: {f}"),
    }
}

/// Many findings in one file: 15 times the in-memory threshold, so the
/// rendered findings (JSON, JSONL) and the SARIF results go to disk and
/// come back in order. (The full 1,000,000-finding run with its peak memory is
/// measured in docs/forensic-soundness.md; in a debug build it takes
/// minutes, too long for every `cargo test`.)
#[test]
fn many_findings_stream_and_complete() {
    const N: u64 = 15 * skimhunt::report::spill::SPILL_AT as u64;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("many.log");
    std::fs::write(&p, "MARK\n".repeat(N as usize)).unwrap();
    let out = d.path().join("out.jsonl");
    let o = scan_with_limit(
        d.path(),
        &[&p],
        &["--format", "jsonl", "-o", out.to_str().unwrap()],
        Duration::from_secs(600),
    );
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut n = 0u64;
    let mut last_line = 0;
    let mut summary = None;
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["type"] == "finding" {
            n += 1;
            let line = v["line"].as_u64().unwrap();
            assert!(line > last_line, "out of order at {line}");
            last_line = line;
        } else {
            summary = Some(v);
        }
    }
    assert_eq!(n, N);
    assert_eq!(summary.unwrap()["summary"]["findings"], N);

    let out = d.path().join("out.json");
    let o = scan_with_limit(
        d.path(),
        &[&p],
        &["-o", out.to_str().unwrap()],
        Duration::from_secs(600),
    );
    assert_eq!(o.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let f = r["findings"].as_array().unwrap();
    assert_eq!(f.len() as u64, N);
    assert_eq!(f[N as usize - 1]["line"], N);
    assert_eq!(r["summary"]["findings"], N);

    // SARIF results are spilled too and spliced into the log.
    let out = d.path().join("out.sarif");
    let o = scan_with_limit(
        d.path(),
        &[&p],
        &["--format", "sarif", "-o", out.to_str().unwrap()],
        Duration::from_secs(600),
    );
    assert_eq!(o.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let results = r["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len() as u64, N);
    let line = |i: usize| &results[i]["locations"][0]["physicalLocation"]["region"]["startLine"];
    assert_eq!((line(0), line(N as usize - 1)), (&1.into(), &N.into()));
    assert!(
        !r["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn malformed_rules_are_refused_with_position_and_reason() {
    let d = tempfile::tempdir().unwrap();
    let log = write(d.path(), "a.log", b"x\n");
    let cases: [(&str, &str, &str); 5] = [
        ("bad yaml", "title: x\ndetection: [a\n", ""),
        (
            "unknown modifier",
            "title: x\nid: 00000000-0000-4000-8000-0000000000b2\ndetection:\n  sel:\n    cs-uri|bogus: x\n  condition: sel\n",
            "bogus",
        ),
        (
            "invalid regex",
            "title: x\nid: 00000000-0000-4000-8000-0000000000b3\ndetection:\n  sel:\n    cs-uri|re: 'a(b'\n  condition: sel\n",
            "regex",
        ),
        (
            "missing selection",
            "title: x\nid: 00000000-0000-4000-8000-0000000000b4\ndetection:\n  sel:\n    cs-uri: x\n  condition: sel and other\n",
            "other",
        ),
        (
            "huge regex",
            "title: x\nid: 00000000-0000-4000-8000-0000000000b5\ndetection:\n  sel:\n    cs-uri|re: '(\\w{1000}){1000}'\n  condition: sel\n",
            "regex",
        ),
    ];
    for (what, body, mentions) in cases {
        let rule = write(d.path(), "r.yml", body.as_bytes());
        let o = run(&[
            "scan",
            log.to_str().unwrap(),
            "--no-default-rules",
            "--rules",
            rule.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{what}");
        let err = String::from_utf8_lossy(&o.stderr);
        let prefix = format!("{}:", rule.display());
        let pos = err
            .find(&prefix)
            .unwrap_or_else(|| panic!("{what}: no file:line:column in {err}"));
        let rest = &err[pos + prefix.len()..];
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().unwrap();
        let col = parts.next().unwrap();
        assert!(
            line.parse::<u32>().is_ok() && col.parse::<u32>().is_ok(),
            "{what}: {err}"
        );
        assert!(err.contains(mentions), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
}

/// A file name that is not UTF-8 is reported with its bytes (`\xFF`), not
/// the lossy U+FFFD, so the analyst can find the file again (two names
/// that differ in invalid bytes stay two); findings carry the same path.
#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_keep_their_bytes_in_the_report() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("tree");
    std::fs::create_dir_all(&root).unwrap();
    for name in [&b"bad-\xff\xfe-name.log"[..], b"bad-\xfe\xff-name.log"] {
        std::fs::write(root.join(std::ffi::OsStr::from_bytes(name)), marks(3)).unwrap();
    }
    let r = scan(d.path(), &[&root], &[]);
    for shown in ["/bad-\\xFF\\xFE-name.log", "/bad-\\xFE\\xFF-name.log"] {
        assert_eq!(entry(&r, shown)["status"], "scanned");
        assert_eq!(findings_in(&r, shown).len(), 3);
    }
}

/// Non-ASCII and invalid bytes at every position of web lines that the
/// built-in detectors parse (a script, a payment page, a referer host, a
/// look-alike): the full pack and the detectors must take them all. A
/// multi-byte character just before a payment path's last three bytes
/// once panicked the `.js` test (a `str` cut inside the character) and
/// with it the whole scan.
#[test]
fn non_ascii_bytes_anywhere_in_lines_the_detectors_parse() {
    let d = tempfile::tempdir().unwrap();
    let templates: [&[u8]; 5] = [
        b"GET /static/js/widget.js?v=2 HTTP/1.1\" 200 5120 \"https://shop.example.com/checkout/\" \"Mozilla/5.0\"",
        b"GET /checkout/onepage/ab HTTP/1.1\" 200 812 \"https://www.google.com/\" \"Mozilla/5.0\"",
        b"GET /img/p.gif?d=aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ HTTP/1.1\" 200 43 \"https://g00gle-analytics.com/x\" \"UA\"",
        b"POST /rest/V1/carts/payment-information HTTP/1.1\" 200 9 \"https://shop.example.com/cart\" \"curl/7\"",
        b"GET https://cdn.example.net/lib/chat.js HTTP/1.1\" 304 0 \"-\" \"-\"",
    ];
    let inserts: [&[u8]; 5] = [
        "€".as_bytes(),
        "é".as_bytes(),
        "𝄞".as_bytes(),
        b"\xff",
        b"\xe2\x82",
    ];
    let mut body = Vec::new();
    let mut lines = 0;
    for t in templates {
        for ins in inserts {
            for at in 0..=t.len() {
                body.extend_from_slice(b"10.0.0.1 - - [01/Oct/2017:10:00:00 -0400] \"");
                body.extend_from_slice(&t[..at]);
                body.extend_from_slice(ins);
                body.extend_from_slice(&t[at..]);
                body.push(b'\n');
                lines += 1;
            }
        }
    }
    let log = write(d.path(), "access.log", &body);
    let o = bin()
        .args(["scan", "--format", "json", "--quiet"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let r = stdout_json(&o);
    let f = entry(&r, "access.log");
    assert_eq!(f["status"], "scanned");
    assert_eq!(f["records"], lines);
}
