//! Criterion benches of the hot paths on their own: format detection,
//! timestamp parsing per format and the date pass over a buffer (lines
//! framed and dated, the window's fixed cost), the card-number scanner and Luhn check,
//! value decoding, and rule matching over a buffer (gate search alone and
//! the whole per-line candidate step).
//!
//! cargo bench --bench hot

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skimhunt::decode::{DecodeOpts, decode_value};
use skimhunt::format::{self, LineParser, LogFormat, ParseOptions};
use skimhunt::matcher::{Engine, Finder};

const COMBINED: &str = "203.0.113.9 - - [27/Apr/2017:10:00:00 -0700] \"GET /static/version1/frontend/Magento/luma/en_US/jquery.js?q=red%20shoes HTTP/1.1\" 200 5123 \"https://shop.example-shop.com/\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.113 Safari/537.36\"";
const W3C: &str = "2017-04-27 10:00:00 10.0.0.1 GET /default.htm q=1 80 - 203.0.113.9 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15";
const ALB: &str = "https 2017-04-27T10:00:00.123456Z app/my-lb/50dc6c495c0c9188 203.0.113.9:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \"GET https://www.example.com:443/p?x=1 HTTP/1.1\" \"curl/7.46.0\" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 2017-04-27T10:00:00.123000Z \"forward\" \"-\" \"-\"";
const JSONL: &str = r#"{"timestamp":"2017-04-27T10:00:00Z","user":"visitor-17","message":"hello, my order 1234 did not arrive","channel":"web"}"#;
const PLAIN: &str = "Apr 27 10:00:00 web01 nginx[123]: 203.0.113.9 GET /index.html 200";

fn detection(c: &mut Criterion) {
    let head: String = (0..200).map(|_| format!("{COMBINED}\n")).collect();
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Bytes(head.len() as u64));
    g.bench_function("combined_head", |b| {
        b.iter(|| format::detect(black_box(head.as_bytes())))
    });
    g.finish();
}

fn timestamps(c: &mut Criterion) {
    let mut g = c.benchmark_group("time");
    for (name, fmt, line) in [
        ("combined", LogFormat::Combined, COMBINED),
        ("w3c", LogFormat::W3c, W3C),
        ("alb", LogFormat::Alb, ALB),
        ("jsonl", LogFormat::Jsonl, JSONL),
        ("plain", LogFormat::Plain, PLAIN),
    ] {
        let p = LineParser::new(
            fmt,
            ParseOptions {
                year: 2017,
                ..ParseOptions::default()
            },
        );
        g.bench_function(name, |b| b.iter(|| p.time(black_box(line.as_bytes()))));
    }
    g.finish();

    // The window's fixed cost: every line of a buffer framed and dated, as
    // the date pass does it (a new second on every line, a new hour now and
    // then).
    let buf: String = (0..20_000)
        .map(|i| {
            let (h, m, s) = (i / 3600 % 24, i / 60 % 60, i % 60);
            COMBINED.replace("10:00:00", &format!("{h:02}:{m:02}:{s:02}")) + "\n"
        })
        .collect();
    let p = LineParser::new(LogFormat::Combined, ParseOptions::default());
    let mut g = c.benchmark_group("date_pass");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("combined", |b| {
        b.iter(|| {
            let hay = black_box(buf.as_bytes());
            let mut memo = format::TimeMemo::default();
            let (mut pos, mut dated) = (0, 0usize);
            for end in skimhunt::lines::LineEnds::new(hay) {
                dated += usize::from(p.time_memo(&hay[pos..end], &mut memo).is_some());
                pos = end + 1;
            }
            dated
        })
    });
    g.finish();
}

fn cards(c: &mut Criterion) {
    let text = "GET /checkout?name=a&cc=4111 1111 1111 1111&exp=12/19&ref=1494000000123 HTTP/1.1";
    let mut g = c.benchmark_group("card");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("find_pans", |b| {
        b.iter(|| skimhunt::card::find_pans(black_box(text.as_bytes())))
    });
    g.bench_function("luhn", |b| {
        b.iter(|| skimhunt::card::luhn_valid(black_box(b"4111111111111111")))
    });
    g.finish();
}

fn decoding(c: &mut Criterion) {
    let v = "q=%253Cscript%2520src%253D%2522https%253A%252F%252Fevil.example%252Fa.js%2522%253E&x=&#60;img&#32;src=x&gt;";
    let all = DecodeOpts::parse_name("all").unwrap();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(v.len() as u64));
    g.bench_function("all_layers", |b| b.iter(|| decode_value(black_box(v), all)));
    g.bench_function("clean_value", |b| {
        b.iter(|| decode_value(black_box("q=red+shoes&page=2"), all))
    });
    g.finish();
}

fn matching(c: &mut Criterion) {
    let buf: String = (0..20_000)
        .map(|i| COMBINED.replace("5123", &i.to_string()) + "\n")
        .collect();
    let pack = skimhunt::pack::load(&[], false).unwrap().rules;
    let list = include_str!("patterns50.txt");
    let pats =
        skimhunt::patterns::from_str(list, "patterns50.txt", skimhunt::Category::InjectedScript)
            .unwrap();
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.sample_size(20);
    for (name, rules) in [("default_pack", pack), ("patterns50", pats)] {
        let engine = Engine::new(rules);
        let gates = engine.gate_choice(true, &[skimhunt::Family::Web]);
        g.bench_function(format!("{name}_buffer_gates"), |b| {
            b.iter(|| {
                let hay = black_box(buf.as_bytes());
                let mut f = Finder::new();
                let mut n = 0usize;
                let mut at = 0;
                while let Some(p) = engine.next_candidate(hay, at, gates, &mut f) {
                    n += 1;
                    at = memchr::memchr(b'\n', &hay[p..]).map_or(hay.len(), |i| p + i + 1);
                    if at >= hay.len() {
                        break;
                    }
                }
                n
            })
        });
        g.bench_function(format!("{name}_per_line_candidates"), |b| {
            let mut out = Vec::new();
            b.iter(|| {
                let mut n = 0;
                for line in black_box(buf.as_bytes()).split(|&b| b == b'\n') {
                    engine.candidates_in(line, gates, &mut out);
                    n += out.len();
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, detection, timestamps, cards, decoding, matching);
criterion_main!(benches);
