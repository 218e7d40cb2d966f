//! perfhub results as a reproducible record for a paper.
//!
//! - [`write_data_package`]: a Frictionless Data Package v2 directory:
//!   `results.csv` (one typed row per benchmark and measurement),
//!   `samples.csv` (every raw sample), `environment.json`, and a
//!   `datapackage.json` with a Table Schema for each table, each file's
//!   size and SHA-256, and perfhub's properties (the environment
//!   fingerprint, the git commit, the Performance Score) under `perfhub:`;
//! - [`write_ro_crate`]: the same package plus the report in an RO-Crate
//!   1.1, whose `ro-crate-metadata.json` records a `CreateAction` with
//!   perfhub and its version as the instrument, the measured commands as
//!   the object and the files as the result.
//!
//! [`data_package_files`] and [`ro_crate_files`] give the same files
//! without writing them. Files are written atomically (a temporary file
//! renamed over the target), the descriptor last; dates come from the
//! report's `created`, so the same report gives the same bytes. Nothing
//! here prints.
#![deny(missing_docs)]

pub mod datapackage;
mod error;
mod fs;
pub mod rocrate;
mod time;

pub use datapackage::{PackageFile, PackageOptions, data_package_files, write_data_package};
pub use error::Error;
pub use rocrate::{CrateOptions, ro_crate_files, write_ro_crate};
