//! Helpers of the unit tests: fixed-seed pseudo-random data, so every run
//! tests the same cases.

/// The next value of a xorshift64 generator (`x` must not be 0).
pub fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Numbers below `n`, from a generator seeded with `seed` (not 0).
pub fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |n| xorshift(&mut x) % n
}

/// Writes `count` words of `words` into `hay`, cut at its end: a third of
/// them across the seam at the end of block 1 to `seams` (blocks of
/// `block` bytes), where lock-step walks hand over, the rest anywhere.
pub fn plant_words(
    hay: &mut [u8],
    words: &[&[u8]],
    count: u64,
    (block, seams): (usize, u64),
    rand: &mut impl FnMut(u64) -> u64,
) {
    let len = hay.len();
    for _ in 0..count {
        let w = words[rand(words.len() as u64) as usize];
        let at = match rand(3) {
            0 => (block * (1 + rand(seams) as usize)).saturating_sub(rand(w.len() as u64) as usize),
            _ => rand(len as u64) as usize,
        }
        .min(len);
        let end = (at + w.len()).min(len);
        hay[at..end].copy_from_slice(&w[..end - at]);
    }
}

/// Fixed-seed byte strings for the "never panic" loops: bytes of `alphabet`
/// and arbitrary bytes, up to 300 each.
pub fn garbage(seed: u64, n: usize, alphabet: &[u8]) -> Vec<Vec<u8>> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = (xorshift(&mut x) % 300) as usize;
        let mut v = Vec::with_capacity(len);
        let mut y = x;
        for _ in 0..len {
            let r = xorshift(&mut y);
            if r & 3 == 0 {
                v.push((r >> 24) as u8);
            } else {
                v.push(alphabet[(r >> 8) as usize % alphabet.len()]);
            }
        }
        out.push(v);
    }
    out
}

/// Base64 without padding, in the standard or the URL-safe alphabet.
pub fn base64(b: &[u8], url_safe: bool) -> String {
    let a: &[u8] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for ch in b.chunks(3) {
        let n = ch
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, &c)| a | u32::from(c) << (16 - 8 * i));
        for k in 0..=ch.len() {
            out.push(char::from(a[(n >> (18 - 6 * k) & 63) as usize]));
        }
    }
    out
}
