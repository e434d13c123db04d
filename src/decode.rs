//! PLACEHOLDER (helper B replaces): value decoding.
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DecodeOpts {
    pub url: bool,
    pub plus: bool,
    pub html: bool,
}

impl DecodeOpts {
    pub fn any(self) -> bool {
        self.url || self.plus || self.html
    }
}

pub fn decode_value(s: &str, _opts: DecodeOpts) -> Cow<'_, str> {
    Cow::Borrowed(s)
}
