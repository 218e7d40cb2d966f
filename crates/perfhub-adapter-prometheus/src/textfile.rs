//! node_exporter textfile collector files.

use std::path::{Path, PathBuf};

use perfhub_core::fs::write_atomic;
use perfhub_core::report::Report;

use crate::Error;
use crate::exposition::{Format, Source, exposition_labeled};

/// Writes `report` to `<dir>/<name>.prom` for node_exporter's textfile
/// collector, atomically: the text goes to a hidden temporary file in `dir`
/// (which the collector ignores, not ending in `.prom`), is synced, then
/// renamed over the target, so the collector never reads half a file.
///
/// `name` is a file name without a directory and without `.prom`
/// (which is added; a trailing `.prom` is accepted too).
pub fn write_textfile(dir: &Path, name: &str, report: &Report) -> Result<PathBuf, Error> {
    write_textfile_reports(
        dir,
        name,
        &[Source {
            report,
            labels: &[],
        }],
    )
}

/// Writes several reports, each with its own labels, to one textfile.
pub fn write_textfile_reports(
    dir: &Path,
    name: &str,
    sources: &[Source<'_>],
) -> Result<PathBuf, Error> {
    let stem = name.strip_suffix(".prom").unwrap_or(name);
    if stem.is_empty() || stem.starts_with('.') || stem.contains(['/', '\\', '\0']) {
        return Err(Error::TextfileName(name.to_string()));
    }
    let path = dir.join(format!("{stem}.prom"));
    let text = exposition_labeled(sources, Format::Prometheus);
    write_atomic(&path, text.as_bytes()).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfhub_core::report::ReportKind;
    use std::fs;

    #[test]
    fn writes_atomically_and_refuses_paths_as_names() {
        let dir = tempfile::tempdir().unwrap();
        let r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        let path = write_textfile(dir.path(), "perfhub", &r).unwrap();
        assert_eq!(path, dir.path().join("perfhub.prom"));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("perfhub_report_info{"), "{text}");
        // Again, over the old file, and with the suffix given.
        write_textfile(dir.path(), "perfhub.prom", &r).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["perfhub.prom".to_string()]);
        for bad in ["", ".prom", "../x", "a/b", ".hidden"] {
            assert!(
                matches!(
                    write_textfile(dir.path(), bad, &r),
                    Err(Error::TextfileName(_))
                ),
                "{bad}"
            );
        }
        let missing = dir.path().join("missing");
        let e = write_textfile(&missing, "x", &r).unwrap_err();
        assert!(e.to_string().contains("missing/x.prom"), "{e}");
    }
}
