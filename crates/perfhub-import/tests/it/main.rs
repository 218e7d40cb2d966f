//! perfhub-import against the real outputs checked in under
//! `fixtures/criterion/` (see its README for how each was produced).

mod cargo_criterion;
mod criterion;
mod detect;
mod hyperfine;
mod libtest;

use std::path::{Path, PathBuf};

use perfhub_import::ImportOptions;

pub const CREATED: &str = "2026-01-02T03:04:05Z";

pub fn options() -> ImportOptions {
    ImportOptions::new(CREATED.parse().unwrap())
}

/// `fixtures/<rel>` of the workspace.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../fixtures")
        .join(rel)
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string(value).unwrap()).unwrap();
}

/// Asserts that `err`'s message contains every one of `parts`.
#[track_caller]
pub fn assert_message(err: &perfhub_import::ImportError, parts: &[&str]) {
    let message = err.to_string();
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= expected.abs() * 1e-12,
        "{actual} != {expected}"
    );
}
