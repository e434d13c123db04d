//! Turning YAML documents into [`Rule`]s, with `path:line:column` errors.

use std::collections::HashMap;
use std::path::Path;

use super::condition::{self, Cond};
use super::eval::{Detection, FieldCond, Selection};
use super::literals::{Lits, glob_lits, regex_lits};
use super::modifiers::{
    Modifiers, Pat, Position, Tok, base64, base64_offsets, compile_regex, glob_tokens, parse_cidr,
    position_tokens,
};
use super::yaml::{self, Kind, Node};
use super::{LogSource, Rule, RuleError, RuleTests};
use crate::decode::DecodeOpts;
use crate::level::{Category, Level};

/// Rule files larger than this are refused: real rules are a few KiB.
const MAX_RULE_FILE: u64 = 4 << 20;

/// Builds errors that name the source file.
struct Ctx<'s> {
    source: &'s str,
}

impl Ctx<'_> {
    fn at(&self, node: &Node, reason: impl Into<String>) -> RuleError {
        self.pos(node.line, node.col, reason)
    }

    fn pos(&self, line: usize, column: usize, reason: impl Into<String>) -> RuleError {
        RuleError {
            path: self.source.to_string(),
            line,
            column,
            reason: reason.into(),
        }
    }

    fn string(&self, node: &Node, what: &str) -> Result<String, RuleError> {
        node.as_str().map(str::to_string).ok_or_else(|| {
            self.at(
                node,
                format!("{what} must be a scalar, not {}", node.shape()),
            )
        })
    }

    /// A scalar or a list of scalars.
    fn strings(&self, node: &Node, what: &str) -> Result<Vec<String>, RuleError> {
        match &node.kind {
            Kind::Scalar { .. } if node.is_null() => Ok(Vec::new()),
            Kind::Scalar { text, .. } => Ok(vec![text.clone()]),
            Kind::Seq(items) => items.iter().map(|i| self.string(i, what)).collect(),
            Kind::Map(_) => Err(self.at(node, format!("{what} must be a list of strings"))),
        }
    }

    /// Mapping entries with scalar, unique keys.
    fn map<'n>(
        &self,
        node: &'n Node,
        what: &str,
    ) -> Result<Vec<(&'n str, &'n Node, &'n Node)>, RuleError> {
        let Kind::Map(entries) = &node.kind else {
            return Err(self.at(
                node,
                format!("{what} must be a mapping, not {}", node.shape()),
            ));
        };
        let mut out: Vec<(&str, &Node, &Node)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                return Err(self.at(k, format!("keys in {what} must be scalars")));
            };
            if out.iter().any(|(seen, _, _)| *seen == key) {
                return Err(self.at(k, format!("duplicate key '{key}' in {what}")));
            }
            out.push((key, k, v));
        }
        Ok(out)
    }
}

/// Loads every rule (one per YAML document) from a string; `source` is the
/// path used in errors and in [`Rule::source`].
pub fn load_str(src: &str, source: &str) -> Result<Vec<Rule>, RuleError> {
    let cx = Ctx { source };
    let docs = yaml::parse(src).map_err(|e| cx.pos(e.line, e.col, e.reason))?;
    let mut rules = Vec::new();
    for doc in docs {
        if doc.root.is_null() {
            continue; // an empty document, e.g. a trailing `---`
        }
        rules.push(build_rule(&cx, &doc.root, doc.line)?);
    }
    Ok(rules)
}

/// Loads a rule file, or every `*.yml` / `*.yaml` file under a directory
/// (recursively, in sorted path order).
pub fn load_path(path: &Path) -> Result<Vec<Rule>, RuleError> {
    let io_err = |p: &Path, e: &dyn std::fmt::Display| RuleError {
        path: p.display().to_string(),
        line: 0,
        column: 0,
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, &e))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        // Follow links so symlinked rule files load; walkdir reports loops.
        for entry in walkdir::WalkDir::new(path).follow_links(true) {
            let entry = entry.map_err(|e| io_err(path, &e))?;
            let is_yaml = entry
                .path()
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("yml") || x.eq_ignore_ascii_case("yaml"));
            if entry.file_type().is_file() && is_yaml {
                files.push(entry.into_path());
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut rules = Vec::new();
    for f in files {
        let len = std::fs::metadata(&f).map_err(|e| io_err(&f, &e))?.len();
        if len > MAX_RULE_FILE {
            return Err(io_err(
                &f,
                &format!("rule file larger than {MAX_RULE_FILE} bytes"),
            ));
        }
        let bytes = std::fs::read(&f).map_err(|e| io_err(&f, &e))?;
        let text = String::from_utf8(bytes).map_err(|e| io_err(&f, &format!("not UTF-8: {e}")))?;
        rules.extend(load_str(&text, &f.display().to_string())?);
    }
    Ok(rules)
}

/// Fails on the first id used by two rules, naming both places.
pub fn check_unique_ids(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen: HashMap<&str, &Rule> = HashMap::new();
    for r in rules {
        if let Some(first) = seen.insert(&r.id, r) {
            return Err(RuleError {
                path: r.source.clone(),
                line: r.line,
                column: 1,
                reason: format!(
                    "duplicate rule id '{}' (also at {}:{})",
                    r.id, first.source, first.line
                ),
            });
        }
    }
    Ok(())
}

/// Quality problems that do not stop loading, one message per problem:
/// `path:line: rule <id>: problem`.
pub fn lint(rules: &[Rule]) -> Vec<String> {
    let mut out = Vec::new();
    let mut first: HashMap<&str, &Rule> = HashMap::new();
    for r in rules {
        let mut say = |p: String| out.push(format!("{}:{}: rule {}: {p}", r.source, r.line, r.id));
        if r.id_missing {
            say("missing id (using a slug of the title)".into());
        }
        if r.level_missing {
            say("missing level (using medium)".into());
        }
        if r.references.is_empty() {
            say("no references".into());
        }
        if r.tests.matches.is_empty() {
            say("no test samples (skimhunt.tests.match)".into());
        }
        match first.get(r.id.as_str()) {
            Some(f) => say(format!("duplicate id (also at {}:{})", f.source, f.line)),
            None => {
                first.insert(&r.id, r);
            }
        }
    }
    out
}

/// A lowercase, dash-separated form of a title, used as a fallback id.
fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    s
}

fn build_rule(cx: &Ctx, root: &Node, line: usize) -> Result<Rule, RuleError> {
    let entries = cx.map(root, "a rule")?;
    let mut title = None;
    let mut id = None;
    let (mut description, mut status, mut author, mut date, mut modified) =
        (None, None, None, None, None);
    let (mut references, mut tags, mut falsepositives) = (Vec::new(), Vec::new(), Vec::new());
    let mut level = None;
    let mut logsource = LogSource::default();
    let mut detection_node = None;
    let mut category = Category::WebAttack;
    let mut decode = DecodeOpts::default();
    let mut tests = RuleTests::default();
    let mut ioc_lists = Vec::new();
    for (key, _k, v) in entries {
        match key {
            "title" => title = Some(cx.string(v, "title")?),
            "id" => id = Some(cx.string(v, "id")?),
            "description" => description = Some(cx.string(v, "description")?),
            "status" => status = Some(cx.string(v, "status")?),
            "author" => author = Some(cx.string(v, "author")?),
            "date" => date = Some(cx.string(v, "date")?),
            "modified" => modified = Some(cx.string(v, "modified")?),
            "references" => references = cx.strings(v, "references")?,
            "tags" => tags = cx.strings(v, "tags")?,
            "falsepositives" => falsepositives = cx.strings(v, "falsepositives")?,
            "level" => {
                let s = cx.string(v, "level")?;
                level = Some(s.parse::<Level>().map_err(|e| cx.at(v, e))?);
            }
            "logsource" => logsource = parse_logsource(cx, v)?,
            "detection" => detection_node = Some(v),
            "skimhunt" => {
                parse_skimhunt(cx, v, &mut category, &mut decode, &mut tests)?;
                ioc_lists = parse_ioc_lists(cx, v)?;
            }
            // name, fields, related, license and custom attributes: not
            // needed for matching; Sigma allows unknown keys.
            _ => {}
        }
    }
    let title = title.ok_or_else(|| cx.at(root, "rule has no title"))?;
    let det = detection_node.ok_or_else(|| cx.at(root, "rule has no detection"))?;
    let detection = parse_detection(cx, det)?;
    let id_missing = id.is_none();
    let id = id.unwrap_or_else(|| {
        let s = slug(&title);
        if s.is_empty() {
            format!("rule-line-{line}")
        } else {
            s
        }
    });
    Ok(Rule {
        id,
        title,
        description,
        status,
        references,
        author,
        date,
        modified,
        tags,
        level: level.unwrap_or(Level::Medium),
        category,
        logsource,
        falsepositives,
        source: cx.source.to_string(),
        line,
        decode,
        tests,
        ioc_lists,
        detection,
        id_missing,
        level_missing: level.is_none(),
    })
}

fn parse_logsource(cx: &Ctx, node: &Node) -> Result<LogSource, RuleError> {
    let mut ls = LogSource::default();
    for (key, _, v) in cx.map(node, "logsource")? {
        match key {
            "category" => ls.category = Some(cx.string(v, "logsource.category")?),
            "product" => ls.product = Some(cx.string(v, "logsource.product")?),
            "service" => ls.service = Some(cx.string(v, "logsource.service")?),
            _ => {} // definition and custom keys
        }
    }
    Ok(ls)
}

/// `skimhunt.ioc`: one path or a list, relative to the rule file.
fn parse_ioc_lists(cx: &Ctx, node: &Node) -> Result<Vec<std::path::PathBuf>, RuleError> {
    let base = Path::new(cx.source).parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (key, _, v) in cx.map(node, "skimhunt")? {
        if key == "ioc" {
            for p in cx.strings(v, "skimhunt.ioc")? {
                let p = Path::new(&p);
                out.push(if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                });
            }
        }
    }
    Ok(out)
}

fn parse_skimhunt(
    cx: &Ctx,
    node: &Node,
    category: &mut Category,
    decode: &mut DecodeOpts,
    tests: &mut RuleTests,
) -> Result<(), RuleError> {
    for (key, k, v) in cx.map(node, "skimhunt")? {
        match key {
            "category" => {
                let s = cx.string(v, "skimhunt.category")?;
                *category = s.parse().map_err(|e: String| cx.at(v, e))?;
            }
            "decode" => {
                let items: Vec<&Node> = match &v.kind {
                    Kind::Seq(items) => items.iter().collect(),
                    _ => vec![v],
                };
                for item in items {
                    let name = cx.string(item, "skimhunt.decode entry")?;
                    match DecodeOpts::parse_name(&name) {
                        Some(o) => *decode = decode.union(o),
                        None => {
                            return Err(cx.at(
                                item,
                                format!(
                                    "unknown decoding '{name}' (expected url, plus, html, json, base64 or hex)"
                                ),
                            ));
                        }
                    }
                }
            }
            "tests" => {
                for (tkey, tk, tv) in cx.map(v, "skimhunt.tests")? {
                    match tkey {
                        "format" => tests.format = Some(cx.string(tv, "skimhunt.tests.format")?),
                        "match" => tests.matches = cx.strings(tv, "skimhunt.tests.match")?,
                        "nomatch" => tests.nomatches = cx.strings(tv, "skimhunt.tests.nomatch")?,
                        other => {
                            return Err(cx.at(
                                tk,
                                format!("unknown key '{other}' in skimhunt.tests (expected format, match, nomatch)"),
                            ));
                        }
                    }
                }
            }
            // Read by parse_ioc_lists.
            "ioc" => {}
            other => {
                return Err(cx.at(
                    k,
                    format!(
                        "unknown key '{other}' in skimhunt (expected category, decode, tests, ioc)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn parse_detection(cx: &Ctx, node: &Node) -> Result<Detection, RuleError> {
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut cond_node = None;
    for (key, _k, v) in cx.map(node, "detection")? {
        match key {
            "condition" => cond_node = Some(v),
            // Correlation-era attribute; no meaning for single-line matching.
            "timeframe" => {}
            name => {
                names.push(name.to_string());
                selections.push(parse_selection(cx, v)?);
            }
        }
    }
    let cond_node = cond_node.ok_or_else(|| cx.at(node, "detection has no condition"))?;
    let cond_nodes: Vec<&Node> = match &cond_node.kind {
        Kind::Seq(items) if !items.is_empty() => items.iter().collect(),
        Kind::Seq(_) => return Err(cx.at(cond_node, "empty condition list")),
        _ => vec![cond_node],
    };
    let mut conds = Vec::new();
    for c in cond_nodes {
        let text = cx.string(c, "condition")?;
        let parsed = condition::parse(&text, &names).map_err(|e| {
            // Point inside single-line conditions; otherwise at the scalar.
            let col = match &c.kind {
                Kind::Scalar { plain: true, .. } if !text.contains('\n') => c.col + e.offset,
                Kind::Scalar { plain: false, .. } if !text.contains('\n') => c.col + 1 + e.offset,
                _ => c.col,
            };
            cx.pos(c.line, col, e.reason)
        })?;
        conds.push(parsed);
    }
    let cond = if conds.len() == 1 {
        conds.remove(0)
    } else {
        Cond::Or(conds)
    };
    Ok(Detection { selections, cond })
}

fn parse_selection(cx: &Ctx, node: &Node) -> Result<Selection, RuleError> {
    match &node.kind {
        Kind::Map(entries) => {
            if entries.is_empty() {
                return Err(cx.at(node, "empty selection"));
            }
            Ok(Selection {
                alts: vec![parse_map_alt(cx, node)?],
            })
        }
        Kind::Seq(items) => {
            let Some(first) = items.first() else {
                return Err(cx.at(node, "empty selection"));
            };
            if matches!(first.kind, Kind::Map(_)) {
                let mut alts = Vec::new();
                for item in items {
                    if !matches!(item.kind, Kind::Map(_)) {
                        return Err(cx.at(item, "a list of maps cannot mix in other values"));
                    }
                    alts.push(parse_map_alt(cx, item)?);
                }
                Ok(Selection { alts })
            } else {
                let fc = field_cond(cx, None, &Modifiers::default(), node)?;
                Ok(Selection {
                    alts: vec![vec![fc]],
                })
            }
        }
        Kind::Scalar { .. } => {
            let fc = field_cond(cx, None, &Modifiers::default(), node)?;
            Ok(Selection {
                alts: vec![vec![fc]],
            })
        }
    }
}

fn parse_map_alt(cx: &Ctx, node: &Node) -> Result<Vec<FieldCond>, RuleError> {
    let mut out = Vec::new();
    for (key, k, v) in cx.map(node, "a selection")? {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or("").trim();
        let mods = Modifiers::parse(parts).map_err(|e| cx.at(k, e))?;
        let field = (!field.is_empty()).then(|| field.to_string());
        out.push(field_cond(cx, field, &mods, v)?);
    }
    if out.is_empty() {
        return Err(cx.at(node, "empty selection"));
    }
    Ok(out)
}

/// Compiles one key's values (`node` is a scalar or a list of scalars).
fn field_cond(
    cx: &Ctx,
    field: Option<String>,
    mods: &Modifiers,
    node: &Node,
) -> Result<FieldCond, RuleError> {
    let values: Vec<&Node> = match &node.kind {
        Kind::Seq(items) if items.is_empty() => return Err(cx.at(node, "empty value list")),
        Kind::Seq(items) => items.iter().collect(),
        Kind::Scalar { .. } => vec![node],
        Kind::Map(_) => return Err(cx.at(node, "a field value cannot be a mapping")),
    };
    for v in &values {
        if !matches!(v.kind, Kind::Scalar { .. }) {
            return Err(cx.at(v, format!("values must be scalars, not {}", v.shape())));
        }
    }
    let keyword = field.is_none();
    if mods.exists {
        let [v] = values.as_slice() else {
            return Err(cx.at(node, "exists takes a single true/false"));
        };
        let b = v
            .as_bool()
            .ok_or_else(|| cx.at(v, "exists takes true or false"))?;
        if keyword {
            return Err(cx.at(node, "exists needs a field name"));
        }
        return Ok(FieldCond {
            field,
            all: false,
            exists: Some(b),
            pats: Vec::new(),
        });
    }
    let mut pats = Vec::with_capacity(values.len());
    for v in values {
        pats.push(value_pat(cx, mods, keyword, v)?);
    }
    Ok(FieldCond {
        field,
        all: mods.all,
        exists: None,
        pats,
    })
}

fn value_pat(
    cx: &Ctx,
    mods: &Modifiers,
    keyword: bool,
    v: &Node,
) -> Result<(Pat, Lits, Lits), RuleError> {
    let text = v.as_str().unwrap_or("");
    if mods.pan {
        return match v.as_bool() {
            Some(true) => Ok((Pat::Pan, None, None)),
            _ => Err(cx.at(v, "pan takes the value true")),
        };
    }
    if v.is_null() {
        if keyword {
            return Err(cx.at(v, "null is not a valid keyword"));
        }
        return Ok((Pat::Null, None, None));
    }
    if mods.re {
        let re = compile_regex(text, mods).map_err(|e| cx.at(v, e))?;
        return Ok((
            Pat::Re(re),
            regex_lits(text, mods, false),
            regex_lits(text, mods, true),
        ));
    }
    if let Some(op) = mods.num {
        let n: f64 = text
            .trim()
            .parse()
            .map_err(|_| cx.at(v, format!("'{text}' is not a number")))?;
        return Ok((Pat::Num(op, n), None, None));
    }
    if mods.cidr {
        let (net, prefix) = parse_cidr(text).map_err(|e| cx.at(v, e))?;
        return Ok((Pat::Cidr(net, prefix), None, None));
    }
    let pos = mods.position.unwrap_or(if keyword {
        Position::Contains
    } else {
        Position::Exact
    });
    // Base64 text is case-sensitive and has no wildcards of its own.
    let encoded: Option<Vec<String>> = if mods.base64offset {
        Some(base64_offsets(text))
    } else if mods.base64 {
        Some(vec![base64(text.as_bytes())])
    } else {
        None
    };
    if let Some(encs) = encoded {
        let mut alts = Vec::new();
        let mut lits = Some(Vec::new());
        for e in encs {
            let toks = position_tokens(glob_tokens(&e, false), pos);
            lits = match (lits, glob_lits(&toks, false)) {
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    Some(a)
                }
                _ => None,
            };
            alts.push(Pat::Glob { toks, cased: true });
        }
        if alts.is_empty() {
            return Err(cx.at(v, "value too short to encode"));
        }
        let pat = if alts.len() == 1 {
            alts.remove(0)
        } else {
            Pat::Any(alts)
        };
        return Ok((pat, lits.clone(), lits));
    }
    let mut toks = position_tokens(glob_tokens(text, true), pos);
    if !mods.cased {
        for t in &mut toks {
            if let Tok::Lit(l) = t {
                l.make_ascii_lowercase();
            }
        }
    }
    let lits = glob_lits(&toks, false);
    let raw = glob_lits(&toks, true);
    Ok((
        Pat::Glob {
            toks,
            cased: mods.cased,
        },
        lits,
        raw,
    ))
}
