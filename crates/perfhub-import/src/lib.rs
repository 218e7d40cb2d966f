//! Other benchmark tools' results as perfhub reports.
