//! The value decoders (percent, form, HTML references, stacked).
#![no_main]

use libfuzzer_sys::fuzz_target;
use skimhunt::decode::{self, DecodeOpts};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let s = String::from_utf8_lossy(body);
    let opts = DecodeOpts {
        url: sel & 1 != 0,
        plus: sel & 2 != 0,
        html: sel & 4 != 0,
        json: sel & 8 != 0,
        base64: sel & 16 != 0,
        hex: sel & 32 != 0,
    };
    let out = decode::decode_value(&s, opts);
    // In-place decoding never grows text: every layer replaces an escape by
    // something no longer than it (U+FFFD is 3 bytes, no longer than `%XX`).
    assert!(out.len() <= s.len() || opts.html, "decoding grew the value");
    // Blob decoding is bounded: at most 64 variants within the byte budget.
    let variants = decode::decode_variants(&s, opts);
    assert!(variants.len() <= 64, "too many variants");
    let total: usize = variants.iter().map(|v| v.text.len()).sum();
    assert!(
        total <= 4 * 1024 * 1024 + 2 * s.len(),
        "decoding exceeded its budget"
    );
    std::hint::black_box((
        decode::url_decode(&s, sel & 8 != 0),
        decode::url_decode_stable(&s, sel & 16 != 0, usize::from(sel >> 5)),
        decode::html_unescape(&s),
        DecodeOpts::parse_name(&s),
    ));
});
