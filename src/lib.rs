//! skimhunt: find card skimmers and script injection in web, CDN, chat and
//! CSP logs, inside an incident's time window.
//!
//! The binary is a thin layer over this library; tests and benches call the
//! library directly. Data flows one way:
//! discover → input → scan (frame, window) → format → matcher → report.

pub mod app;
pub mod card;
pub mod cli;
pub mod decode;
pub mod detect;
pub mod discover;
pub mod format;
pub mod input;
pub mod level;
pub mod lines;
pub mod matcher;
mod memo;
pub mod pack;
pub mod patterns;
pub mod progress;
pub mod record;
mod redact;
pub mod report;
pub mod rules;
pub mod scan;
pub mod suppress;
#[cfg(test)]
mod test_util;
pub mod text;
pub mod time;
mod walk;
pub mod window;

pub use level::{Category, Level};
pub use record::{Family, Record};
