//! Severity levels, ordered from least to most severe (Sigma's names).

use std::fmt;
use std::str::FromStr;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Level::Informational),
            "low" => Ok(Level::Low),
            "medium" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" => Ok(Level::Critical),
            other => Err(format!(
                "unknown level '{other}' (expected informational, low, medium, high or critical)"
            )),
        }
    }
}

/// The finding categories skimhunt adds to Sigma (`skimhunt.category`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    InjectedScript,
    CardSkimming,
    CardExposure,
    /// Plain Sigma rules without a skimhunt category (e.g. SigmaHQ's
    /// webserver rules): web attacks in general.
    WebAttack,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::InjectedScript => "injected-script",
            Category::CardSkimming => "card-skimming",
            Category::CardExposure => "card-exposure",
            Category::WebAttack => "web-attack",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "injected-script" => Ok(Category::InjectedScript),
            "card-skimming" => Ok(Category::CardSkimming),
            "card-exposure" => Ok(Category::CardExposure),
            "web-attack" => Ok(Category::WebAttack),
            other => Err(format!(
                "unknown category '{other}' (expected injected-script, card-skimming, card-exposure or web-attack)"
            )),
        }
    }
}
