//! skimhunt: find card skimmers and script injection in web, CDN, chat and
//! CSP logs, inside an incident's time window.
//!
//! The binary is a thin layer over this library; tests and benches call the
//! library directly. Data flows one way:
//! discover → input → frame → window → format → matcher → detect → report.

pub mod card;
pub mod decode;
pub mod format;
pub mod level;
pub mod record;
pub mod rules;
pub mod time;
pub mod window;

pub use level::{Category, Level};
pub use record::{Family, Record};
