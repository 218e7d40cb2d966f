//! HTTP load tests toward latency budgets.
//!
//! - [`request`]: what to send and what to check in each response;
//! - [`engine`]: the closed (connections, as fast as answers come) and open
//!   (a target arrival rate, latency from each request's intended send time)
//!   models, with histograms per worker merged at the end.
//!
//! The target server they are tested against is perfhub-serve's.
#![deny(missing_docs)]

pub mod engine;
pub mod flow;
mod hpack;
mod http1;
mod http2;
pub mod merge;
pub mod report;
pub mod request;
pub mod scenario;
pub mod tls;
pub mod watch;

pub use http1::ErrorKind;
