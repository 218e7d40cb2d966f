//! The history of benchmark results.
