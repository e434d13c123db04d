//! No leaks, over every output format the CLI offers (taken from
//! OutputFormat, so new formats are covered when they land): no full card
//! number in stdout, stderr or any report; log text cannot inject terminal
//! control sequences or break out of the report's strings.

mod common;

use clap::ValueEnum;
use common::*;
use skimhunt::cli::OutputFormat;

fn formats() -> Vec<String> {
    OutputFormat::value_variants()
        .iter()
        .map(|f| f.to_possible_value().unwrap().get_name().to_string())
        .collect()
}

const PANS: [&str; 6] = [
    "4111111111111111",
    "5500000000000004",
    "340000000000009",
    "6011000990139424",
    "4012888888881881",
    "3530111333300000",
];

fn pan_log(dir: &std::path::Path) {
    let mut web = String::new();
    let mut chat = String::new();
    for (i, p) in PANS.iter().enumerate() {
        let grouped: Vec<&str> = p
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let forms = [
            p.to_string(),
            grouped.join(" "),
            grouped.join("-"),
            grouped.join("%20"),
            p.bytes().map(|c| format!("%{c:02X}")).collect(),
            p.bytes().map(|c| format!("%u{c:04X}")).collect(),
            grouped.join("%u0020"),
            // Digits as JSON, JavaScript and HTML escapes.
            p.bytes().map(|c| format!("\\u{c:04x}")).collect(),
            p.bytes().map(|c| format!("\\x{c:02x}")).collect(),
            p.bytes().map(|c| format!("&#{c};")).collect(),
            p.bytes().map(|c| format!("&#x{c:X}")).collect(),
            grouped.join("&#32;"),
            // URL-encoded twice (the url layer decodes until stable).
            p.bytes().map(|c| format!("%25{c:02X}")).collect(),
            // A JSON escape, URL-encoded (encodeURIComponent of `\u0034`).
            p.bytes().map(|c| format!("%5Cu{c:04x}")).collect(),
            // Escapes whose own syntax is escaped (decoded a layer at a
            // time): `%34` with its hex digits escaped, encodeURIComponent
            // of `&#52;`, introducers as named references, a JSON-escaped
            // backslash, a plain `%` before escaped hex, escaped `+`.
            p.bytes()
                .map(|c| {
                    let hex: String = format!("{c:02X}")
                        .bytes()
                        .map(|h| format!("%{h:02X}"))
                        .collect();
                    format!("%25{hex}")
                })
                .collect(),
            p.bytes().map(|c| format!("%26%23{c}%3B")).collect(),
            p.bytes().map(|c| format!("&percnt;{c:02X}")).collect(),
            p.bytes().map(|c| format!("&bsol;u{c:04x}")).collect(),
            p.bytes().map(|c| format!("&amp;#{c};")).collect(),
            p.bytes().map(|c| format!("\\\\u{c:04x}")).collect(),
            p.bytes()
                .map(|c| format!("%%{:02X}%{:02X}", c >> 4 | b'0', (c & 15) + b'0'))
                .collect(),
            grouped.join("%2B"),
            b64(p.as_bytes()),
            // What skimmers send: a JSON form encoded, URL-escaped, in hex,
            // twice over, or glued after other letters.
            b64(format!("{{\"cc\":\"{p}\",\"cvv\":\"123\"}}>?").as_bytes())
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
            b64(format!("{{\"cc\":\"{p}\",\"cvv\":\"123\"}}>?").as_bytes())
                .replace('+', "%252B")
                .replace('/', "%252F")
                .replace('=', "%253D")
                .replace('M', "%254D"),
            p.bytes().map(|c| format!("{c:02x}")).collect(),
            b64(b64(format!("n=J Smith&c={p}").as_bytes()).as_bytes()),
            // A blob of JSON whose digits are escaped.
            b64(format!(
                "{{\"card\":\"{}\"}}",
                p.bytes().map(|c| format!("\\u{c:04x}")).collect::<String>()
            )
            .as_bytes()),
            format!(
                "ab{}",
                base64(format!("card {p} exp 12/19").as_bytes(), true)
            ),
        ];
        for (k, f) in forms.iter().enumerate() {
            web += &format!(
                "203.0.113.5 - - [27/Sep/2017:10:00:0{i} +0000] \"GET /checkout/pay?cc_number={f}&cvv=123&k={k}&x=%3Cscript%3E HTTP/1.1\" 200 100 \"-\" \"Mozilla/5.0\"\n"
            );
            // `\x` is no JSON escape: written as a backslash and `x`.
            let f = f.replace("\\x", "\\\\x");
            chat += &format!(
                "{{\"ts\":\"2017-09-27T10:00:0{i}Z\",\"service\":\"chat\",\"event\":\"message\",\"text\":\"card {f} <script src=//evil.example/s.js></script>\"}}\n"
            );
        }
        // A card number as a JSON key (report fields carry the names).
        chat += &format!(
            "{{\"ts\":\"2017-09-27T10:30:0{i}Z\",\"service\":\"chat\",\"event\":\"message\",\"{p}\":\"k\",\"text\":\"<script src=//evil.example/s.js></script>\"}}\n"
        );
        // Card numbers where the detectors keep text for their sections:
        // a script path and a widget URL and build (drift), the agents of
        // payment-page visitors (exposure).
        for j in 0..9 {
            web += &format!(
                "198.51.100.{j} - - [27/Sep/2017:1{j}:00:0{i} +0000] \"GET /js/{p}/app.js HTTP/1.1\" 200 {} \"https://shop.example/checkout/{p}\" \"Mozilla/5.0 {p}\"\n\
                 198.51.100.{j} - - [27/Sep/2017:1{j}:00:1{i} +0000] \"GET /checkout/{p} HTTP/1.1\" 200 500 \"-\" \"Mozilla/5.0 (cc {p})\"\n",
                1000 + 10 * (j % 3)
            );
            chat += &format!(
                "{{\"ts\":\"2017-09-27T1{j}:00:0{i}Z\",\"service\":\"chat\",\"event\":\"widget_load\",\"session\":\"s{j}-{p}\",\"src\":\"https://chat.vendor.example/w/{p}/chat.js\",\"version\":\"{}-{p}\"}}\n",
                j % 3
            );
        }
    }
    write(dir, "web/access.log", web.as_bytes());
    write(dir, "chat/export.jsonl", chat.as_bytes());
}

#[test]
fn no_full_pan_in_any_output_format() {
    let d = tempfile::tempdir().unwrap();
    pan_log(&d.path().join("logs"));
    for fmt in formats() {
        let out = d.path().join(format!("report.{fmt}"));
        for to_file in [false, true] {
            let mut args = vec![
                "scan".to_string(),
                d.path().join("logs").display().to_string(),
                "--format".into(),
                fmt.clone(),
                "--pan-key".into(),
                "k".into(),
            ];
            if to_file {
                args.extend(["-o".into(), out.display().to_string()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = run(&args);
            assert_eq!(
                o.status.code(),
                Some(1),
                "{fmt}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
            let report = if to_file {
                std::fs::read_to_string(&out).unwrap()
            } else {
                stdout.clone()
            };
            assert!(report.contains("411111"), "{fmt}: findings expected");
            if fmt == "json" {
                // The detectors' sections hold the masked numbers.
                let r: serde_json::Value = serde_json::from_str(&report).unwrap();
                let items = r["drift"]["items"].to_string();
                let sample = r["exposure"]["sample"].to_string();
                assert!(items.contains("/js/411111*"), "{items}");
                assert!(items.contains("chat.vendor.example/w/411111*"), "{items}");
                assert!(sample.contains("Mozilla/5.0 411111*"), "{sample}");
            }
            assert_no_full_pan(&format!("{fmt} report"), &report);
            assert_no_full_pan(&format!("{fmt} stdout"), &stdout);
            assert_no_full_pan(
                &format!("{fmt} stderr"),
                &String::from_utf8_lossy(&o.stderr),
            );
        }
    }
}

/// A blob holding a card number that the evidence excerpt or the report
/// field's cut goes through shows no more than the first six and last four
/// digits, decoded or not: the blob is masked before it is cut.
#[test]
fn cuts_through_a_blob_leave_no_middle_digits() {
    let d = tempfile::tempdir().unwrap();
    let pan = "4532015112830366";
    let blob = b64(format!("{{\"c\":\"{pan}\",\"v\":\"123\"}}").as_bytes());
    let mut log = String::new();
    // The blob at every place from before the evidence excerpt's end to
    // past the query field's cut (1,024 characters), glued to letters on
    // both sides.
    for k in (300..1100).step_by(3) {
        log += &format!(
            "203.0.113.5 - - [27/Sep/2017:10:00:00 +0000] \"GET /img/t.gif?d={}{blob}{} HTTP/1.1\" 200 43 \"-\" \"Mozilla/5.0\"\n",
            "Q".repeat(k),
            "Q".repeat(600)
        );
    }
    write(d.path(), "access.log", log.as_bytes());
    let o = run(&[
        "scan",
        d.path().join("access.log").to_str().unwrap(),
        "--format",
        "jsonl",
        "--fail-on",
        "never",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines().count() > 200,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (head, tail) = (&pan[..7], &pan[pan.len() - 5..]);
    for line in out.lines() {
        for t in std::iter::once(line.as_bytes().to_vec()).chain(decodings(line)) {
            let t = String::from_utf8_lossy(&t);
            assert!(!t.contains(head) && !t.contains(tail), "{line}");
        }
    }
}

#[test]
fn hostile_text_cannot_escape_strings_or_reach_the_terminal() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    // Quotes, backslashes, control characters, terminal escapes, invalid
    // UTF-8 and HTML breakers, in a record and in a file name.
    let mut line = b"2017-09-27T10:00:00Z \"quoted\" back\\slash \x1b[2J\x1b]0;owned\x07 \x08\x0b\x0c\x7f </script><script>alert(1)</script> \xff\xfe ,\"=cmd|' /c calc'!A0\",\n".to_vec();
    line.extend_from_slice(b"2017-09-27T10:00:01Z <script src=x> \x1b[31m\n");
    write(&root, "evil\x1b[31m.log", &line);
    // An error entry whose reason and name reach stderr.
    write(&root, "cut\x1b]0;title\x07.gz", &[0x1f, 0x8b, 8, 0, 0, 0]);
    let rule = write(
        d.path(),
        "rule.yml",
        b"title: Hostile\nid: 00000000-0000-4000-8000-0000000000d1\nlevel: high\ndetection:\n  keywords: [quoted, script]\n  condition: keywords\n",
    );
    for fmt in formats() {
        let o = run(&[
            "scan",
            root.to_str().unwrap(),
            "--rules",
            rule.to_str().unwrap(),
            "--format",
            &fmt,
            "--fail-on",
            "never",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{fmt}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07),
            "{fmt}: control bytes on stderr: {:?}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !o.stdout.contains(&0x1b) && !o.stdout.contains(&0x07),
            "{fmt}: raw control bytes in the report"
        );
        let text = String::from_utf8(o.stdout.clone())
            .unwrap_or_else(|_| panic!("{fmt}: report is not UTF-8"));
        match fmt.as_str() {
            "json" | "sarif" => {
                let v: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{fmt}: not JSON: {e}"));
                if fmt == "json" {
                    // The text survives, escaped, and reads back intact.
                    let ev = v["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|f| f["evidence"].as_str())
                        .find(|e| e.contains("quoted"))
                        .expect("the hostile line is a finding");
                    assert!(ev.contains("\"quoted\"") && ev.contains('\u{1b}'), "{ev}");
                }
            }
            "jsonl" => {
                for l in text.lines() {
                    serde_json::from_str::<serde_json::Value>(l)
                        .unwrap_or_else(|e| panic!("jsonl line is not JSON ({e}): {l}"));
                }
            }
            "html" => {
                // The only script end tags are the page's own.
                assert!(
                    !text.contains("<script>alert(1)"),
                    "html: log text injected a script"
                );
            }
            _ => {}
        }
    }
}
