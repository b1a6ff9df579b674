//! `--json-out`: the [`Report`] as pretty JSON, the contract described by
//! `fixtures/report.schema.json` (validated by `tests/report_files.rs`).

use std::{io, path::Path};

use super::Report;

/// The report as JSON text.
pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report serializes")
}

/// Writes the report to `path`.
pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    std::fs::write(path, render(report) + "\n")
}
