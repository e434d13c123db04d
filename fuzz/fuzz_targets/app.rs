//! The scan command end to end, as `main` runs it (`app::scan` on parsed
//! flags): the input cut into up to four files under one directory (plain,
//! gzip, one in a subdirectory, one without an extension), walked and
//! scanned together with the built-in pack and detectors, whose states meet
//! in the merge across files; with or without a window, on one or two
//! threads, with the exposure CSV, in one output format.
//! Invariants: no panic; the scan succeeds; every input file is counted in
//! the summary (scanned, skipped or an error), and in a JSON report each is
//! listed, with a reason unless scanned; neither the report nor the CSV
//! shows a card number.
#![no_main]

#[path = "report_text.rs"]
mod report_text;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use skimhunt::cli::{Cli, Command};

/// Between two files in the input.
const CUT: &[u8] = b"\n\x1e";
const FORMATS: [&str; 6] = ["json", "jsonl", "sarif", "csv", "text", "html"];

static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    std::env::temp_dir().join(format!("skimhunt-fuzz-app-{}", std::process::id()))
});

fn write(path: &Path, body: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("input dir");
    std::fs::write(path, body).expect("write input");
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let dir = &*DIR;
    let _ = std::fs::remove_dir_all(dir);
    let logs = dir.join("logs");
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut rest = body;
    while parts.len() < 3 {
        let Some(at) = rest.windows(CUT.len()).position(|w| w == CUT) else {
            break;
        };
        parts.push(&rest[..at]);
        rest = &rest[at + CUT.len()..];
    }
    parts.push(rest);
    let names = [
        "access.log",
        "access.log.1.gz",
        "cdn/edge.log",
        "chat-export",
    ];
    for (i, (part, name)) in parts.iter().zip(names).enumerate() {
        let path = logs.join(name);
        if i == 1 {
            write(&path, &gzip(part));
        } else {
            write(&path, part);
        }
    }
    // Bit 0: the window; bit 1: two threads; the rest: the format.
    let format = FORMATS[usize::from(sel >> 2) % FORMATS.len()];
    let report = dir.join("report");
    let csv = dir.join("exposed.csv");
    let mut argv: Vec<String> = [
        "skimhunt",
        "scan",
        logs.to_str().expect("UTF-8 temp dir"),
        "--quiet",
        "--no-progress",
        "--fail-on",
        "never",
        "--format",
        format,
        "-o",
        report.to_str().expect("UTF-8 temp dir"),
        "--exposure-csv",
        csv.to_str().expect("UTF-8 temp dir"),
        "-j",
        if sel & 2 != 0 { "2" } else { "1" },
    ]
    .map(String::from)
    .to_vec();
    if sel & 1 != 0 {
        argv.extend(["--since", "2017-09-26", "--until", "2017-10-12"].map(String::from));
    }
    let Command::Scan(args) = Cli::try_parse_from(&argv).expect("flags").command else {
        unreachable!("a scan command");
    };
    let outcome = skimhunt::app::scan(&args, argv).expect("the scan succeeds");
    let files = &outcome.summary.files;
    assert_eq!(
        files.scanned + files.skipped + files.errors,
        parts.len() as u64,
        "every input file is counted: {files:?}"
    );
    let text = std::fs::read_to_string(&report).expect("a report in UTF-8");
    if format == "json" {
        let r: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let listed = r["files"].as_array().expect("files");
        assert_eq!(listed.len(), parts.len(), "every input file is listed");
        for f in listed {
            if f["status"] != "scanned" {
                assert!(f["reason"].is_string(), "{f} without a reason");
            }
        }
    }
    report_text::assert_no_pan(format, &text);
    let csv = std::fs::read_to_string(&csv).expect("an exposure CSV in UTF-8");
    report_text::assert_no_pan("csv", &csv);
});
