//! perfhub reports for pyroscope.
