//! Every record format through the per-file LineParser, as the scanner
//! drives it: directive (W3C header state), time, then a full record; the
//! memo paths (`time_memo`, `request_part_memo`, `record_memo`) must
//! agree with them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skimhunt::format::{self, LineParser, LogFormat, ParseOptions, TimeMemo};

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
    // The scan dates lines through a memo and parses the ones the
    // detectors want through it too: both must give the full parse's
    // answer whatever lines came before.
    let mut memo = TimeMemo::default();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if p.directive(line) {
            continue;
        }
        let t = p.time(line);
        assert_eq!(p.time_memo(line, &mut memo), t, "time_memo");
        assert_eq!(
            p.request_part_memo(line, &memo),
            p.request_part(line),
            "request_part_memo"
        );
        let rec = p.record(line);
        if i % 2 == 0 {
            let m = p.record_memo(line, &mut memo);
            assert_eq!((m.time, &m.fields), (rec.time, &rec.fields), "record_memo");
        }
        // Touch every field so lazily built values are materialised.
        let mut n = rec.raw.len();
        for (k, v) in &rec.fields {
            n = n.wrapping_add(k.len() + v.len());
        }
        std::hint::black_box((t, n));
    }
});
