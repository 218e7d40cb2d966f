//! What the end-to-end tests in `it/` and the fuzz suite share: the real
//! `perfhub` binary, built on first use with the calling test's profile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root: the nearest directory holding `Cargo.lock` above
/// the calling package's.
///
/// Read at run time, not with `env!`: cargo keeps a build made from a clone
/// at another path fresh (its fingerprints hold paths relative to the
/// workspace), so a target directory shared between clones would hand a
/// test the other clone's path.
pub fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", manifest.display()))
        .to_path_buf()
}

/// The calling test binary's `target/<profile>`.
fn target_dir() -> PathBuf {
    // target/<profile>/deps/<test>-<hash>: the binaries sit in target/<profile>.
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// The `perfhub` binary, built (or brought up to date) on first use with the
/// same profile as the calling test.
pub fn perfhub_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let dir = target_dir();
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root())
            .args(["build", "--quiet", "-p", "perfhub-cli", "--bin", "perfhub"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building perfhub failed");
        let bin = dir.join("perfhub");
        assert!(bin.exists(), "no perfhub binary at {}", bin.display());
        bin
    })
}
