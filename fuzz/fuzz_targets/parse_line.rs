//! Every record format through the per-file LineParser, as the scanner
//! drives it: directive (W3C header state), time, then a full record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skimhunt::format::{self, LineParser, LogFormat, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    // The first byte picks the format (or detection), so one corpus
    // exercises all parsers and the detector.
    let fmt = match LogFormat::ALL.get(usize::from(sel % 6)) {
        Some(&f) => f,
        None => format::detect(body),
    };
    let tz = if sel & 0x80 != 0 {
        jiff::tz::TimeZone::fixed(jiff::tz::offset(-4))
    } else {
        jiff::tz::TimeZone::UTC
    };
    let mut p = LineParser::new(fmt, ParseOptions { tz, year: 2017 });
    for line in body.split(|&b| b == b'\n') {
        if p.directive(line) {
            continue;
        }
        let t = p.time(line);
        let rec = p.record(line);
        // Touch every field so lazily built values are materialised.
        let mut n = rec.raw.len();
        for (k, v) in &rec.fields {
            n = n.wrapping_add(k.len() + v.len());
        }
        std::hint::black_box((t, n));
    }
});
