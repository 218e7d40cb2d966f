//! Links `perfhub` as a position-dependent executable on Linux x86_64.
//!
//! `perfhub run` is timed from the outside, and its start-up is part of
//! the fixed cost it adds to every invocation (issue 19's goal: 5 ms for
//! `perfhub run --runs 10 -- true`). As a position-independent executable
//! the binary carries about 35,000 relative relocations that the dynamic
//! loader applies at every start, writing to (and so copying) each page of
//! its 580 KiB of relocated read-only data: 1.2 ms of its 4 ms start-up on
//! the 2-core reference machine. Linked at a fixed address, the loader
//! applies three. The price is that the executable's own code is not
//! placed at a random address (its libraries, heap and stacks still are).
//!
//! Other targets keep their default.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && arch == "x86_64" && env == "gnu" {
        println!("cargo:rustc-link-arg-bin=perfhub=-no-pie");
    }
}
