//! Timeline: per rule and per category, first seen, last seen and counts
//! per UTC day, so activity can be read against the incident's dates.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::exposure::day_name;
use crate::level::Category;
use crate::report::Finding;

/// Activity of one rule or category.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Span {
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub count: u64,
    /// Findings without a timestamp (undated records).
    pub undated: u64,
    /// Keyed by UTC day (days since 1970-01-01), written as `YYYY-MM-DD`.
    #[serde(serialize_with = "day_names")]
    pub by_day: BTreeMap<i64, u64>,
}

impl Span {
    fn add(&mut self, t: Option<Timestamp>) {
        self.count += 1;
        match t {
            Some(t) => {
                self.first_seen = Some(self.first_seen.map_or(t, |f| f.min(t)));
                self.last_seen = Some(self.last_seen.map_or(t, |l| l.max(t)));
                *self
                    .by_day
                    .entry(t.as_second().div_euclid(86_400))
                    .or_default() += 1;
            }
            None => self.undated += 1,
        }
    }

    fn merge(&mut self, o: Span) {
        self.count += o.count;
        self.undated += o.undated;
        self.first_seen = match (self.first_seen, o.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_seen = match (self.last_seen, o.last_seen) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for (d, n) in o.by_day {
            *self.by_day.entry(d).or_default() += n;
        }
    }
}

fn day_names<S: serde::Serializer>(days: &BTreeMap<i64, u64>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(days.iter().map(|(d, n)| (day_name(*d), n)))
}

/// The report's `timeline` section, fed one finding at a time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    pub rules: BTreeMap<String, Span>,
    pub categories: BTreeMap<Category, Span>,
}

impl Timeline {
    pub fn add(&mut self, f: &Finding) {
        match self.rules.get_mut(&f.rule_id) {
            Some(s) => s.add(f.timestamp),
            None => self
                .rules
                .entry(f.rule_id.clone())
                .or_default()
                .add(f.timestamp),
        }
        self.categories
            .entry(f.category)
            .or_default()
            .add(f.timestamp);
    }

    /// Adds another timeline (of later findings, or of other files).
    pub fn merge(&mut self, o: Timeline) {
        for (k, v) in o.rules {
            self.rules.entry(k).or_default().merge(v);
        }
        for (k, v) in o.categories {
            self.categories.entry(k).or_default().merge(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    fn f(rule: &str, cat: Category, t: Option<&str>) -> Finding {
        Finding {
            rule_id: rule.into(),
            rule_title: String::new(),
            level: Level::High,
            category: cat,
            path: "x".into(),
            line: 1,
            byte_offset: 0,
            timestamp: t.map(|t| t.parse().unwrap()),
            fields: crate::report::Fields::new(),
            evidence: String::new(),
            decoded: Vec::new(),
            decoded_evidence: None,
            pan: None,
            fingerprint: String::new(),
        }
    }

    #[test]
    fn spans_per_rule_and_category() {
        let mut tl = Timeline::default();
        tl.add(&f(
            "a",
            Category::CardSkimming,
            Some("2017-09-26T23:59:59Z"),
        ));
        tl.add(&f(
            "a",
            Category::CardSkimming,
            Some("2017-09-26T00:00:00Z"),
        ));
        tl.add(&f(
            "b",
            Category::CardSkimming,
            Some("2017-10-01T12:00:00+00:00"),
        ));
        tl.add(&f("b", Category::InjectedScript, None));
        let a = &tl.rules["a"];
        assert_eq!(a.first_seen, Some("2017-09-26T00:00:00Z".parse().unwrap()));
        assert_eq!(a.last_seen, Some("2017-09-26T23:59:59Z".parse().unwrap()));
        let c = &tl.categories[&Category::CardSkimming];
        assert_eq!((c.count, c.by_day.len()), (3, 2));
        assert_eq!(tl.rules["b"].undated, 1);
        assert_eq!(tl.categories[&Category::InjectedScript].first_seen, None);
        let json = serde_json::to_value(&tl).unwrap();
        assert_eq!(json["rules"]["a"]["by_day"]["2017-09-26"], 2);
    }

    #[test]
    fn merged_parts_equal_the_whole() {
        let times = [
            Some("2017-09-26T23:59:59Z"),
            None,
            Some("2017-10-01T12:00:00Z"),
            Some("2017-09-25T01:00:00Z"),
            Some("2017-10-01T13:00:00Z"),
        ];
        let all: Vec<Finding> = times
            .iter()
            .enumerate()
            .map(|(i, t)| f(["a", "b"][i % 2], Category::CardSkimming, *t))
            .collect();
        let mut whole = Timeline::default();
        all.iter().for_each(|x| whole.add(x));
        for cut in 0..=all.len() {
            let (mut p, mut q) = (Timeline::default(), Timeline::default());
            all[..cut].iter().for_each(|x| p.add(x));
            all[cut..].iter().for_each(|x| q.add(x));
            p.merge(q);
            assert_eq!(p.rules, whole.rules, "cut at {cut}");
            assert_eq!(p.categories, whole.categories, "cut at {cut}");
        }
    }
}
