//! End-to-end tests of the `perfhub` binary.

mod check;
mod flame;
mod flows;
mod gate;
mod gate_paired;
mod import;
mod import_js;
mod import_native;
mod import_python;
mod load;
mod profile;
mod report_files;
mod run;
mod support;
mod targets;
