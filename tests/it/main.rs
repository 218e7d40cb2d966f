//! End-to-end tests of the `perfhub` binary.

mod flame;
mod profile;
mod run;
mod support;
