//! The end-to-end tests of perfhub live in `it/`; this package has no library code.
