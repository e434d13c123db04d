//! `--patterns FILE`: a plain list of regexes, one per line (the syntax of
//! ripgrep's and grep's `-f`), each turned into a rule with id
//! `pattern:<line>`, level medium, matched against the raw line and its
//! fields. Analysts keep such lists, and it makes a side-by-side comparison
//! with ripgrep exact.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::level::Category;
use crate::pack::{LoadedRules, hex};
use crate::rules::{self, Rule, RuleError};

/// Longest part of a pattern shown in its rule title.
const TITLE_MAX: usize = 80;

fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Rules from the text of a pattern list. Every line is a pattern; an
/// empty line is refused (it would match every line), and so is an invalid
/// regex, with the file's line number.
pub fn from_str(text: &str, source: &str, category: Category) -> Result<Vec<Rule>, RuleError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let pat = line.strip_suffix('\r').unwrap_or(line);
        let err = |reason: String| RuleError {
            path: source.to_string(),
            line: n,
            column: 1,
            reason,
        };
        if pat.is_empty() {
            return Err(err("empty pattern (it would match every line)".into()));
        }
        if pat.chars().any(|c| c.is_control() && c != '\t') {
            return Err(err("pattern holds a control character".into()));
        }
        let shown: String = pat.chars().take(TITLE_MAX).collect();
        let doc = format!(
            "title: {title}\nid: {id}\nlevel: medium\ndetection:\n  keywords:\n    '|re': {re}\n  condition: keywords\nskimhunt:\n  category: {cat}\n",
            title = yaml_quote(&format!("Pattern {n}: {shown}")),
            id = yaml_quote(&format!("pattern:{n}")),
            re = yaml_quote(pat),
            cat = category.as_str(),
        );
        let mut rules = rules::load_str(&doc, source).map_err(|e| err(e.reason))?;
        out.append(&mut rules);
    }
    Ok(out)
}

/// Reads a pattern list file.
pub fn load(path: &Path, category: Category) -> Result<Vec<Rule>, RuleError> {
    let source = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| RuleError {
        path: source.clone(),
        line: 0,
        column: 0,
        reason: format!("cannot read pattern list: {e}"),
    })?;
    let text = String::from_utf8(text).map_err(|_| RuleError {
        path: source.clone(),
        line: 0,
        column: 0,
        reason: "pattern list is not UTF-8".into(),
    })?;
    from_str(&text, &source, category)
}

/// Adds the rules of `--patterns` (if given) to a loaded rule set, folding
/// the list into the rule-set hash.
pub fn extend(
    loaded: &mut LoadedRules,
    path: Option<&Path>,
    category: Option<Category>,
) -> Result<(), RuleError> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut rules = load(path, category.unwrap_or(Category::InjectedScript))?;
    let mut h = Sha256::new();
    h.update(loaded.sha256.as_bytes());
    h.update([0]);
    h.update(path.display().to_string().as_bytes());
    for r in &rules {
        h.update([0]);
        h.update(r.id.as_bytes());
        h.update([0]);
        h.update(r.title.as_bytes());
    }
    // Patterns longer than the title cut still change the hash.
    h.update(std::fs::read(path).unwrap_or_default());
    loaded.sha256 = hex(&h.finalize());
    loaded.rules.append(&mut rules);
    rules::check_unique_ids(&loaded.rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Family, Record};

    #[test]
    fn one_rule_per_line() {
        let rules = from_str(
            "eval\\(\nit's\n(?i)<script\n",
            "p.txt",
            Category::CardSkimming,
        )
        .unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].id, "pattern:1");
        assert_eq!(rules[2].id, "pattern:3");
        assert_eq!(rules[1].category, Category::CardSkimming);
        let hit = |r: &Rule, s: &str| {
            r.eval(&Record::bare(s.as_bytes(), None, Family::Web))
                .is_some()
        };
        assert!(hit(&rules[0], "GET /?q=eval(1)"));
        assert!(!hit(&rules[0], "GET /?q=evaluate"));
        assert!(hit(&rules[1], "it's"));
        assert!(hit(&rules[2], "x=<SCRIPT src"));
    }

    #[test]
    fn bad_lines_name_their_line() {
        let e = from_str("ok\n(unclosed\n", "p.txt", Category::InjectedScript).unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("p.txt", 2));
        let e = from_str("a\n\nb\n", "p.txt", Category::InjectedScript).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
