//! Environment fingerprint and measured process spawning.
