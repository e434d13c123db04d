//! Prefilter literals: for a rule, a set of lowercase byte strings such that
//! any record the rule matches has one of them in its ASCII-lowercased raw
//! line (or `None` when no such set can be derived).
//!
//! Two kinds are derived. *Safe* literals are runs of `[a-z0-9_]` (and
//! non-ASCII characters), so the set stays valid when the raw text
//! URL-encodes, `+`-encodes or JSON-escapes the punctuation around a literal
//! (W3C and JSON formats, rules that decode); a punctuation character right
//! before the run is kept in each of its spellings ([`spellings`]), every
//! one of which decodes back to it. *Raw* literals keep the punctuation (`window.name`,
//! not `window`, which every `Windows NT` user agent holds): valid where
//! field values are byte slices of the raw line and the rule does not
//! decode. They stop at `"`, `\` and non-ASCII bytes, which a parser may
//! unescape or replace.

use super::condition::Cond;
use super::eval::{Detection, FieldCond, Selection};
use super::modifiers::{Modifiers, Pat, Tok};

/// A literal set; `None` means "cannot prefilter".
pub(crate) type Lits = Option<Vec<Vec<u8>>>;

/// Shortest run worth using: shorter ones would match nearly every line.
const MIN_RUN: usize = 3;

/// The longest run of `s` (see [`best_run_at`]) after ASCII lowercasing.
fn best_run(s: &[u8]) -> Option<Vec<u8>> {
    best_run_at(s).map(|(at, len)| s[at..at + len].to_ascii_lowercase())
}

/// Where the longest `[a-z0-9_]` run of `s` starts, and its length. Runs
/// take in non-ASCII characters too (the `ſ` of `ſource`, a Unicode case
/// variant of `source`): a parser passes them through or they arrive
/// escaped, which the escape gates take. Not when `s` holds U+FFFD, which
/// lossy decoding makes from other bytes.
fn best_run_at(s: &[u8]) -> Option<(usize, usize)> {
    let wide = !s.windows(3).any(|w| w == "\u{fffd}".as_bytes());
    let is_run = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || (wide && *b >= 0x80);
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < s.len() {
        let len = s[i..].iter().take_while(|b| is_run(b)).count();
        // The last of equally long runs.
        if len >= MIN_RUN && best.is_none_or(|(_, l)| len >= l) {
            best = Some((i, len));
        }
        i += len.max(1);
    }
    best
}

/// Safe literals for `s`: its longest `[a-z0-9_]` run, and when a
/// punctuation character `p` comes right before the run, that run behind
/// every spelling of `p` ([`spellings`]) instead. `svg` alone is in most
/// image URLs; `<svg`, `%3csvg`, `&lt;svg` are not.
fn safe_lits(s: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (at, len) = best_run_at(s)?;
    let run = s[at..at + len].to_ascii_lowercase();
    let before = at.checked_sub(1).map(|i| s[i]);
    match before.and_then(spellings) {
        Some(forms) => Some(
            forms
                .into_iter()
                .map(|mut f| {
                    f.extend_from_slice(&run);
                    f
                })
                .collect(),
        ),
        None => Some(vec![run]),
    }
}

/// Every way a raw line may spell the printable ASCII punctuation or space
/// `p` and still decode (by a rule's `decode` or a format's own unescaping)
/// to `p`, except spellings the matcher's escape gate already takes
/// (`%25`, `&amp;`, `&#`, a `\` for decoding rules; `\uXXXX` for the rest):
/// `p` itself; `%XX`; `\u00XX` and `\p` (JSON); each named reference of
/// `p`, with its `;` as it is, URL-encoded (`%3b`) or, except after legacy
/// names, behind up to two `&semi` (`&rpar&semi&semi;` decodes to `)` in
/// three passes), and for legacy names without `;`; and for a space, `+`,
/// `%2b` and `\u002b` (plus decoding; IIS user agents). `None` for other
/// bytes. Lowercase (the literal search ignores ASCII case).
pub(crate) fn spellings(p: u8) -> Option<Vec<Vec<u8>>> {
    if !(p == b' ' || p.is_ascii_punctuation()) || p == b'_' {
        return None;
    }
    let mut out: Vec<Vec<u8>> = vec![
        vec![p],
        format!("%{p:02x}").into_bytes(),
        format!("\\u{:04x}", u32::from(p)).into_bytes(),
    ];
    if matches!(p, b'"' | b'\\' | b'/') {
        out.push(vec![b'\\', p]);
    }
    if p == b' ' {
        out.extend([b"+".to_vec(), b"%2b".to_vec(), b"\\u002b".to_vec()]);
    }
    for (name, legacy) in crate::decode::references_to(char::from(p)) {
        if legacy {
            // Decoded before any `&semi;` after it could end it.
            out.push(format!("&{name}").into_bytes());
        }
        // The `;` may itself be `&semi;`, twice over (each takes one of the
        // three HTML passes), and URL-encoded (decoded first in a round).
        let nested = if legacy { 0 } else { 2 };
        for k in 0..=nested {
            for end in [";", "%3b"] {
                out.push(format!("&{name}{}{end}", "&semi".repeat(k)).into_bytes());
            }
        }
    }
    Some(dedup(out))
}

/// The longest piece of `s` that may serve as a raw literal (see the
/// module doc), ASCII-lowercased.
fn best_raw_piece(s: &[u8]) -> Option<Vec<u8>> {
    s.split(|&b| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b))
        .max_by_key(|r| r.len())
        .filter(|r| r.len() >= MIN_RUN)
        .map(|r| r.to_ascii_lowercase())
}

/// The best literal piece of `s`: a raw piece or a `[a-z0-9_]` run.
fn best_piece(s: &[u8], raw: bool) -> Option<Vec<u8>> {
    if raw { best_raw_piece(s) } else { best_run(s) }
}

/// The literals for the best piece of `s`: the raw piece, or the safe
/// literals of [`safe_lits`].
fn piece_lits(s: &[u8], raw: bool) -> Option<Vec<Vec<u8>>> {
    if raw {
        best_raw_piece(s).map(|p| vec![p])
    } else {
        safe_lits(s)
    }
}

/// Literals for a wildcard value: those of the best piece over its literal
/// pieces.
pub(crate) fn glob_lits(toks: &[Tok], raw: bool) -> Lits {
    let best = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Lit(l) => best_piece(l.as_bytes(), raw).map(|p| (p.len(), l)),
            _ => None,
        })
        .max_by_key(|(len, _)| *len)?;
    piece_lits(best.1.as_bytes(), raw)
}

/// Literals for a regex: a set of strings one of which every match
/// contains (a necessary-substring analysis of the HIR, so inner literals
/// such as `eval` in `(?:^|[^a-z])(?:eval|atob)\(` count, not only
/// prefixes), reduced to their longest `[a-z0-9_]` runs. `None` when no set
/// with a usable run exists for every member.
pub(crate) fn regex_lits(pattern: &str, m: &Modifiers, raw: bool) -> Lits {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(m.re_i)
        .multi_line(m.re_m)
        .dot_matches_new_line(m.re_s)
        .build()
        .parse(pattern)
        .ok()?;
    let info = necessary(&hir, 0, raw);
    let set = info.best(raw)?;
    let mut out = Vec::with_capacity(set.len());
    for l in &set {
        match piece_lits(l, raw) {
            Some(ls) => out.extend(ls),
            None => out.push(first_non_ascii(l)?),
        }
    }
    Some(dedup(out))
}

/// The first non-ASCII character of `l` (its UTF-8 bytes): Unicode case
/// folding turns `s`/`k` into `ſ`/`K` variants (`cſc` for `csc`) whose runs
/// are too short, but the character itself is a rare, valid literal.
fn first_non_ascii(l: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(l).ok()?;
    let c = text.chars().find(|c| !c.is_ascii())?;
    let mut buf = [0u8; 4];
    Some(c.encode_utf8(&mut buf).as_bytes().to_vec())
}

/// Most strings an exact set may hold before it is given up.
const MAX_EXACT: usize = 64;
/// Longest string kept in an exact set.
const MAX_EXACT_LEN: usize = 64;
/// Most characters a class may hold and still count as exact.
const MAX_CLASS: usize = 8;
/// Nesting depth past which nothing is derived (bounds the recursion).
const MAX_DEPTH: usize = 64;

/// What is known about the strings a HIR node matches (ASCII-lowercased).
#[derive(Default)]
struct Info {
    /// The full finite set of strings it matches, when small.
    exact: Option<Vec<Vec<u8>>>,
    /// A set one of which every match contains as a substring.
    req: Option<Vec<Vec<u8>>>,
}

/// How useful a necessary set is as a prefilter: the shortest literal
/// piece over its members (0 when some member has none), then fewer
/// members, then the shortest member (`<img` over `img`: the punctuation
/// before a safe run narrows it, see [`safe_lits`]).
fn score(set: &[Vec<u8>], raw: bool) -> (usize, std::cmp::Reverse<usize>, usize) {
    let shortest = set
        .iter()
        .map(|l| match best_piece(l, raw) {
            Some(r) => r.len().min(8),
            None => first_non_ascii(l).map_or(0, |_| MIN_RUN),
        })
        .min()
        .unwrap_or(0);
    let member = set.iter().map(Vec::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(set.len()), member)
}

fn better(a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>, raw: bool) -> Option<Vec<Vec<u8>>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if score(&y, raw) > score(&x, raw) {
            y
        } else {
            x
        }),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Info {
    fn exact(set: Vec<Vec<u8>>) -> Info {
        Info {
            exact: Some(dedup(set)),
            req: None,
        }
    }

    /// The most useful necessary set (an exact set is one too).
    fn best(&self, raw: bool) -> Option<Vec<Vec<u8>>> {
        let ex = self
            .exact
            .clone()
            .filter(|s| s.iter().all(|l| !l.is_empty()));
        better(ex, self.req.clone(), raw)
    }
}

fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len().saturating_mul(b.len()) > MAX_EXACT {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_EXACT_LEN {
                return None;
            }
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(dedup(out))
}

fn class_strings(class: &regex_syntax::hir::Class) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::Class;
    let mut out = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.ranges() {
                let n = (r.end() as u32).checked_sub(r.start() as u32)? as usize + 1;
                if out.len() + n > MAX_CLASS * 2 {
                    return None;
                }
                for cp in (r.start() as u32)..=(r.end() as u32) {
                    let ch = char::from_u32(cp)?;
                    let mut buf = [0u8; 4];
                    out.push(ch.encode_utf8(&mut buf).as_bytes().to_ascii_lowercase());
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.ranges() {
                let n = usize::from(r.end() - r.start()) + 1;
                if out.len() + n > MAX_CLASS * 2 {
                    return None;
                }
                for b in r.start()..=r.end() {
                    out.push(vec![b.to_ascii_lowercase()]);
                }
            }
        }
    }
    let out = dedup(out);
    (out.len() <= MAX_CLASS).then_some(out)
}

/// Necessary-substring analysis of one node.
fn necessary(h: &regex_syntax::hir::Hir, depth: usize, raw: bool) -> Info {
    use regex_syntax::hir::HirKind;
    if depth > MAX_DEPTH {
        return Info::default();
    }
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Info::exact(vec![Vec::new()]),
        HirKind::Literal(l) => Info::exact(vec![l.0.to_ascii_lowercase()]),
        HirKind::Class(c) => Info {
            exact: class_strings(c),
            req: None,
        },
        HirKind::Capture(c) => necessary(&c.sub, depth + 1, raw),
        HirKind::Repetition(r) => {
            let sub = necessary(&r.sub, depth + 1, raw);
            if r.min == 0 {
                // May match nothing: only `x?` keeps an exact set.
                let exact = match (&sub.exact, r.max) {
                    (Some(e), Some(1)) => {
                        let mut e = e.clone();
                        e.push(Vec::new());
                        Some(dedup(e))
                    }
                    _ => None,
                };
                return Info { exact, req: None };
            }
            let exact = match (&sub.exact, r.max) {
                (Some(e), Some(max)) if max == r.min && r.min <= 4 => {
                    let mut acc = vec![Vec::new()];
                    let mut ok = true;
                    for _ in 0..r.min {
                        match cross(&acc, e) {
                            Some(n) => acc = n,
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    ok.then_some(acc)
                }
                _ => None,
            };
            Info {
                exact,
                req: sub.best(raw),
            }
        }
        HirKind::Concat(items) => {
            let mut whole: Option<Vec<Vec<u8>>> = Some(vec![Vec::new()]);
            let mut run: Option<Vec<Vec<u8>>> = Some(vec![Vec::new()]);
            let mut best: Option<Vec<Vec<u8>>> = None;
            for it in items {
                let info = necessary(it, depth + 1, raw);
                best = better(best, info.req.clone(), raw);
                whole = match (&whole, &info.exact) {
                    (Some(w), Some(e)) => cross(w, e),
                    _ => None,
                };
                match &info.exact {
                    Some(e) => {
                        let next = run.as_ref().and_then(|r| cross(r, e));
                        match next {
                            Some(n) => run = Some(n),
                            None => {
                                // Too many or too long: keep what was built
                                // and start again from this item.
                                best = better(best, run.take(), raw);
                                run = Some(e.clone());
                            }
                        }
                    }
                    None => {
                        best = better(best, run.take(), raw);
                        run = Some(vec![Vec::new()]);
                    }
                }
            }
            best = better(best, run, raw);
            Info {
                exact: whole,
                req: best.filter(|s| s.iter().all(|l| !l.is_empty())),
            }
        }
        HirKind::Alternation(items) => {
            let infos: Vec<Info> = items.iter().map(|i| necessary(i, depth + 1, raw)).collect();
            let exact = infos
                .iter()
                .map(|i| i.exact.clone())
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat())
                .filter(|v| v.len() <= MAX_EXACT)
                .map(dedup);
            let req = infos
                .iter()
                .map(|i| i.best(raw))
                .collect::<Option<Vec<_>>>()
                .map(|v| dedup(v.concat()));
            Info { exact, req }
        }
    }
}

fn dedup(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v.dedup();
    v
}

/// Union of alternatives: `None` if any alternative is `None`.
fn union(parts: impl Iterator<Item = Lits>) -> Lits {
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Some(dedup(out))
}

/// For a conjunction any child's set is valid: take the most selective
/// (largest shortest literal; an empty set never matches, so it wins).
fn most_selective(parts: impl Iterator<Item = Lits>) -> Lits {
    parts
        .flatten()
        .max_by_key(|s| s.iter().map(Vec::len).min().unwrap_or(usize::MAX))
}

fn field_cond(fc: &FieldCond) -> Lits {
    if fc.exists.is_some() {
        return None;
    }
    let each = fc.pats.iter().map(|(_, l, _)| l.clone());
    if fc.all {
        most_selective(each)
    } else {
        union(each)
    }
}

fn selection(sel: &Selection) -> Lits {
    union(
        sel.alts
            .iter()
            .map(|alt| most_selective(alt.iter().map(field_cond))),
    )
}

fn cond(det: &Detection, c: &Cond) -> Lits {
    match c {
        Cond::Sel(i) => selection(det.selections.get(*i)?),
        Cond::Not(_) => None,
        Cond::And(items) => most_selective(items.iter().map(|c| cond(det, c))),
        Cond::Or(items) => union(items.iter().map(|c| cond(det, c))),
    }
}

/// The literal set of a whole detection.
pub(crate) fn detection(det: &Detection) -> Lits {
    cond(det, &det.cond)
}

/// A necessary condition on a raw line for a rule to match it, checked by
/// the matcher over whole buffers before any line is parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// The ASCII-lowercased line contains this literal (a `[a-z0-9_]` run,
    /// or a raw piece for raw gates, see the module doc).
    Lit(Vec<u8>),
    /// The line holds a card-number-shaped digit sequence (see
    /// `matcher::digit_run_at`).
    Digits,
    /// The line holds a digit sequence that may be a card number
    /// `card::find_pans` accepts, digits and issuer checked (see
    /// `matcher::pan_at`): the gate of `|pan` values.
    Pan,
    /// The line holds this many bytes in a row of `[0-9 +-]` or non-ASCII
    /// bytes (a Unicode-digit card regex).
    DigitBytes(usize),
    /// The line holds at least this many bytes that are the given byte or
    /// an escape character (`%`, `&`, `\\`): a decoding rule's regex that
    /// needs that many of the byte (see [`required_punct`]).
    Count(u8, usize),
    /// The line matches this regex (ASCII-case-insensitive superset of a
    /// rule regex with its anchors and look-arounds removed). Sound only
    /// where field values are substrings of the raw line.
    Regex(String),
}

/// Fewest digits in a card-number-shaped run (see `matcher::digit_run_at`).
const PAN_RUN: usize = 13;

/// What a regex node matches, as far as digit runs are concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Only ASCII digit strings of at least this many (≥ 1) digits.
    Digits(usize),
    /// Only the empty string or one separator (space, `-` or `+`).
    Sep,
    /// Only the empty string (anchors, word boundaries).
    Empty,
    Other,
}

/// `wide`: non-ASCII characters count as digits too (Unicode `\\d`), and
/// lengths are counted in bytes (each such character is at least one).
fn shape(h: &regex_syntax::hir::Hir, depth: usize, wide: bool) -> Shape {
    use regex_syntax::hir::{Class, HirKind};
    if depth > MAX_DEPTH {
        return Shape::Other;
    }
    let is_digit = |c: u32| (0x30..=0x39).contains(&c) || wide && c >= 0x80;
    let is_sep = |c: u32| c == 0x20 || c == 0x2d || c == 0x2b;
    let class_all = |c: &Class, f: &dyn Fn(u32) -> bool| match c {
        Class::Unicode(u) => u
            .ranges()
            .iter()
            .all(|r| (r.start() as u32..=r.end() as u32).all(f)),
        Class::Bytes(b) => b
            .ranges()
            .iter()
            .all(|r| (u32::from(r.start())..=u32::from(r.end())).all(f)),
    };
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Shape::Empty,
        HirKind::Literal(l) if l.0.iter().all(|&b| is_digit(u32::from(b))) => {
            Shape::Digits(l.0.len())
        }
        HirKind::Literal(l) if l.0.len() == 1 && is_sep(u32::from(l.0[0])) => Shape::Sep,
        HirKind::Class(c) if class_all(c, &is_digit) => Shape::Digits(1),
        HirKind::Class(c) if class_all(c, &is_sep) => Shape::Sep,
        HirKind::Capture(c) => shape(&c.sub, depth + 1, wide),
        HirKind::Repetition(r) => match shape(&r.sub, depth + 1, wide) {
            Shape::Digits(n) if r.min >= 1 => Shape::Digits(n.saturating_mul(r.min as usize)),
            Shape::Sep if r.max == Some(1) => Shape::Sep,
            Shape::Empty => Shape::Empty,
            _ => Shape::Other,
        },
        HirKind::Concat(items) => {
            let mut digits = 0usize;
            for it in items {
                match shape(it, depth + 1, wide) {
                    Shape::Digits(n) => digits = digits.saturating_add(n),
                    Shape::Empty => {}
                    _ => return Shape::Other,
                }
            }
            if digits > 0 {
                Shape::Digits(digits)
            } else {
                Shape::Empty
            }
        }
        HirKind::Alternation(items) => {
            let shapes: Vec<Shape> = items.iter().map(|i| shape(i, depth + 1, wide)).collect();
            if let Some(min) = shapes
                .iter()
                .map(|s| match s {
                    Shape::Digits(n) => Some(*n),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .and_then(|v| v.into_iter().min())
            {
                Shape::Digits(min)
            } else if shapes
                .iter()
                .all(|s| matches!(s, Shape::Sep | Shape::Empty))
            {
                Shape::Sep
            } else {
                Shape::Other
            }
        }
        _ => Shape::Other,
    }
}

/// Most digits in a run of digit groups joined by single optional
/// separators that every match of `h` contains.
fn required_digits(h: &regex_syntax::hir::Hir, depth: usize, wide: bool) -> usize {
    use regex_syntax::hir::HirKind;
    if depth > MAX_DEPTH {
        return 0;
    }
    match shape(h, depth, wide) {
        Shape::Digits(n) => return n,
        Shape::Sep | Shape::Empty => return 0,
        Shape::Other => {}
    }
    match h.kind() {
        HirKind::Capture(c) => required_digits(&c.sub, depth + 1, wide),
        HirKind::Repetition(r) if r.min >= 1 => required_digits(&r.sub, depth + 1, wide),
        HirKind::Alternation(items) => items
            .iter()
            .map(|i| required_digits(i, depth + 1, wide))
            .min()
            .unwrap_or(0),
        HirKind::Concat(items) => {
            // Runs of digit groups; a separator may only sit between two
            // groups (two in a row end the run in the matcher's scan).
            let mut best = 0;
            let mut run = 0usize;
            let mut after_sep = false;
            for it in items {
                match shape(it, depth + 1, wide) {
                    Shape::Digits(n) => {
                        run = run.saturating_add(n);
                        after_sep = false;
                    }
                    Shape::Empty => {}
                    Shape::Sep if !after_sep && run > 0 => after_sep = true,
                    _ => {
                        best = best.max(run).max(required_digits(it, depth + 1, wide));
                        run = 0;
                        after_sep = false;
                    }
                }
            }
            best.max(run)
        }
        _ => 0,
    }
}

/// Whether every match of `pattern` holds a card-number-shaped digit run,
/// so the cheap digit scanner can gate a regex without literals.
pub(crate) fn regex_needs_digit_run(pattern: &str) -> bool {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .is_ok_and(|h| required_digits(&h, 0, false) >= PAN_RUN)
}

/// Like [`regex_needs_digit_run`] for Unicode digits (`\\d`): every match
/// holds [`PAN_RUN`] bytes in a row of `[0-9 +-]` or non-ASCII bytes.
pub(crate) fn regex_needs_wide_digit_run(pattern: &str) -> bool {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .is_ok_and(|h| required_digits(&h, 0, true) >= PAN_RUN)
}

/// Fewest occurrences of the byte `c` in any match of `h`.
fn min_count(h: &regex_syntax::hir::Hir, c: u8, depth: usize) -> usize {
    use regex_syntax::hir::{Class, HirKind};
    if depth > MAX_DEPTH {
        return 0;
    }
    match h.kind() {
        HirKind::Literal(l) => l.0.iter().filter(|&&b| b == c).count(),
        HirKind::Class(Class::Unicode(u)) => {
            let r = u.ranges();
            usize::from(r.len() == 1 && r[0].start() == r[0].end() && r[0].start() == char::from(c))
        }
        HirKind::Class(Class::Bytes(b)) => {
            let r = b.ranges();
            usize::from(r.len() == 1 && r[0].start() == c && r[0].end() == c)
        }
        HirKind::Capture(cap) => min_count(&cap.sub, c, depth + 1),
        HirKind::Repetition(r) => (r.min as usize).saturating_mul(min_count(&r.sub, c, depth + 1)),
        HirKind::Concat(items) => items
            .iter()
            .fold(0usize, |a, i| a.saturating_add(min_count(i, c, depth + 1))),
        HirKind::Alternation(items) => items
            .iter()
            .map(|i| min_count(i, c, depth + 1))
            .min()
            .unwrap_or(0),
        HirKind::Empty | HirKind::Look(_) => 0,
    }
}

/// The ASCII punctuation byte that every match of `pattern` holds most
/// often, with that count. A rule that decodes can use it as a gate: each
/// such byte of the decoded text is that byte in the raw line or comes
/// from one escape (`%`, `&`, `\\`) or a blob.
pub fn required_punct(pattern: &str) -> Option<(u8, usize)> {
    let h = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    (0x21u8..0x7f)
        .filter(u8::is_ascii_punctuation)
        .map(|c| (c, min_count(&h, c, 0)))
        .filter(|&(_, n)| n > 0)
        .max_by_key(|&(c, n)| (n, std::cmp::Reverse(c)))
}

/// Gates of one pattern: literals when known, else a digit or regex gate.
/// Digit-run gates stand in for regexes only in `raw` mode, where the
/// digits of a field are digits of the raw line too.
fn pat_gates(pat: &Pat, lits: &Lits, raw: bool) -> Option<Vec<Gate>> {
    if let Some(l) = lits {
        return Some(l.iter().cloned().map(Gate::Lit).collect());
    }
    match pat {
        Pat::Pan => Some(vec![Gate::Pan]),
        Pat::Re(re) if raw && regex_needs_digit_run(re.as_str()) => Some(vec![Gate::Digits]),
        Pat::Re(re) if raw && regex_needs_wide_digit_run(re.as_str()) => {
            Some(vec![Gate::DigitBytes(PAN_RUN)])
        }
        Pat::Re(re) => Some(vec![Gate::Regex(re.as_str().to_string())]),
        Pat::Any(alts) => {
            let mut out = Vec::new();
            for a in alts {
                out.extend(pat_gates(a, &None, raw)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// How selective a gate set is, higher better: first its weakest kind of
/// gate (a regex, then digit runs and counts, then literals), then for
/// literal sets how rarely random text holds any of them. Each literal is
/// taken as one in 40^len (case-folded letters, digits, some punctuation),
/// so one four-byte literal beats eight (`POST` against image extensions),
/// where the shortest length alone called them even.
fn gate_score(set: &[Gate]) -> (u8, f64) {
    let kind = set
        .iter()
        .map(|g| match g {
            Gate::Lit(_) => 2,
            Gate::Digits | Gate::Pan | Gate::DigitBytes(_) | Gate::Count(..) => 1,
            Gate::Regex(_) => 0,
        })
        .min()
        .unwrap_or(3);
    let hits: f64 = set
        .iter()
        .map(|g| match g {
            Gate::Lit(l) => 40f64.powi(-(l.len().min(64) as i32)),
            _ => 0.0,
        })
        .sum();
    (kind, -hits)
}

fn gate_union(parts: impl Iterator<Item = Option<Vec<Gate>>>) -> Option<Vec<Gate>> {
    let mut out: Vec<Gate> = Vec::new();
    for p in parts {
        for g in p? {
            if !out.contains(&g) {
                out.push(g);
            }
        }
    }
    Some(out)
}

fn gate_best(parts: impl Iterator<Item = Option<Vec<Gate>>>) -> Option<Vec<Gate>> {
    parts.flatten().max_by(|a, b| {
        let (ka, ha) = gate_score(a);
        let (kb, hb) = gate_score(b);
        ka.cmp(&kb).then(ha.total_cmp(&hb))
    })
}

fn field_gates(fc: &FieldCond, raw: bool) -> Option<Vec<Gate>> {
    if fc.exists.is_some() {
        return None;
    }
    let each = fc
        .pats
        .iter()
        .map(|(p, safe, rl)| pat_gates(p, if raw { rl } else { safe }, raw));
    if fc.all {
        gate_best(each)
    } else {
        gate_union(each)
    }
}

fn cond_gates(det: &Detection, c: &Cond, raw: bool) -> Option<Vec<Gate>> {
    match c {
        Cond::Sel(i) => gate_union(
            det.selections
                .get(*i)?
                .alts
                .iter()
                .map(|alt| gate_best(alt.iter().map(|fc| field_gates(fc, raw)))),
        ),
        Cond::Not(_) => None,
        Cond::And(items) => gate_best(items.iter().map(|c| cond_gates(det, c, raw))),
        Cond::Or(items) => gate_union(items.iter().map(|c| cond_gates(det, c, raw))),
    }
}

/// The gate set of a detection (any member may hold), like [`detection`]
/// but falling back to digit and regex gates where no literal exists.
/// `raw`: use raw literals (sound only where field values are slices of
/// the raw line and the rule does not decode).
pub(crate) fn gates(det: &Detection, raw: bool) -> Option<Vec<Gate>> {
    cond_gates(det, &det.cond, raw)
}

/// Regexes that every match of the detection matches in some value (a
/// field, the raw line for keywords, or a decoded form of either): those of
/// the selections its condition ANDs in, where the selection has one
/// alternative and the field condition needs the regex (its only value, or
/// one of values that must all match). Each comes with its field (`None`
/// for a keyword).
pub(crate) fn required_regexes(det: &Detection) -> Vec<(String, Option<String>)> {
    fn walk(det: &Detection, c: &Cond, out: &mut Vec<(String, Option<String>)>) {
        match c {
            Cond::And(items) => items.iter().for_each(|c| walk(det, c, out)),
            Cond::Sel(i) => {
                let Some([alt]) = det.selections.get(*i).map(|s| s.alts.as_slice()) else {
                    return;
                };
                for fc in alt {
                    if fc.exists.is_some() || !(fc.all || fc.pats.len() == 1) {
                        continue;
                    }
                    for (p, _, _) in &fc.pats {
                        if let Pat::Re(re) = p {
                            out.push((re.as_str().to_string(), fc.field.clone()));
                        }
                    }
                }
            }
            Cond::Or(_) | Cond::Not(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(det, &det.cond, &mut out);
    out
}

/// The gate set of each part the detection's condition ANDs in (nested
/// ANDs flattened; parts without a gate, such as a `not`, left out). Every
/// match holds a member of each set: [`gates`] keeps the best one as the
/// rule's gate, and the others can confirm a candidate line.
pub(crate) fn and_gates(det: &Detection, raw: bool) -> Vec<Vec<Gate>> {
    fn walk(det: &Detection, c: &Cond, raw: bool, out: &mut Vec<Vec<Gate>>) {
        match c {
            Cond::And(items) => items.iter().for_each(|c| walk(det, c, raw, out)),
            c => out.extend(cond_gates(det, c, raw)),
        }
    }
    let mut out = Vec::new();
    walk(det, &det.cond, raw, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::modifiers::glob_tokens;

    #[test]
    fn runs_and_globs() {
        assert_eq!(best_run(b"=%3Cscript%3E"), Some(b"3cscript".to_vec()));
        assert_eq!(best_run(b"<a>"), None);
        // The `-` before the run, in each of its spellings.
        assert_eq!(
            glob_lits(&glob_tokens("*/wp-admin/*.PHP", true), false),
            Some(vec![
                b"%2dadmin".to_vec(),
                b"-admin".to_vec(),
                b"\\u002dadmin".to_vec()
            ])
        );
        assert_eq!(
            glob_lits(&glob_tokens("*wpadmin*", true), false),
            Some(vec![b"wpadmin".to_vec()])
        );
        assert_eq!(glob_lits(&glob_tokens("ab*cd", true), false), None);
    }

    #[test]
    fn regex_literals() {
        let m = Modifiers {
            re: true,
            ..Modifiers::default()
        };
        let script: Vec<Vec<u8>> = [
            "%3cscript",
            "&lt%3bscript",
            "&lt;script",
            "&ltscript",
            "<script",
            "\\u003cscript",
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
        assert_eq!(regex_lits("<script src=", &m, false), Some(script));
        // A name that needs its `;`, which may come through `&semi;`.
        let l = regex_lits("/collect", &m, false).unwrap();
        for f in [
            "/collect",
            "&sol;collect",
            "&sol&semi&semi%3bcollect",
            "\\/collect",
        ] {
            assert!(l.contains(&f.as_bytes().to_vec()), "{f}: {l:?}");
        }
        assert!(!l.contains(&b"&solcollect".to_vec()));
        // A Unicode case variant stays in the run.
        let mu = Modifiers {
            re: true,
            re_i: true,
            ..Modifiers::default()
        };
        let l = regex_lits("<source", &mu, false).unwrap();
        assert!(l.contains(&"<ſource".as_bytes().to_vec()), "{l:?}");
        assert!(
            l.iter()
                .all(|l| l.ends_with(b"source") || l.ends_with("ſource".as_bytes()))
        );
        assert_eq!(regex_lits(".{150}", &m, false), None);
        assert_eq!(
            regex_lits("(foo|barbaz)x", &m, false),
            Some(vec![b"barbazx".to_vec(), b"foox".to_vec()])
        );
        let mi = Modifiers {
            re: true,
            re_i: true,
            ..Modifiers::default()
        };
        let l = regex_lits("eval\\(", &mi, false);
        assert!(l.is_none() || l == Some(vec![b"eval".to_vec()]));
    }

    #[test]
    fn digit_run_regexes() {
        let card = r"\b(?:4[0-9]{3}|5[1-5][0-9]{2}|3[47][0-9]{2})[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{1,4}\b";
        assert!(regex_needs_digit_run(card));
        // Unicode `\d` holds more than ASCII digits.
        let unicode = r"\b(?:4\d{3}|5[1-5]\d{2})[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b";
        assert!(!regex_needs_digit_run(unicode));
        assert!(regex_needs_wide_digit_run(unicode));
        assert!(!regex_needs_wide_digit_run(r"\d{12}"));
        assert!(regex_needs_digit_run(r"(?-u:\d){16}"));
        assert!(regex_needs_digit_run(r"x=([0-9]{13,19})&"));
        assert!(regex_needs_digit_run(
            r"[0-9]{13}|[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{4}"
        ));
        // Too few digits, two separators in a row, or digits that may be absent.
        assert!(!regex_needs_digit_run(r"[0-9]{12}"));
        assert!(!regex_needs_digit_run(r"[0-9]{6}[ -]?[ -]?[0-9]{7}"));
        assert!(!regex_needs_digit_run(r"[0-9]{6}[0-9]*x?[0-9]{7}"));
        assert!(!regex_needs_digit_run(r"[0-9]{6}(?:a|[0-9]{7})"));
        assert!(!regex_needs_digit_run(r"[0-9]{6}.[0-9]{7}"));
    }

    #[test]
    fn punctuation_counts() {
        let charcodes = r"(?:^|[^0-9])(?:(?:3[2-9]|[4-9][0-9]|1[01][0-9]|12[0-6])\s*,\s*){15,}(?:3[2-9]|[4-9][0-9])";
        assert_eq!(required_punct(charcodes), Some((b',', 15)));
        assert_eq!(required_punct(r"(?:\\x[0-9a-f]{2}){8,}"), Some((b'\\', 8)));
        // Each byte is absent from one alternative.
        assert_eq!(required_punct(r"a(?:,,|;)b"), None);
        assert_eq!(required_punct(r"abc"), None);
        assert_eq!(required_punct(r"(?:<<<|>>)"), None);
    }

    #[test]
    fn combinators() {
        let a = Some(vec![b"abc".to_vec()]);
        let b = Some(vec![b"abcdef".to_vec()]);
        assert_eq!(
            union([a.clone(), b.clone()].into_iter()).map(|v| v.len()),
            Some(2)
        );
        assert_eq!(union([a.clone(), None].into_iter()), None);
        assert_eq!(most_selective([a, None, b.clone()].into_iter()), b);
        assert_eq!(most_selective([None, None].into_iter()), None);
    }

    #[test]
    fn the_rarer_side_of_an_and_gates_it() {
        let lits = |v: &[&str]| Some(v.iter().map(|l| Gate::Lit(l.as_bytes().to_vec())).collect());
        let method = lits(&["post"]);
        let images = lits(&[
            ".gif", ".png", ".jpg", ".jpeg", ".ico", ".svg", ".webp", ".bmp",
        ]);
        // Shortest lengths tie at four; one literal is rarer than eight.
        assert_eq!(
            gate_best([method.clone(), images.clone()].into_iter()),
            method
        );
        assert_eq!(
            gate_best([images.clone(), method.clone()].into_iter()),
            method
        );
        // A longer literal still wins over a shorter one.
        let longer = lits(&["skimdrop"]);
        assert_eq!(
            gate_best([method.clone(), longer.clone()].into_iter()),
            longer
        );
        // Any literal beats a digit-run gate, which beats a regex gate.
        let digits = Some(vec![Gate::Digits]);
        assert_eq!(
            gate_best([digits.clone(), images.clone()].into_iter()),
            images
        );
        let re = Some(vec![Gate::Regex("a.b".into())]);
        assert_eq!(gate_best([re.clone(), digits.clone()].into_iter()), digits);
        assert_eq!(gate_best([None, re.clone()].into_iter()), re);
    }
}
