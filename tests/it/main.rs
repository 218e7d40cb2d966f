//! End-to-end tests of the `perfhub` binary.

mod run;
mod support;
