//! Chunked parallel scanning finds exactly what a single pass finds: no
//! finding is lost or doubled at a chunk edge, and line numbers and byte
//! offsets stay right.

use std::sync::Arc;

use jiff::tz::TimeZone;
use skimhunt::card::Fingerprinter;
use skimhunt::discover::{DiscoverOptions, discover};
use skimhunt::matcher::Engine;
use skimhunt::progress::Progress;
use skimhunt::report::json::JsonItems;
use skimhunt::report::jsonl::JsonlLines;
use skimhunt::report::render::FindingWriter;
use skimhunt::scan::{FileOutcome, ScanConfig, scan_entry};
use skimhunt::window::Window;

const RULE: &str = r#"
title: Chunk marker
id: 00000000-0000-4000-8000-0000000000c1
level: medium
detection:
  keywords: [MARK]
  condition: keywords
"#;

fn scan(
    path: &std::path::Path,
    chunk: usize,
    threads: usize,
    writer: Option<Arc<dyn FindingWriter>>,
) -> FileOutcome {
    let engine = Engine::new(skimhunt::rules::load_str(RULE, "chunk.yml").unwrap());
    let mut cfg = ScanConfig::new(Window::default(), TimeZone::UTC, Fingerprinter::new(b"k"));
    cfg.chunk_size = chunk;
    cfg.writer = writer;
    let entries = discover(&[path.to_path_buf()], &DiscoverOptions::default());
    assert_eq!(entries.len(), 1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let out = pool.install(|| scan_entry(&entries[0], &engine, &cfg, &Progress::hidden()));
    assert_eq!(out.file.records, 3000);
    out
}

fn findings(path: &std::path::Path, chunk: usize, threads: usize) -> Vec<(u64, u64, String)> {
    scan(path, chunk, threads, None)
        .findings
        .into_vec()
        .unwrap()
        .into_iter()
        .map(|f| (f.line, f.byte_offset, f.evidence))
        .collect()
}

/// 3,000 lines, every seventh marked; returns the marked lines' numbers
/// and offsets.
fn write_log(p: &std::path::Path) -> Vec<(u64, u64)> {
    let mut body = String::new();
    let mut expected = Vec::new();
    let mut offset = 0u64;
    for i in 0..3000u64 {
        // Varying lengths so chunk edges fall everywhere, CRLF on some lines.
        let pad = "x".repeat((i * 7919 % 97) as usize);
        let line = if i % 7 == 0 {
            format!("2017-09-27T10:00:00Z line {i} MARK {pad}")
        } else {
            format!("2017-09-27T10:00:00Z line {i} {pad}")
        };
        if i % 7 == 0 {
            expected.push((i + 1, offset));
        }
        let eol = if i % 5 == 0 { "\r\n" } else { "\n" };
        offset += (line.len() + eol.len()) as u64;
        body += &line;
        body += eol;
    }
    std::fs::write(p, &body).unwrap();
    expected
}

#[test]
fn chunk_edges_lose_and_double_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.log");
    let expected = write_log(&p);
    let whole = findings(&p, usize::MAX, 1);
    assert_eq!(
        whole.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
        expected
    );
    for chunk in [1, 2, 3, 64, 100, 1000, 4096, 65_536] {
        assert_eq!(findings(&p, chunk, 2), whole, "chunk size {chunk}");
    }
}

/// Chunks render their findings with chunk-relative line numbers, which are
/// rewritten as the chunks join their file: the text must equal rendering
/// the single pass's findings, whatever the digits of the numbers.
#[test]
fn rendered_chunks_carry_the_file_line_numbers() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.log");
    let expected = write_log(&p);
    let whole = scan(&p, usize::MAX, 1, None).findings.into_vec().unwrap();
    assert_eq!(whole.len(), expected.len());
    let writers: [Arc<dyn FindingWriter>; 2] = [Arc::new(JsonItems), Arc::new(JsonlLines)];
    for w in writers {
        let mut want = Vec::new();
        for f in &whole {
            w.write(f, &mut want).unwrap();
        }
        for chunk in [1, 3, 100, 4096, usize::MAX] {
            let out = scan(&p, chunk, 2, Some(w.clone()));
            assert!(out.findings.is_empty());
            assert_eq!(out.tally.summary.findings, whole.len() as u64);
            assert_eq!(out.file.findings, whole.len() as u64);
            let mut got = Vec::new();
            out.rendered.copy_to(0, &mut got).unwrap();
            assert!(
                got == want,
                "chunk size {chunk}: rendered text differs from the single pass"
            );
        }
    }
}
