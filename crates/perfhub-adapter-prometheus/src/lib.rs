//! perfhub reports for prometheus.
