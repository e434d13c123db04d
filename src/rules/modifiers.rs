//! Field modifiers (`field|contains|all`) and the value patterns they compile
//! to: wildcard globs, regexes, numeric comparisons, CIDR ranges, nulls and
//! the skimhunt `pan` check.

use std::net::IpAddr;

use regex::{Regex, RegexBuilder};

/// Compiled-program and DFA cache limit for `re` values: generous for real
/// rules, small enough that a hostile rule cannot eat the machine.
const REGEX_SIZE_LIMIT: usize = 10 << 20;

/// How a plain string value is anchored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Position {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

/// Numeric comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// The modifiers parsed from one detection key.
#[derive(Clone, Debug, Default)]
pub(crate) struct Modifiers {
    pub position: Option<Position>,
    pub all: bool,
    pub cased: bool,
    pub re: bool,
    pub re_i: bool,
    pub re_m: bool,
    pub re_s: bool,
    pub exists: bool,
    pub base64: bool,
    pub base64offset: bool,
    pub num: Option<NumOp>,
    pub cidr: bool,
    pub pan: bool,
}

impl Modifiers {
    /// Parses the `|`-separated modifier names after a field name.
    pub fn parse<'a>(names: impl Iterator<Item = &'a str>) -> Result<Modifiers, String> {
        let mut m = Modifiers::default();
        for name in names {
            let pos = |m: &mut Modifiers, p| {
                if m.position.is_some() {
                    return Err(format!(
                        "modifier '{name}' conflicts with another position modifier"
                    ));
                }
                m.position = Some(p);
                Ok(())
            };
            let num = |m: &mut Modifiers, op| {
                if m.num.is_some() {
                    return Err("only one of gt, gte, lt, lte may be given".to_string());
                }
                m.num = Some(op);
                Ok(())
            };
            match name {
                "contains" => pos(&mut m, Position::Contains)?,
                "startswith" => pos(&mut m, Position::StartsWith)?,
                "endswith" => pos(&mut m, Position::EndsWith)?,
                "all" => m.all = true,
                "cased" => m.cased = true,
                "re" => m.re = true,
                "i" => m.re_i = true,
                "m" => m.re_m = true,
                "s" => m.re_s = true,
                "exists" => m.exists = true,
                "base64" => m.base64 = true,
                "base64offset" => m.base64offset = true,
                "gt" => num(&mut m, NumOp::Gt)?,
                "gte" => num(&mut m, NumOp::Gte)?,
                "lt" => num(&mut m, NumOp::Lt)?,
                "lte" => num(&mut m, NumOp::Lte)?,
                "cidr" => m.cidr = true,
                "pan" => m.pan = true,
                "" => return Err("empty modifier name".into()),
                other => return Err(format!("unknown modifier '{other}'")),
            }
        }
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<(), String> {
        if (self.re_i || self.re_m || self.re_s) && !self.re {
            return Err("regex flags i, m, s need the 're' modifier".into());
        }
        let kinds = [
            self.re,
            self.exists,
            self.num.is_some(),
            self.cidr,
            self.pan,
            self.base64 || self.base64offset,
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            return Err(
                "modifiers re, exists, gt/gte/lt/lte, cidr, pan and base64 cannot be combined"
                    .into(),
            );
        }
        if self.position.is_some() && (self.re || self.exists || self.num.is_some() || self.pan) {
            return Err(
                "contains/startswith/endswith do not combine with re, exists, gt/lt or pan".into(),
            );
        }
        if self.base64 && self.base64offset {
            return Err("use either base64 or base64offset".into());
        }
        if self.base64offset && self.position != Some(Position::Contains) {
            return Err("base64offset needs the 'contains' modifier".into());
        }
        if self.cidr && self.position.is_some() {
            return Err("cidr does not combine with contains/startswith/endswith".into());
        }
        Ok(())
    }
}

/// One piece of a wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(String),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters.
    Many,
}

/// A compiled value pattern.
#[derive(Clone, Debug)]
pub(crate) enum Pat {
    /// Field absent or empty.
    Null,
    /// Wildcard match; literals are ASCII-lowercased unless `cased`.
    Glob {
        toks: Vec<Tok>,
        cased: bool,
    },
    Re(Regex),
    Num(NumOp, f64),
    Cidr(IpAddr, u8),
    /// Value contains a valid card number.
    Pan,
    /// Any of several patterns (the three `base64offset` encodings of one
    /// value, which must stay one value under `all`).
    Any(Vec<Pat>),
}

/// Outcome of matching one pattern on one text.
#[derive(Clone, Debug, Default)]
pub(crate) struct PatMatch {
    /// Byte offset of the match in the text, when cheaply known.
    pub start: Option<usize>,
    pub pan: Option<crate::card::PanHit>,
}

/// Splits a Sigma string value into wildcard tokens, honouring `\*`, `\?`
/// and `\\`; any other backslash is literal, as the Sigma spec says.
pub(crate) fn glob_tokens(value: &str, wildcards: bool) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if wildcards => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' if wildcards => {
                if !lit.is_empty() {
                    toks.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                if c == '?' {
                    toks.push(Tok::One);
                } else if toks.last() != Some(&Tok::Many) {
                    toks.push(Tok::Many);
                }
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    toks
}

/// Wraps tokens according to the position modifier.
pub(crate) fn position_tokens(mut toks: Vec<Tok>, pos: Position) -> Vec<Tok> {
    if matches!(pos, Position::Contains | Position::EndsWith) && toks.first() != Some(&Tok::Many) {
        toks.insert(0, Tok::Many);
    }
    if matches!(pos, Position::Contains | Position::StartsWith) && toks.last() != Some(&Tok::Many) {
        toks.push(Tok::Many);
    }
    toks
}

/// Matches wildcard tokens against the whole of `s` (already lowercased when
/// the pattern is case-insensitive). Runs in O(len(s) * len(pattern)).
pub(crate) fn glob_match(toks: &[Tok], s: &str) -> Option<usize> {
    // Fast paths for the shapes nearly every rule uses; they also report
    // where the literal was found.
    match toks {
        [] => return s.is_empty().then_some(0),
        [Tok::Many] => return Some(0),
        [Tok::Lit(l)] => return (s == l).then_some(0),
        [Tok::Lit(l), Tok::Many] => return s.starts_with(l.as_str()).then_some(0),
        [Tok::Many, Tok::Lit(l)] => {
            return s
                .ends_with(l.as_str())
                .then(|| s.len().saturating_sub(l.len()));
        }
        [Tok::Many, Tok::Lit(l), Tok::Many] => return s.find(l.as_str()),
        _ => {}
    }
    // Classic wildcard matching with a single backtrack point at the last
    // `*`: correct for `*`/`?` globs and free of exponential blow-up.
    // `start` tracks where the token after a leading `*` matched, so the
    // reported offset points at the interesting part, as in the fast paths.
    let (mut ti, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let mut start = 0usize;
    loop {
        if ti == 1 && toks.first() == Some(&Tok::Many) {
            start = si;
        }
        let rest = s.get(si..).unwrap_or("");
        let advanced = match toks.get(ti) {
            Some(Tok::Many) => {
                star = Some((ti + 1, si));
                ti += 1;
                continue;
            }
            Some(Tok::One) => match rest.chars().next() {
                Some(c) => {
                    si += c.len_utf8();
                    true
                }
                None => false,
            },
            Some(Tok::Lit(l)) => {
                if rest.starts_with(l.as_str()) {
                    si += l.len();
                    true
                } else {
                    false
                }
            }
            None => {
                if si >= s.len() {
                    return Some(start);
                }
                false
            }
        };
        if advanced {
            ti += 1;
            continue;
        }
        let (t, ss) = star?;
        let next = s.get(ss..).and_then(|r| r.chars().next())?;
        let ss = ss + next.len_utf8();
        star = Some((t, ss));
        ti = t;
        si = ss;
    }
}

/// Rough number of NFA states a regex expands to above which it is refused
/// before compiling: the compiler's own size limit is only hit after it has
/// spent its time expanding nested counted repetitions (`(?:\w{500}){500}`).
const REGEX_EXPANSION_LIMIT: u64 = 2_000_000;

/// An upper estimate of the states `hir` expands to: counted repetitions
/// multiply, classes weigh by their ranges.
fn expansion(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(Class::Unicode(c)) => c.ranges().len() as u64 * 4,
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64,
        HirKind::Repetition(r) => {
            let n = u64::from(r.max.unwrap_or(r.min).max(1));
            n.saturating_mul(expansion(&r.sub))
        }
        HirKind::Capture(c) => expansion(&c.sub),
        HirKind::Concat(xs) | HirKind::Alternation(xs) => {
            xs.iter().fold(0u64, |a, x| a.saturating_add(expansion(x)))
        }
    }
}

/// Builds a size-limited regex with the Sigma sub-flags.
pub(crate) fn compile_regex(pattern: &str, m: &Modifiers) -> Result<Regex, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(m.re_i)
        .multi_line(m.re_m)
        .dot_matches_new_line(m.re_s)
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid regex: {e}"))?;
    let size = expansion(&hir);
    if size > REGEX_EXPANSION_LIMIT {
        return Err(format!(
            "regex too large: it expands to about {size} states (limit {REGEX_EXPANSION_LIMIT}); bound its repetitions"
        ));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(m.re_i)
        .multi_line(m.re_m)
        .dot_matches_new_line(m.re_s)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex: {e}"))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding.
pub(crate) fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The three encodings of `value` as it may appear inside a longer base64
/// string, depending on its byte offset modulo 3 (Sigma's `base64offset`):
/// characters influenced by unknown neighbouring bytes are trimmed.
pub(crate) fn base64_offsets(value: &str) -> Vec<String> {
    let v = value.as_bytes();
    let mut out = Vec::new();
    for i in 0..3usize {
        let mut buf = vec![0u8; i];
        buf.extend_from_slice(v);
        let enc = base64(&buf);
        let start = [0usize, 2, 3][i];
        let trim = [0usize, 3, 2][(v.len() + i) % 3];
        let end = enc.len().saturating_sub(trim);
        if let Some(s) = enc.get(start..end)
            && !s.is_empty()
        {
            out.push(s.to_string());
        }
    }
    out
}

/// Parses `addr/prefix` (or a bare address) for the `cidr` modifier.
pub(crate) fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("invalid CIDR address '{s}'"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("invalid CIDR prefix in '{s}'"))?,
        None => max,
    };
    Ok((ip, prefix))
}

/// True when `value` parses as an address inside `net/prefix`.
pub(crate) fn cidr_contains(net: IpAddr, prefix: u8, value: &str) -> bool {
    let Ok(ip) = value.trim().parse::<IpAddr>() else {
        return false;
    };
    let (a, b, bits) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(n.to_bits()), u128::from(i.to_bits()), 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (n.to_bits(), i.to_bits(), 128),
        (IpAddr::V6(n), IpAddr::V4(i)) => (n.to_bits(), i.to_ipv6_mapped().to_bits(), 128),
        _ => return false,
    };
    if prefix == 0 {
        return true;
    }
    let shift = bits - u32::from(prefix);
    (a >> shift) == (b >> shift)
}

/// Compares a field value numerically; non-numbers never match.
pub(crate) fn num_match(op: NumOp, want: f64, value: &str) -> bool {
    let Ok(v) = value.trim().parse::<f64>() else {
        return false;
    };
    match op {
        NumOp::Gt => v > want,
        NumOp::Gte => v >= want,
        NumOp::Lt => v < want,
        NumOp::Lte => v <= want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str, pos: Position, s: &str) -> bool {
        glob_match(&position_tokens(glob_tokens(p, true), pos), s).is_some()
    }

    #[test]
    fn globs() {
        assert!(g("a*c", Position::Exact, "abbbc"));
        assert!(!g("a*c", Position::Exact, "abbbcd"));
        assert!(g("a?c", Position::Exact, "aéc"));
        assert!(g("x*y", Position::Contains, "--x--y--"));
        assert!(!g("x*y", Position::Contains, "--y--x--"));
        assert!(g("a\\*b", Position::Exact, "a*b"));
        assert!(!g("a\\*b", Position::Exact, "axxb"));
        assert!(g("c:\\win", Position::StartsWith, "c:\\windows"));
        assert!(g("a\\\\b", Position::Exact, "a\\b"));
        assert!(g("*.php", Position::Exact, "/x.php"));
        assert!(g("", Position::Exact, ""));
        assert!(g("*", Position::Exact, ""));
        assert!(g(
            "*a*a*a*b",
            Position::Exact,
            &"a".repeat(500).replace("aa", "ab")
        ));
        assert_eq!(
            glob_match(
                &position_tokens(glob_tokens("bc", true), Position::Contains),
                "abcd"
            ),
            Some(1)
        );
    }

    #[test]
    fn modifiers_parse_and_conflict() {
        let m = Modifiers::parse(["contains", "all"].into_iter()).unwrap();
        assert!(m.all && m.position == Some(Position::Contains));
        assert!(Modifiers::parse(["contans"].into_iter()).is_err());
        assert!(Modifiers::parse(["re", "contains"].into_iter()).is_err());
        assert!(Modifiers::parse(["i"].into_iter()).is_err());
        assert!(Modifiers::parse(["base64offset"].into_iter()).is_err());
        assert!(Modifiers::parse(["base64offset", "contains"].into_iter()).is_ok());
    }

    #[test]
    fn base64_encodings() {
        assert_eq!(base64(b"ma"), "bWE=");
        assert_eq!(base64(b"man"), "bWFu");
        // Sigma spec example values for "/bin/bash".
        assert_eq!(
            base64_offsets("/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
        for (i, enc) in base64_offsets("/bin/bash").iter().enumerate() {
            let mut data = b"xy"[..i].to_vec();
            data.extend_from_slice(b"/bin/bash tail");
            assert!(base64(&data).contains(enc.as_str()), "offset {i}");
        }
    }

    #[test]
    fn cidr_and_numbers() {
        let (n, p) = parse_cidr("10.1.0.0/16").unwrap();
        assert!(cidr_contains(n, p, "10.1.200.3"));
        assert!(!cidr_contains(n, p, "10.2.0.1"));
        assert!(!cidr_contains(n, p, "not-an-ip"));
        let (n6, p6) = parse_cidr("2001:db8::/32").unwrap();
        assert!(cidr_contains(n6, p6, "2001:db8::1"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(num_match(NumOp::Gt, 100.0, " 200"));
        assert!(!num_match(NumOp::Lt, 100.0, "abc"));
        assert!(num_match(NumOp::Lte, 5.0, "5"));
    }
}
