//! perfhub's self-contained HTML report.
