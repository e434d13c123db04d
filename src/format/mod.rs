//! PLACEHOLDER (helper C replaces): record formats.
