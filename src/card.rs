//! PLACEHOLDER (helper B replaces): payment card numbers.
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    Diners,
    Unionpay,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanHit {
    pub start: usize,
    pub end: usize,
    pub digits: String,
    pub brand: Brand,
    pub test_card: bool,
}

pub fn find_pans(_text: &[u8]) -> Vec<PanHit> {
    Vec::new()
}
pub fn mask_pan(digits: &str) -> String {
    digits.to_string()
}
pub fn mask_text(text: &str) -> Cow<'_, str> {
    Cow::Borrowed(text)
}
pub struct Fingerprinter;
impl Fingerprinter {
    pub fn new(_k: &[u8]) -> Self {
        Fingerprinter
    }
    pub fn random() -> Self {
        Fingerprinter
    }
    pub fn fingerprint(&self, d: &str) -> String {
        d.len().to_string()
    }
}
