//! A finding's fields: names and values packed in one string, kept sorted
//! by name. It reads and serialises like the `BTreeMap<String, String>` it
//! replaced, but costs two allocations instead of one per name and value
//! and a tree node (a scan with 600,000 findings made twelve million).

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Names and values of a finding's record, sorted by name (byte order, the
/// order of a `BTreeMap<String, _>`), one value per name.
#[derive(Clone, Default)]
pub struct Fields {
    text: String,
    /// Per field, sorted by name: where its name starts, where the name
    /// ends and its value starts, and where the value ends, in `text`.
    spans: Vec<[usize; 3]>,
}

impl Fields {
    pub fn new() -> Self {
        Fields::default()
    }

    /// Room for `fields` more fields of `bytes` bytes in all.
    pub fn reserve(&mut self, fields: usize, bytes: usize) {
        self.spans.reserve(fields);
        self.text.reserve(bytes);
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn name(&self, s: &[usize; 3]) -> &str {
        &self.text[s[0]..s[1]]
    }

    fn search(&self, name: &str) -> Result<usize, usize> {
        let key = head(name.as_bytes());
        self.spans.binary_search_by(|s| {
            let n = self.name(s);
            // Names mostly differ in their first eight bytes (`cs-uri-q…`,
            // `cs-uri-s…`): one integer compare instead of a memcmp call.
            head(n.as_bytes()).cmp(&key).then_with(|| n.cmp(name))
        })
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.search(name).ok()?;
        let s = &self.spans[i];
        Some(&self.text[s[1]..s[2]])
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.search(name).is_ok()
    }

    /// Sets `name` to `value` (replacing an earlier value, as a map does).
    pub fn insert(&mut self, name: &str, value: &str) {
        let at = self.text.len();
        self.text.push_str(name);
        self.text.push_str(value);
        let span = [at, at + name.len(), self.text.len()];
        // The old value's text stays behind, unused: values are rarely
        // replaced (only a detector building its fields could).
        match self.search(name) {
            Ok(i) => self.spans[i] = span,
            Err(i) => self.spans.insert(i, span),
        }
    }

    /// Sets `name` to the text `value` appends to the string it is given,
    /// unless `name` has a value; returns whether it was set. `value` is
    /// only called then, and writes in place (no copy of its own).
    pub fn insert_first(&mut self, name: &str, value: impl FnOnce(&mut String)) -> bool {
        let Err(i) = self.search(name) else {
            return false;
        };
        let at = self.text.len();
        self.text.push_str(name);
        value(&mut self.text);
        self.spans.insert(i, [at, at + name.len(), self.text.len()]);
        true
    }

    /// Names and values, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.spans
            .iter()
            .map(|s| (&self.text[s[0]..s[1]], &self.text[s[1]..s[2]]))
    }
}

/// Equal names and values (the packed text may differ).
impl PartialEq for Fields {
    fn eq(&self, o: &Fields) -> bool {
        self.iter().eq(o.iter())
    }
}

impl Eq for Fields {}

/// The first eight bytes of `b` as a big-endian integer, zero-padded:
/// where two heads differ they order as the strings do (a zero pad is below
/// any byte but a zero byte, and equal heads defer to the full compare).
fn head(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(w)
}

impl std::ops::Index<&str> for Fields {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("no field named {name:?}"))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut f = Fields::new();
        for (k, v) in iter {
            f.insert(k.as_ref(), v.as_ref());
        }
        f
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Fields {
    fn from(a: [(K, V); N]) -> Self {
        a.into_iter().collect()
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to text")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Fields, A::Error> {
                let mut f = Fields::new();
                while let Some((k, v)) =
                    m.next_entry::<std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>>()?
                {
                    f.insert(&k, &v);
                }
                Ok(f)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::test_util::rng;

    #[test]
    fn behaves_and_serialises_as_a_btree_map() {
        let mut next = rng(0x5eed_f1e1d5);
        let names = [
            "c-ip",
            "cs-uri",
            "cs(Referer)",
            "a",
            "",
            "é",
            "cs-uri-query",
            "zz",
        ];
        for round in 0..500 {
            let mut f = Fields::new();
            let mut m: BTreeMap<String, String> = BTreeMap::new();
            let mut first = Fields::new();
            let mut first_m: BTreeMap<String, String> = BTreeMap::new();
            for _ in 0..next(12) {
                let k = names[next(names.len() as u64) as usize];
                let v = format!("v{}\"\\\u{1}{}", next(100), "x".repeat(next(5) as usize));
                f.insert(k, &v);
                m.insert(k.to_string(), v.clone());
                let set = first.insert_first(k, |t| t.push_str(&v));
                assert_eq!(set, !first_m.contains_key(k));
                first_m.entry(k.to_string()).or_insert(v);
            }
            for (f, m) in [(&f, &m), (&first, &first_m)] {
                assert_eq!(f.len(), m.len());
                assert!(f.iter().eq(m.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
                for k in names {
                    assert_eq!(f.get(k), m.get(k).map(String::as_str), "round {round}");
                    assert_eq!(f.contains_key(k), m.contains_key(k));
                }
                let json = serde_json::to_string(f).unwrap();
                assert_eq!(json, serde_json::to_string(m).unwrap());
                assert_eq!(&serde_json::from_str::<Fields>(&json).unwrap(), f);
                assert_eq!(format!("{f:?}"), format!("{m:?}"));
            }
        }
    }

    #[test]
    fn insert_first_asks_for_the_value_only_when_it_is_set() {
        let mut f = Fields::from([("k", "1")]);
        assert!(!f.insert_first("k", |_| unreachable!()));
        assert!(f.insert_first("j", |t| t.push('2')));
        assert_eq!(f["j"], *"2");
        assert_eq!(f["k"], *"1");
    }
}
