//! Timeline: per rule and per category, first seen, last seen and counts
//! per UTC day, so activity can be read against the incident's dates.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

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
    /// Keyed by UTC date (`YYYY-MM-DD`).
    pub by_day: BTreeMap<String, u64>,
}

impl Span {
    fn add(&mut self, t: Option<Timestamp>) {
        self.count += 1;
        match t {
            Some(t) => {
                self.first_seen = Some(self.first_seen.map_or(t, |f| f.min(t)));
                self.last_seen = Some(self.last_seen.map_or(t, |l| l.max(t)));
                let d = t.to_zoned_datetime(TimeZone::UTC).date().to_string();
                *self.by_day.entry(d).or_default() += 1;
            }
            None => self.undated += 1,
        }
    }
}

/// The report's `timeline` section, fed one finding at a time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    pub rules: BTreeMap<String, Span>,
    pub categories: BTreeMap<Category, Span>,
}

impl Timeline {
    pub fn add(&mut self, f: &Finding) {
        self.rules
            .entry(f.rule_id.clone())
            .or_default()
            .add(f.timestamp);
        self.categories
            .entry(f.category)
            .or_default()
            .add(f.timestamp);
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
            fields: BTreeMap::new(),
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
        assert_eq!(a.by_day.get("2017-09-26"), Some(&2));
        let c = &tl.categories[&Category::CardSkimming];
        assert_eq!((c.count, c.by_day.len()), (3, 2));
        assert_eq!(tl.rules["b"].undated, 1);
        assert_eq!(tl.categories[&Category::InjectedScript].first_seen, None);
    }
}
