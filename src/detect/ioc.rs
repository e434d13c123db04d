//! IOC lists: files of domains and URLs (one a line, `#` comments), matched
//! as literals with one Aho-Corasick automaton over every list.
//!
//! A domain entry matches the domain and its subdomains, at host
//! boundaries (`evil.example` matches `cdn.evil.example/x` but not
//! `notevil.example`). A URL entry matches that URL with or without its
//! scheme.

use std::path::Path;

use aho_corasick::dfa::DFA;
use aho_corasick::{MatchKind, StartKind};

use crate::walk::{Table, earliest_end};

/// A malformed IOC list.
#[derive(Debug, thiserror::Error)]
pub enum IocError {
    #[error("IOC list {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("IOC list {path}:{line}: {entry:?} is not a domain or URL")]
    Entry {
        path: String,
        line: usize,
        entry: String,
    },
    #[error("IOC lists: {0}")]
    Build(String),
}

/// One list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The list's display name (its path as given).
    pub list: String,
    /// The entry as written in the list.
    pub entry: String,
    /// 1-based line in the list file.
    pub line: usize,
    /// The normalised literal matched: lower case, no scheme.
    needle: String,
    /// True for a bare domain (matched at host boundaries on both sides).
    domain: bool,
}

/// Every loaded list behind one automaton.
#[derive(Debug, Clone)]
pub struct IocSet {
    entries: Vec<Entry>,
    ac: Option<Table>,
}

/// Longest entry accepted (a URL; domains are at most 253).
const ENTRY_MAX: usize = 2048;

fn host_ok(host: &str) -> bool {
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        && labels
            .last()
            .is_some_and(|t| t.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// Normalises one entry: (needle, is_domain), or None when it is neither a
/// domain nor a URL.
fn normalise(raw: &str) -> Option<(String, bool)> {
    if raw.len() > ENTRY_MAX || raw.chars().any(char::is_whitespace) {
        return None;
    }
    let lower = raw.to_ascii_lowercase();
    let (rest, had_scheme) = match lower.find("://") {
        Some(i) => {
            let scheme = &lower[..i];
            if scheme.is_empty()
                || !scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
            {
                return None;
            }
            (&lower[i + 3..], true)
        }
        None => (lower.strip_prefix("//").unwrap_or(&lower), false),
    };
    let host_end = rest.find(['/', '?', '#', ':']).unwrap_or(rest.len());
    let host = rest[..host_end].trim_end_matches('.');
    if !host_ok(host) {
        return None;
    }
    let tail = &rest[host_end..];
    if tail.is_empty() || tail == "/" {
        Some((host.to_string(), true))
    } else if had_scheme || tail.starts_with('/') || tail.starts_with(':') {
        Some((format!("{host}{tail}"), false))
    } else {
        None
    }
}

/// A byte that continues a host name to the left.
fn host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl IocSet {
    /// An empty set (matches nothing).
    pub fn empty() -> IocSet {
        IocSet {
            entries: Vec::new(),
            ac: None,
        }
    }

    /// Loads list files; the first malformed line is an error naming it.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<IocSet, IocError> {
        let mut lists = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let name = p.display().to_string();
            let text = std::fs::read(p).map_err(|source| IocError::Io {
                path: name.clone(),
                source,
            })?;
            lists.push((name, String::from_utf8_lossy(&text).into_owned()));
        }
        IocSet::from_texts(&lists)
    }

    /// Builds the set from (list name, list text) pairs.
    pub fn from_texts(lists: &[(String, String)]) -> Result<IocSet, IocError> {
        let mut entries = Vec::new();
        for (name, text) in lists {
            for (i, line) in text.lines().enumerate() {
                let t = line.split('#').next().unwrap_or("").trim();
                if t.is_empty() {
                    continue;
                }
                let (needle, domain) = normalise(t).ok_or_else(|| IocError::Entry {
                    path: name.clone(),
                    line: i + 1,
                    entry: crate::text::sanitize(&crate::card::mask_text(t))
                        .chars()
                        .take(120)
                        .collect(),
                })?;
                if entries.iter().any(|e: &Entry| e.needle == needle) {
                    continue;
                }
                entries.push(Entry {
                    list: name.clone(),
                    entry: t.to_string(),
                    line: i + 1,
                    needle,
                    domain,
                });
            }
        }
        if entries.is_empty() {
            return Ok(IocSet::empty());
        }
        let ac = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            // Domains are made of common bytes: a rare-byte prefilter fires
            // so often it tripled the time of a DFA walk.
            .prefilter(false)
            .build(entries.iter().map(|e| e.needle.as_bytes()))
            .map_err(|e| IocError::Build(e.to_string()))?;
        Ok(IocSet {
            entries,
            ac: Some(Table::new(&ac).ok_or_else(|| {
                IocError::Build("the automaton has no unanchored start state".into())
            })?),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// A byte inside the entry occurrence in `hay[from..]` that ends first
    /// (its last byte). Entries hold no line break, so that byte lies in the
    /// first line at or after `from` that holds an entry.
    pub fn find_from(&self, hay: &[u8], from: usize) -> Option<usize> {
        let dfa = self.ac.as_ref()?;
        earliest_end(dfa, hay.get(from..)?).map(|e| from + e.max(1) - 1)
    }

    /// Cheap test: does any entry occur anywhere in `line`?
    pub fn any(&self, line: &[u8]) -> bool {
        self.ac
            .as_ref()
            .is_some_and(|dfa| earliest_end(dfa, line).is_some())
    }

    /// Entries that occur in `text` at host boundaries, each once, in list
    /// order.
    pub fn matches(&self, text: &[u8], out: &mut Vec<usize>) {
        let Some(ac) = &self.ac else { return };
        ac.each_match(text, |id, end| {
            let e = &self.entries[id];
            if out.contains(&id) {
                return;
            }
            // Case folding keeps lengths: the occurrence is as long as the needle.
            let before = &text[..end - e.needle.len()];
            let left_ok = match before.last() {
                None => true,
                Some(&b) if !host_byte(b) => true,
                // A URL-encoded slash or @ before the host (`https%3A%2F%2Fevil`).
                Some(_) => {
                    let t = before.len().saturating_sub(3);
                    let enc = &before[t..];
                    enc.eq_ignore_ascii_case(b"%2f") || enc.eq_ignore_ascii_case(b"%40")
                }
            };
            if !left_ok {
                return;
            }
            if e.domain {
                let after = &text[end..];
                let right_ok = match after.first() {
                    None => true,
                    Some(&b) if host_byte(b) => false,
                    // `evil.example.org` is another host.
                    Some(b'.') => !after.get(1).is_some_and(|&b| host_byte(b)),
                    Some(_) => true,
                };
                if !right_ok {
                    return;
                }
            }
            out.push(id);
        });
        out.sort_unstable();
    }

    pub fn entry(&self, id: usize) -> &Entry {
        &self.entries[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> IocSet {
        IocSet::from_texts(&[("iocs.txt".into(), text.into())]).unwrap()
    }

    fn hits(s: &IocSet, text: &str) -> Vec<String> {
        let mut v = Vec::new();
        s.matches(text.as_bytes(), &mut v);
        v.into_iter().map(|i| s.entry(i).entry.clone()).collect()
    }

    #[test]
    fn domains_match_at_host_boundaries() {
        let s = set("# drops\nevil.example  # the drop\n\nMage-CDN.link\n");
        assert_eq!(s.len(), 2);
        assert_eq!(hits(&s, "https://cdn.evil.example/x.js"), ["evil.example"]);
        assert_eq!(hits(&s, "evil.example"), ["evil.example"]);
        assert_eq!(
            hits(&s, "a=https%3A%2F%2Fevil.example%2Fp"),
            ["evil.example"]
        );
        assert_eq!(hits(&s, "https:\\/\\/EVIL.example\\/p"), ["evil.example"]);
        assert!(hits(&s, "https://notevil.example/").is_empty());
        assert!(hits(&s, "https://evil.example.org/").is_empty());
        assert!(hits(&s, "https://evil.examples/").is_empty());
        assert_eq!(
            hits(&s, "evil.example. and mage-cdn.link"),
            ["evil.example", "Mage-CDN.link"]
        );
        let e = s.entry(1);
        assert_eq!((e.list.as_str(), e.line), ("iocs.txt", 4));
    }

    #[test]
    fn urls_match_without_scheme() {
        let s = set("https://evil.example/gate.php\n");
        assert_eq!(
            hits(&s, "http://evil.example/gate.php?x=1"),
            ["https://evil.example/gate.php"]
        );
        assert!(hits(&s, "https://evil.example/other").is_empty());
        assert!(s.any(b"GET //evil.example/gate.php"));
        assert!(!s.any(b"GET / HTTP/1.1"));
    }

    #[test]
    fn the_two_stream_walk_finds_what_one_walk_finds() {
        // Entries planted across block boundaries in generated text; the
        // earliest end must equal the plain automaton's, from any start.
        let s = set("evil.example\nmage-cdn.link\nhttps://drop.example/a/very/long/path.php\n");
        let reference = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(s.entries.iter().map(|e| e.needle.as_bytes()))
            .unwrap();
        let mut rand = crate::test_util::rng(0x9e37_79b9_7f4a_7c15u64);
        let words: [&[u8]; 6] = [
            b"evil.exampl",
            b"EVIL.EXAMPLE",
            b"mage-cdn.link",
            b"drop.example/a/very/long/path.php",
            b"GET /x.js HTTP/1.1\n",
            b"abcdefgh",
        ];
        for round in 0..40 {
            let len = (rand(5 * crate::walk::BLOCK as u64) + 1) as usize;
            let mut hay = vec![b'.'; len];
            let count = rand(4);
            crate::test_util::plant_words(
                &mut hay,
                &words,
                count,
                (crate::walk::BLOCK, 4),
                &mut rand,
            );
            let dfa = s.ac.as_ref().unwrap();
            // Block boundaries are relative to `from`: 0 meets the planted
            // straddles, the others land anywhere.
            for k in 0..20 {
                let from = if k == 0 {
                    0
                } else {
                    rand(len as u64 + 1) as usize
                };
                let want = reference
                    .find(aho_corasick::Input::new(&hay).span(from..len))
                    .map(|m| m.end() - from);
                assert_eq!(
                    earliest_end(dfa, &hay[from..]),
                    want,
                    "round {round}, from {from}"
                );
                assert_eq!(s.find_from(&hay, from), want.map(|e| from + e - 1));
            }
        }
    }

    #[test]
    fn bad_entries_name_file_and_line() {
        for bad in [
            "not a domain",
            "localhost",
            "foo",
            "http://",
            "-bad-.com",
            "ex ample.com",
            "a..b",
        ] {
            let err = IocSet::from_texts(&[("l.txt".into(), format!("good.example\n{bad}\n"))])
                .unwrap_err()
                .to_string();
            assert!(err.contains("l.txt:2"), "{bad}: {err}");
        }
        assert!(set("").is_empty());
        assert!(!set("").any(b"anything"));
        assert!(set("1.2.3.4\nexample.com:8080/x").len() == 2);
    }
}
