//! STUB for lead's compile (helper C delivers the real one).
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(String);
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}
impl Window {
    pub fn new(
        _since: Option<&str>,
        _until: Option<&str>,
        _tz: &TimeZone,
        _pad: Option<SignedDuration>,
    ) -> Result<Window, TimeError> {
        Ok(Window::default())
    }
    pub fn contains(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }
}
pub fn parse_span(_s: &str) -> Result<SignedDuration, TimeError> {
    Ok(SignedDuration::ZERO)
}
pub fn parse_tz(_s: &str) -> Result<TimeZone, TimeError> {
    Ok(TimeZone::UTC)
}
