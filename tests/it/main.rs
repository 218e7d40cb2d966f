//! End-to-end tests of the `perfhub` binary.

mod flame;
mod load;
mod profile;
mod run;
mod support;
