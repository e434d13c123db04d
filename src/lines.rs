//! Line framing for the date pass, which visits every line of a file.
//!
//! A search call per line costs more than the search itself on log lines of
//! a few hundred bytes (the call, the unaligned head and tail). [`LineEnds`]
//! instead takes the newlines of 64 bytes at a time as one bit mask and
//! hands them out one by one, and [`find_near`] tests the head of a line
//! inline before it calls `memchr`.

/// The positions of the `\n` bytes of a buffer, in order.
pub struct LineEnds<'a> {
    hay: &'a [u8],
    /// Start of the block that `mask` describes.
    base: usize,
    /// Newlines of that block not handed out yet, bit i for `base + i`.
    mask: u64,
}

impl<'a> LineEnds<'a> {
    /// The newlines of `hay`.
    pub fn new(hay: &'a [u8]) -> Self {
        LineEnds {
            hay,
            base: 0,
            mask: byte_mask(hay, b'\n'),
        }
    }
}

impl Iterator for LineEnds<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 64;
            if self.base >= self.hay.len() {
                // Stay past the end: later calls return None too.
                self.base = self.hay.len();
                return None;
            }
            self.mask = byte_mask(&self.hay[self.base..], b'\n');
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// The first `needle` in `hay`, like `memchr`, but the first 32 bytes are
/// tested inline: for a byte near the start of a line (the `[` of a
/// timestamp) the call costs more than the test.
#[inline]
pub fn find_near(hay: &[u8], needle: u8) -> Option<usize> {
    let Some(head) = hay.first_chunk::<32>() else {
        return hay.iter().position(|&b| b == needle);
    };
    let m = head_mask(head, needle);
    if m != 0 {
        return Some(m.trailing_zeros() as usize);
    }
    memchr::memchr(needle, &hay[32..]).map(|i| i + 32)
}

/// Bit i set when `hay[i]` is `needle`, for the first 64 bytes of `hay`.
#[inline]
fn byte_mask(hay: &[u8], needle: u8) -> u64 {
    match hay.first_chunk::<64>() {
        Some(block) => block_mask(block, needle),
        None => {
            // The tail: bytes past the end are not in the mask.
            let mut block = [0u8; 64];
            block[..hay.len()].copy_from_slice(hay);
            block_mask(&block, needle) & ((1u64 << hay.len()) - 1)
        }
    }
}

/// Bit i set when `block[i]` is `needle` (also the newline mask of the
/// matcher's block counts).
#[inline]
pub(crate) fn block_mask(block: &[u8; 64], needle: u8) -> u64 {
    let (lo, hi) = block.split_at(32);
    let half = |h: &[u8]| u64::from(head_mask(h.try_into().expect("32 bytes"), needle));
    half(lo) | (half(hi) << 32)
}

/// Bit i set when `head[i]` is `needle`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn head_mask(head: &[u8; 32], needle: u8) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SSE2 is part of x86_64, so this needs no feature check and inlines
    // into the line loop.
    // SAFETY: two unaligned 16-byte loads inside the 32-byte array.
    unsafe {
        let n = _mm_set1_epi8(needle as i8);
        let p = head.as_ptr().cast::<__m128i>();
        let m = |i: usize| {
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(p.add(i)), n)) as u16 as u32
        };
        m(0) | (m(1) << 16)
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn head_mask(head: &[u8; 32], needle: u8) -> u32 {
    head.iter()
        .enumerate()
        .fold(0u32, |m, (i, &b)| m | (u32::from(b == needle) << i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_found_where_a_plain_search_finds_them() {
        let mut rng = crate::test_util::rng(41);
        for len in (0..300).chain([1000, 4096, 4099]) {
            for density in [0, 1, 5, 50] {
                let hay: Vec<u8> = (0..len)
                    .map(|_| {
                        if density > 0 && rng(density + 1) == 0 {
                            b'\n'
                        } else {
                            rng(256) as u8
                        }
                    })
                    .collect();
                let want: Vec<usize> = memchr::memchr_iter(b'\n', &hay).collect();
                let mut it = LineEnds::new(&hay);
                let got: Vec<usize> = it.by_ref().collect();
                assert_eq!(got, want, "len {len} density {density}");
                assert_eq!(it.next(), None);
                for needle in [0u8, b'\n', 0xff] {
                    for from in [0, 1, 31, 32, 33, 63, 64, 65]
                        .into_iter()
                        .filter(|&f| f <= hay.len())
                    {
                        assert_eq!(
                            find_near(&hay[from..], needle),
                            memchr::memchr(needle, &hay[from..]),
                            "len {len} density {density} needle {needle} from {from}"
                        );
                    }
                }
            }
        }
    }
}
