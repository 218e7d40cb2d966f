//! End-to-end tests of the `perfhub` binary.

mod flame;
mod run;
mod support;
