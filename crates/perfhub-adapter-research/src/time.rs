//! Moments in UTC: perfhub-core's, shared by the adapters.

pub(crate) use perfhub_core::time::UtcTime;
