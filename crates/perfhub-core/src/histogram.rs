//! Latency histograms on HdrHistogram.
