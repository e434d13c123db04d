//! Forensic soundness: the report says exactly what was read (hashes,
//! tool and rule versions, command line, times, host zone), a scan changes
//! nothing about its inputs, every walked entry is accounted for, and
//! --strict refuses an incomplete scan.

mod common;

use std::io::Write;
use std::time::{Duration, SystemTime};

use common::*;
use sha2::Digest;

const RULE: &str = "title: Marker\nid: 00000000-0000-4000-8000-0000000000f1\nlevel: high\ndetection:\n  keywords: [MARK]\n  condition: keywords\n";

fn evidence_tree(root: &std::path::Path) {
    write(root, "a.log", b"2017-09-27T10:00:00Z MARK\n");
    write(root, "empty.log", b"");
    write(root, "bin.dat", b"\0\0\0binary");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"2017-09-27T10:00:00Z MARK again\n").unwrap();
    write(root, "sub/b.log.gz", &gz.finish().unwrap());
    write(root, "sub/cut.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0]);
}

fn scan(root: &std::path::Path, rule: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "scan",
        root.to_str().unwrap(),
        "--no-default-rules",
        "--rules",
        rule.to_str().unwrap(),
        "--quiet",
        "--fail-on",
        "never",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn hashes_match_the_stored_bytes_and_the_header_is_complete() {
    let d = tempfile::tempdir().unwrap();
    let rule = write(d.path(), "r.yml", RULE.as_bytes());
    let root = d.path().join("ev");
    evidence_tree(&root);
    let o = scan(&root, &rule, &["--hash"]);
    assert_eq!(o.status.code(), Some(0));
    let r = stdout_json(&o);
    for f in r["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        if f["status"] == "scanned" || path.ends_with("cut.gz") {
            let want = hex(&sha2::Sha256::digest(std::fs::read(path).unwrap()));
            assert_eq!(f["sha256"].as_str(), Some(want.as_str()), "{path}");
        }
    }
    assert_eq!(r["tool"]["name"], "skimhunt");
    assert_eq!(r["tool"]["version"], env!("CARGO_PKG_VERSION"));
    let rules_hash = r["scan"]["rules"]["sha256"].as_str().unwrap();
    assert_eq!(rules_hash.len(), 64);
    let cl: Vec<&str> = r["scan"]["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(cl.contains(&"--hash") && cl.contains(&root.to_str().unwrap()));
    assert!(r["scan"]["started"].is_string() && r["scan"]["finished"].is_string());
    assert!(!r["scan"]["host_time_zone"].as_str().unwrap().is_empty());
    // SARIF artifacts carry the same hashes.
    let o = scan(&root, &rule, &["--hash", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let arts = sarif["runs"][0]["artifacts"].as_array().unwrap();
    let hashed: Vec<&str> = arts
        .iter()
        .filter_map(|a| a["hashes"]["sha-256"].as_str())
        .collect();
    let report_hashes: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["sha256"].as_str())
        .collect();
    assert!(!hashed.is_empty());
    assert!(hashed.iter().all(|h| report_hashes.contains(h)));
    // Without --hash no hash is computed.
    let r = stdout_json(&scan(&root, &rule, &[]));
    assert!(r["files"][0].get("sha256").is_none());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn a_scan_leaves_inputs_unchanged() {
    let d = tempfile::tempdir().unwrap();
    let rule = write(d.path(), "r.yml", RULE.as_bytes());
    let root = d.path().join("ev");
    evidence_tree(&root);
    // Old access and modification times: a read that updated atime would
    // move it even under relatime.
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_506_500_000);
    let files: Vec<_> = walkdir::WalkDir::new(&root)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.is_file())
        .collect();
    let mut before = Vec::new();
    for p in &files {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_times(
            std::fs::FileTimes::new()
                .set_accessed(old)
                .set_modified(old),
        )
        .unwrap();
        drop(f);
        let m = std::fs::metadata(p).unwrap();
        before.push((std::fs::read(p).unwrap(), m.modified().unwrap()));
        // Reading above moved atime again: reset it.
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_times(std::fs::FileTimes::new().set_accessed(old))
            .unwrap();
    }
    let o = scan(&root, &rule, &["--hash"]);
    assert_eq!(o.status.code(), Some(0));
    // O_NOATIME is honoured for the file's owner (and root), which the test
    // is: access times must be untouched too.
    for (p, (bytes, mtime)) in files.iter().zip(&before) {
        let m = std::fs::metadata(p).unwrap();
        assert_eq!(m.modified().unwrap(), *mtime, "{}", p.display());
        assert_eq!(m.accessed().unwrap(), old, "atime moved: {}", p.display());
        assert_eq!(&std::fs::read(p).unwrap(), bytes, "{}", p.display());
    }
}

#[test]
fn every_walked_entry_is_accounted_for_and_strict_refuses_gaps() {
    let d = tempfile::tempdir().unwrap();
    let rule = write(d.path(), "r.yml", RULE.as_bytes());
    let root = d.path().join("ev");
    evidence_tree(&root);
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).unwrap();
    let walked = skimhunt::discover::discover(
        std::slice::from_ref(&root),
        &skimhunt::discover::DiscoverOptions::default(),
    );
    let o = scan(&root, &rule, &[]);
    assert_eq!(o.status.code(), Some(0));
    let r = stdout_json(&o);
    let files = r["files"].as_array().unwrap();
    let listed: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    let want: Vec<&str> = walked.iter().map(|e| e.display.as_str()).collect();
    assert_eq!(listed, want);
    let c = &r["summary"]["files"];
    let total = c["scanned"].as_u64().unwrap()
        + c["skipped"].as_u64().unwrap()
        + c["errors"].as_u64().unwrap();
    assert_eq!(total as usize, walked.len());
    assert!(c["skipped"].as_u64().unwrap() >= 1 && c["errors"].as_u64().unwrap() >= 1);

    // --strict: the same scan exits 2 and says why, but still writes the
    // whole report.
    let o = scan(&root, &rule, &["--strict"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--strict"), "{err}");
    assert_eq!(
        stdout_json(&o)["files"].as_array().unwrap().len(),
        walked.len()
    );
    // A clean tree passes --strict.
    let clean = d.path().join("clean");
    write(&clean, "ok.log", b"2017-09-27T10:00:00Z MARK\n");
    assert_eq!(scan(&clean, &rule, &["--strict"]).status.code(), Some(0));

    // What the user left out (filters, an ignore file) is listed as
    // skipped but does not fail --strict; a file that could not be
    // examined still does.
    write(&clean, "old/a.log", b"2017-09-27T10:00:00Z MARK\n");
    write(&clean, "notes.txt", b"2017-09-27T10:00:00Z MARK\n");
    write(&clean, ".skimhuntignore", b"# nothing\n");
    let filters = ["--strict", "--exclude", "old", "--include", "*.log"];
    let o = scan(&clean, &rule, &filters);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout_json(&o)["summary"]["files"]["skipped"], 3);
    write(&clean, "dump.log", b"\0\0\0 binary\n");
    let o = scan(&clean, &rule, &filters);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--strict: 1 files skipped"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
