//! PLACEHOLDER (helper A replaces): Sigma rules.
