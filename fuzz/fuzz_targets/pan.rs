//! The leak test shared by the targets.

use skimhunt::card;

/// The first contiguous digit window of 13–19 digits that is Luhn-valid with
/// a brand prefix and a length valid for that brand.
pub fn full_pan(b: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let run = &b[i..j];
        for len in 13..=19.min(run.len()) {
            for w in run.windows(len) {
                if w.iter().all(|&d| d == w[0]) {
                    continue;
                }
                if card::luhn_valid(w) && card::brand_of(w).is_some_and(|br| br.valid_len(len)) {
                    return Some(String::from_utf8_lossy(w).into_owned());
                }
            }
        }
        i = j;
    }
    None
}
