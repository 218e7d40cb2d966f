//! Benchmarking of commands.
