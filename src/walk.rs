//! Walks of a literal automaton over a buffer: the literal prefilter's
//! inner loop, where the scan spends most of its time on rule lists with
//! many literals.
//!
//! The walks run on a [`Table`] copied from aho-corasick's DFA: the same
//! states, with match (and dead) states numbered first, so "anything to
//! do here?" is one compare, and a transition table whose length is a
//! power of two, so a masked index needs no bounds check. Each step is
//! then a byte load, a class load and a transition load.

use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;

/// Bytes per stream in [`earliest_end`] and [`Lasts`]: long enough that
/// the overlap and the restart after a hit are small, short enough that the
/// streams after the first hit waste little.
pub(crate) const BLOCK: usize = 1 << 15;

/// Walks [`Lasts`] runs in lock step. Each walk is a chain of dependent
/// loads; independent chains keep the CPU busy while each waits.
const STREAMS: usize = 4;

/// A literal automaton as a flat transition table.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    /// Byte to class: bytes no state tells apart share a class.
    classes: [u8; 256],
    /// `trans[state + class]`, states premultiplied by the class count;
    /// zero-padded to a power of two.
    trans: Box<[u32]>,
    start: u32,
    /// States below this are match or dead states.
    special: u32,
    /// Patterns of each match state (by index `state / stride`), in the
    /// automaton's order; empty for a dead state.
    matches: Vec<Box<[u32]>>,
    stride: u32,
    max_pattern_len: usize,
}

impl Table {
    /// The table of `dfa`, an automaton with an unanchored start state.
    pub(crate) fn new(dfa: &DFA) -> Option<Table> {
        let start = dfa.start_state(Anchored::No).ok()?;
        let next = |sid: StateID, b: u8| dfa.next_state(Anchored::No, sid, b);
        // Every state reachable from the start, in breadth-first order;
        // `index[sid]` is a state's place in `states`.
        let mut states = vec![start];
        let mut index: Vec<u32> = vec![u32::MAX; start.as_usize() + 1];
        index[start.as_usize()] = 0;
        // A hash of each byte's column (its target from every state).
        let mut column = [0u64; 256];
        let mut i = 0;
        while i < states.len() {
            for (b, h) in column.iter_mut().enumerate() {
                let to = next(states[i], b as u8).as_usize();
                if to >= index.len() {
                    index.resize(to + 1, u32::MAX);
                }
                if index[to] == u32::MAX {
                    index[to] = states.len() as u32;
                    states.push(StateID::new(to).ok()?);
                }
                *h = (*h ^ to as u64).wrapping_mul(0x0100_0000_01b3);
            }
            i += 1;
        }
        let n = states.len();
        // Bytes whose columns agree share a class (compared in full: hashes
        // can collide). At most 256 classes, so a class fits a byte.
        let mut classes = [0u8; 256];
        let mut reps: Vec<u8> = Vec::new();
        for b in 0..=255u8 {
            let same = reps.iter().position(|&r| {
                column[r as usize] == column[b as usize]
                    && states.iter().all(|&s| next(s, r) == next(s, b))
            });
            classes[b as usize] = same.unwrap_or_else(|| {
                reps.push(b);
                reps.len() - 1
            }) as u8;
        }
        let stride = reps.len();
        // Match and dead states first.
        let special = |s: StateID| dfa.is_match(s) || dfa.is_dead(s);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (!special(states[i]), states[i].as_usize()));
        let n_special = order.iter().filter(|&&i| special(states[i])).count();
        let mut renum = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            renum[old] = (new * stride) as u32;
        }
        let mut trans = vec![0u32; (n * stride).next_power_of_two()].into_boxed_slice();
        for (new, &old) in order.iter().enumerate() {
            for (c, &rep) in reps.iter().enumerate() {
                let to = next(states[old], rep).as_usize();
                trans[new * stride + c] = renum[index[to] as usize];
            }
        }
        let matches = order[..n_special]
            .iter()
            .map(|&old| {
                let s = states[old];
                if dfa.is_match(s) {
                    (0..dfa.match_len(s))
                        .map(|k| dfa.match_pattern(s, k).as_u32())
                        .collect()
                } else {
                    Box::default()
                }
            })
            .collect();
        Some(Table {
            classes,
            trans,
            start: renum[0],
            special: (n_special * stride) as u32,
            matches,
            stride: stride as u32,
            max_pattern_len: dfa.max_pattern_len(),
        })
    }

    /// One step. The bounds check is off the chain of dependent loads, so
    /// a lone walk, which waits on each load, is as fast as it can be.
    #[inline(always)]
    fn next(&self, sid: u32, byte: u8) -> u32 {
        self.trans[sid as usize + self.classes[byte as usize] as usize]
    }

    /// One step for walks in lock step, which are bound by how many
    /// instructions the CPU retires rather than by load latency: masking
    /// the index into the power-of-two table spares the compare and
    /// branch, at one more cycle per step on the chain (measured: 3 % off
    /// a reference-list scan with four streams, 12 % slower with two).
    #[inline(always)]
    fn next_lockstep(&self, sid: u32, byte: u8) -> u32 {
        let t = &self.trans;
        t[(sid as usize + self.classes[byte as usize] as usize) & (t.len() - 1)]
    }

    #[inline(always)]
    fn is_special(&self, sid: u32) -> bool {
        sid < self.special
    }

    /// Patterns of a special state: empty for a dead state.
    fn patterns(&self, sid: u32) -> &[u32] {
        &self.matches[(sid / self.stride) as usize]
    }

    fn is_match(&self, sid: u32) -> bool {
        self.is_special(sid) && !self.patterns(sid).is_empty()
    }

    /// Every occurrence in `hay`, overlapping: `f(pattern, end)` for each,
    /// in the order of their ends.
    pub(crate) fn each_match(&self, hay: &[u8], mut f: impl FnMut(usize, usize)) {
        let mut sid = self.start;
        if self.is_match(sid) {
            for &p in self.patterns(sid) {
                f(p as usize, 0);
            }
        }
        for (k, &byte) in hay.iter().enumerate() {
            sid = self.next(sid, byte);
            if self.is_special(sid) {
                let pats = self.patterns(sid);
                if pats.is_empty() {
                    return;
                }
                for &p in pats {
                    f(p as usize, k + 1);
                }
            }
        }
    }
}

/// End of the occurrence that ends first in `hay`, found with walks of the
/// automaton in lock step over neighbouring blocks.
///
/// Each stream runs `max_pattern_len - 1` bytes into the next one's block,
/// so it sees every occurrence that starts in its own block. Those end
/// before any occurrence the next stream sees and it does not, so the
/// first stream (in order) that holds an occurrence holds the answer.
pub(crate) fn earliest_end(t: &Table, hay: &[u8]) -> Option<usize> {
    if t.is_match(t.start) {
        return Some(0);
    }
    let mut s = 0;
    while s < hay.len() {
        let rest = hay.len() - s;
        let found = if rest >= STREAMS * BLOCK + BLOCK / 2 {
            first_of_streams::<STREAMS>(t, hay, s)
        } else if rest > BLOCK + BLOCK / 2 {
            first_of_streams::<2>(t, hay, s)
        } else {
            return walk_from(t, t.start, &hay[s..], 0).map(|e| s + e);
        };
        match found {
            Ok(end) => return Some(end),
            Err(walked) => s = walked,
        }
    }
    None
}

/// [`earliest_end`] over the `N` blocks from `s`: `Ok` with the end of the
/// first occurrence, or `Err` with the end of the blocks when they hold
/// none.
fn first_of_streams<const N: usize>(t: &Table, hay: &[u8], s: usize) -> Result<usize, usize> {
    let over = t.max_pattern_len.saturating_sub(1);
    let ends: [usize; N] = std::array::from_fn(|k| (s + (k + 1) * BLOCK + over).min(hay.len()));
    let n = ends[N - 1] - (s + (N - 1) * BLOCK);
    let w = &hay[s..s + (N - 1) * BLOCK + n];
    let mut st = [t.start; N];
    let mut i = 0;
    'walk: while i < n {
        let mut special = false;
        for (k, sid) in st.iter_mut().enumerate() {
            *sid = t.next_lockstep(*sid, w[k * BLOCK + i]);
            special |= t.is_special(*sid);
        }
        if special {
            break 'walk;
        }
        i += 1;
    }
    // Some stream reached a match (or dead) state at `i`, or all walked
    // `n` bytes: finish them one after the other, in order. (From a dead
    // state a walk ends at once.)
    for (k, &sid) in st.iter().enumerate() {
        let base = s + k * BLOCK;
        if i < n && t.is_match(sid) {
            return Ok(base + i + 1);
        }
        let resume = if i < n { i + 1 } else { n };
        if let Some(e) = walk_from(t, sid, &hay[base..ends[k]], resume) {
            return Ok(base + e);
        }
    }
    Err(s + N * BLOCK)
}

/// The literal automaton's occurrences in one buffer, found [`STREAMS`]
/// blocks at a time and handed out in order. Where candidate lines are
/// dense (a common literal) [`earliest_end`] stopped at each one and threw
/// away the other streams' walks; here every stream walks its whole block
/// and keeps every occurrence.
#[derive(Default)]
pub(crate) struct Lasts {
    /// Occurrences by their last byte, ascending, from `next` on not yet
    /// handed out.
    lasts: Vec<Occ>,
    next: usize,
    /// Every occurrence starting before this is (or was) in `lasts`.
    walked: usize,
}

/// Where an occurrence ends, and the walk's state there (which names
/// every literal ending there).
#[derive(Clone, Copy)]
struct Occ {
    last: usize,
    stream: u32,
    state: u32,
}

impl Occ {
    fn new(last: usize, stream: usize, state: u32) -> Occ {
        Occ {
            last,
            stream: stream as u32,
            state,
        }
    }
}

impl Lasts {
    /// Calls `f` with each pattern occurring in `hay[start..end]` (repeats
    /// possible) when the walk has covered that range since the last
    /// [`Lasts::first_from`], which was asked from `start` or earlier.
    /// False, without calling `f`, when it has not: the caller walks the
    /// range itself.
    pub(crate) fn patterns_in(
        &self,
        t: &Table,
        start: usize,
        end: usize,
        mut f: impl FnMut(usize),
    ) -> bool {
        // An occurrence ending before `end` started before `walked`.
        if end > self.walked {
            return false;
        }
        for o in self.lasts.get(self.next..).unwrap_or_default() {
            if o.last >= end {
                break;
            }
            if o.last >= start {
                for &p in t.patterns(o.state) {
                    f(p as usize);
                }
            }
        }
        true
    }

    /// The last byte of the first occurrence that ends at or after `from`
    /// and starts at or after the first `from` asked for. (An occurrence
    /// starting before `from` may also be answered; literals hold no line
    /// break, so for line starts that cannot happen.)
    pub(crate) fn first_from(&mut self, t: &Table, hay: &[u8], from: usize) -> Option<usize> {
        loop {
            while let Some(&Occ { last: p, .. }) = self.lasts.get(self.next) {
                if p >= from {
                    return Some(p);
                }
                self.next += 1;
            }
            if self.walked >= hay.len() {
                return None;
            }
            let s = self.walked.max(from);
            if s >= hay.len() {
                self.walked = s;
                return None;
            }
            self.lasts.clear();
            self.next = 0;
            self.walked = self.walk(t, hay, s);
        }
    }

    /// Walks from `s` over up to [`STREAMS`] blocks in lock step (fewer
    /// near the end of `hay`; the rest of `hay` in one walk when less than
    /// a block and a half is left) into `lasts`. Returns the end of the
    /// covered starts.
    fn walk(&mut self, t: &Table, hay: &[u8], s: usize) -> usize {
        if t.is_match(t.start) {
            // The empty literal: every position holds one.
            self.lasts.push(Occ::new(s, 0, t.start));
            return s + 1;
        }
        let rest = hay.len() - s;
        if rest >= STREAMS * BLOCK + BLOCK / 2 {
            self.walk_streams::<STREAMS>(t, hay, s)
        } else if rest > BLOCK + BLOCK / 2 {
            self.walk_streams::<2>(t, hay, s)
        } else {
            walk_all(t, t.start, &hay[s..], s, 0, &mut self.lasts);
            hay.len()
        }
    }

    /// `N` walks over the `N` blocks from `s`, each running
    /// `max_pattern_len - 1` bytes into the next block so it sees every
    /// occurrence starting in its own. Returns the end of the last block.
    fn walk_streams<const N: usize>(&mut self, t: &Table, hay: &[u8], s: usize) -> usize {
        let over = t.max_pattern_len.saturating_sub(1);
        let ends: [usize; N] = std::array::from_fn(|k| (s + (k + 1) * BLOCK + over).min(hay.len()));
        // The streams walk `n` bytes in lock step; the last, which the end
        // of `hay` may cut short, sets `n`.
        let n = ends[N - 1] - (s + (N - 1) * BLOCK);
        let w = &hay[s..s + (N - 1) * BLOCK + n];
        let mut st = [t.start; N];
        for i in 0..n {
            let mut special = false;
            for (k, sid) in st.iter_mut().enumerate() {
                *sid = t.next_lockstep(*sid, w[k * BLOCK + i]);
                special |= t.is_special(*sid);
            }
            if special {
                for (k, &sid) in st.iter().enumerate() {
                    if t.is_match(sid) {
                        self.lasts.push(Occ::new(s + k * BLOCK + i, k, sid));
                    }
                }
            }
        }
        for (k, &sid) in st.iter().enumerate() {
            let from = s + k * BLOCK + n;
            walk_all(t, sid, &hay[from..ends[k]], from, k, &mut self.lasts);
        }
        // Neighbouring streams overlap by `over` bytes. Where two report
        // the same byte, the earlier stream's state holds every literal
        // ending there (the later one started inside the literal).
        self.lasts.sort_unstable_by_key(|o| (o.last, o.stream));
        self.lasts.dedup_by_key(|o| o.last);
        s + N * BLOCK
    }
}

/// Continues stream `stream`'s walk in state `sid` over `hay` (at `base` in
/// the buffer), pushing every occurrence.
fn walk_all(t: &Table, mut sid: u32, hay: &[u8], base: usize, stream: usize, out: &mut Vec<Occ>) {
    for (k, &byte) in hay.iter().enumerate() {
        sid = t.next(sid, byte);
        if t.is_match(sid) {
            out.push(Occ::new(base + k, stream, sid));
        }
    }
}

/// Continues a walk in state `sid` at `hay[i]`; the end of the first
/// occurrence found.
fn walk_from(t: &Table, mut sid: u32, hay: &[u8], i: usize) -> Option<usize> {
    for (k, &byte) in hay.iter().enumerate().skip(i) {
        sid = t.next(sid, byte);
        if t.is_special(sid) {
            return t.is_match(sid).then_some(k + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{MatchKind, StartKind};

    fn dfa(words: &[&[u8]]) -> DFA {
        DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(words)
            .unwrap()
    }

    /// The table finds exactly the occurrences (pattern and end) that
    /// aho-corasick's overlapping search finds, on text dense with the
    /// literals' bytes.
    #[test]
    fn table_matches_the_automaton() {
        let words: [&[u8]; 7] = [b"eval(", b"atob", b"ab", b"b", b".PHP?", b"cmd=", b"a"];
        let d = dfa(&words);
        let t = Table::new(&d).unwrap();
        let mut rand = crate::test_util::rng(0x1234_5678_9abc_def1);
        let alphabet = b"evalEVAL(tobAB.php?PHPcmd=\n\xff\x00 ";
        for _ in 0..300 {
            let len = rand(300) as usize;
            let hay: Vec<u8> = (0..len)
                .map(|_| alphabet[rand(alphabet.len() as u64) as usize])
                .collect();
            let mut got = Vec::new();
            t.each_match(&hay, |p, end| got.push((p, end)));
            let want: Vec<(usize, usize)> = d
                .try_find_overlapping_iter(aho_corasick::Input::new(&hay))
                .unwrap()
                .map(|m| (m.pattern().as_usize(), m.end()))
                .collect();
            let key = |v: &mut Vec<(usize, usize)>| v.sort_by_key(|&(p, e)| (e, p));
            let (mut got, mut want) = (got, want);
            key(&mut got);
            key(&mut want);
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&hay));
            assert_eq!(
                earliest_end(&t, &hay),
                want.iter().map(|&(_, e)| e).min(),
                "{}",
                String::from_utf8_lossy(&hay)
            );
        }
    }

    /// Bytes that no literal holds share one class, so the table stays
    /// small.
    #[test]
    fn unused_bytes_share_a_class() {
        let t = Table::new(&dfa(&[b"ab", b"cd"])).unwrap();
        // a, b, c, d in both cases, and the rest.
        assert_eq!(t.stride, 5);
        assert_eq!(t.classes[b'x' as usize], t.classes[0xff]);
        assert_eq!(t.classes[b'a' as usize], t.classes[b'A' as usize]);
    }

    #[test]
    fn kept_occurrences_answer_what_the_plain_automaton_finds() {
        // Literals planted across block seams in generated lines; asked
        // from increasing line starts, as a stretch search does, the answer
        // must be the last byte of the plain automaton's earliest-ending
        // occurrence from there.
        let words: [&[u8]; 5] = [
            b"evil.exampl",
            b"EVIL.EXAMPLE",
            b"cdn.link",
            b"/a/x.php?q=",
            b"ab",
        ];
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(words)
            .unwrap();
        let table = Table::new(&dfa).unwrap();
        let reference = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .unwrap();
        let mut rand = crate::test_util::rng(0x2545_f491_4f6c_dd1du64);
        for round in 0..60 {
            let len = (rand(5 * BLOCK as u64) + 1) as usize;
            let mut hay = vec![b'.'; len];
            for _ in 0..rand(len as u64 / 300 + 1) {
                hay[rand(len as u64) as usize] = b'\n';
            }
            let count = rand(40);
            crate::test_util::plant_words(&mut hay, &words, count, (BLOCK, 4), &mut rand);
            let mut lasts = Lasts::default();
            let mut from = 0;
            while from <= len {
                let want = reference
                    .find(aho_corasick::Input::new(&hay).span(from..len))
                    .map(|m| m.end() - 1);
                assert_eq!(
                    lasts.first_from(&table, &hay, from),
                    want,
                    "round {round}, from {from}"
                );
                // The next line start, sometimes a jump ahead.
                let next = if rand(4) == 0 {
                    from + rand(3 * BLOCK as u64) as usize
                } else {
                    from
                };
                from = match hay.get(next..).and_then(|h| memchr::memchr(b'\n', h)) {
                    Some(i) => next + i + 1,
                    None => break,
                };
            }
            assert_eq!(lasts.first_from(&table, &hay, len + 1), None);
        }
    }
}
