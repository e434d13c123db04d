//! PLACEHOLDER (helper C replaces): the time window.
