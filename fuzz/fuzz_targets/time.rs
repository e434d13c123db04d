//! The timestamp parsers and the window's bound, span and zone parsing.
#![no_main]

use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use skimhunt::{time, window};

fuzz_target!(|data: &[u8]| {
    let tz = TimeZone::fixed(jiff::tz::offset(5));
    let utc = TimeZone::UTC;
    std::hint::black_box((
        time::parse_clf(data),
        time::parse_clf_prefix(data),
        time::parse_iso(data, &utc),
        time::parse_iso_prefix(data, &tz),
        time::parse_time_text(data, &tz),
        time::parse_line_start(data, &utc, 2017),
        time::parse_line_start(data, &tz, -9999),
    ));
    let mid = data.len() / 2;
    std::hint::black_box(time::parse_w3c(&data[..mid], &data[mid..]));
    let s = String::from_utf8_lossy(data);
    std::hint::black_box((
        time::parse_epoch(&s),
        window::parse_bound(&s, &utc, false).ok(),
        window::parse_bound(&s, &tz, true).ok(),
        window::parse_span(&s).ok(),
        window::parse_tz(&s).ok(),
    ));
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        std::hint::black_box(time::parse_json_value(&v, &tz));
    }
    // A whole window from two halves and a pad.
    let (a, b) = s.split_at(
        s.char_indices()
            .nth(s.chars().count() / 2)
            .map_or(s.len(), |c| c.0),
    );
    if let Ok(w) = window::Window::new(
        Some(a),
        Some(b),
        &tz,
        Some(jiff::SignedDuration::from_hours(1)),
    ) {
        std::hint::black_box(w.contains(jiff::Timestamp::UNIX_EPOCH));
    }
});
