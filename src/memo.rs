//! Small caches of pure functions of byte strings that recur on most lines
//! (user agents, page paths, ids in URLs): a slot per hash, the key kept so
//! a collision only costs a recomputation.

/// A hash of a byte string from its length and three words (head, middle,
/// tail), no loop: the keys are runs and fields of log lines, where a
/// word-at-a-time hash over the whole key, then `foldhash`, were slower.
/// Strings shorter than 8 bytes are folded byte by byte.
#[inline]
pub fn quick_hash(b: &[u8]) -> u64 {
    let n = b.len();
    let mixed = if n >= 8 {
        let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        word(0) ^ word(n / 2 - 4).rotate_left(21) ^ word(n - 8).rotate_left(42)
    } else {
        b.iter().fold(0u64, |h, &c| h << 8 | u64::from(c))
    };
    (mixed ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The slot of `hash` in a table of `slots` (a power of two): the top bits,
/// which the multiply mixes best.
#[inline]
pub fn slot_of(hash: u64, slots: usize) -> usize {
    debug_assert!(slots.is_power_of_two() && slots > 1);
    (hash >> (64 - slots.trailing_zeros())) as usize
}

/// Slots of a [`StrMemo`].
const SLOTS: usize = 1024;

/// Longest key a [`StrMemo`] keeps: longer ones are computed every time,
/// so a hostile log's long values cannot make the memo large.
const MAX_KEY: usize = 512;

/// A direct-mapped memo of `f(key)` for one function `f`. Empty until
/// first used (one per chunk of lines).
#[derive(Debug)]
pub struct StrMemo<V> {
    slots: Vec<Option<(Box<str>, V)>>,
}

impl<V> Default for StrMemo<V> {
    fn default() -> Self {
        StrMemo { slots: Vec::new() }
    }
}

impl<V: Copy> StrMemo<V> {
    /// `f(key)`, remembered. `f` must be the same pure function on every
    /// call of one memo.
    pub fn get(&mut self, key: &str, f: impl FnOnce(&str) -> V) -> V {
        if key.len() > MAX_KEY {
            return f(key);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let slot = &mut self.slots[slot_of(quick_hash(key.as_bytes()), SLOTS)];
        if let Some((k, v)) = slot
            && **k == *key
        {
            return *v;
        }
        let v = f(key);
        *slot = Some((key.into(), v));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_answers_as_the_function_does() {
        let mut m = StrMemo::default();
        let mut calls = 0;
        let keys: Vec<String> = (0..5000)
            .map(|i| format!("/p/{}", i % 1500))
            .chain(["".into(), "a".into(), "x".repeat(600)])
            .collect();
        for k in keys.iter().chain(&keys) {
            let v = m.get(k, |s| {
                calls += 1;
                s.len() * 7 + s.bytes().map(usize::from).sum::<usize>()
            });
            assert_eq!(v, k.len() * 7 + k.bytes().map(usize::from).sum::<usize>());
        }
        // Recurring keys were answered from the memo.
        assert!(calls < 2 * keys.len(), "{calls}");
        assert!(m.slots.len() == SLOTS);
    }

    #[test]
    fn hash_reads_every_length_without_panicking() {
        let b: Vec<u8> = (0..40).collect();
        let mut seen = std::collections::HashSet::new();
        for n in 0..=b.len() {
            seen.insert(quick_hash(&b[..n]));
            assert!(slot_of(quick_hash(&b[..n]), 4096) < 4096);
        }
        // Lengths are part of the hash: prefixes differ.
        assert_eq!(seen.len(), b.len() + 1);
    }
}
