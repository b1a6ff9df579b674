//! `--json-out`: the [`Report`] as pretty JSON, the contract described by
//! `fixtures/report.schema.json` (validated by `tests/report_files.rs`); `--json-out -` prints it
//! on stdout as one line, so it can be picked out of a log (`kubectl logs`) and merged. Reading a
//! report back accepts both: a JSON file, or a log holding such a line.

use std::{io, path::Path};

use super::{Report, SCHEMA_VERSION};

/// The report as JSON text.
pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report serializes")
}

/// The report as one line of JSON (no newline inside).
pub fn render_line(report: &Report) -> String {
    serde_json::to_string(report).expect("the report serializes")
}

/// Writes the report to `path`.
pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    std::fs::write(path, render(report) + "\n")
}

/// Why a report could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: io::Error },
    #[error("{path} is not a loadgen JSON report ({error}) and holds no report line")]
    NotAReport {
        path: String,
        error: serde_json::Error,
    },
    #[error("{path} is a report of version {found}; this loadgen reads version {SCHEMA_VERSION}")]
    Version { path: String, found: u64 },
}

/// Reads a report from `path`: a `--json-out` file, or a log whose last report line is taken.
pub fn read(path: &Path) -> Result<Report, ReadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ReadError::Io {
        path: name.clone(),
        error,
    })?;
    parse(&name, &text)
}

/// Parses a report from `text` (see [`read`]); `name` is for messages.
pub fn parse(name: &str, text: &str) -> Result<Report, ReadError> {
    let version_of = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("schema_version")?.as_u64())
    };
    let whole = serde_json::from_str::<Report>(text);
    let error = match whole {
        Ok(report) => return checked(name, report),
        Err(error) => error,
    };
    if let Some(found) = version_of(text).filter(|v| *v != u64::from(SCHEMA_VERSION)) {
        return Err(ReadError::Version {
            path: name.to_owned(),
            found,
        });
    }
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .filter(|line| line.starts_with('{') && line.contains("\"schema_version\""))
        .find_map(|line| serde_json::from_str::<Report>(line).ok());
    match line {
        Some(report) => checked(name, report),
        None => Err(ReadError::NotAReport {
            path: name.to_owned(),
            error,
        }),
    }
}

fn checked(name: &str, report: Report) -> Result<Report, ReadError> {
    if report.schema_version == SCHEMA_VERSION {
        Ok(report)
    } else {
        Err(ReadError::Version {
            path: name.to_owned(),
            found: u64::from(report.schema_version),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        checks::Outcome,
        stats::{Timing, Window},
    };

    #[test]
    fn status_codes_and_the_preflight_read_back_from_a_written_report() {
        let mut totals = Window::new(1);
        let answered = Timing {
            status: Some(404),
            ..Timing::closed(Duration::from_millis(1))
        };
        totals.record(0, Outcome::Fail, answered);
        let mut report = super::super::sample::report(&["read"], totals);
        report.preflight = Some(Default::default());
        let back = parse("written", &render(&report)).expect("a written report reads back");
        assert_eq!(
            back.figures.status_codes.get("404"),
            Some(&1),
            "the run's status codes read back"
        );
        assert_eq!(
            back.endpoints[0].figures.status_codes.get("404"),
            Some(&1),
            "a request name's status codes read back"
        );
        assert_eq!(
            back.preflight, report.preflight,
            "the preflight figures read back"
        );
    }
}
