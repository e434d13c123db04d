//! Sigma condition expressions: `and`, `or`, `not`, parentheses,
//! `1 of X*` / `any of X*` / `all of X*` and `them`, with the precedence
//! not > and > or. Selections are resolved to indices at load time so
//! evaluation never looks names up.

/// A resolved condition tree.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// A selection by index.
    Sel(usize),
}

/// A condition error with the character offset (0-based) into the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CondError {
    pub offset: usize,
    pub reason: String,
}

/// Deepest parenthesis / `not` nesting accepted (recursion guard).
const MAX_DEPTH: usize = 100;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// `1 of`, `any of` (false) or `all of` (true).
    Of(bool),
    Ident(String),
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, CondError> {
    let chars: Vec<(usize, char)> = text.chars().enumerate().collect();
    let mut words: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while let Some(&(pos, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            words.push((c.to_string(), pos));
            i += 1;
        } else {
            let start = pos;
            let mut w = String::new();
            while let Some(&(_, c)) = chars.get(i) {
                if c.is_whitespace() || c == '(' || c == ')' {
                    break;
                }
                w.push(c);
                i += 1;
            }
            words.push((w, start));
        }
    }
    let mut toks = Vec::new();
    let mut it = words.into_iter().peekable();
    while let Some((w, pos)) = it.next() {
        let lower = w.to_ascii_lowercase();
        let tok = match lower.as_str() {
            "(" => Tok::LParen,
            ")" => Tok::RParen,
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "1" | "any" | "all" => match it.peek() {
                Some((next, _)) if next.eq_ignore_ascii_case("of") => {
                    it.next();
                    Tok::Of(lower == "all")
                }
                _ => Tok::Ident(w),
            },
            "of" => {
                return Err(CondError {
                    offset: pos,
                    reason: "'of' must follow '1', 'any' or 'all'".into(),
                });
            }
            _ => {
                if lower.chars().all(|c| c.is_ascii_digit()) {
                    return Err(CondError {
                        offset: pos,
                        reason: format!("unsupported count '{w}' (use '1 of' or 'all of')"),
                    });
                }
                Tok::Ident(w)
            }
        };
        toks.push((tok, pos));
    }
    Ok(toks)
}

/// Parses `text` and resolves selection names against `names`.
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Cond, CondError> {
    let toks = tokenize(text)?;
    let mut p = P {
        toks,
        i: 0,
        names,
        end: text.chars().count(),
    };
    let c = p.or(0)?;
    if let Some((t, pos)) = p.toks.get(p.i) {
        return Err(CondError {
            offset: *pos,
            reason: format!("unexpected {}", describe(t)),
        });
    }
    Ok(c)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::And => "'and'".into(),
        Tok::Or => "'or'".into(),
        Tok::Not => "'not'".into(),
        Tok::Of(_) => "'of'".into(),
        Tok::Ident(s) => format!("'{s}'"),
    }
}

struct P<'n> {
    toks: Vec<(Tok, usize)>,
    i: usize,
    names: &'n [String],
    end: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|(_, p)| *p).unwrap_or(self.end)
    }

    fn err<T>(&self, reason: impl Into<String>) -> Result<T, CondError> {
        Err(CondError {
            offset: self.pos(),
            reason: reason.into(),
        })
    }

    fn or(&mut self, depth: usize) -> Result<Cond, CondError> {
        let mut items = vec![self.and(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Cond, CondError> {
        let mut items = vec![self.unary(depth)?];
        while self.peek() == Some(&Tok::And) {
            self.i += 1;
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::And(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Cond, CondError> {
        if depth > MAX_DEPTH {
            return self.err("condition nested too deeply");
        }
        let Some(tok) = self.peek().cloned() else {
            return self.err("condition ends where a selection was expected");
        };
        let here = self.pos();
        self.i += 1;
        match tok {
            Tok::Not => Ok(Cond::Not(Box::new(self.unary(depth + 1)?))),
            Tok::LParen => {
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.err("expected ')'");
                }
                self.i += 1;
                Ok(inner)
            }
            Tok::Of(all) => {
                let Some(Tok::Ident(pat)) = self.peek().cloned() else {
                    return self.err("expected a selection name or pattern after 'of'");
                };
                let at = self.pos();
                self.i += 1;
                let idx = self.resolve_pattern(&pat, at)?;
                let sels: Vec<Cond> = idx.into_iter().map(Cond::Sel).collect();
                Ok(match (sels.len(), all) {
                    (1, _) => sels.into_iter().next().unwrap_or(Cond::Or(Vec::new())),
                    (_, true) => Cond::And(sels),
                    (_, false) => Cond::Or(sels),
                })
            }
            Tok::Ident(name) => match self.names.iter().position(|n| *n == name) {
                Some(i) => Ok(Cond::Sel(i)),
                None => Err(CondError {
                    offset: here,
                    reason: format!("condition names unknown selection '{name}'"),
                }),
            },
            other => Err(CondError {
                offset: here,
                reason: format!("unexpected {}", describe(&other)),
            }),
        }
    }

    fn resolve_pattern(&self, pat: &str, at: usize) -> Result<Vec<usize>, CondError> {
        let idx: Vec<usize> = if pat == "them" {
            // Sigma: `them` skips selections whose names start with '_'.
            (0..self.names.len())
                .filter(|i| !self.names[*i].starts_with('_'))
                .collect()
        } else {
            let toks = super::modifiers::glob_tokens(pat, true);
            (0..self.names.len())
                .filter(|i| super::modifiers::glob_match(&toks, &self.names[*i]).is_some())
                .collect()
        };
        if idx.is_empty() {
            return Err(CondError {
                offset: at,
                reason: format!("'{pat}' matches no selection"),
            });
        }
        Ok(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_not_and_or() {
        let n = names(&["a", "b", "c"]);
        let c = parse("a or not b and c", &n).unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::Sel(0),
                Cond::And(vec![Cond::Not(Box::new(Cond::Sel(1))), Cond::Sel(2)])
            ])
        );
        let c = parse("(a or b) and c", &n).unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Or(vec![Cond::Sel(0), Cond::Sel(1)]),
                Cond::Sel(2)
            ])
        );
    }

    #[test]
    fn of_patterns() {
        let n = names(&["sel_a", "sel_b", "filter", "_hidden"]);
        assert_eq!(
            parse("1 of sel_*", &n).unwrap(),
            Cond::Or(vec![Cond::Sel(0), Cond::Sel(1)])
        );
        assert_eq!(
            parse("any of sel_*", &n).unwrap(),
            Cond::Or(vec![Cond::Sel(0), Cond::Sel(1)])
        );
        assert_eq!(
            parse("all of them", &n).unwrap(),
            Cond::And(vec![Cond::Sel(0), Cond::Sel(1), Cond::Sel(2)])
        );
        assert_eq!(parse("all of filt*", &n).unwrap(), Cond::Sel(2));
    }

    #[test]
    fn errors_have_offsets() {
        let n = names(&["selection", "filter"]);
        let e = parse("selection and not filtr", &n).unwrap_err();
        assert_eq!(e.offset, 18);
        let e = parse("1 of nope*", &n).unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(parse("selection and", &n).is_err());
        assert!(parse("(selection", &n).is_err());
        assert!(parse("selection filter", &n).is_err());
        assert!(parse("2 of them", &n).is_err());
        let deep = "(".repeat(500) + "selection" + &")".repeat(500);
        assert!(parse(&deep, &n).is_err());
    }
}
