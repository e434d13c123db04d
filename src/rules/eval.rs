//! The compiled detection of a rule and its evaluation against a record.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::Hit;
use super::condition::Cond;
use super::literals::Lits;
use super::modifiers::{Pat, PatMatch, cidr_contains, glob_match, num_match};
use crate::card::PanHit;
use crate::decode::{DecodeOpts, Decoded};
use crate::record::Record;

/// A rule's detection section, compiled.
#[derive(Clone, Debug)]
pub(crate) struct Detection {
    pub selections: Vec<Selection>,
    pub cond: Cond,
}

/// A named selection: an OR of alternatives, each an AND of field
/// conditions (a map is one alternative; a list of maps is several; a
/// keyword list is one alternative with one keyword condition).
#[derive(Clone, Debug)]
pub(crate) struct Selection {
    pub alts: Vec<Vec<FieldCond>>,
}

/// One detection key and its values.
#[derive(Clone, Debug)]
pub(crate) struct FieldCond {
    /// `None` for keywords: matched against the raw line and every field.
    pub field: Option<String>,
    /// Values are ANDed (`all`) instead of ORed.
    pub all: bool,
    /// `exists: true/false` instead of values.
    pub exists: Option<bool>,
    /// Value patterns with their prefilter literals.
    /// Each value's pattern with its safe and raw literal sets.
    pub pats: Vec<(Pat, Lits, Lits)>,
}

/// The outside functions evaluation needs; swapped out in tests so the
/// engine's logic can be checked independently of the decoder and card
/// scanner implementations.
#[derive(Clone, Copy)]
pub(crate) struct Hooks {
    pub decode: fn(&str, DecodeOpts) -> Vec<Decoded>,
    pub pans: fn(&[u8]) -> Vec<PanHit>,
}

impl Hooks {
    /// The real decoder and card scanner.
    pub const REAL: Hooks = Hooks {
        decode: crate::decode::decode_variants,
        pans: crate::card::find_pans,
    };
}

/// A string with a lazily computed ASCII-lowercase copy. ASCII-only case
/// folding keeps byte offsets aligned and matches how browsers and servers
/// treat tag and keyword case; it also keeps the prefilter sound, since it
/// works on the ASCII-lowercased raw line.
struct Text<'t> {
    s: Cow<'t, str>,
    lower: OnceCell<String>,
}

impl<'t> Text<'t> {
    fn new(s: Cow<'t, str>) -> Self {
        Text {
            s,
            lower: OnceCell::new(),
        }
    }

    fn lower(&self) -> &str {
        self.lower.get_or_init(|| self.s.to_ascii_lowercase())
    }
}

/// A decoded variant of a text and the names of the layers behind it.
struct Variant<'t> {
    text: Text<'t>,
    layers: Vec<&'static str>,
}

/// Per-record evaluation state: lossy raw text and decoded variants are
/// built at most once however many conditions look at them.
struct Ctx<'r> {
    rec: &'r Record<'r>,
    opts: DecodeOpts,
    hooks: Hooks,
    raw: OnceCell<Text<'r>>,
    raw_dec: OnceCell<Vec<Variant<'r>>>,
    fields: Vec<OnceCell<Text<'r>>>,
    fields_dec: Vec<OnceCell<Vec<Variant<'r>>>>,
}

/// Where a haystack came from.
#[derive(Clone, Copy)]
enum Src {
    Raw,
    Field(usize),
}

/// A condition's sources, on the stack when few: every condition of every
/// candidate line gathers them, and a `Vec` each time was an allocation.
struct Srcs {
    stack: [Src; 16],
    n: usize,
    /// All of them, once there are more than the stack holds.
    heap: Vec<Src>,
}

impl Srcs {
    fn gather(it: impl Iterator<Item = Src>) -> Srcs {
        let mut s = Srcs {
            stack: [Src::Raw; 16],
            n: 0,
            heap: Vec::new(),
        };
        for src in it {
            if s.n < s.stack.len() {
                s.stack[s.n] = src;
            } else {
                if s.heap.is_empty() {
                    s.heap.extend_from_slice(&s.stack);
                }
                s.heap.push(src);
            }
            s.n += 1;
        }
        s
    }

    fn get(&self) -> &[Src] {
        if self.heap.is_empty() {
            &self.stack[..self.n]
        } else {
            &self.heap
        }
    }
}

impl<'r> Ctx<'r> {
    fn raw(&self) -> &Text<'r> {
        self.raw
            .get_or_init(|| Text::new(crate::text::lossy(self.rec.raw)))
    }

    /// Whether offsets in the lossy raw text are offsets in `record.raw`.
    fn raw_offsets_valid(&self) -> bool {
        matches!(self.raw().s, Cow::Borrowed(_))
    }

    fn field(&self, i: usize) -> Option<&Text<'r>> {
        let cell = self.fields.get(i)?;
        let (_, v) = self.rec.fields.get(i)?;
        Some(cell.get_or_init(|| Text::new(Cow::Borrowed(&**v))))
    }

    /// The decoded variants of a text (none when decoding is off or changes
    /// nothing), in the decoder's order: the value normalised in place
    /// first, then blobs.
    fn variants(&self, src: Src) -> &[Variant<'r>] {
        if !self.opts.any() {
            return &[];
        }
        let cell = match src {
            Src::Raw => &self.raw_dec,
            Src::Field(i) => match self.fields_dec.get(i) {
                Some(c) => c,
                None => return &[],
            },
        };
        cell.get_or_init(|| {
            let text: &str = match src {
                Src::Raw => &self.raw().s,
                Src::Field(i) => self.rec.fields.get(i).map_or("", |(_, v)| &**v),
            };
            (self.hooks.decode)(text, self.opts)
                .into_iter()
                .filter(|d| d.text != text)
                .map(|d| Variant {
                    text: Text::new(Cow::Owned(d.text)),
                    layers: d.layers.iter().map(|l| l.as_str()).collect(),
                })
                .collect()
        })
    }

    fn text(&self, src: Src) -> Option<&Text<'r>> {
        match src {
            Src::Raw => Some(self.raw()),
            Src::Field(i) => self.field(i),
        }
    }

    fn match_pat(&self, pat: &Pat, t: &Text<'_>) -> Option<PatMatch> {
        // `Some(start)` when matched; whole-value tests have no start.
        let start: Option<Option<usize>> = match pat {
            Pat::Null => t.s.is_empty().then_some(None),
            Pat::Glob { toks, cased } => {
                let hay = if *cased { &*t.s } else { t.lower() };
                glob_match(toks, hay).map(Some)
            }
            Pat::Re(re) => re.find(&t.s).map(|m| Some(m.start())),
            Pat::Num(op, want) => num_match(*op, *want, &t.s).then_some(None),
            Pat::Cidr(net, prefix) => cidr_contains(*net, *prefix, &t.s).then_some(None),
            Pat::Any(alts) => return alts.iter().find_map(|p| self.match_pat(p, t)),
            Pat::Pan => {
                let hit = (self.hooks.pans)(t.s.as_bytes()).into_iter().next()?;
                return Some(PatMatch {
                    start: Some(hit.start),
                    pan: Some(hit),
                });
            }
        };
        start.map(|start| PatMatch { start, pan: None })
    }

    /// Tries one pattern on the given sources, original forms first, then
    /// each source's decoded variants.
    fn match_sources(&self, pat: &Pat, srcs: &[Src]) -> Option<Hit> {
        let hit = |src: Src, t: &Text<'_>, m: PatMatch, layers: &[&'static str]| {
            let decoded = !layers.is_empty();
            let (field, offset) = match src {
                Src::Raw => (
                    None,
                    m.start.filter(|_| !decoded && self.raw_offsets_valid()),
                ),
                Src::Field(i) => (self.rec.fields.get(i).map(|(k, _)| k.to_string()), None),
            };
            Hit {
                field,
                value: Some(t.s.to_string()),
                offset,
                value_offset: m.start.or(m.pan.as_ref().map(|p| p.start)),
                pan: m.pan,
                decoded: layers.to_vec(),
            }
        };
        for &src in srcs {
            if let Some(t) = self.text(src)
                && let Some(m) = self.match_pat(pat, t)
            {
                return Some(hit(src, t, m, &[]));
            }
        }
        for &src in srcs {
            for v in self.variants(src) {
                if let Some(m) = self.match_pat(pat, &v.text) {
                    return Some(hit(src, &v.text, m, &v.layers));
                }
            }
        }
        None
    }

    fn field_cond(&self, fc: &FieldCond) -> Option<Hit> {
        let srcs = match &fc.field {
            Some(name) => {
                if let Some(want) = fc.exists {
                    return (self.rec.has(name) == want).then(|| Hit {
                        field: Some(name.clone()),
                        value: self.rec.get(name).map(str::to_string),
                        ..Hit::default()
                    });
                }
                let srcs = Srcs::gather(
                    self.rec
                        .fields
                        .iter()
                        .enumerate()
                        .filter(|(_, (k, _))| k == name)
                        .map(|(i, _)| Src::Field(i)),
                );
                if srcs.get().is_empty() {
                    // A missing field only satisfies `null`.
                    let is_null = |p: &(Pat, Lits, Lits)| matches!(p.0, Pat::Null);
                    let ok = if fc.all {
                        fc.pats.iter().all(is_null)
                    } else {
                        fc.pats.iter().any(is_null)
                    };
                    return ok.then(|| Hit {
                        field: Some(name.clone()),
                        ..Hit::default()
                    });
                }
                srcs
            }
            None => Srcs::gather(
                std::iter::once(Src::Raw).chain((0..self.rec.fields.len()).map(Src::Field)),
            ),
        };
        let srcs = srcs.get();
        let mut witness: Option<Hit> = None;
        for (pat, _, _) in &fc.pats {
            match (self.match_sources(pat, srcs), fc.all) {
                (Some(h), false) => return Some(h),
                (None, true) => return None,
                (Some(h), true) => witness = prefer(witness, Some(h)),
                (None, false) => {}
            }
        }
        if fc.all { witness } else { None }
    }

    fn selection(&self, sel: &Selection) -> Option<Hit> {
        'alts: for alt in &sel.alts {
            let mut witness = None;
            for fc in alt {
                match self.field_cond(fc) {
                    Some(h) => witness = prefer(witness, Some(h)),
                    None => continue 'alts,
                }
            }
            return Some(witness.unwrap_or_default());
        }
        None
    }

    /// Evaluates a condition; the hit is a witness for a true result
    /// (absent when the truth came only from a negation).
    fn cond(&self, det: &Detection, c: &Cond) -> (bool, Option<Hit>) {
        match c {
            Cond::Sel(i) => match det.selections.get(*i).and_then(|s| self.selection(s)) {
                Some(h) => (true, Some(h)),
                None => (false, None),
            },
            Cond::Not(inner) => (!self.cond(det, inner).0, None),
            Cond::And(items) => {
                let mut witness = None;
                for it in items {
                    let (ok, h) = self.cond(det, it);
                    if !ok {
                        return (false, None);
                    }
                    witness = prefer(witness, h);
                }
                (true, witness)
            }
            Cond::Or(items) => {
                for it in items {
                    let (ok, h) = self.cond(det, it);
                    if ok {
                        return (true, h);
                    }
                }
                (false, None)
            }
        }
    }
}

/// Keeps the first witness unless a later one carries a card number, which
/// is what the caller most needs to see (and mask).
fn prefer(a: Option<Hit>, b: Option<Hit>) -> Option<Hit> {
    match (&a, &b) {
        (None, _) => b,
        (Some(x), Some(y)) if x.pan.is_none() && y.pan.is_some() => b,
        _ => a,
    }
}

/// Evaluates a detection on a record.
pub(crate) fn eval(
    det: &Detection,
    rec: &Record<'_>,
    opts: DecodeOpts,
    hooks: Hooks,
) -> Option<Hit> {
    Ctx::new(rec, opts, hooks).eval(det)
}

/// Evaluation state for one record under one set of decode options:
/// reusing it across the rules that share the options decodes each value
/// once per record instead of once per rule.
pub struct RecordCtx<'r>(Ctx<'r>);

impl<'r> RecordCtx<'r> {
    /// State for evaluating rules with decode options `opts` on `rec`.
    pub fn new(rec: &'r Record<'r>, opts: DecodeOpts) -> Self {
        RecordCtx(Ctx::new(rec, opts, Hooks::REAL))
    }

    /// The record being evaluated.
    pub fn record(&self) -> &'r Record<'r> {
        self.0.rec
    }

    /// The decode options this state was built for.
    pub fn opts(&self) -> DecodeOpts {
        self.0.opts
    }

    pub(crate) fn eval(&self, det: &Detection) -> Option<Hit> {
        self.0.eval(det)
    }
}

impl<'r> Ctx<'r> {
    fn new(rec: &'r Record<'r>, opts: DecodeOpts, hooks: Hooks) -> Self {
        let n = rec.fields.len();
        Ctx {
            rec,
            opts,
            hooks,
            raw: OnceCell::new(),
            raw_dec: OnceCell::new(),
            fields: (0..n).map(|_| OnceCell::new()).collect(),
            fields_dec: (0..n).map(|_| OnceCell::new()).collect(),
        }
    }

    fn eval(&self, det: &Detection) -> Option<Hit> {
        match self.cond(det, &det.cond) {
            (true, h) => Some(h.unwrap_or_default()),
            (false, _) => None,
        }
    }
}
