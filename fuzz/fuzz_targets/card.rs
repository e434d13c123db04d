//! The card-number detector and the masking invariant: whatever the input,
//! mask_text's output holds no Luhn-valid, brand-prefixed number of a card
//! length, neither as written nor once the matcher's in-place layers
//! (URL, JSON, HTML, until stable; all or one of them) decode it, nor in
//! what the card rules' decoding (blobs included) makes of it, and every
//! PAN find_pans reports is masked.
#![no_main]

#[path = "pan.rs"]
mod pan;

use libfuzzer_sys::fuzz_target;
use skimhunt::{card, decode};

fuzz_target!(|data: &[u8]| {
    for h in card::find_pans(data) {
        assert!(h.start < h.end && h.end <= data.len());
        let m = card::mask_pan(&h.digits);
        assert!(!m.contains(&h.digits), "mask_pan kept the number");
    }
    let s = String::from_utf8_lossy(data);
    let masked = card::mask_text(&s);
    if let Some(p) = pan::full_pan(masked.as_bytes()) {
        panic!("mask_text let a card number through: {p}");
    }
    // Readers that decode every layer, or one of them.
    let all = decode::DecodeOpts::all();
    let one = |url, json, html| decode::DecodeOpts {
        url,
        json,
        html,
        ..Default::default()
    };
    for opts in [
        all,
        one(true, false, false),
        one(false, true, false),
        one(false, false, true),
    ] {
        let decoded = decode::decode_value(&masked, opts);
        if let Some(p) = pan::full_pan(decoded.as_bytes()) {
            panic!("mask_text let an escaped card number through ({opts:?}): {p}");
        }
    }
    // What the card rules read: their layers, blobs included.
    let card_rules = decode::DecodeOpts {
        url: true,
        plus: true,
        json: true,
        base64: true,
        hex: true,
        html: false,
    };
    for v in decode::decode_variants(&masked, card_rules) {
        if let Some(p) = pan::full_pan(v.text.as_bytes()) {
            panic!(
                "mask_text let an encoded card number through ({:?}): {p}",
                v.layers
            );
        }
    }
});
