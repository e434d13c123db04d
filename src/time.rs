//! PLACEHOLDER (helper C replaces): timestamp parsing.
