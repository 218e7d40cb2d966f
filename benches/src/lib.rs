//! Criterion benchmarks of perfhub itself.
