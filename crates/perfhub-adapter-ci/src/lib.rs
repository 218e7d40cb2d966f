//! perfhub results for CI services.
