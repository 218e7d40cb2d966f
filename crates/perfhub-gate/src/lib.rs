//! The interleaved A/B regression gate.
