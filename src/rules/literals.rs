//! Prefilter literals: for a rule, a set of lowercase byte strings such that
//! any record the rule matches has one of them in its ASCII-lowercased raw
//! line (or `None` when no such set can be derived).
//!
//! Only runs of ASCII `[a-z0-9_]` are used, so the set stays valid when the
//! raw text URL-encodes, `+`-encodes or JSON-escapes the punctuation around a
//! literal.

use regex_syntax::hir::literal::Extractor;

use super::condition::Cond;
use super::eval::{Detection, FieldCond, Selection};
use super::modifiers::{Modifiers, Tok};

/// A literal set; `None` means "cannot prefilter".
pub(crate) type Lits = Option<Vec<Vec<u8>>>;

/// Shortest run worth using: shorter ones would match nearly every line.
const MIN_RUN: usize = 3;

/// The longest `[a-z0-9_]` run of `s` after ASCII lowercasing.
fn best_run(s: &[u8]) -> Option<Vec<u8>> {
    s.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .max_by_key(|r| r.len())
        .filter(|r| r.len() >= MIN_RUN)
        .map(|r| r.to_ascii_lowercase())
}

/// Literal for a wildcard value: the best run over its literal pieces.
pub(crate) fn glob_lits(toks: &[Tok]) -> Lits {
    let best = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Lit(l) => best_run(l.as_bytes()),
            _ => None,
        })
        .max_by_key(|r| r.len())?;
    Some(vec![best])
}

/// Literals for a regex, from regex-syntax's prefix extractor: every match
/// starts with one of the extracted literals, so it contains one of their
/// runs. An infinite set, or any literal without a usable run, gives `None`.
pub(crate) fn regex_lits(pattern: &str, m: &Modifiers) -> Lits {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(m.re_i)
        .multi_line(m.re_m)
        .dot_matches_new_line(m.re_s)
        .build()
        .parse(pattern)
        .ok()?;
    let seq = Extractor::new().extract(&hir);
    let lits = seq.literals()?;
    let mut out = Vec::with_capacity(lits.len());
    for l in lits {
        out.push(best_run(l.as_bytes())?);
    }
    Some(dedup(out))
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
    let each = fc.pats.iter().map(|(_, l)| l.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::modifiers::glob_tokens;

    #[test]
    fn runs_and_globs() {
        assert_eq!(best_run(b"=%3Cscript%3E"), Some(b"3cscript".to_vec()));
        assert_eq!(best_run(b"<a>"), None);
        assert_eq!(
            glob_lits(&glob_tokens("*/wp-admin/*.PHP", true)),
            Some(vec![b"admin".to_vec()])
        );
        assert_eq!(glob_lits(&glob_tokens("ab*cd", true)), None);
    }

    #[test]
    fn regex_literals() {
        let m = Modifiers {
            re: true,
            ..Modifiers::default()
        };
        assert_eq!(
            regex_lits("<script src=", &m),
            Some(vec![b"script".to_vec()])
        );
        assert_eq!(regex_lits(".{150}", &m), None);
        assert_eq!(
            regex_lits("(foo|barbaz)x", &m),
            Some(vec![b"barbazx".to_vec(), b"foox".to_vec()])
        );
        let mi = Modifiers {
            re: true,
            re_i: true,
            ..Modifiers::default()
        };
        let l = regex_lits("eval\\(", &mi);
        assert!(l.is_none() || l == Some(vec![b"eval".to_vec()]));
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
}
