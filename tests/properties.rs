//! Property tests: hostile bytes never panic the parsers or a whole scan;
//! chunked parallel scanning finds exactly what a line-by-line scan finds;
//! masking never lets a valid card number through.

mod common;

use jiff::tz::TimeZone;
use proptest::prelude::*;
use skimhunt::card::{self, Fingerprinter};
use skimhunt::discover::{DiscoverOptions, discover};
use skimhunt::format::{LineParser, LogFormat, ParseOptions};
use skimhunt::matcher::Engine;
use skimhunt::progress::Progress;
use skimhunt::scan::{ScanConfig, scan_entry};
use skimhunt::window::Window;

const RULE: &str = r#"
title: Marker
id: 00000000-0000-4000-8000-0000000000a1
level: medium
detection:
  keywords: [MARK, 'script']
  condition: keywords
"#;

/// Bytes that look a little like logs, so parsers get past their first
/// checks, mixed with anything at all.
fn logish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"203.0.113.5 - - [27/Sep/2017:10:00:00 +0000] \"GET /a?x=MARK HTTP/1.1\" 200 5 \"-\" \"ua\"".to_vec()),
        Just(b"#Fields: date time cs-uri-stem cs-uri-query\n".to_vec()),
        Just(b"2017-09-27 10:00:00 /x %3Cscript%3E".to_vec()),
        Just(b"https 2017-09-27T10:00:00.1Z app/x 1.2.3.4:5 - 0 0 0 200 200 0 0 \"GET https://h/ HTTP/1.1\" \"ua\"".to_vec()),
        Just(b"{\"ts\":\"2017-09-27T10:00:00Z\",\"text\":\"4111 1111 1111 1111\"}".to_vec()),
        Just(b"Sep 27 10:00:00 host app: MARK".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn engine() -> Engine {
    Engine::new(skimhunt::rules::load_str(RULE, "p.yml").unwrap())
}

fn config(chunk: usize) -> ScanConfig {
    let mut cfg = ScanConfig::new(Window::default(), TimeZone::UTC, Fingerprinter::new(b"k"));
    cfg.chunk_size = chunk;
    cfg
}

fn scan_file(path: &std::path::Path, cfg: &ScanConfig, engine: &Engine) -> Vec<(u64, u64, String)> {
    let entries = discover(&[path.to_path_buf()], &DiscoverOptions::default());
    let out = scan_entry(&entries[0], engine, cfg, &Progress::hidden());
    out.findings
        .into_vec()
        .unwrap()
        .into_iter()
        .map(|f| (f.line, f.byte_offset, f.rule_id + &f.evidence))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_as_records_never_panic(data in logish(), fmt in 0usize..5) {
        let mut p = LineParser::new(LogFormat::ALL[fmt], ParseOptions::default());
        for line in data.split(|&b| b == b'\n') {
            if p.directive(line) {
                continue;
            }
            let _ = p.time(line);
            let rec = p.record(line);
            prop_assert!(rec.raw.len() <= line.len());
        }
    }

    #[test]
    fn masking_never_lets_a_pan_through(
        prefix in "[ -~]{0,20}",
        suffix in "[ -~]{0,20}",
        which in 0usize..6,
        form in 0usize..5,
    ) {
        let pans = ["4111111111111111", "5500000000000004", "340000000000009",
                    "6011000990139424", "4012888888881881", "3530111333300000"];
        let p = pans[which];
        let shown = match form {
            0 => p.to_string(),
            1 => p.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" "),
            2 => p.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("-"),
            3 => p.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("%20"),
            _ => format!("x{p}y"),
        };
        let text = format!("{prefix}{shown}{suffix}");
        let masked = card::mask_text(&text);
        prop_assert!(common::full_pans(&masked).is_empty(), "{masked}");
        prop_assert!(!masked.replace("%20", "").replace([' ', '-'], "").contains(p));
    }

    /// A card number that blobs encode, one to three layers deep, glued
    /// after other letters or not, comes out masked: no reader of the
    /// output can decode it, and a single blob still decodes, to the
    /// masked text.
    #[test]
    fn masking_opens_blobs_at_any_offset(
        glue in "[A-Za-z0-9]{0,3}",
        lead in "[ -~]{0,12}",
        tail in "[ -~]{0,12}",
        which in 0usize..6,
        inner in proptest::collection::vec(0usize..4, 0..=2),
        outer in 0usize..5,
    ) {
        let pans = ["4111111111111111", "5500000000000004", "340000000000009",
                    "6011000990139424", "4012888888881881", "3530111333300000"];
        let payload = format!("{{\"n\":\"J Smith\",\"c\":\"{}\",\"v\":\"123\"}}", pans[which]);
        let encode = |how: usize, data: &[u8]| -> String {
            match how {
                0 => common::base64(data, false),
                1 => common::base64(data, true),
                2 => data.iter().map(|c| format!("{c:02x}")).collect(),
                3 => data.iter().map(|c| format!("{c:02X}")).collect(),
                // URL-escaped, as a query carries it: only ever outermost.
                _ => common::base64(data, false)
                    .replace('+', "%2B")
                    .replace('/', "%2F")
                    .replace('=', "%3D"),
            }
        };
        let mut blob = payload.clone();
        for &how in inner.iter().chain([&outer]) {
            blob = encode(how, blob.as_bytes());
        }
        let text = format!("{lead} q={glue}{blob}&{tail}");
        let masked = card::mask_text(&text);
        prop_assert_ne!(&*masked, &text);
        prop_assert!(common::encoded_pans(&masked).is_empty(), "{text} -> {masked}");
        if inner.is_empty() && glue.is_empty() && outer < 2 {
            let start = masked.find(" q=").unwrap() + 3;
            let end = start + masked[start..].find('&').unwrap();
            let back = common::base64_decode(&masked[start..end]);
            prop_assert_eq!(String::from_utf8(back).unwrap(), card::mask_text(&payload).into_owned());
        }
    }

    /// Blob-shaped noise with escapes and digit runs in it: masking never
    /// panics, and what it leaves holds no number a reader could decode.
    #[test]
    fn masking_blob_noise_never_panics_or_leaks(
        parts in proptest::collection::vec(
            prop_oneof![
                "[A-Za-z0-9+/=_-]{1,40}",
                "[0-9a-f]{2,40}",
                Just("%2B".to_string()),
                Just("%2f".to_string()),
                Just("%3D".to_string()),
                Just("\\/".to_string()),
                Just("\\u002B".to_string()),
                Just("NDExMTExMTExMTExMTExMQ".to_string()),
                Just("3431313131313131313131313131313131".to_string()),
            ],
            0..24,
        ),
    ) {
        let text = parts.concat();
        let masked = card::mask_text(&text);
        prop_assert!(common::encoded_pans(&masked).is_empty(), "{text} -> {masked}");
    }

    #[test]
    fn masking_any_text_leaves_no_pan(text in "[0-9 a-z%\\-]{0,80}") {
        let masked = card::mask_text(&text);
        prop_assert!(common::full_pans(&masked).is_empty(), "{text} -> {masked}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_as_a_file_never_panic(data in logish(), packing in 0u8..3) {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.log");
        let mut z = match packing {
            0 => data.clone(),
            1 => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&data).unwrap();
                e.finish().unwrap()
            }
            _ => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(&data).unwrap();
                e.finish().unwrap()
            }
        };
        // Sometimes cut the archive short.
        if packing > 0 && data.len() % 3 == 0 { z.truncate(z.len() / 2); }
        std::fs::write(&p, z).unwrap();
        let _ = scan_file(&p, &config(64), &engine());
    }

    #[test]
    fn chunked_scan_equals_line_by_line(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("2017-09-27T10:00:00Z a MARK".to_string()),
                Just("2017-09-27T10:00:00Z <script src=x>".to_string()),
                Just(String::new()),
                "[a-z MARK\r]{0,40}",
            ],
            0..200,
        ),
        chunk in 1usize..512,
    ) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.log");
        std::fs::write(&p, lines.join("\n")).unwrap();
        let e = engine();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let whole = scan_file(&p, &config(usize::MAX), &e);
        let chunked = pool.install(|| scan_file(&p, &config(chunk), &e));
        prop_assert_eq!(whole, chunked);
    }
}
