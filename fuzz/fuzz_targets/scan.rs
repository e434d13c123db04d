//! The whole scan of one file as the binary runs it: the built-in pack and
//! detectors over the input written as a log (plain, or gzip to take the
//! streaming path), with or without a window, with the default detector
//! options or custom ones (assets, payment paths, own domains, an IOC
//! list), then the detectors' report.
//! The report is then written in every output format.
//! Invariants: no panic, the file is in the report (scanned, or skipped
//! or an error with a reason), every format writes without error (JSON,
//! JSON lines and SARIF parse back), and no report shows a card number
//! (fingerprints aside: they are hex digests, not data).
#![no_main]

#[path = "report_text.rs"]
mod report_text;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use skimhunt::card::Fingerprinter;
use skimhunt::detect::ReportSections;
use skimhunt::detect::{self, DetectOptions, Detectors};
use skimhunt::discover::{DiscoverOptions, discover};
use skimhunt::matcher::Engine;
use skimhunt::progress::Progress;
use skimhunt::report::csv::CsvEmitter;
use skimhunt::report::html::HtmlEmitter;
use skimhunt::report::json::JsonEmitter;
use skimhunt::report::jsonl::JsonlEmitter;
use skimhunt::report::sarif::SarifEmitter;
use skimhunt::report::text::TextEmitter;
use skimhunt::report::{
    Emitter, FileStatus, Finding, Header, RulesInfo, ScanInfo, Summary, Tally, ToolInfo, WindowInfo,
};
use skimhunt::scan::{ScanConfig, scan_entry};
use skimhunt::window::Window;

struct Setup {
    engine: Engine,
    /// Short stretches searched where they lie, then gathered; each without
    /// a window and with one day (so lines fall on both sides), each with
    /// the default detector options and with custom ones.
    configs: [[ScanConfig; 4]; 2],
    dir: PathBuf,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let loaded = skimhunt::pack::load(&[], false).expect("built-in pack");
    // Asset globs, payment patterns (one with an assertion: every line is
    // then parsed), own domains and an IOC list reach detector code the
    // defaults do not.
    let custom = DetectOptions {
        assets: vec!["/static/*.mjs".into(), "*/widget/*".into()],
        payment_paths: vec![r"^/pay".into(), r"(?i)/kasse".into()],
        own_domains: vec!["skyways-air.example".into(), "example-shop.com".into()],
        ioc_texts: vec![(
            "fuzz-iocs".into(),
            "evil-cdn.example\nhttps://g00gle-analytics.com/collect\n203.0.113.9\n".into(),
        )],
        ..DetectOptions::default()
    };
    let config = |window: Window, opts: &DetectOptions, gather: bool| {
        let mut cfg = ScanConfig::new(window, TimeZone::UTC, Fingerprinter::new(b"fuzz"));
        cfg.detect = Some(Arc::new(Detectors::new(window, opts).expect("detectors")));
        cfg.year = Some(2017);
        // Small chunks: a few kilobytes already take the chunked path.
        cfg.chunk_size = 4096;
        // Inputs are far shorter than the default: without gathering, each
        // stretch is searched where it lies, as long ones are.
        if !gather {
            cfg.gather_below = 0;
        }
        cfg
    };
    let day = Window::new(
        Some("2017-10-01T00:00:00Z"),
        Some("2017-10-02T00:00:00Z"),
        &TimeZone::UTC,
        None,
    )
    .expect("window");
    let dir = std::env::temp_dir().join(format!("skimhunt-fuzz-scan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    Setup {
        engine: Engine::new(loaded.rules),
        configs: [false, true].map(|gather| {
            [
                config(Window::default(), &DetectOptions::default(), gather),
                config(day, &DetectOptions::default(), gather),
                config(Window::default(), &custom, gather),
                config(day, &custom, gather),
            ]
        }),
        dir,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let s = &*SETUP;
    // Bit 0: the window; bit 1: gzip; bit 2: custom detector options;
    // bit 3: short stretches gathered.
    let cfg = &s.configs[usize::from(sel >> 3 & 1)][usize::from((sel & 1) | ((sel >> 1) & 2))];
    let path = if sel & 2 != 0 {
        let p = s.dir.join("in.log.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body).expect("gzip in memory");
        std::fs::write(&p, gz.finish().expect("gzip in memory")).expect("write input");
        p
    } else {
        let p = s.dir.join("in.log");
        std::fs::write(&p, body).expect("write input");
        p
    };
    let entries = discover(&[path], &DiscoverOptions::default());
    assert_eq!(entries.len(), 1);
    let out = scan_entry(&entries[0], &s.engine, cfg, &Progress::hidden());
    // A corrupt stream (bytes that start like zstd or xz) is an error entry.
    if out.file.status != FileStatus::Scanned {
        assert!(
            out.file.reason.is_some(),
            "{:?} without a reason",
            out.file.status
        );
    }
    let d = cfg.detect.as_deref().expect("detectors");
    let mut report = detect::finish(d, out.detect);
    let findings: Vec<Finding> = out
        .findings
        .replay()
        .expect("findings")
        .map(|f| f.expect("finding"))
        .collect();
    let mut summary = Summary::default();
    summary.add_file(&out.file);
    summary.merge(&out.tally.summary);
    let mut timeline = out.tally.timeline;
    let mut tally = Tally::default();
    for f in &report.findings {
        tally.add(f);
    }
    summary.merge(&tally.summary);
    timeline.merge(tally.timeline);
    let sections = ReportSections {
        drift: report.drift.take(),
        exposure: report.exposure.take(),
        timeline,
    };
    let header = Header {
        tool: ToolInfo {
            name: "skimhunt",
            version: "fuzz",
        },
        scan: ScanInfo {
            started: jiff::Timestamp::UNIX_EPOCH,
            finished: Some(jiff::Timestamp::UNIX_EPOCH),
            command_line: Vec::new(),
            rules: RulesInfo {
                count: s.engine.rules().len(),
                sha256: String::new(),
            },
            detectors: vec!["drift", "exposure", "lookalike"],
            host_time_zone: "UTC".into(),
        },
        window: WindowInfo {
            since: cfg.window.since,
            until: cfg.window.until,
        },
    };
    // Every output format: none may fail, and none may show a number.
    let rules = s.engine.rules();
    let relative: std::collections::HashMap<String, String> =
        [(out.file.path.clone(), "in.log".to_string())].into();
    for format in ["json", "jsonl", "sarif", "csv", "text", "html"] {
        let mut bytes = Vec::new();
        {
            let mut e: Box<dyn Emitter> = match format {
                "json" => Box::new(JsonEmitter::new(&mut bytes)),
                "jsonl" => Box::new(JsonlEmitter::new(&mut bytes)),
                "sarif" => Box::new(SarifEmitter::new(&mut bytes, rules, relative.clone())),
                "csv" => Box::new(CsvEmitter::new(&mut bytes)),
                "text" => Box::new(TextEmitter::new(&mut bytes, false)),
                _ => Box::new(HtmlEmitter::new(&mut bytes, rules)),
            };
            e.begin(&header).expect("begin");
            e.file(&out.file, &findings).expect("file");
            e.sections(&report.findings, &sections).expect("sections");
            e.finish(&header, &summary).expect("finish");
        }
        let text = String::from_utf8(bytes).expect("a report is UTF-8");
        report_text::assert_no_pan(format, &text);
    }
});
