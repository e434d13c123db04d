//! The whole scan of one file as the binary runs it: the built-in pack and
//! detectors over the input written as a log (plain, or gzip to take the
//! streaming path), with or without a window, then the detectors' report.
//! Invariants: no panic, the file is in the report (scanned, or skipped
//! or an error with a reason), and no finding or detector section holds a card number
//! (fingerprints aside: they are hex digests, not data).
#![no_main]

#[path = "pan.rs"]
mod pan;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use skimhunt::card::Fingerprinter;
use skimhunt::detect::{self, DetectOptions, Detectors};
use skimhunt::discover::{DiscoverOptions, discover};
use skimhunt::matcher::Engine;
use skimhunt::progress::Progress;
use skimhunt::report::FileStatus;
use skimhunt::scan::{ScanConfig, scan_entry};
use skimhunt::window::Window;

struct Setup {
    engine: Engine,
    /// Without a window, and with one day (so lines fall on both sides).
    configs: [ScanConfig; 2],
    dir: PathBuf,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let loaded = skimhunt::pack::load(&[], false).expect("built-in pack");
    let config = |window: Window| {
        let mut cfg = ScanConfig::new(window, TimeZone::UTC, Fingerprinter::new(b"fuzz"));
        cfg.detect = Some(Arc::new(
            Detectors::new(window, &DetectOptions::default()).expect("detectors"),
        ));
        cfg.year = Some(2017);
        // Small chunks: a few kilobytes already take the chunked path.
        cfg.chunk_size = 4096;
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
        configs: [config(Window::default()), config(day)],
        dir,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let s = &*SETUP;
    let cfg = &s.configs[usize::from(sel & 1)];
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
        assert!(out.file.reason.is_some(), "{:?} without a reason", out.file.status);
    }
    let d = cfg.detect.as_deref().expect("detectors");
    let report = detect::finish(d, &out.detect);
    let mut shown = Vec::new();
    let findings = out.findings.replay().expect("findings");
    for f in findings.map(|f| f.expect("finding")).chain(report.findings) {
        let mut v = serde_json::to_value(f).expect("finding as json");
        v["fingerprint"] = serde_json::Value::Null;
        if let Some(p) = v.get_mut("pan").filter(|p| p.is_object()) {
            p["fingerprint"] = serde_json::Value::Null;
        }
        shown.push(v);
    }
    shown.push(serde_json::to_value(&report.drift).expect("drift as json"));
    shown.push(serde_json::to_value(&report.exposure).expect("exposure as json"));
    let text = serde_json::to_string(&shown).expect("json");
    if let Some(p) = pan::full_pan(text.as_bytes()) {
        let at = text.find(&p).unwrap_or(0);
        let around = &text[text.floor_char_boundary(at.saturating_sub(300))..];
        panic!("the report shows a card number: {p} in {}", &around[..around.floor_char_boundary(400)]);
    }
});
