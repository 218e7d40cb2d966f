//! PLACEHOLDER (private copy).

use std::path::Path;

use perfhub_core::Report;

use crate::ImportOptions;
use crate::error::ImportError;

pub(crate) fn sniff(_shape: &crate::json::Shape) -> bool {
    false
}

/// Imports the file at `path`.
pub fn import_iai(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_iai(&crate::json::read_text(path)?, path, options)
}

/// Imports `text`; `source` names it in errors.
pub fn parse_iai(_text: &str, source: &Path, _options: &ImportOptions) -> Result<Report, ImportError> {
    Err(ImportError::NoResults { path: source.to_path_buf(), hint: "not written yet".into() })
}
