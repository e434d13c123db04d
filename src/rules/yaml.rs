//! A small marked YAML tree built from yaml-rust2's event parser.
//!
//! Every node keeps the line and column where it starts so that rule errors
//! can point at the offending key or value. Aliases are rejected (Sigma rules
//! never need them, and expanding them invites "billion laughs" blow-ups) and
//! nesting depth is capped so hostile files cannot exhaust the stack later.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Deepest nesting accepted; rules need about five levels.
const MAX_DEPTH: usize = 64;

/// One YAML node with its position (1-based line and column).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    pub line: usize,
    pub col: usize,
}

/// The shape of a node.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// A scalar: its text and whether it was written plain (unquoted), which
    /// decides whether `null`, `~` or nothing mean null.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Mapping entries in source order.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax or structure error at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub line: usize,
    pub col: usize,
    pub reason: String,
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True for a plain `null`, `~` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if text.is_empty() || text == "~" || text.eq_ignore_ascii_case("null"))
    }

    /// A plain boolean scalar.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Scalar { text, plain: true } => match text.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A short word for the node's shape, for error messages.
    pub fn shape(&self) -> &'static str {
        match self.kind {
            Kind::Scalar { .. } => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// One parsed document: its root node and the line where it starts.
pub(crate) struct Document {
    pub root: Node,
    pub line: usize,
}

/// A container being filled while events stream in.
enum Open {
    Seq(Node, Vec<Node>),
    Map(Node, Vec<(Node, Node)>, Option<Node>),
}

/// Parses every document of `src` into marked trees.
pub(crate) fn parse(src: &str) -> Result<Vec<Document>, YamlError> {
    let mut parser = Parser::new_from_str(src);
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut doc_line = 1;
    let mut root: Option<Node> = None;
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            reason: format!("YAML syntax: {}", e.info()),
        })?;
        // yaml-rust2 columns are 0-based, lines 1-based.
        let (line, col) = (mark.line(), mark.col() + 1);
        let finished: Option<Node> = match ev {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart => {
                doc_line = line;
                root = None;
                None
            }
            Event::DocumentEnd => {
                if let Some(r) = root.take() {
                    docs.push(Document {
                        root: r,
                        line: doc_line,
                    });
                }
                None
            }
            Event::Alias(_) => {
                return Err(YamlError {
                    line,
                    col,
                    reason: "YAML aliases are not supported in rules".into(),
                });
            }
            Event::Scalar(text, style, _, _) => Some(Node {
                kind: Kind::Scalar {
                    text,
                    plain: style == TScalarStyle::Plain,
                },
                line,
                col,
            }),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        line,
                        col,
                        reason: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                let node = Node {
                    kind: Kind::Seq(Vec::new()),
                    line,
                    col,
                };
                stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Open::Seq(node, Vec::new())
                } else {
                    Open::Map(node, Vec::new(), None)
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq(mut n, items)) => {
                    n.kind = Kind::Seq(items);
                    Some(n)
                }
                Some(Open::Map(mut n, entries, _)) => {
                    n.kind = Kind::Map(entries);
                    Some(n)
                }
                None => {
                    return Err(YamlError {
                        line,
                        col,
                        reason: "unbalanced YAML collection end".into(),
                    });
                }
            },
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                Some(Open::Seq(_, items)) => items.push(node),
                Some(Open::Map(_, entries, key)) => match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => *key = Some(node),
                },
                None => root = Some(node),
            }
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_documents() {
        let docs = parse("a: 1\nb:\n  - x\n  - 'y'\n---\nc: ~\n").unwrap();
        assert_eq!(docs.len(), 2);
        let Kind::Map(entries) = &docs[0].root.kind else {
            panic!("map expected")
        };
        assert_eq!(entries[0].0.as_str(), Some("a"));
        assert_eq!((entries[0].0.line, entries[0].0.col), (1, 1));
        assert_eq!((entries[0].1.line, entries[0].1.col), (1, 4));
        let Kind::Seq(items) = &entries[1].1.kind else {
            panic!("seq expected")
        };
        assert_eq!((items[1].line, items[1].col), (4, 5));
        assert!(!items[1].is_null());
        assert_eq!(docs[1].line, 5);
        let Kind::Map(e2) = &docs[1].root.kind else {
            panic!("map expected")
        };
        assert!(e2[0].1.is_null());
    }

    #[test]
    fn rejects_aliases_and_deep_nesting() {
        let err = parse("a: &x 1\nb: *x\n").err().unwrap();
        assert_eq!((err.line, err.col), (2, 4));
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse("a: 'unterminated\n").err().unwrap();
        assert!(err.line >= 1 && err.reason.contains("YAML"));
    }
}
