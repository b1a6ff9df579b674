//! `--html-out`: placeholder until the charts land.

use std::{io, path::Path};

use super::Report;

pub fn render(report: &Report) -> String {
    format!(
        "<!doctype html><title>loadgen</title><pre>{}</pre>",
        super::text::render(report)
    )
}

pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    std::fs::write(path, render(report))
}
