//! perfhub reports for research.
